"""spaCy's English tokenizer, as :class:`~pipeline.text.normalise.TweetNormaliser` configures it, without
importing spaCy.

Importing spaCy costs ~0.6 s, four times what ``voc --help`` takes in all. For the few posts of a ``voc predict``
at a terminal, :class:`SnapshotTokenizer` runs the same algorithm as spaCy's ``Tokenizer`` (``spacy/tokenizer.pyx``:
``_split_affixes``, ``_attach_tokens`` and the special-case matcher pass) in Python, from a snapshot of the rules
that the installed spaCy builds: its prefix, suffix, infix and URL regular expressions (``re`` patterns, compiled
here with the same engine) and its special cases (``can't`` -> ``ca`` ``n't``, emoticons, the normaliser's
``xxurl``-style markers). It tokenises one whitespace-free piece at a time, as the batch fast path does
(:meth:`pipeline.models.fastpath.CachedNormaliser._fill`).

The snapshot (``pipeline/resources/en_tokenizer.json``) is only used when the installed spaCy has the version that
wrote it; otherwise :func:`load_snapshot_tokenizer` returns None and callers use spaCy itself. Rewrite it after a
spaCy upgrade with ``python -m pipeline.text.en_tokenizer`` (``tests/test_coldstart.py`` compares it with spaCy's
rules and tokens whenever the versions match).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SNAPSHOT_PATH = Path(__file__).resolve().parents[1] / "resources" / "en_tokenizer.json"
SNAPSHOT_FORMAT = 1
_VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def installed_spacy_version() -> str | None:
    """The installed spaCy's version, read from its ``about.py`` without importing spaCy (None if absent)."""
    try:
        spec = find_spec("spacy")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        try:
            text = (Path(location) / "about.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = _VERSION_RE.search(text)
        if found:
            return found.group(1)
    return None


class SnapshotTokenizer:
    """The tokens spaCy's English tokenizer gives for one whitespace-free piece of text (module docstring)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.spacy_version = str(snapshot["spacy_version"])
        self.patterns: dict[str, str | None] = {
            name: snapshot["patterns"].get(name) for name in ("prefix", "suffix", "infix", "token_match", "url")
        }
        self.specials: dict[str, list[str]] = {key: list(value) for key, value in snapshot["specials"].items()}
        # Special cases that spaCy's final matcher pass looks for: each as the token sequence that affix splitting
        # alone gives it, keyed by its first token.
        self._matcher: dict[str, list[tuple[str, ...]]] = {}
        for tokens in snapshot["matcher"].values():
            self._matcher.setdefault(tokens[0], []).append(tuple(tokens))

    # Regular expressions are compiled on first use (~40 ms for the four): a post of plain words needs none.
    def _compiled(self, name: str) -> re.Pattern[str] | None:
        pattern = self.patterns.get(name)
        return re.compile(pattern) if pattern is not None else None

    @cached_property
    def _prefix(self) -> re.Pattern[str] | None:
        return self._compiled("prefix")

    @cached_property
    def _suffix(self) -> re.Pattern[str] | None:
        return self._compiled("suffix")

    @cached_property
    def _infix(self) -> re.Pattern[str] | None:
        return self._compiled("infix")

    @cached_property
    def _token_match(self) -> re.Pattern[str] | None:
        return self._compiled("token_match")

    @cached_property
    def _url(self) -> re.Pattern[str] | None:
        return self._compiled("url")

    def _find_prefix(self, string: str) -> int:
        match = self._prefix.search(string) if self._prefix is not None else None
        return match.end() - match.start() if match is not None else 0

    def _find_suffix(self, string: str) -> int:
        match = self._suffix.search(string) if self._suffix is not None else None
        return match.end() - match.start() if match is not None else 0

    def _is_token_match(self, string: str) -> bool:
        return self._token_match is not None and self._token_match.match(string) is not None

    def affix_tokens(self, piece: str, with_special_cases: bool = True) -> list[str]:
        """spaCy's ``Tokenizer._tokenize_affixes`` on a piece without whitespace (before the matcher pass)."""
        specials = self.specials if with_special_cases else {}
        if piece in specials:
            return list(specials[piece])
        # _split_affixes
        string = piece
        prefixes: list[str] = []
        suffixes: list[str] = []
        last_size = 0
        while string and len(string) != last_size:
            if self._is_token_match(string):
                break
            if string in specials:
                break
            last_size = len(string)
            pre_len = self._find_prefix(string)
            prefix = minus_pre = ""
            if pre_len != 0:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    string = minus_pre
                    prefixes.append(prefix)
                    break
            suf_len = self._find_suffix(string[pre_len:])
            suffix = minus_suf = ""
            if suf_len != 0:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in specials:
                    string = minus_suf
                    suffixes.append(suffix)
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        # _attach_tokens
        tokens = prefixes
        if string:
            if string in specials:
                tokens.extend(specials[string])
            elif self._is_token_match(string) or (self._url is not None and self._url.match(string) is not None):
                tokens.append(string)
            else:
                matches = list(self._infix.finditer(string)) if self._infix is not None else []
                if not matches:
                    tokens.append(string)
                else:
                    start = 0
                    for match in matches:
                        infix_start, infix_end = match.start(), match.end()
                        if infix_start == 0:
                            continue
                        if infix_start != start:
                            tokens.append(string[start:infix_start])
                        if infix_start != infix_end:
                            tokens.append(string[infix_start:infix_end])
                        start = infix_end
                    if string[start:]:
                        tokens.append(string[start:])
        tokens.extend(reversed(suffixes))
        return tokens

    def __call__(self, piece: str) -> list[str]:
        """The token texts of ``piece`` (no whitespace inside), exactly as ``tokenizer(piece)`` gives them."""
        return self._apply_special_cases(self.affix_tokens(piece))

    def _apply_special_cases(self, tokens: list[str]) -> list[str]:
        # spaCy's PhraseMatcher pass: every (start, end) whose tokens spell a special case's affix tokens; the
        # longest first (then the leftmost), skipping a span whose first or last token an earlier one covered.
        matcher = self._matcher
        found: list[tuple[int, int]] = []
        n = len(tokens)
        for start, token in enumerate(tokens):
            for pattern in matcher.get(token, ()):
                end = start + len(pattern)
                if end <= n and tuple(tokens[start:end]) == pattern:
                    found.append((start, end))
        if not found:
            return tokens
        seen: set[int] = set()
        kept: list[tuple[int, int]] = []
        for start, end in sorted(set(found), key=lambda span: (span[0] - span[1], span[0])):
            if start not in seen and end - 1 not in seen:
                kept.append((start, end))
            seen.update(range(start, end))
        out: list[str] = []
        position = 0
        for start, end in sorted(kept):
            out.extend(tokens[position:start])
            text = "".join(tokens[start:end])
            out.extend(self.specials.get(text, tokens[start:end]))
            position = end
        out.extend(tokens[position:])
        return out


def load_snapshot_tokenizer(path: Path = SNAPSHOT_PATH) -> SnapshotTokenizer | None:
    """The snapshot tokenizer, or None when there is no snapshot or it was written by another spaCy version."""
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        return None
    version = installed_spacy_version()
    if version is None or snapshot.get("spacy_version") != version:
        return None
    try:
        return SnapshotTokenizer(snapshot)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


# -- writing the snapshot (imports spaCy) -------------------------------------------------------------------------
def _pattern(function: Callable[..., Any] | None) -> str | None:
    if function is None:
        return None
    compiled = getattr(function, "__self__", None)
    if not isinstance(compiled, re.Pattern) or not isinstance(compiled.pattern, str):
        raise ValueError(f"cannot snapshot tokenizer function {function!r}: not a bound re.Pattern method")
    if compiled.flags & ~re.UNICODE:
        raise ValueError(f"cannot snapshot pattern with flags {compiled.flags}")
    return compiled.pattern


def snapshot_of(tokenizer: Any) -> dict[str, Any]:
    """The rules of a spaCy ``Tokenizer`` as JSON-ready data (what :class:`SnapshotTokenizer` reads)."""
    import spacy
    from spacy.attrs import ORTH, intify_attrs

    specials: dict[str, list[str]] = {}
    for string, substrings in sorted(tokenizer.rules.items()):
        specials[string] = [str(intify_attrs(dict(spec), _do_deprecated=True)[ORTH]) for spec in substrings]
    snapshot: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "spacy_version": spacy.__version__,
        "patterns": {
            "prefix": _pattern(tokenizer.prefix_search),
            "suffix": _pattern(tokenizer.suffix_search),
            "infix": _pattern(tokenizer.infix_finditer),
            "token_match": _pattern(tokenizer.token_match),
            "url": _pattern(tokenizer.url_match),
        },
        "specials": specials,
        "matcher": {},
    }
    if not tokenizer.faster_heuristics:
        raise ValueError("cannot snapshot a tokenizer without faster_heuristics")
    port = SnapshotTokenizer(snapshot)
    # Tokenizer.add_special_case: a special case enters the matcher when an affix rule or a space is in it.
    for string in specials:
        if (
            tokenizer.find_prefix(string)
            or tokenizer.find_infix(string)
            or tokenizer.find_suffix(string)
            or (" " in string)
        ):
            snapshot["matcher"][string] = port.affix_tokens(string, with_special_cases=False)
    return snapshot


def write_snapshot(path: Path = SNAPSHOT_PATH) -> dict[str, Any]:
    """Write the snapshot of the normaliser's tokenizer under the installed spaCy."""
    from pipeline.text.normalise import TweetNormaliser

    snapshot = snapshot_of(TweetNormaliser().tokenizer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return snapshot


def spacy_tokens(tokenizer: Any, pieces: Iterable[str]) -> list[list[str]]:
    """spaCy's token texts of each piece, each in its own Doc (for comparisons)."""
    return [[token.text for token in doc] for doc in tokenizer.pipe(list(pieces))]


if __name__ == "__main__":
    written = write_snapshot()
    print(f"wrote {SNAPSHOT_PATH} (spaCy {written['spacy_version']}, {len(written['specials'])} special cases)")
