#!/usr/bin/env python3
"""Pseudo-label unlabelled customer posts with a teacher bundle; writes ids and labels only (no texts).

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
from pipeline.models.predict import Predictor
from pipeline.training.pseudo_labels import UNLABELLED, select_confident, soft_scores, unlabelled_pool

REPO = Path(__file__).resolve().parents[2]


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

    pool, dropped = unlabelled_pool(
        args.data_dir,
        [load_id_labels(path, args.data_dir) for path in args.exclude],
        sources=args.source or UNLABELLED,
        keep=(lambda text: industry_of(text) is not None) if args.naming_company else None,
    )
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
