"""The vectorised topic scorer (pipeline.topics.fast) against the reference TopicAssigner, and the caches of the
fast normaliser when they fill up mid-job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.models.fastpath import CachedNormaliser
from pipeline.text.normalise import TweetNormaliser
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.fast import FastTopicScorer
from pipeline.topics.taxonomy import load_taxonomy
from tests.test_score import _texts

REPO = Path(__file__).resolve().parents[1]

# Overlapping and nested seeds, a seed shared by two topics, shouting and hashtags: the awkward cases.
OVERLAP_YAML = """
topics:
  - name: luggage
    label: Luggage
    description: bags lost or delayed
    seeds: [bag, lost bag, delayed bag, bag never arrived, baggage claim]
  - name: delays
    label: Delays
    description: late flights
    seeds: [delayed, delay, late flight, flight delayed, sitting on the tarmac]
  - name: staff
    label: Staff
    description: rude or helpful people
    seeds: [rude, rude staff, gate agent, flight attendant, delay]
"""

# Topic names alone: the label and its words become seeds (TopicAssigner.seeds_of), shared words included.
NAMES_ONLY_YAML = """
topics:
  - name: lost-bag
    label: Lost bag
  - name: delayed-flight
    label: Delayed flight
  - name: staff
    label: Rude staff at the gate
"""

EDGE_POSTS = [
    "my bag never arrived and the delayed bag is still lost bag lost bag",
    "LOST BAG!!! #LostBag @airline the DELAYED flight delayed again",
    "flight delayed delayed delayed, rude staff at the gate agent desk",
    "sitting on the tarmac sitting on the tarmac",
    "bag bag bag",
    "",
    "xxcaps",
    "nothing to see here",
    "DELAY",
]


def _assigners(tmp_path: Path) -> list[TopicAssigner]:
    overlap = tmp_path / "overlap.yaml"
    overlap.write_text(OVERLAP_YAML, encoding="utf-8")
    names_only = tmp_path / "names.yaml"
    names_only.write_text(NAMES_ONLY_YAML, encoding="utf-8")
    return [
        TopicAssigner(load_taxonomy(REPO / "configs" / "taxonomy" / "default.yaml")).fit(),
        TopicAssigner(load_taxonomy(overlap)).fit(),
        TopicAssigner(load_taxonomy(names_only)).fit(),
    ]


def test_fast_topic_scores_equal_the_reference(tmp_path: Path) -> None:
    normaliser = TweetNormaliser()
    texts = EDGE_POSTS + _texts()
    normalised = normaliser.normalise_many(texts)
    for assigner in _assigners(tmp_path):
        fast = FastTopicScorer(assigner)
        expected = assigner.score_matrix(texts, normalised=normalised)
        for size in (len(texts), 5):  # one batch, then small batches through the warm per-token arrays
            got = np.vstack([fast.score_matrix(normalised[i : i + size]) for i in range(0, len(texts), size)])
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert fast.assign(texts, normalised=normalised) == assigner.assign(texts, normalised=normalised)


def test_fast_topics_on_token_batches_from_the_fast_normaliser(tmp_path: Path) -> None:
    normaliser = TweetNormaliser()
    cached = CachedNormaliser(normaliser, max_entries=150, max_tokens=120)  # tiny: cleared again and again
    texts = EDGE_POSTS + _texts()
    for assigner in _assigners(tmp_path):
        fast = FastTopicScorer(assigner)
        expected = assigner.score_matrix(texts, normalised=normaliser.normalise_many(texts))
        got = np.vstack([fast.score_matrix(cached.encode(texts[i : i + 16])) for i in range(0, len(texts), 16)])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_caches_cleared_mid_job_change_nothing() -> None:
    normaliser = TweetNormaliser()
    texts = _texts()
    expected = normaliser.normalise_many(texts)
    for max_entries, max_tokens in ((150, 10_000), (10_000, 100), (3, 3)):
        cached = CachedNormaliser(normaliser, max_entries=max_entries, max_tokens=max_tokens)
        got = [s for i in range(0, len(texts), 16) for s in cached.normalise_many(texts[i : i + 16])]
        assert got == expected


def test_shouting_does_not_shift_the_words_of_a_post() -> None:
    """Markers (xxcaps, xxhashtag) are not content: a shouted post scores like the same post in lower case."""
    assigner = TopicAssigner(load_taxonomy(REPO / "configs" / "taxonomy" / "default.yaml")).fit()
    loud, quiet = assigner.score_matrix(["WHERE IS MY LUGGAGE refund NOW", "where is my luggage refund now"])
    np.testing.assert_allclose(loud, quiet, atol=1e-12)


def test_assigner_with_encoder_is_not_taken_by_the_fast_path(tmp_path: Path) -> None:
    assigner = _assigners(tmp_path)[0]
    assigner.encoder_ = object()  # stands in for a loaded sentence encoder
    with pytest.raises(ValueError, match="no sentence encoder"):
        FastTopicScorer(assigner)


def test_letter_only_pieces_skip_spacy_without_changing_tokens() -> None:
    """ASCII words bypass spaCy unless they are special cases ("dont", "Gonna"): check both kinds."""
    normaliser = TweetNormaliser()
    special = sorted(k for k in normaliser.tokenizer.rules if k.isascii() and k.isalpha())
    words = special + [w.upper() for w in special] + ["hello", "HELLO", "Hello", "xxuser", "aaaaah", "SOOO", "a", "I"]
    texts = [" ".join(words[i : i + 7]) for i in range(0, len(words), 7)]
    cached = CachedNormaliser(normaliser)
    assert cached.normalise_many(texts) == normaliser.normalise_many(texts)
