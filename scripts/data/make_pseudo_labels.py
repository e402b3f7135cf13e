#!/usr/bin/env python3
"""Pseudo-label unlabelled customer posts with a teacher bundle; writes ids and labels only (no texts).

Self-training for the linear intent model: the teacher (the intent model of a transformer bundle, e.g. one
trained with ``configs/transformer.yaml``) labels the unlabelled customer posts of the shared data (``twcs``
and ``ibm-cdp``: posts to ~90 companies in many industries). The confident labels (top probability
≥ ``--threshold``, at most ``--cap`` per label, most confident first) are written as an ``ids:`` label file
(:func:`pipeline.datasets.load_id_labels`), which a config adds to its training sources. Licences forbid
committing the texts; the ids resolve against the shared data at training time.

Posts that are in an evaluation set (``--exclude``, an ``ids:`` label file), or whose text equals one of its
texts once URLs, mentions, case and punctuation are dropped, are never pseudo-labelled, so evaluating on
that set stays clean. Repeated texts are labelled once.

    python scripts/make_pseudo_labels.py --teacher models/transformer-v4 --data-dir ../shared/data \
        --exclude data/labels/twcs-intent.jsonl --exclude data/labels/intent-train.jsonl \
        --out data/labels/pseudo-intent.jsonl --threshold 0.3 --cap 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.data.datasets import LabelledTexts, load_id_labels, match_key  # noqa: E402
from pipeline.data.io import write_text_atomic  # noqa: E402
from pipeline.data.sources import load_dataset  # noqa: E402
from pipeline.models.predict import Predictor  # noqa: E402

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


def unlabelled_pool(data_dir: Path, exclude: list[LabelledTexts]) -> tuple[list[tuple[str, str, str]], Counter[str]]:
    """(dataset, id, raw text) of the posts that may be pseudo-labelled, and what was left out and why.

    ``exclude``: evaluation sets (loaded ``ids:`` files); their posts and texts never enter the pool.
    """
    excluded_ids, excluded_keys = ids_and_text_keys(exclude)
    pool: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    dropped = Counter[str]()
    for name in UNLABELLED:
        data = load_dataset(name, data_dir)
        for item_id, text in zip(data.ids, data.texts):
            key = match_key(text)
            if item_id in excluded_ids or (key and key in excluded_keys):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="bundle whose intent model labels the posts")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, action="append", default=[], help="ids: label file to keep out")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--cap", type=int, default=1000, help="at most this many posts per label")
    parser.add_argument(
        "--soft-floor",
        type=float,
        help="also write intent_scores: the teacher's probabilities of the labels at or above this floor, "
        "renormalised; training then uses them as soft labels (pipeline.datasets.load_id_labels)",
    )
    args = parser.parse_args(argv)
    if args.soft_floor is not None and not 0.0 < args.soft_floor <= 1.0:
        parser.error("--soft-floor must be in (0, 1]")

    pool, dropped = unlabelled_pool(args.data_dir, [load_id_labels(path, args.data_dir) for path in args.exclude])
    started = time.perf_counter()
    predictor = Predictor.from_path(args.teacher)
    _, probabilities = predictor.predict_proba([text for _, _, text in pool])
    proba = probabilities["intent"]
    classes = list(predictor.classifiers["intent"].classes_)
    top, label = proba.max(axis=1), proba.argmax(axis=1)
    chosen = select_confident(proba, args.threshold, args.cap)
    lines = []
    for i in chosen:
        row: dict[str, object] = {
            "dataset": pool[i][0],
            "id": pool[i][1],
            "intent": classes[label[i]],
            "confidence": round(float(top[i]), 4),
        }
        if args.soft_floor is not None:
            row["intent_scores"] = {classes[k]: round(p, 4) for k, p in soft_scores(proba[i], args.soft_floor).items()}
        lines.append(json.dumps(row))
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    counts = Counter(classes[label[i]] for i in chosen)
    print(f"pool {len(pool)} posts (left out: {dict(dropped)}); teacher {time.perf_counter() - started:.0f}s")
    print(f"{len(chosen)} pseudo-labels -> {args.out}: {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
