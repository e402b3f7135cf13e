"""The snapshot of spaCy's English tokenizer replayed without spaCy (pipeline.text.en_tokenizer), against spaCy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.en_tokenizer import SNAPSHOT_PATH, installed_spacy_version, load_snapshot_tokenizer, snapshot_of
from pipeline.text.normalise import TweetNormaliser

from .test_behaviour import behaviour_texts
from .test_score import _PIECES, _texts

_NORMALISER = TweetNormaliser()  # one spaCy tokenizer for the module (building one takes ~0.3 s)
_SNAPSHOT = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


def _port() -> Any:
    port = load_snapshot_tokenizer()
    if port is None:
        pytest.skip(
            f"no tokenizer snapshot for spaCy {installed_spacy_version()}: run python -m pipeline.text.en_tokenizer"
        )
    return port


def _spacy(pieces: list[str]) -> list[list[str]]:
    return [[t.text for t in doc] for doc in _NORMALISER.tokenizer.pipe(pieces)]


def _all_texts() -> list[str]:
    return _texts() + behaviour_texts()


def test_snapshot_is_the_installed_spacys_rules() -> None:
    if _SNAPSHOT["spacy_version"] != installed_spacy_version():
        pytest.skip("the snapshot is for another spaCy version (the cold-start path falls back to spaCy)")
    assert snapshot_of(_NORMALISER.tokenizer) == _SNAPSHOT


def test_snapshot_of_another_spacy_version_is_not_used(tmp_path: Path) -> None:
    other = tmp_path / "snapshot.json"
    other.write_text(json.dumps({**_SNAPSHOT, "spacy_version": "0.0.1"}), encoding="utf-8")
    assert load_snapshot_tokenizer(other) is None
    assert load_snapshot_tokenizer(tmp_path / "missing.json") is None


def test_snapshot_tokenizer_equals_spacy_on_real_and_special_pieces() -> None:
    port = _port()
    pieces = sorted(
        {p for text in _all_texts() for p in text.split()}
        | {k for k in _SNAPSHOT["specials"] if k.strip()}
        | {f"({k})" for k in _SNAPSHOT["matcher"] if k.strip()}
        | {p.strip() for p in _PIECES if p.strip()}
    )
    assert [port(p) for p in pieces] == _spacy(pieces)


_AFFIXES = list("'\"()[]{}<>-_/\\*&^%$#@~`+=|.,;:!?…’‘“”—–°€£") + ["...", "'s", "n't", ":)", ";-)", "<3", "a.m."]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(_AFFIXES)
        | st.sampled_from(sorted(k for k in _SNAPSHOT["specials"] if k.strip()))
        | st.text(alphabet="aZ09ñé🙂🇺", max_size=4),
        min_size=1,
        max_size=6,
    )
)
def test_snapshot_tokenizer_equals_spacy_on_generated_pieces(parts: list[str]) -> None:
    piece = "".join(c for c in "".join(parts) if not c.isspace())
    if piece:
        assert _port()(piece) == _spacy([piece])[0]
