"""The vocabulary index a linear bundle stores beside ``vocabulary.json`` (``lookup.npz``), so that the cold-start
path (:mod:`pipeline.models.coldstart`) finds a term's column without parsing the whole vocabulary."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LOOKUP_FILE = "lookup.npz"
_WS = re.compile(r"[ \t\n\r]*")
# json's C string scanner: (text, index after the opening quote) -> (the decoded string, index after the closing one).
scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def vocabulary_offsets(text: str) -> dict[str, list[int]]:
    """For a ``vocabulary.json`` text (``{"kind": ["term", ...], ...}``), each term's offset: where its opening
    quote is in ``text``, in list order."""

    def skip(i: int) -> int:
        match = _WS.match(text, i)
        return match.end() if match else i

    def expect(i: int, char: str) -> None:
        if i >= len(text) or text[i] != char:
            raise ValueError(f"vocabulary JSON: expected {char!r} at offset {i}")

    out: dict[str, list[int]] = {}
    i = skip(0)
    expect(i, "{")
    i = skip(i + 1)
    if i < len(text) and text[i] == "}":
        return out
    while True:
        expect(i, '"')
        key, i = scanstring(text, i + 1)
        i = skip(i)
        expect(i, ":")
        i = skip(i + 1)
        expect(i, "[")
        i = skip(i + 1)
        offsets: list[int] = []
        if i < len(text) and text[i] == "]":
            i += 1
        else:
            while True:
                expect(i, '"')
                offsets.append(i)
                _, i = scanstring(text, i + 1)
                i = skip(i)
                if i < len(text) and text[i] == ",":
                    i = skip(i + 1)
                    continue
                expect(i, "]")
                i += 1
                break
        out[key] = offsets
        i = skip(i)
        if i < len(text) and text[i] == ",":
            i = skip(i + 1)
            continue
        expect(i, "}")
        return out


def build_lookup(vocabulary_text: str, vocabulary_sha256: str) -> dict[str, np.ndarray] | None:
    """The arrays of ``lookup.npz`` for a ``vocabulary.json`` text: per kind, the terms' offsets sorted by term
    (``offsets_<kind>``) and their columns (``columns_<kind>``, left out when the terms are already sorted), and the
    vocabulary file's hash. None when a kind repeats a term (the batch loader keeps the last; no index then)."""
    import numpy as np

    terms = json.loads(vocabulary_text)
    offsets = vocabulary_offsets(vocabulary_text)
    if not isinstance(terms, dict) or set(terms) != set(offsets):
        raise ValueError("vocabulary JSON: not an object of term lists")
    hex_digest = vocabulary_sha256.removeprefix("sha256:")
    arrays: dict[str, np.ndarray] = {"vocabulary_sha256": np.frombuffer(hex_digest.encode("ascii"), dtype=np.uint8)}
    for kind, kind_terms in terms.items():
        if not re.fullmatch(r"[a-z_]+", kind) or len(kind_terms) != len(offsets[kind]):
            raise ValueError(f"vocabulary JSON: bad kind {kind!r}")
        order = sorted(range(len(kind_terms)), key=kind_terms.__getitem__)
        if any(kind_terms[a] == kind_terms[b] for a, b in zip(order, order[1:])):
            return None
        arrays[f"offsets_{kind}"] = np.asarray([offsets[kind][j] for j in order], dtype=np.int32)
        if order != list(range(len(order))):
            arrays[f"columns_{kind}"] = np.asarray(order, dtype=np.int32)
    return arrays
