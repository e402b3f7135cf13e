"""Calibrated probabilities: softmax, the temperature-and-bias calibration map, and the rows it may be fitted on.

Every classifier maps its logits to probabilities with ``softmax(logits / T + b)``; :func:`fit_calibration`
fits ``T`` and ``b`` by minimising the log-loss of logits the model did not train on (out-of-fold or held
out). An ensemble recalibrates the mean of its members' probabilities with a temperature alone
(:func:`fit_temperature`), which never changes a label. Only rows labelled by people calibrate
(:func:`gold_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log of :func:`softmax`, computed without overflow (a new array)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def fit_calibration(logits: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, np.ndarray]:
    """Fit ``softmax(logits / T + b)`` to integer labels ``y`` by minimising the log-loss."""
    from scipy.optimize import minimize

    onehot = np.eye(n_classes)[y]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_t, bias = params[0], params[1:]
        inv_t = np.exp(-log_t)
        log_p = log_softmax(logits * inv_t + bias)
        p = np.exp(log_p)
        nll = -np.mean(np.sum(onehot * log_p, axis=1))
        diff = (p - onehot) / len(y)
        grad_bias = diff.sum(axis=0)
        grad_log_t = float(np.sum(diff * logits) * -inv_t)
        # A whisper of L2 on the biases keeps them finite for a class that never wins.
        return nll + 1e-4 * float(bias @ bias), np.concatenate([[grad_log_t], grad_bias + 2e-4 * bias])

    start = np.zeros(n_classes + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(np.exp(result.x[0])), result.x[1:].astype(np.float64)


def fit_temperature(log_proba: np.ndarray, y: np.ndarray) -> float:
    """The ``T`` of ``softmax(log_proba / T)`` with the least log-loss on integer labels ``y``.

    A temperature alone never changes which class wins, so recalibrating with it leaves every label as it was.
    """
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(y))

    def loss(log_t: float) -> float:
        return float(-log_softmax(log_proba / np.exp(log_t))[rows, y].mean())

    result = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def gold_rows(gold: Sequence[bool] | None, n_rows: int) -> np.ndarray:
    """Indices of the rows marked gold (people's labels); all rows when ``gold`` is None."""
    if gold is None:
        return np.arange(n_rows)
    mask = np.asarray(gold, dtype=bool)
    if mask.shape != (n_rows,):
        raise ValueError(f"gold has {mask.size} items for {n_rows} rows")
    if not mask.any():
        raise ValueError("no gold rows to calibrate on: every training row is marked model-labelled")
    return np.flatnonzero(mask)


def heldout_predictions(model: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, calibrated probabilities)`` of training rows that a fitted model's scoring weights never saw.

    Out-of-fold probabilities cover every row; a transformer calibrated on a held-out split covers that split.
    Rows are in ascending order (the ensemble looks rows up with ``searchsorted``). None when the model kept
    neither.
    """
    oof = getattr(model, "oof_proba_", None)
    if oof is not None:
        return np.arange(n_rows), np.asarray(oof)
    rows, proba = getattr(model, "heldout_rows_", None), getattr(model, "heldout_proba_", None)
    if rows is not None and proba is not None:
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")
        return rows[order], np.asarray(proba)[order]
    return None
