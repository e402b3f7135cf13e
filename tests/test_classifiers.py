"""The linear classifier's abstention: tuned on out-of-fold probabilities, applied to labels only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.data.io import sha256_file
from pipeline.models.abstention import _macro_f1
from pipeline.models.bundle import ModelBundle
from pipeline.models.linear import TfidfLogisticClassifier
from pipeline.models.predict import Predictor
from pipeline.text.normalise import TweetNormaliser
from tests.conftest import TINY_INTENT, TINY_SENTIMENT
from tests.conftest import _fit as fit_tiny

CLASSES = list(TINY_INTENT)


def _data() -> tuple[list[str], list[str]]:
    normaliser = TweetNormaliser()
    texts = [normaliser(t) for label in TINY_INTENT for t in TINY_INTENT[label]]
    return texts, [label for label in TINY_INTENT for _ in TINY_INTENT[label]]


def _fit(**params: object) -> TfidfLogisticClassifier:
    texts, labels = _data()
    settings: dict[str, object] = {"min_df": 1, "calibration_folds": 2, "n_jobs": 1, "C": 10.0}
    settings.update(params)
    return TfidfLogisticClassifier(**settings).fit(texts, labels, classes=CLASSES)  # type: ignore[arg-type]


def test_threshold_is_tuned_on_out_of_fold_probabilities() -> None:
    clf = _fit(abstain_label="other")
    assert clf.oof_proba_ is not None
    _, labels = _data()
    y = np.asarray([CLASSES.index(label) for label in labels])
    expected = round(_macro_f1(y, clf.oof_proba_.argmax(axis=1), len(CLASSES)), 4)
    assert clf.abstention_["macro_f1_argmax"] == expected
    if clf.abstain_threshold_ is None:
        assert clf.abstention_["macro_f1_with_threshold"] == expected
    else:
        assert clf.abstention_["macro_f1_with_threshold"] >= expected + 0.002


def test_no_threshold_without_abstain_label_or_calibration_folds() -> None:
    assert _fit().abstain_threshold_ is None
    clf = _fit(abstain_label="other", calibration_folds=0)
    assert clf.abstain_threshold_ is None and clf.abstention_ == {}


def test_unknown_abstain_label_is_refused() -> None:
    with pytest.raises(ValueError, match="abstain_label 'unsure'"):
        _fit(abstain_label="unsure")


def test_threshold_changes_labels_not_probabilities_and_survives_save(tmp_path: Path) -> None:
    clf = _fit(abstain_label="other")
    texts, _ = _data()
    proba = clf.predict_proba(texts)
    top = np.sort(proba.max(axis=1))
    middle = len(texts) // 2
    # Half the posts are unsure; the threshold lies midway between two posts (the fast path differs by ~1e-7).
    clf.abstain_threshold_ = float(top[middle - 1] + top[middle]) / 2
    decided = clf.predict(texts)
    unsure = proba.max(axis=1) < clf.abstain_threshold_
    assert unsure.any() and all(decided[i] == "other" for i in np.flatnonzero(unsure))
    assert all(decided[i] == CLASSES[j] for i, j in enumerate(proba.argmax(axis=1)) if not unsure[i])

    clf.save(tmp_path / "intent")
    spec = json.loads((tmp_path / "intent" / "classifier.json").read_text())
    loaded = TfidfLogisticClassifier.load(tmp_path / "intent", spec)
    assert loaded.abstain_threshold_ == clf.abstain_threshold_
    assert loaded.predict(texts) == decided
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, atol=1e-6)

    # Through a bundle and the Predictor (the path `voc predict` and `voc score` take).
    sentiment = fit_tiny(TINY_SENTIMENT, TweetNormaliser())
    bundle = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": loaded, "sentiment": sentiment})
    bundle.save(tmp_path / "bundle")
    predictor = Predictor.from_path(tmp_path / "bundle")
    raw = [t for label in TINY_INTENT for t in TINY_INTENT[label]]
    records = predictor.predict(raw)
    assert [r["intent"] for r in records] == decided

    from pipeline.training.model_card import render_model_card

    card = render_model_card(bundle)
    assert f"labelled `other` when the top probability is below {clf.abstain_threshold_}" in card


def test_swap_names_adds_copies_with_other_names_only_for_posts_with_names() -> None:
    from pipeline.text.names import FIRST_NAMES, swap_names

    texts = ["john at the desk was rude to me", "my bill is wrong", "maria and john helped me"]
    out, labels = swap_names(texts, [0, 1, 2], copies=2)
    assert out[:3] == texts and labels == [0, 1, 2, 0, 0, 2, 2]  # "bill" is a word, not a name
    for copy in out[3:5]:
        name = copy.split()[0]
        assert name in FIRST_NAMES and name != "john" and copy.endswith(" at the desk was rude to me")
    for copy in out[5:]:  # each name swapped for another one
        first, _, second, *rest = copy.split()
        assert first != "maria" and second != "john" and {first, second} <= set(FIRST_NAMES)
        assert rest == ["helped", "me"]
    assert swap_names(texts, [0, 1, 2], copies=2) == (out, labels)  # deterministic
    assert swap_names(texts, [0, 1, 2], copies=0) == (texts, [0, 1, 2])


def test_name_swap_makes_staff_names_carry_no_label(tmp_path: Path) -> None:
    """One name seen only in praise must not pull a complaint about that person towards praise."""
    normaliser = TweetNormaliser()
    texts, labels = _data()
    texts += [normaliser(t) for t in ("thanks john!", "john you are the best", "john was great, thank you")]
    labels += ["praise"] * 3
    probe = [normaliser(t) for t in ("john at the desk was rude", "maria at the desk was rude")]
    settings: dict[str, object] = {"min_df": 1, "calibration_folds": 0, "n_jobs": 1, "C": 10.0}
    gaps = {}
    for copies in (0, 3):
        clf = TfidfLogisticClassifier(**settings, name_swap=copies).fit(texts, labels, classes=CLASSES)  # type: ignore[arg-type]
        praise = clf.predict_proba(probe)[:, CLASSES.index("praise")]
        gaps[copies] = float(praise[0] - praise[1])
    assert gaps[0] > 0.05 and abs(gaps[3]) < gaps[0] / 2
    clf.save(tmp_path / "intent")
    spec = json.loads((tmp_path / "intent" / "classifier.json").read_text())
    assert spec["params"]["name_swap"] == 3 and TfidfLogisticClassifier.load(tmp_path / "intent", spec).name_swap == 3


def test_fit_temperature_recovers_the_temperature_that_generated_the_labels() -> None:
    from pipeline.models.calibration import fit_temperature, softmax

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 3)) * 2.0
    p = softmax(logits / 0.5)  # the true probabilities are sharper than the logits say
    y = (rng.random(len(p))[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    assert fit_temperature(logits, y) == pytest.approx(0.5, rel=0.05)
    assert fit_temperature(logits / 0.5, y) == pytest.approx(1.0, rel=0.05)


def _linear_ensemble(**params: object) -> object:
    from pipeline.models.ensemble import EnsembleClassifier

    texts, labels = _data()
    member = {"min_df": 1, "calibration_folds": 2, "n_jobs": 1}
    members = [
        {"classifier": "tfidf_logreg.v1", "weight": 0.5, "params": {**member, "C": 10.0}},
        {"classifier": "tfidf_logreg.v1", "weight": 0.5, "params": {**member, "C": 0.1, "char_ngrams": None}},
    ]
    return EnsembleClassifier(members=members, seed=1, **params).fit(texts, labels, classes=CLASSES)  # type: ignore[arg-type]


def test_ensemble_recalibrates_its_mean_on_out_of_fold_rows_without_changing_labels(tmp_path: Path) -> None:
    from pipeline.models.calibration import softmax

    texts, labels = _data()
    plain = _linear_ensemble(recalibrate=False)
    tuned = _linear_ensemble()
    assert plain.temperature_ == 1.0 and plain.calibration_rows_ == 0  # type: ignore[attr-defined]
    assert tuned.calibration_rows_ == len(texts) and tuned.temperature_ != pytest.approx(1.0)  # type: ignore[attr-defined]
    mean = plain.predict_proba(texts)  # type: ignore[attr-defined]
    np.testing.assert_allclose(mean, sum(0.5 * m.predict_proba(texts) for m in plain.classifiers_))  # type: ignore[attr-defined]
    proba = tuned.predict_proba(texts)  # type: ignore[attr-defined]
    np.testing.assert_allclose(proba, softmax(np.log(mean) / tuned.temperature_))  # type: ignore[attr-defined]
    assert tuned.predict(texts) == plain.predict(texts)  # type: ignore[attr-defined]

    # The fitted temperature lowers the log-loss of the out-of-fold mean it was fitted on.
    y = np.array([CLASSES.index(label) for label in labels])
    rows = np.arange(len(y))
    oof_plain = sum(0.5 * m.oof_proba_ for m in plain.classifiers_)  # type: ignore[attr-defined]
    assert -np.log(tuned.oof_proba_[rows, y]).mean() < -np.log(oof_plain[rows, y]).mean()  # type: ignore[attr-defined]

    bundle = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": tuned}, config={}, metadata={})
    path = bundle.save(tmp_path / "bundle")
    loaded = ModelBundle.load(path).classifiers["intent"]
    np.testing.assert_allclose(loaded.predict_proba(texts), proba)
    from pipeline.training.model_card import render_model_card

    assert "ensemble recalibration: temperature" in render_model_card(bundle)


def test_ensemble_saved_before_recalibration_existed_loads_as_the_plain_mean(tmp_path: Path) -> None:
    texts, _ = _data()
    tuned = _linear_ensemble()
    path = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": tuned}, config={}, metadata={}).save(
        tmp_path / "bundle"
    )
    spec_file = path / "intent" / "classifier.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    del spec["temperature"], spec["calibration_rows"], spec["params"]["recalibrate"]
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    manifest = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    manifest["files"]["intent/classifier.json"] = sha256_file(spec_file)
    (path / "metadata.json").write_text(json.dumps(manifest), encoding="utf-8")
    loaded = ModelBundle.load(path).classifiers["intent"]
    assert loaded.temperature_ == 1.0
    np.testing.assert_allclose(
        loaded.predict_proba(texts),
        sum(0.5 * m.predict_proba(texts) for m in tuned.classifiers_),  # type: ignore[attr-defined]
    )


def test_calibration_and_threshold_are_fitted_on_gold_rows_only() -> None:
    """Pseudo-labelled rows are trained on, but the calibration must learn from people's labels alone."""
    texts, labels = _data()
    # People's labels, with every third one wrong (as hard posts are); the model-labelled copies agree with the
    # text perfectly, so calibrating on them would make the model sure of itself.
    noisy = [
        CLASSES[(CLASSES.index(label) + 1) % len(CLASSES)] if i % 3 == 0 else label for i, label in enumerate(labels)
    ]
    all_texts, all_labels = texts + texts * 4, noisy + labels * 4
    gold = [True] * len(texts) + [False] * (4 * len(texts))
    settings: dict[str, object] = {
        "min_df": 1,
        "calibration_folds": 3,
        "n_jobs": 1,
        "C": 10.0,
        "abstain_label": "other",
    }
    plain = TfidfLogisticClassifier(**settings).fit(all_texts, all_labels, classes=CLASSES)  # type: ignore[arg-type]
    honest = TfidfLogisticClassifier(**settings).fit(  # type: ignore[arg-type]
        all_texts, all_labels, classes=CLASSES, gold=gold
    )
    assert plain.oof_proba_ is not None and honest.oof_proba_ is not None
    y = np.asarray([CLASSES.index(label) for label in noisy])
    n = len(texts)
    accuracy = float((honest.oof_proba_[:n].argmax(axis=1) == y).mean())
    confidence_plain = float(plain.oof_proba_[:n].max(axis=1).mean())
    confidence_honest = float(honest.oof_proba_[:n].max(axis=1).mean())
    assert confidence_honest < confidence_plain - 0.05
    assert abs(confidence_honest - accuracy) < abs(confidence_plain - accuracy)
    # The threshold was tuned on the gold rows' out-of-fold probabilities.
    expected = round(_macro_f1(y, honest.oof_proba_[:n].argmax(axis=1), len(CLASSES)), 4)
    assert honest.abstention_["macro_f1_argmax"] == expected


