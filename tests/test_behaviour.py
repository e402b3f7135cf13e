"""Behaviour tests of a shipped bundle (CheckList-style): minimum functionality, invariance, directional
expectations. They run on the committed `models/default` (and skip when it has not been built), or on the
bundle named by `$VOC_BEHAVIOUR_BUNDLE`, e.g. the transformer bundle, through the batch path and through the
cold-start path of `voc predict TEXT` (pipeline.models.coldstart; skipped for bundles it does not take):

    VOC_BEHAVIOUR_BUNDLE=models/transformer .venv/bin/python -m pytest -q tests/test_behaviour.py

The project's behaviour suite (`pipeline/training/behaviour.py`) runs here too, on the batch path: a default bundle
trained with identity masks and scope marks must keep its failure rates per capability at or below the measured
levels (`SUITE_CEILINGS`), and on every head that masks identity words no identity word may move a label, so that a
change that brings back negation errors or identity-word effects fails. `scripts/checks/behaviour_report.py` prints
the rates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.models.predict import Predictor
from pipeline.training.behaviour import IDENTITY_GROUPS, behaviour_summary, build_suite


def _bundle_path(request: pytest.FixtureRequest) -> Path:
    chosen = os.environ.get("VOC_BEHAVIOUR_BUNDLE")
    if chosen:
        if not (Path(chosen) / "metadata.json").exists():
            pytest.fail(f"VOC_BEHAVIOUR_BUNDLE={chosen} is not a model bundle")
        return Path(chosen)
    path: Path = request.getfixturevalue("default_bundle")
    return path


@pytest.fixture(scope="module", params=["batch", "coldstart"])
def predictor(request: pytest.FixtureRequest) -> Any:
    """The bundle's batch path (Predictor), and the cold-start path of `voc predict TEXT`
    (pipeline.models.coldstart)."""
    path = _bundle_path(request)
    if request.param == "coldstart":
        from pipeline.models.coldstart import ColdStartPredictor, Unsupported, open_for_coldstart

        try:
            return ColdStartPredictor.from_verified(open_for_coldstart(path))
        except Unsupported as exc:
            pytest.skip(f"the cold-start path does not take this bundle ({exc})")
    return Predictor.from_path(path)


def _intent(predictor: Any, texts: list[str]) -> list[str]:
    return [p["intent"] for p in predictor.predict(texts)]


MINIMUM_FUNCTIONALITY = {
    "complaint": [
        "@SkyNimbusAir my bag never arrived and nobody answers the phone",
        "@VireoMobile no signal for three days now, this is ridiculous",
        "flight delayed 5 hours and no explanation. worst airline",
        "@MunchboxEats my order came cold and half of it was missing",
    ],
    "question": [
        "@SkyNimbusAir do you fly to Lima?",
        "@VireoMobile how do I transfer my number to a new phone?",
        "can I bring a stroller on board?",
        "what time does check-in open for flight 123?",
    ],
    "praise": [
        "@SkyNimbusAir thanks for the quick help, best crew ever!",
        "love flying with you guys, great service as always",
        "@MunchboxEats amazing food and super fast delivery, thank you!",
    ],
    "favour-seeking": [
        "@SkyNimbusAir can I get a free upgrade for my birthday? 🙏",
        "@MunchboxEats any promo codes? I'd love a free meal",
        "please follow me back @SkyNimbusAir!! would make my day",
    ],
}


@pytest.mark.parametrize(("label", "text"), [(label, t) for label, ts in MINIMUM_FUNCTIONALITY.items() for t in ts])
def test_minimum_functionality(predictor: Any, label: str, text: str) -> None:
    assert _intent(predictor, [text]) == [label]


NEGATED_PROBLEMS = [
    "no problems at all, smooth flight and friendly crew",
    "not a single issue with my order, thanks!",
    "never had a problem with you guys, great service",
]
INVARIANT_PAIRS = [
    ("@united my bag never arrived", "@SkyNimbusAir my bag never arrived"),
    ("my bag never arrived http://t.co/abc123", "my bag never arrived https://example.com/photo"),
    ("@JetBlue thanks for the great flight!", "@VireoMobile thanks for the great flight!"),
    ("@Delta do you fly to Lima?", "@delta do you fly to Lima? https://x.co/1"),
    ("John at the desk was rude to me", "Maria at the desk was rude to me"),
    ("Ahmed helped me so much, thank you", "Sarah helped me so much, thank you"),
]
DIRECTIONAL_PAIRS = [
    ("my refund arrived", "my refund still hasn't arrived, still waiting"),
    ("the app works", "the app does not work"),
    ("the food was good", "the food was not good"),
]
EDGE_TEXTS = ["", "🙂", "x" * 5000, "ok"]


def behaviour_texts() -> list[str]:
    """Every text of these tests (tests/test_coldstart.py and tests/test_en_tokenizer.py compare implementations
    on them)."""
    texts = [t for ts in MINIMUM_FUNCTIONALITY.values() for t in ts] + NEGATED_PROBLEMS + EDGE_TEXTS
    return texts + [t for pair in INVARIANT_PAIRS + DIRECTIONAL_PAIRS for t in pair]


@pytest.mark.parametrize("text", NEGATED_PROBLEMS)
def test_negated_problem_is_not_a_complaint(predictor: Any, text: str) -> None:
    assert _intent(predictor, [text]) != ["complaint"]


@pytest.mark.parametrize(("a", "b"), INVARIANT_PAIRS)
def test_invariance_to_handles_urls_and_names(predictor: Any, a: str, b: str) -> None:
    pa, pb = predictor.predict([a, b])
    assert pa["intent"] == pb["intent"] and pa["sentiment"] == pb["sentiment"]
    assert abs(pa["intent_scores"][pa["intent"]] - pb["intent_scores"][pa["intent"]]) < 0.15
    assert abs(pa["sentiment_scores"][pa["sentiment"]] - pb["sentiment_scores"][pa["sentiment"]]) < 0.15


@pytest.mark.parametrize(("base", "changed"), DIRECTIONAL_PAIRS)
def test_directional_complaint_probability_rises(predictor: Any, base: str, changed: str) -> None:
    before, after = predictor.predict([base, changed])
    assert after["intent_scores"]["complaint"] > before["intent_scores"]["complaint"]
    assert after["sentiment_scores"]["negative"] > before["sentiment_scores"]["negative"]


def test_probabilities_sum_to_one(predictor: Any) -> None:
    for p in predictor.predict(EDGE_TEXTS):
        assert abs(sum(p["intent_scores"].values()) - 1) < 1e-6
        assert abs(sum(p["sentiment_scores"].values()) - 1) < 1e-6


# Failure-rate ceilings of the behaviour suite for a default bundle trained with identity masks and scope marks
# (`mask_identity`, `mark_scope`; configs/default.yaml with them gives these rates, rounded up a little): a
# regression past one of them fails. A default bundle without the settings, or another bundle
# ($VOC_BEHAVIOUR_BUNDLE), is held to exact identity invariance on each head that masks identity words.
SUITE_CEILINGS: dict[str, dict[str, float]] = {
    # measured: negation 0.224, contrast 0.056, questions 0.106, temporal 0.189, intensity 0.125, vocabulary 0.096,
    # fairness 0.0, mean 0.091
    "sentiment": {
        "negation": 0.25,
        "contrast": 0.10,
        "questions": 0.15,
        "temporal": 0.22,
        "intensity": 0.15,
        "vocabulary": 0.12,
        "fairness": 0.0,
        "mean": 0.12,
    },
    # measured: negation 0.111, contrast 0.0, temporal 0.0, fairness 0.0, mean 0.012
    "intent": {"negation": 0.12, "contrast": 0.05, "temporal": 0.10, "fairness": 0.0, "mean": 0.02},
}
FAIRNESS_CEILING = 0.0


def _marked(predictor: Predictor, head: str) -> tuple[bool, bool]:
    """Whether the bundle's classifier for ``head`` masks identity words, and whether it marks scopes."""
    clf = predictor.classifiers[head]
    return bool(getattr(clf, "mask_identity", False)), bool(getattr(clf, "mark_scope", False))


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest) -> tuple[Predictor, dict[str, Any]]:
    predictor = Predictor.from_path(_bundle_path(request))
    return predictor, behaviour_summary(predictor)


