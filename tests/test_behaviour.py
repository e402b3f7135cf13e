"""Behaviour tests of a shipped bundle (CheckList-style): minimum functionality, invariance, directional
expectations. They run on the committed `models/default` (and skip when it has not been built), or on the
bundle named by `$VOC_BEHAVIOUR_BUNDLE`, e.g. the transformer bundle, through the batch path and through the
cold-start path of `voc predict TEXT` (pipeline.models.coldstart; skipped for bundles it does not take):

    VOC_BEHAVIOUR_BUNDLE=models/transformer .venv/bin/python -m pytest -q tests/test_behaviour.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.models.predict import Predictor


@pytest.fixture(scope="module", params=["batch", "coldstart"])
def predictor(request: pytest.FixtureRequest) -> Any:
    """The bundle's batch path (Predictor), and the cold-start path of `voc predict TEXT`
    (pipeline.models.coldstart)."""
    chosen = os.environ.get("VOC_BEHAVIOUR_BUNDLE")
    if chosen:
        if not (Path(chosen) / "metadata.json").exists():
            pytest.fail(f"VOC_BEHAVIOUR_BUNDLE={chosen} is not a model bundle")
        path = Path(chosen)
    else:
        path = request.getfixturevalue("default_bundle")
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
