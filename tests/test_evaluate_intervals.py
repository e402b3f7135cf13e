"""Bootstrap intervals of the evaluation metrics (`voc evaluate --bootstrap`)."""

from __future__ import annotations

import numpy as np

from pipeline.training.evaluate import bootstrap_interval, classification_metrics, metric_intervals, percentile_interval

CLASSES = ["a", "b", "c"]


def _predictions(n: int, accuracy: float, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < accuracy, gold, (gold + 1) % 3)
    return [CLASSES[i] for i in gold], np.eye(3)[pred] * 0.7 + 0.1


def test_intervals_hold_the_estimate_shrink_with_more_rows_and_repeat() -> None:
    labels, proba = _predictions(300, 0.7)
    small = metric_intervals(labels, proba, CLASSES, resamples=400)
    point = classification_metrics(labels, proba, CLASSES)["overall"]
    for metric in ("accuracy", "macro_f1", "macro_recall"):
        low, high = small[metric]
        assert low < point[metric] < high
    assert small == metric_intervals(labels, proba, CLASSES, resamples=400)  # seeded
    labels, proba = _predictions(3000, 0.7)
    large = metric_intervals(labels, proba, CLASSES, resamples=400)
    width = {size: ci["accuracy"][1] - ci["accuracy"][0] for size, ci in (("small", small), ("large", large))}
    # The standard error falls as 1/sqrt(n): ten times the rows, about a third of the width.
    assert 0.2 < width["large"] / width["small"] < 0.5
    # An accuracy of 0.7 on 300 posts: 1.96 * sqrt(0.21 / 300) = 0.052 either side.
    assert abs(width["small"] / 2 - 0.052) < 0.012


def test_percentile_interval_and_bootstrap_interval() -> None:
    assert percentile_interval(list(range(101)), 0.9) == (5.0, 95.0)
    assert bootstrap_interval(50, lambda rows: 1.0, resamples=20) == (1.0, 1.0)
    low, high = bootstrap_interval(200, lambda rows: float(np.mean(rows)), resamples=500)
    assert low < 99.5 < high  # the mean of the indices 0..199
