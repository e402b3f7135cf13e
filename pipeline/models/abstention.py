"""Abstention: below a confidence threshold, a prediction falls back to a catch-all label (intent ``other``).

The threshold is tuned on held-out or out-of-fold calibrated probabilities (never on the rows being
scored by the final model) to maximise macro-F1, and stored in the classifier's spec. It changes the
*label* only: the calibrated probabilities (``intent_scores``) are reported unchanged, so a post can be
labelled ``other`` while another label has the highest score; that is what "the model is not sure" means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_GRID = tuple(round(x, 2) for x in np.arange(0.30, 0.86, 0.025))


def apply_threshold(proba: np.ndarray, classes: Sequence[str], threshold: float | None, fallback: str) -> np.ndarray:
    """Predicted class indices: the argmax, or ``fallback`` where the top probability is below ``threshold``."""
    pred = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=np.int64)
    if threshold is None or fallback not in classes or not len(proba):
        return pred
    pred = pred.copy()
    pred[proba.max(axis=1) < threshold] = list(classes).index(fallback)
    return pred


def decide_labels(
    proba: np.ndarray, classes: Sequence[str], threshold: float | None, fallback: str | None
) -> list[str]:
    """Label names from calibrated probabilities, with the abstention threshold (if any) applied."""
    return [classes[i] for i in apply_threshold(proba, classes, threshold, fallback or "")]


def _macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    scores = []
    for k in range(n_classes):
        support = int(np.sum(y == k))
        if support == 0:
            continue
        tp = int(np.sum((pred == k) & (y == k)))
        fp = int(np.sum((pred == k) & (y != k)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / support
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def tune_threshold(
    proba: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    fallback: str = "other",
    grid: Sequence[float] = DEFAULT_GRID,
    min_gain: float = 0.002,
) -> tuple[float | None, dict[str, float]]:
    """The threshold of ``grid`` with the best macro-F1 on ``(proba, y)``; None unless it gains ``min_gain``.

    Returns the threshold and a summary (macro-F1 without and with it, share of rows abstained).
    """
    n_classes = len(classes)
    base = _macro_f1(y, proba.argmax(axis=1), n_classes)
    summary = {"macro_f1_argmax": round(base, 4), "macro_f1_with_threshold": round(base, 4), "abstained": 0.0}
    if fallback not in classes or not len(proba):
        return None, summary
    best, best_f1 = None, base
    for threshold in grid:
        f1 = _macro_f1(y, apply_threshold(proba, classes, threshold, fallback), n_classes)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = float(threshold), f1
    if best is None or best_f1 - base < min_gain:
        return None, summary
    summary["macro_f1_with_threshold"] = round(best_f1, 4)
    summary["abstained"] = round(float(np.mean(proba.max(axis=1) < best)), 4)
    return best, summary