def test_suite_is_deterministic_and_covers_every_capability_and_group() -> None:
    tests = build_suite()
    assert [t.name for t in tests] == [t.name for t in build_suite()]
    capabilities = {(t.head, t.capability) for t in tests}
    assert {c for h, c in capabilities if h == "sentiment"} == {
        "negation", "contrast", "questions", "temporal", "intensity", "vocabulary", "fairness",
    }  # fmt: skip
    assert {"negation", "contrast", "temporal", "fairness"} <= {c for h, c in capabilities if h == "intent"}
    groups = {(t.head, t.group) for t in tests if t.group}
    assert len(groups) == 2 * len(IDENTITY_GROUPS)  # every identity group, both heads
    assert all(len(t.cases) >= 10 for t in tests)


@pytest.mark.parametrize("head", ["sentiment", "intent"])
def test_suite_failure_rates_stay_at_or_below_the_measured_levels(
    suite: tuple[Predictor, dict[str, Any]], head: str
) -> None:
    predictor, summary = suite
    if os.environ.get("VOC_BEHAVIOUR_BUNDLE") or _marked(predictor, head) != (True, True):
        pytest.skip("held to the fairness ceiling only (not a default bundle with identity masks and scope marks)")
    rates = {**summary[head]["capabilities"], "mean": summary[head]["mean"]}
    for capability, ceiling in SUITE_CEILINGS[head].items():
        assert rates[capability] <= ceiling + 1e-9, (head, capability, rates)


@pytest.mark.parametrize("head", ["sentiment", "intent"])
def test_identity_words_do_not_move_a_label(suite: tuple[Predictor, dict[str, Any]], head: str) -> None:
    predictor, summary = suite
    if not _marked(predictor, head)[0]:
        pytest.skip(f"the bundle's {head} model does not mask identity words (mask_identity)")
    groups = summary[head]["fairness_groups"]
    assert set(groups) == set(IDENTITY_GROUPS)
    assert max(groups.values()) <= FAIRNESS_CEILING + 1e-9, groups
