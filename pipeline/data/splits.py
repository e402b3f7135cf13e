"""Splits of labelled rows, the one place that decides which rows train and which are held out.

* :func:`holdout_indices`: by id. A row is held out when the SHA-256 of ``(salt, id)``, read as a 64-bit
  fraction, is below the held-out fraction: the same post lands on the same side in every data set and in
  every retraining, whatever the row order or the other rows (``datasets.split_by_id``, ``holdout:`` in a
  training config).
* :func:`stratified_holdout` and :func:`stratified_sample`: seeded and stratified by label, for rows that
  have no stable id (a classifier's own calibration split and training sample).
* :func:`hash_halves`: a fixed dev/test partition by id (the out-of-industry judge's halves).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

HOLDOUT_SALT = "voc-holdout-v1"


def holdout_indices(ids: Sequence[str], fraction: float, salt: str = HOLDOUT_SALT) -> tuple[list[int], list[int]]:
    """Train and held-out row indices: a row is held out when the hash of ``(salt, id)`` is below ``fraction``.

    The side of a row depends only on its id, so the same posts are held out in every retraining, which is
    what makes a champion and a challenger trained months apart comparable.
    """
    train: list[int] = []
    test: list[int] = []
    threshold = fraction * 2.0**64
    for i, item_id in enumerate(ids):
        digest = hashlib.sha256(f"{salt}\x00{item_id}".encode()).digest()
        (test if int.from_bytes(digest[:8], "big") < threshold else train).append(i)
    return train, test


def stratified_holdout(y: np.ndarray, rows: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into sorted (train, held-out) rows: a seeded draw of ``fraction``, stratified by label.

    Used where rows have no stable ids to hash (a classifier's own calibration split); with no fraction or
    fewer than 10 rows, every row is on both sides.
    """
    from sklearn.model_selection import train_test_split

    if fraction <= 0 or len(rows) < 10:
        return rows, rows  # no held-out data: calibrate on the training rows (overconfident; tests only)
    labels = y[rows]
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    train, held = train_test_split(rows, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(np.asarray(train)), np.sort(np.asarray(held))


def stratified_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` rows, stratified by ``y`` where every label has two rows."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    if size <= 0:
        return rows[:0]
    if size >= len(y):
        return rows
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    chosen, _ = train_test_split(rows, train_size=size, random_state=seed, stratify=stratify)
    return np.sort(np.asarray(chosen))


def hash_halves(ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Row positions of a fixed two-way partition by id: ``dev`` where the first byte of the id's SHA-256 is
    even, ``test`` where it is odd, and ``all`` (a variant is chosen on one half and reported on the other)."""
    parity = np.asarray([hashlib.sha256(item_id.encode()).digest()[0] % 2 for item_id in ids])
    return {"all": np.arange(len(ids)), "dev": np.flatnonzero(parity == 0), "test": np.flatnonzero(parity == 1)}
