#!/usr/bin/env python3
"""Topic assignment on the cross-industry topic judge (``data/labels/topics-judge.jsonl``), as ``voc score`` does it.

Usage::

    python scripts/bench/eval_topic_judge.py --data-dir ../shared/data [--model models/default] \
        [--few-shot 0,5,20] [--encoder all-MiniLM-L6-v2] [--cut seeds[,description]] [--output reports/topic_judge.json]

Each brand's posts are scored with its own taxonomy (``configs/taxonomy/<brand>.yaml``) by
:class:`pipeline.scoring.job.BatchScorer`, the object behind ``voc score --taxonomy``, so the numbers are those
of the path users run. The primary ``topic`` (``other`` = no topic) is compared with the judge's primary topic
(``none`` = no topic); ``topics`` with the judge's topic set.

Reported per brand and pooled: accuracy of the primary topic (no topic counts as a class), macro-F1 over the
taxonomy's topics (per brand, then the mean), precision and recall of "no topic", the mean Jaccard of the topic
sets, and the single-label ceiling (share of posts whose labelled set has at most one topic).

Halves: the judge is split by a hash of the id into a *dev* half and a *test* half. ``--few-shot K`` adds K
example posts per topic to each taxonomy, drawn from the dev half (by hash), and scores the test half only, so
the examples never meet the posts they are judged on; the no-topic threshold of the defaults was chosen on the
dev half. Never tune anything on the test half.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipeline.data.datasets import load_id_labels
from pipeline.errors import VocError
from pipeline.topics.taxonomy import Taxonomy

NONE = "none"
JUDGE = Path("data/labels/topics-judge.jsonl")


def half_of(post_id: str) -> str:
    return "dev" if int(hashlib.sha1(post_id.encode()).hexdigest()[:8], 16) % 2 == 0 else "test"


def load_judge(path: Path, data_dir: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = load_id_labels(path, data_dir, task="primary")
    by_id = dict(zip(texts.ids, texts.texts))
    for row in rows:
        row["text"] = by_id[row["id"]]
        row["half"] = half_of(row["id"])
    return rows


def macro_f1(truth: list[str], pred: list[str], labels: list[str]) -> float:
    scores = []
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(truth, pred))
        fp = sum(t != label and p == label for t, p in zip(truth, pred))
        fn = sum(t == label and p != label for t, p in zip(truth, pred))
        if tp + fp + fn == 0:
            continue  # a topic neither labelled nor predicted says nothing
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def metrics(rows: list[dict[str, Any]], topics: list[str]) -> dict[str, Any]:
    truth = [r["primary"] for r in rows]
    pred = [r["pred"] for r in rows]
    none_pred = [p == NONE for p in pred]
    none_true = [t == NONE for t in truth]
    tp_none = sum(a and b for a, b in zip(none_pred, none_true))
    jaccard = []
    for r in rows:
        a, b = set(r["topics"]), set(r["pred_topics"])
        jaccard.append(1.0 if not a and not b else len(a & b) / len(a | b))
    return {
        "n": len(rows),
        "accuracy": round(float(np.mean([t == p for t, p in zip(truth, pred)])), 4),
        "macro_f1": round(macro_f1(truth, pred, topics), 4),
        "none_precision": round(tp_none / max(sum(none_pred), 1), 4),
        "none_recall": round(tp_none / max(sum(none_true), 1), 4),
        "predicted_none_share": round(float(np.mean(none_pred)), 4),
        "jaccard": round(float(np.mean(jaccard)), 4),
        "single_label_ceiling": round(float(np.mean([len(r["topics"]) <= 1 for r in rows])), 4),
    }


def with_examples(taxonomy: dict[str, Any], pool: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """The taxonomy with up to ``k`` example posts per topic from ``pool`` (dev half), picked by hash."""
    out = json.loads(json.dumps(taxonomy))
    for topic in out["topics"]:
        posts = sorted(
            (r for r in pool if r["primary"] == topic["name"]),
            key=lambda r: hashlib.sha1(("ex" + r["id"]).encode()).hexdigest(),
        )
        topic["examples"] = [r["text"] for r in posts[:k]]
    return out


def score(rows: list[dict[str, Any]], taxonomy: dict[str, Any], model: str | None) -> None:
    from pipeline.scoring.job import BatchScorer

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "taxonomy.yaml")
        path.write_text(yaml.safe_dump(taxonomy, sort_keys=False), encoding="utf-8")
        scorer = BatchScorer(model, taxonomy=path, carry_columns=False)
        scored = scorer.score([{"id": r["id"], "text": r["text"]} for r in rows])
    for r, s in zip(rows, scored):
        r["pred"] = NONE if s["topic"] == "other" else s["topic"]
        r["pred_topics"] = [t["topic"] for t in s["topics"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--judge", type=Path, default=JUDGE)
    parser.add_argument("--taxonomy-dir", type=Path, default=Path("configs/taxonomy"))
    parser.add_argument("--model", default=None, help="model bundle (default: the default bundle)")
    parser.add_argument("--few-shot", default="", help="comma-separated examples per topic, e.g. 5,20")
    parser.add_argument(
        "--encoder",
        default=None,
        help="sentence encoder each taxonomy names (`encoder:`), e.g. all-MiniLM-L6-v2 (topics-embed extra)",
    )
    parser.add_argument(
        "--cut",
        default="",
        help="topic fields to remove from every taxonomy first, e.g. seeds or seeds,description: the taxonomy as a "
        "user might first write it",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        rows = load_judge(args.judge, args.data_dir)
    except VocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    by_brand: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_brand[r["brand"]].append(r)
    taxonomies = {
        b: yaml.safe_load((args.taxonomy_dir / f"{b}.yaml").read_text(encoding="utf-8")) for b in sorted(by_brand)
    }
    cut = [f.strip() for f in args.cut.split(",") if f.strip()]
    if cut:
        try:
            taxonomies = {b: Taxonomy.model_validate(t).without(*cut).model_dump() for b, t in taxonomies.items()}
        except VocError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.encoder:
        for taxonomy in taxonomies.values():
            taxonomy["encoder"] = args.encoder
    results: dict[str, Any] = {}
    settings = [("zero-shot", 0)] + [(f"{k}-shot", int(k)) for k in args.few_shot.split(",") if k.strip()]
    for name, k in settings:
        per_brand: dict[str, Any] = {}
        for brand, posts in by_brand.items():
            topics = [t["name"] for t in taxonomies[brand]["topics"]]
            taxonomy = taxonomies[brand]
            if k:
                taxonomy = with_examples(taxonomy, [r for r in posts if r["half"] == "dev"], k)
            score(posts, taxonomy, args.model)
            per_brand[brand] = {
                half: metrics([r for r in posts if half == "all" or r["half"] == half], topics)
                for half in ("all", "dev", "test")
            }
        summary = {
            half: {
                "accuracy": round(float(np.mean([v[half]["accuracy"] for v in per_brand.values()])), 4),
                "macro_f1": round(float(np.mean([v[half]["macro_f1"] for v in per_brand.values()])), 4),
                "pooled_accuracy": round(
                    float(np.mean([r["pred"] == r["primary"] for r in rows if half == "all" or r["half"] == half])),
                    4,
                ),
            }
            for half in ("all", "dev", "test")
        }
        results[name] = {"per_brand": per_brand, "mean_over_brands": summary}
        print(f"\n## {name}" + (" (examples from the dev half; read the test half)" if k else ""))
        print("| brand | half | n | accuracy | macro-F1 | none P / R | pred. none | Jaccard | single-label ceiling |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for brand, halves in per_brand.items():
            for half in ("all", "test") if not k else ("test",):
                m = halves[half]
                print(
                    f"| {brand} | {half} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
                    f"{m['none_precision']:.2f} / {m['none_recall']:.2f} | {m['predicted_none_share']:.2f} | "
                    f"{m['jaccard']:.3f} | {m['single_label_ceiling']:.3f} |"
                )
        for half in ("all", "dev", "test"):
            s = summary[half]
            print(f"mean over brands, {half}: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}")
    confusion = Counter((r["primary"], r["pred"]) for r in rows if r["primary"] != r["pred"])
    print("\ncommonest errors (truth -> predicted):", confusion.most_common(12))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
