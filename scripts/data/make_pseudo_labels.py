#!/usr/bin/env python3
"""Pseudo-label unlabelled posts with a teacher bundle; writes ids and labels only (no texts).

Self-training for the linear intent model: the teacher (the intent model of a transformer bundle, e.g. one
trained with ``configs/transformer.yaml``) labels the unlabelled customer posts of the shared data (``twcs``
and ``ibm-cdp``: posts to ~90 companies in many industries). The confident labels (top probability
≥ ``--threshold``, at most ``--cap`` per label, most confident first) are written as an ``ids:`` label file
(:func:`pipeline.data.datasets.load_id_labels`), which a config adds to its training sources. Licences forbid
committing the texts; the ids resolve against the shared data at training time.

Posts that are in an evaluation set (``--exclude``, an ``ids:`` label file), or whose text equals one of its
texts once URLs, mentions, case and punctuation are dropped, are never pseudo-labelled, so evaluating on
that set stays clean. Repeated texts are labelled once.

    python scripts/data/make_pseudo_labels.py --teacher models/transformer-v4 --data-dir ../shared/data \
        --exclude data/labels/twcs-intent.jsonl --exclude data/labels/intent-train.jsonl \
        --out data/labels/pseudo-intent.jsonl --threshold 0.3 --cap 100000

Sentiment (``--task sentiment``) is distilled the same way: the teacher's probabilities (``--soft-floor``) on the
sentiment training posts and on unlabelled posts carry what the fine-tuned encoder learnt to the linear model.
An evaluation set that is a named dataset is left out with ``--exclude-dataset`` (its ids and texts)::

    python scripts/data/make_pseudo_labels.py --task sentiment --teacher models/transformer \
        --data-dir ../shared/data --source semeval-2013-2016 --source airline-sentiment:train \
        --source speech-acts --source twcs --source ibm-cdp --exclude-dataset semeval-2017-test \
        --exclude-dataset airline-sentiment:test --exclude-dataset tweeteval-sentiment:val \
        --exclude data/labels/twcs-intent.jsonl --exclude data/labels/company-mentions-judge.jsonl \
        --out data/labels/pseudo-sentiment.jsonl --threshold 0 --cap 1000000 --soft-floor 0.05

General tweets that name a company (``--source semeval-2013-2016 --source speech-acts --naming-company``) are the
posts that mention brands without being addressed to their service: a teacher trained on hand labels of such
posts passes what it learnt from them to the linear model.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from pipeline.data.companies import industry_of
from pipeline.data.datasets import load_id_labels
from pipeline.data.io import write_text_atomic
from pipeline.data.sources import load_dataset
from pipeline.models.predict import Predictor
from pipeline.training.pseudo_labels import UNLABELLED, select_confident, soft_scores, unlabelled_pool

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="bundle whose model of --task labels the posts")
    parser.add_argument("--task", choices=("intent", "sentiment"), default="intent", help="the labels to write")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, action="append", default=[], help="ids: label file to keep out")
    parser.add_argument(
        "--exclude-dataset", action="append", default=[], help="dataset name (a test split) to keep out; repeatable"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--cap", type=int, default=1000, help="at most this many posts per label")
    parser.add_argument(
        "--soft-floor",
        type=float,
        help="also write <task>_scores: the teacher's probabilities of the labels at or above this floor, "
        "renormalised; training then uses them as soft labels (pipeline.data.datasets.load_id_labels)",
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        help="dataset to draw the posts from (repeatable; default: twcs and ibm-cdp, the customer-care posts)",
    )
    parser.add_argument(
        "--naming-company",
        action="store_true",
        help="keep only posts that name a company of pipeline.data.companies.INDUSTRIES (for general tweets)",
    )
    args = parser.parse_args(argv)
    if args.soft_floor is not None and not 0.0 < args.soft_floor <= 1.0:
        parser.error("--soft-floor must be in (0, 1]")

    predictor = Predictor.from_path(args.teacher)  # first: a teacher without the task fails before any data is read
    if args.task not in predictor.classifiers:
        parser.error(f"{args.teacher} has no {args.task} model")
    held_out = [load_id_labels(path, args.data_dir) for path in args.exclude]
    held_out += [load_dataset(name, args.data_dir, args.task) for name in args.exclude_dataset]
    pool, dropped = unlabelled_pool(
        args.data_dir,
        held_out,
        sources=args.source or UNLABELLED,
        keep=(lambda text: industry_of(text) is not None) if args.naming_company else None,
    )
    started = time.perf_counter()
    teacher = predictor.classifiers[args.task]  # this task only: a transformer scores each head separately
    proba = teacher.predict_proba(predictor.normaliser.normalise_many([text for _, _, text in pool]))
    classes = list(teacher.classes_)
    top, label = proba.max(axis=1), proba.argmax(axis=1)
    chosen = select_confident(proba, args.threshold, args.cap)
    lines = []
    for i in chosen:
        row: dict[str, object] = {
            "dataset": pool[i][0],
            "id": pool[i][1],
            args.task: classes[label[i]],
            "confidence": round(float(top[i]), 4),
        }
        if args.soft_floor is not None:
            scores = soft_scores(proba[i], args.soft_floor)
            row[f"{args.task}_scores"] = {classes[k]: round(p, 4) for k, p in scores.items()}
        lines.append(json.dumps(row))
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    counts = Counter(classes[label[i]] for i in chosen)
    print(f"pool {len(pool)} posts (left out: {dict(dropped)}); teacher {time.perf_counter() - started:.0f}s")
    print(f"{len(chosen)} pseudo-labels -> {args.out}: {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
