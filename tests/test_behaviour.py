"""Behaviour tests of a shipped bundle (CheckList-style): minimum functionality, invariance, directional
expectations. They run on the committed `models/default` (and skip when it has not been built), or on the
bundle named by `$VOC_BEHAVIOUR_BUNDLE`, e.g. the transformer bundle:

    VOC_BEHAVIOUR_BUNDLE=models/transformer .venv/bin/python -m pytest -q tests/test_behaviour.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.models.predict import Predictor


@pytest.fixture(scope="module")
def predictor(request: pytest.FixtureRequest) -> Predictor:
    chosen = os.environ.get("VOC_BEHAVIOUR_BUNDLE")
    if chosen:
        if not (Path(chosen) / "metadata.json").exists():
            pytest.fail(f"VOC_BEHAVIOUR_BUNDLE={chosen} is not a model bundle")
        return Predictor.from_path(Path(chosen))
    return Predictor.from_path(request.getfixturevalue("default_bundle"))


def _intent(predictor: Predictor, texts: list[str]) -> list[str]:
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
def test_minimum_functionality(predictor: Predictor, label: str, text: str) -> None:
    assert _intent(predictor, [text]) == [label]


@pytest.mark.parametrize(
    "text",
    [
        "no problems at all, smooth flight and friendly crew",
        "not a single issue with my order, thanks!",
        "never had a problem with you guys, great service",
    ],
)
def test_negated_problem_is_not_a_complaint(predictor: Predictor, text: str) -> None:
    assert _intent(predictor, [text]) != ["complaint"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("@united my bag never arrived", "@SkyNimbusAir my bag never arrived"),
        ("my bag never arrived http://t.co/abc123", "my bag never arrived https://example.com/photo"),
        ("@JetBlue thanks for the great flight!", "@VireoMobile thanks for the great flight!"),
        ("@Delta do you fly to Lima?", "@delta do you fly to Lima? https://x.co/1"),
        ("John at the desk was rude to me", "Maria at the desk was rude to me"),
        ("Ahmed helped me so much, thank you", "Sarah helped me so much, thank you"),
    ],
)
def test_invariance_to_handles_urls_and_names(predictor: Predictor, a: str, b: str) -> None:
    pa, pb = predictor.predict([a, b])
    assert pa["intent"] == pb["intent"] and pa["sentiment"] == pb["sentiment"]
    assert abs(pa["intent_scores"][pa["intent"]] - pb["intent_scores"][pa["intent"]]) < 0.15
    assert abs(pa["sentiment_scores"][pa["sentiment"]] - pb["sentiment_scores"][pa["sentiment"]]) < 0.15


@pytest.mark.parametrize(
    ("base", "changed"),
    [
        ("my refund arrived", "my refund still hasn't arrived, still waiting"),
        ("the app works", "the app does not work"),
        ("the food was good", "the food was not good"),
    ],
)
def test_directional_complaint_probability_rises(predictor: Predictor, base: str, changed: str) -> None:
    before, after = predictor.predict([base, changed])
    assert after["intent_scores"]["complaint"] > before["intent_scores"]["complaint"]
    assert after["sentiment_scores"]["negative"] > before["sentiment_scores"]["negative"]


def test_probabilities_sum_to_one(predictor: Predictor) -> None:
    for p in predictor.predict(["", "🙂", "x" * 5000, "ok"]):
        assert abs(sum(p["intent_scores"].values()) - 1) < 1e-6
        assert abs(sum(p["sentiment_scores"].values()) - 1) < 1e-6
