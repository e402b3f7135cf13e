"""Scope marks (``pipeline.text.scope``), identity masks (``pipeline.text.identity``) and the classifiers that
use them: the
rules, exact invariance to identity words, the marked features on the reference and the fast path alike."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

import pipeline.text.scope as scope
from pipeline.models.bundle import ModelBundle
from pipeline.models.fastpath import CachedNormaliser, TokenPreparer
from pipeline.models.features import char_ngrams
from pipeline.models.linear import prepare_texts
from pipeline.models.predict import Predictor
from pipeline.models.static_embeddings import StaticEmbeddingFeaturiser
from pipeline.text.identity import covers, mask_identity
from pipeline.text.normalise import TweetNormaliser
from pipeline.text.scope import bits_need_marking, mark_scope, mark_tokens, needs_marking, split_mark, trigger_bits
from pipeline.training.behaviour import IDENTITY_GROUPS, build_suite
from tests.conftest import REPO, static_table_file

NORMALISE = TweetNormaliser()


def _marked(text: str) -> str:
    return mark_scope(NORMALISE(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the food was not good", "the food was not ¬good"),
        ("the food was not good and the staff were rude", "the food was not ¬good and the staff were rude"),
        ("no problems at all, thanks", "no ¬problems ¬at ¬all , thanks"),
        (
            "I don't think, after all these years, that it was good",
            "i do n't ¬think , ¬after ¬all ¬these ¬years , ¬that ¬it ¬was ¬good",
        ),
        ("I thought it would be awful, but it wasn't.", "¬i ¬thought ¬it ¬would ¬be ¬awful , but it was n't ."),
        ("I expected a rude agent. It was not.", "¬i ¬expected ¬a ¬rude ¬agent . it was not ."),
        ("Was the crew great? No.", "¬was ¬the ¬crew ¬great ? no ."),
        ("Was the crew great? Yes.", "was the crew great yes ."),
        ("is my flight on time? yes or no?", "is my flight on time ? yes or no ?"),
        ("some say it was awful, but I loved it", "¤some ¤say ¤it ¤was ¤awful , but i loved it"),
        ("although the seat was tiny, the crew was lovely", "although ¤the ¤seat ¤was ¤tiny , the crew was lovely"),
        ("not only cheap but also good", "not ¬only ¬cheap but also good"),
        (
            "I used to think it was average, now I think it is great",
            "i ¤used ¤to ¤think ¤it ¤was ¤average , now i think it is great",
        ),
        ("@united never again #NotHappy", "xxuser never ¬again xxhashtag not ¬happy"),
    ],
)
def test_scope_rules(text: str, expected: str) -> None:
    assert _marked(text) == expected


def test_posts_the_prefilter_skips_have_nothing_to_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    """needs_marking (and its per-token bits, which the fast path ORs per post) may only skip posts that every rule
    leaves as they are: run the rules on every post and compare."""
    vocabulary = sorted(
        scope.NEGATION_CUES | scope.CONTRAST_BEFORE | scope.CONTRAST_AFTER | scope.PRESENT | scope.OPINION_VERBS
        | scope.SENTENCE_END
        | {"?", "used", "to", "yes", "nope", "nah", "of", "course", "it", "was", "good", ",", "xxuser", ":)", "also"}
    )  # fmt: skip
    rng = random.Random(0)
    posts = [[rng.choice(vocabulary) for _ in range(rng.randrange(0, 12))] for _ in range(20_000)]
    skipped = []
    for tokens in posts:
        bits = 0
        for token in tokens:
            bits |= trigger_bits(token)
        assert bits_need_marking(bits) == needs_marking(tokens)
        if not needs_marking(tokens):
            skipped.append(tokens)
    assert len(skipped) > 1_000
    monkeypatch.setattr(scope, "needs_marking", lambda tokens: True)
    for tokens in skipped:
        assert mark_tokens(tokens) == tokens


def test_marked_tokens_share_no_character_ngram_with_the_word() -> None:
    plain, negated = set(char_ngrams("awful", 2, 5)), set(char_ngrams("¬awful", 2, 5))
    assert not plain & negated
    assert {split_mark(g)[1] for g in negated} == plain
    assert split_mark("¬") == ("", "¬")  # a lone marker character is an ordinary token


def test_identity_words_and_phrases_are_masked_per_group() -> None:
    assert mask_identity("my muslim neighbour and her christian friend") == (
        "my xxreligion neighbour and her xxreligion friend"
    )
    assert mask_identity("a middle - aged south african traveller") == "a xxage xxnationality traveller"
    assert mask_identity("the costa coffee") == "the costa coffee"  # a phrase's first word alone is not masked
    for words in IDENTITY_GROUPS.values():  # the behaviour suite's words are all covered
        assert all(covers(word) for word in words)


RAW = [
    "the food was not good!!",
    "I thought it would be awful, but it wasn't",
    "Was the crew great? No.",
    "some say it was awful, but I loved it @delta",
    "My MUSLIM neighbour flew with you",
    "the jewish agent was rude",
    "",
    "😡 never again",
]


@pytest.mark.parametrize(("mark", "mask"), [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("max_tokens", [150_000, 300])  # 300: the token table is cleared and refilled, often
def test_token_preparer_gives_what_prepare_texts_gives(mark: bool, mask: bool, max_tokens: int) -> None:
    """The fast path's masks and marks on token ids (pipeline.models.fastpath.TokenPreparer) equal the string
    version on the behaviour suite, the counterfactual training posts and identity phrases, batch after batch."""
    texts = RAW + [t for test in build_suite() for t in test.texts()][::3]
    counterfactual = (REPO / "data" / "train" / "counterfactual.jsonl").read_text(encoding="utf-8").splitlines()
    texts += [json.loads(line)["text"] for line in counterfactual[::5]]
    texts += [
        "a middle-aged South African traveller was not happy, but the crew was lovely",
        "people of color? no. In a wheelchair, I used to wait, now I board first",
        "new zealand new zealanders",  # a phrase's first word alone, then the phrase
        "Was it great? Yes!! ? yes",
    ]
    random.Random(1).shuffle(texts)
    normaliser = CachedNormaliser(NORMALISE, max_tokens=max_tokens)
    preparer = TokenPreparer(mark_scope=mark, mask_identity=mask)
    for size in (len(texts), 97, 5):
        for start in range(0, len(texts), size):
            batch = normaliser.encode(texts[start : start + size])
            expected = prepare_texts(batch.texts(), mark_scope=mark, mask_identity=mask)
            assert preparer.prepare(batch).texts() == expected


def test_marked_bundle_scores_alike_on_the_fast_path_and_after_a_reload(marked_bundle_dir: Path) -> None:
    loaded = ModelBundle.load(marked_bundle_dir)
    sentiment = loaded.classifiers["sentiment"]
    assert sentiment.mark_scope and sentiment.mask_identity and sentiment.featuriser_.static.scope_blocks
    assert sentiment.coef_.shape[1] == sentiment.featuriser_.n_ngram_features_ + 3 * 8  # three static blocks
    os.environ["VOC_FASTPATH"] = "0"
    try:
        reference = Predictor(ModelBundle.load(marked_bundle_dir))
        assert reference.fast is None
        ref_texts, ref_proba = reference.predict_proba(RAW)
    finally:
        del os.environ["VOC_FASTPATH"]
    fast = Predictor(loaded)
    assert fast.fast is not None
    fast_texts, fast_proba = fast.predict_proba(RAW * 2)
    assert fast_texts[: len(RAW)] == ref_texts  # the texts a caller sees are not marked
    for task in ("intent", "sentiment"):
        np.testing.assert_allclose(fast_proba[task][: len(RAW)], ref_proba[task], atol=1e-5)
        np.testing.assert_allclose(fast_proba[task][len(RAW) :], ref_proba[task], atol=1e-5)


def test_identity_masks_make_both_heads_exactly_invariant(marked_bundle_dir: Path) -> None:
    predictor = Predictor.from_path(marked_bundle_dir)
    for words in IDENTITY_GROUPS.values():
        texts = [f"@SkyNimbusAir the {w} agent at the desk was rude to me" for w in words]
        _, proba = predictor.predict_proba(texts)
        for task in ("intent", "sentiment"):
            np.testing.assert_allclose(proba[task], np.repeat(proba[task][:1], len(texts), axis=0), atol=1e-6)


def test_static_scope_blocks_split_the_sum_by_marker(tmp_path: Path) -> None:
    featuriser = StaticEmbeddingFeaturiser(table=str(static_table_file(tmp_path / "t.npz")), scope_blocks=True)
    featuriser.fit(["good not ¬good", "bad"])
    width = featuriser.vectors_.shape[1]
    row = featuriser.transform(["good ¬good ¤good"])[0]
    blocks = row.reshape(3, width)
    np.testing.assert_allclose(blocks[0], blocks[1], atol=1e-6)  # the same word in two blocks
    np.testing.assert_allclose(blocks[1], blocks[2], atol=1e-6)
    assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5
    plain = StaticEmbeddingFeaturiser(table=str(static_table_file(tmp_path / "t.npz"))).fit(["good", "bad"])
    assert plain.transform(["¬good"]).shape == (1, width)  # without blocks a marker is ignored


def test_prepare_texts_masks_before_it_marks() -> None:
    assert prepare_texts(["the gay agent was not rude"], mark_scope=True, mask_identity=True) == [
        "the xxorientation agent was not ¬rude"
    ]
    assert prepare_texts(["keep as is"]) == ["keep as is"]
