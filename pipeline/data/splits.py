"""Deterministic splits of labelled rows: which rows are held out depends on each row's id alone.

A row is held out when the SHA-256 of ``(salt, id)``, read as a 64-bit fraction, is below the held-out
fraction: the same post lands on the same side in every data set and in every retraining, whatever the row
order or the other rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

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
