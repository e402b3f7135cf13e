"""Self-training data: which unlabelled posts a teacher model may label, and which of its labels to keep.

``scripts/data/make_pseudo_labels.py`` writes a teacher's confident intent labels on the unlabelled customer
posts of the shared data as an ``ids:`` label file (ids and labels, never texts); the experiments measure
variants of the selection. Posts in an evaluation set, by id or by text (:func:`ids_and_text_keys`), never
enter the pool, so evaluating on that set stays clean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.data.datasets import LabelledTexts, match_key
from pipeline.data.sources import load_dataset

UNLABELLED = ("twcs", "ibm-cdp")


def ids_and_text_keys(labelled: list[LabelledTexts]) -> tuple[set[str], set[str]]:
    """The ids of labelled sets, and their texts' match keys (URLs, mentions, case, punctuation dropped).

    A post is "in" such a set when its id is, or its text equals one of the set's texts by that key.
    """
    ids: set[str] = set()
    keys: set[str] = set()
    for data in labelled:
        ids.update(data.ids)
        keys.update(k for k in map(match_key, data.texts) if k)
    return ids, keys


def unlabelled_pool(
    data_dir: Path,
    exclude: list[LabelledTexts],
    sources: Sequence[str] = UNLABELLED,
    keep: Callable[[str], bool] | None = None,
) -> tuple[list[tuple[str, str, str]], Counter[str]]:
    """(dataset, id, raw text) of the posts that may be pseudo-labelled, and what was left out and why.

    ``exclude``: evaluation sets (loaded ``ids:`` files or datasets); their posts and texts never enter the pool.
    ``sources``: the datasets read (their labels, if any, are ignored); ``keep``: a filter on the raw text.
    """
    excluded_ids, excluded_keys = ids_and_text_keys(exclude)
    pool: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    dropped = Counter[str]()
    for name in sources:
        data = load_dataset(name, data_dir)
        for item_id, text in zip(data.ids, data.texts):
            key = match_key(text)
            if keep is not None and not keep(text):
                dropped["left out by the filter"] += 1
            elif item_id in excluded_ids or (key and key in excluded_keys):
                dropped["in an evaluation set"] += 1
            elif not key or key in seen:
                dropped["repeated or empty text"] += 1
            else:
                seen.add(key)
                pool.append((name, item_id, text))
    return pool, dropped


def select_confident(proba: np.ndarray, threshold: float, cap: int) -> list[int]:
    """Rows whose top probability is at least ``threshold``, at most ``cap`` per label (most confident first)."""
    top, label = proba.max(axis=1), proba.argmax(axis=1)
    chosen: list[int] = []
    for k in range(proba.shape[1]):
        rows = np.flatnonzero((label == k) & (top >= threshold))
        chosen += rows[np.argsort(-top[rows], kind="stable")][:cap].tolist()
    return sorted(chosen)


def select_prior_matched(proba: np.ndarray, threshold: float, cap: int) -> list[tuple[int, int]]:
    """(row, label) pairs whose label shares follow the teacher's soft class prior (class-rebalanced self-training).

    Plain selection keeps each row's argmax, and argmax under-counts the rare labels: a teacher whose mean
    probability of favour-seeking over the pool is 2.7% gives it to 1.4% of the rows, and the student learns a
    prior that is too low. Here the total is what :func:`select_confident` keeps, each label's quota is that
    total times the label's mean probability over the rows, and (row, label) pairs with probability at least
    ``threshold`` are taken in decreasing order of probability while the row is free and the label's quota
    (at most ``cap``) is not full. A row can therefore get its second label when its first is over quota.
    """
    total = len(select_confident(proba, threshold, cap))
    quotas = np.minimum(np.rint(total * proba.mean(axis=0)).astype(int), cap)
    rows, labels = np.nonzero(proba >= threshold)
    order = np.argsort(-proba[rows, labels], kind="stable")
    taken = np.zeros(len(proba), dtype=bool)
    filled = np.zeros(proba.shape[1], dtype=int)
    chosen: list[tuple[int, int]] = []
    for i, k in zip(rows[order].tolist(), labels[order].tolist()):
        if not taken[i] and filled[k] < quotas[k]:
            taken[i] = True
            filled[k] += 1
            chosen.append((i, k))
    return sorted(chosen)


def soft_scores(proba: np.ndarray, floor: float) -> dict[int, float]:
    """Soft label of one post: each label index whose probability is at least ``floor``, with its
    probability renormalised over those labels (so the post weighs 1 in training, as a hard label does)."""
    kept = np.flatnonzero(proba >= floor)
    if not len(kept):  # floor above every probability: the top label alone
        kept = np.asarray([int(proba.argmax())])
    mass = float(proba[kept].sum())
    return {int(k): float(proba[k]) / mass for k in kept}


SOFT_FLOOR = 0.02


def soft_pairs(
    proba: np.ndarray, posts: list[int], floor: float = SOFT_FLOOR
) -> tuple[list[tuple[int, int]], list[float]]:
    """(post, label) rows and weights for soft-label training (:func:`soft_scores` of each post
    at ``floor``, as ``scripts/data/make_pseudo_labels.py --soft-floor`` writes them)."""
    pairs: list[tuple[int, int]] = []
    weights: list[float] = []
    for i in posts:
        for k, weight in soft_scores(proba[i], floor).items():
            pairs.append((i, k))
            weights.append(weight)
    return pairs, weights
