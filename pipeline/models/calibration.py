"""Calibrated probabilities: softmax, the temperature-and-bias calibration map, and the rows it may be fitted on.

Every classifier maps its logits to probabilities with ``softmax(logits / T + b)``; :func:`fit_calibration`
fits ``T`` and ``b`` by minimising the log-loss of logits the model did not train on: out-of-fold logits
(:func:`out_of_fold_logits`, the cross-fitting loop every backend uses) or a held-out split. An ensemble
recalibrates the mean of its members' probabilities with a temperature alone (:func:`fit_temperature`),
which never changes a label. Only rows labelled by people calibrate (:func:`gold_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` positions of a seeded, shuffled, stratified k-fold split of the integer labels ``y``.

    At most as many folds as the largest class has rows, so that a tiny training set still splits.
    """
    from sklearn.model_selection import StratifiedKFold

    n_splits = min(folds, int(np.bincount(y).max()))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def out_of_fold_logits(
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    fold_logits: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    n_jobs: int = 1,
    alongside: Callable[[], Any] | None = None,
) -> tuple[np.ndarray, Any]:
    """The logits of every row from the fold that held it out, for fitting the calibration map on.

    ``fold_logits(train, test)`` fits a model on the ``train`` positions and returns the logits of the
    ``test`` positions. With ``n_jobs > 1`` the folds run in parallel processes, together with ``alongside``
    (the final fit on all rows, say), which goes first as the longest job; its result is returned second
    (None without it).
    """
    from joblib import Parallel, delayed

    jobs = [delayed(alongside)()] if alongside is not None else []
    jobs += [delayed(fold_logits)(train, test) for train, test in splits]
    results = Parallel(n_jobs=min(n_jobs, len(jobs)))(jobs)
    extra = results.pop(0) if alongside is not None else None
    logits = np.zeros((sum(len(test) for _, test in splits), n_classes))
    for (_, test), fold in zip(splits, results):
        logits[test] = fold
    return logits, extra
