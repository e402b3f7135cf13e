#!/usr/bin/env python3
"""Measure how far the scoring fast path is from the reference code on real posts.

Scores the same posts twice with the default bundle (or ``--model``): once through the fast path
(:mod:`pipeline.models.fastpath`, :mod:`pipeline.topics.fast`) and once through the reference implementation
(``VOC_FASTPATH=0`` code: ``TweetNormaliser``, each classifier's ``predict_proba``, ``TopicAssigner``), and
prints the largest differences: normalised text, logits, probabilities, labels, topics and topic scores. The
first ``--coldstart-limit`` posts also go through the cold-start path of ``voc predict TEXT``
(pipeline.models.coldstart).

Posts: the airline tweets and the SemEval files under ``--data-dir`` when present, else the demo posts.

Usage::

    python scripts/checks/check_fastpath.py --data-dir ../shared/data --limit 20000
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.bench_posts import demo_texts

REPO = Path(__file__).resolve().parents[2]


def load_texts(data_dir: Path | None, limit: int) -> list[str]:
    texts: list[str] = []
    if data_dir is not None:
        airline = data_dir / "twitter-us-airline-sentiment" / "Tweets.csv"
        if airline.exists():
            with airline.open(newline="", encoding="utf-8") as handle:
                texts += [row["text"] for row in csv.DictReader(handle)]
        for path in sorted((data_dir / "semeval2017-task4a-english").glob("*.tsv")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split("\t")
                if len(parts) >= 3:
                    texts.append(parts[2])
    if not texts:
        texts = demo_texts()
    return texts[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default=None, help="bundle directory (default: models/default)")
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--coldstart-limit", type=int, default=5000, help="posts checked on the cold-start path")
    args = parser.parse_args()

    from pipeline.models.fastpath import FastPredictor
    from pipeline.models.predict import Predictor
    from pipeline.scoring.job import build_topic_assigner
    from pipeline.topics.fast import FastTopicScorer

    data_dir = args.data_dir if args.data_dir and args.data_dir.exists() else None
    texts = load_texts(data_dir, args.limit)
    predictor = Predictor.from_path(args.model)
    fast = FastPredictor.for_bundle(predictor.bundle)
    if fast is None:
        raise SystemExit("this bundle has no fast path (not tfidf_logreg.v1/v2 on tweet_normaliser.v1)")
    assigner = build_topic_assigner(predictor.bundle, None)
    fast_topics = FastTopicScorer(assigner) if assigner is not None else None

    started = time.perf_counter()
    reference_text = predictor.normaliser.normalise_many(texts)
    reference = {task: clf.decision_function(reference_text) for task, clf in predictor.classifiers.items()}
    reference_topics = assigner.score_matrix(texts, normalised=reference_text) if assigner is not None else None
    reference_seconds = time.perf_counter() - started

    started = time.perf_counter()
    got_text: list[str] = []
    logits: dict[str, list[np.ndarray]] = {task: [] for task in predictor.classifiers}
    topic_parts: list[np.ndarray] = []
    for start in range(0, len(texts), args.batch_size):
        batch = fast.encode(texts[start : start + args.batch_size])
        for task, z in fast.logits(batch).items():
            logits[task].append(z)
        if fast_topics is not None:
            topic_parts.append(fast_topics.score_matrix(batch))
        got_text += batch.texts()
    fast_seconds = time.perf_counter() - started

    print(
        f"{len(texts):,} posts; reference {reference_seconds:.1f} s, fast path {fast_seconds:.1f} s "
        "(normalise, both classifiers, topic scores)"
    )
    print(f"normalised texts that differ: {sum(a != b for a, b in zip(reference_text, got_text))}")
    for task, clf in predictor.classifiers.items():
        z_fast = np.vstack(logits[task])
        z_ref = reference[task]
        p_fast, p_ref = clf._calibrate(z_fast), clf._calibrate(z_ref)
        changed = int((p_fast.argmax(axis=1) != p_ref.argmax(axis=1)).sum())
        print(
            f"{task}: max |Δ logit| {np.abs(z_fast - z_ref).max():.1e}, "
            f"max |Δ probability| {np.abs(p_fast - p_ref).max():.1e}, labels changed {changed}"
        )
    if reference_topics is not None and assigner is not None:
        s_fast = np.vstack(topic_parts)
        same = assigner.decide(s_fast, None) == assigner.decide(reference_topics, None)
        print(f"topics: max |Δ score| {np.abs(s_fast - reference_topics).max():.1e}, assignments identical: {same}")
    check_coldstart(args, texts, predictor, reference_text, reference)


def check_coldstart(
    args: argparse.Namespace,
    texts: list[str],
    predictor: Any,
    reference_text: list[str],
    reference: dict[str, np.ndarray],
) -> None:
    """The cold-start path of `voc predict TEXT` (pipeline.models.coldstart) on the first --coldstart-limit posts."""
    from pipeline.models.coldstart import ColdStartPredictor, Unsupported, open_for_coldstart

    try:
        quick = ColdStartPredictor.from_verified(open_for_coldstart(args.model))
    except Unsupported as exc:
        print(f"cold-start path: does not take this bundle ({exc})")
        return
    n = min(len(texts), args.coldstart_limit)
    started = time.perf_counter()
    cold_text = [" ".join(quick.tokens(text)) for text in texts[:n]]
    cold = {task: np.array([model.logits(t.split()) for t in cold_text]) for task, model in quick.models.items()}
    seconds = time.perf_counter() - started
    print(
        f"cold-start path, first {n:,} posts: {seconds:.1f} s; normalised texts that differ: "
        f"{sum(a != b for a, b in zip(reference_text, cold_text))}"
    )
    for task, model in quick.models.items():
        clf = predictor.classifiers[task]
        p_cold = np.array([model.proba(z) for z in cold[task]])
        p_ref = clf._calibrate(reference[task][:n])
        labels_ref = predictor.labels_from_proba(task, p_ref)
        changed = sum(model.label(p) != label for p, label in zip(p_cold.tolist(), labels_ref))
        print(
            f"{task}: max |Δ logit| {np.abs(cold[task] - reference[task][:n]).max():.1e}, "
            f"max |Δ probability| {np.abs(p_cold - p_ref).max():.1e}, labels changed {changed}"
        )


if __name__ == "__main__":
    main()
