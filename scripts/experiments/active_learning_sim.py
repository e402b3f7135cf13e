"""Active-learning simulation on brand-intent: `voc suggest` picks versus random picks of the same number of labels.

For each seed: a fixed 400-post test part (the same for every seed), a random 600-post labelled start from
the other 1,400, the remaining 800 as the unlabelled pool. From a model trained on the start, add ``--add``
labels picked by :func:`pipeline.training.active.select_batch` (what ``voc suggest`` runs: margin uncertainty x rarity,
MMR diversity), or picked at random with the same seed; retrain and report macro-F1 on the test part. Also
reported: the start alone, uncertainty alone (no diversity, no rarity), and all 1,400 labelled (upper bound).

    .venv/bin/python scripts/experiments/active_learning_sim.py --data-dir ../shared/data --seeds 0 1 2 \
        --output sim.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import INTENT_LABELS
from pipeline.data.datasets import resolve_data_dir
from pipeline.data.sources import load_dataset
from pipeline.models.linear import TfidfLogisticClassifier
from pipeline.text.normalise import TweetNormaliser
from pipeline.training.active import select_batch
from pipeline.training.evaluate import classification_metrics

TEST_SEED = 20240601  # the fixed test part does not depend on the run seed
PARAMS: dict[str, Any] = {  # configs/default.yaml's intent classifier
    "word_ngrams": [1, 3],
    "char_ngrams": [2, 5],
    "min_df": 2,
    "C": 8.0,
    "class_weight": "balanced",
    "calibration_folds": 5,
}


def _fit(texts: list[str], labels: list[str], seed: int) -> TfidfLogisticClassifier:
    return TfidfLogisticClassifier(**PARAMS, seed=seed, n_jobs=2).fit(texts, labels, classes=list(INTENT_LABELS))


def _score(clf: TfidfLogisticClassifier, texts: list[str], labels: list[str]) -> dict[str, float]:
    report = classification_metrics(labels, clf.predict_proba(texts), clf.classes_)
    return {
        "macro_f1": report["overall"]["macro_f1"],
        "accuracy": report["overall"]["accuracy"],
        "favour_seeking_f1": report["per_class"]["favour-seeking"]["f1"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--start", type=int, default=600)
    parser.add_argument("--add", type=int, default=300)
    parser.add_argument("--test", type=int, default=400)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)

    data = load_dataset("brand-intent", resolve_data_dir(args.data_dir, "../shared/data"))
    texts = TweetNormaliser().normalise_many(data.texts)
    labels = list(data.labels)
    order = np.random.default_rng(TEST_SEED).permutation(len(texts))
    test_idx, rest = order[: args.test].tolist(), order[args.test :]
    test_texts, test_labels = [texts[i] for i in test_idx], [labels[i] for i in test_idx]

    def train_on(indices: list[int], seed: int) -> TfidfLogisticClassifier:
        return _fit([texts[i] for i in indices], [labels[i] for i in indices], seed)

    runs = []
    for seed in args.seeds:
        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        shuffled = rng.permutation(rest).tolist()
        start, pool = shuffled[: args.start], shuffled[args.start :]
        base = train_on(start, seed)
        pool_texts = [texts[i] for i in pool]
        proba = base.predict_proba(pool_texts)
        features = base.featuriser_.transform(pool_texts)
        picks = {
            "suggest": select_batch(proba, features, args.add)[0],
            "uncertainty_only": select_batch(proba, features, args.add, diversity=0.0, rarity_power=0.0)[0],
            "random": rng.choice(len(pool), size=args.add, replace=False).tolist(),
        }
        run: dict[str, Any] = {"seed": seed, "start": _score(base, test_texts, test_labels)}
        for name, chosen in picks.items():
            added = [pool[j] for j in chosen]
            model = train_on(start + added, seed)
            counts: dict[str, int] = {}
            for i in added:
                counts[labels[i]] = counts.get(labels[i], 0) + 1
            run[name] = {**_score(model, test_texts, test_labels), "added_labels": dict(sorted(counts.items()))}
        run["seconds"] = round(time.perf_counter() - started, 1)
        runs.append(run)
        print(json.dumps(run), file=sys.stderr)
    upper = _score(train_on(rest.tolist(), 0), test_texts, test_labels)
    summary: dict[str, Any] = {
        "setup": {"start": args.start, "add": args.add, "test": args.test, "pool": len(rest) - args.start},
        "runs": runs,
        "mean": {
            name: {
                key: round(float(np.mean([r[name][key] for r in runs])), 4)
                for key in ("macro_f1", "accuracy", "favour_seeking_f1")
            }
            for name in ("start", "suggest", "uncertainty_only", "random")
        },
        "all_labelled_upper_bound": upper,
    }
    text = json.dumps(summary, indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