@pytest.mark.parametrize(("gold", "message"), [([True, False], "2 items"), ([False] * 32, "no gold rows")])
def test_bad_gold_masks_are_refused(gold: list[bool], message: str) -> None:
    texts, labels = _data()
    with pytest.raises(ValueError, match=message):
        TfidfLogisticClassifier(min_df=1, calibration_folds=2, n_jobs=1).fit(texts, labels, CLASSES, gold=gold)


def test_sample_weight_zero_drops_a_row_and_weights_follow_name_swapped_copies() -> None:
    texts, labels = _data()
    # A contradicting row: a praise text labelled complaint. With weight 0 its label must not matter (its
    # text still enters the vocabulary and IDF, which are unsupervised); with a large weight it must pull
    # that text towards complaint. name_swap copies carry their row's weight.
    odd = texts[labels.index("praise")] + " maria"
    settings: dict[str, object] = {"min_df": 1, "calibration_folds": 0, "C": 10.0, "class_weight": None}
    for swap in (0, 2):
        plain = TfidfLogisticClassifier(name_swap=swap, **settings).fit(  # type: ignore[arg-type]
            [*texts, odd], [*labels, "praise"], classes=CLASSES, sample_weight=[1.0] * len(texts) + [0.0]
        )
        zero = TfidfLogisticClassifier(name_swap=swap, **settings).fit(  # type: ignore[arg-type]
            [*texts, odd], [*labels, "complaint"], classes=CLASSES, sample_weight=[1.0] * len(texts) + [0.0]
        )
        heavy = TfidfLogisticClassifier(name_swap=swap, **settings).fit(  # type: ignore[arg-type]
            [*texts, odd], [*labels, "complaint"], classes=CLASSES, sample_weight=[1.0] * len(texts) + [50.0]
        )
        complaint = CLASSES.index("complaint")
        assert np.allclose(zero.predict_proba([odd]), plain.predict_proba([odd]), atol=1e-4)
        assert heavy.predict_proba([odd])[0, complaint] > plain.predict_proba([odd])[0, complaint] + 0.2


@pytest.mark.parametrize("weights", [[1.0], [-1.0] * 3, [float("nan")] * 3])
def test_bad_sample_weights_are_refused(weights: list[float]) -> None:
    texts, labels = _data()
    with pytest.raises(ValueError, match="sample_weight"):
        TfidfLogisticClassifier(min_df=1, calibration_folds=0).fit(
            texts[:3], labels[:3], classes=CLASSES, sample_weight=weights
        )
