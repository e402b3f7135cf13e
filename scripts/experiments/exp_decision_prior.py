#!/usr/bin/env python3
"""Does a prior-corrected decision rule raise sentiment macro-recall? (experiment; result in docs/models.md)

Macro-recall rewards each class equally, so the Bayes rule for it picks ``argmax p(y|x) / p(y)``, where
``p(y)`` is the training prior that calibration builds back into the probabilities. This script scores a
bundle's calibrated sentiment probabilities on the held-out sets with ``argmax p / prior ** alpha`` for a
few ``alpha`` (0 = the shipped argmax) and prints macro-recall, accuracy and per-class recall. Nothing is
fitted here; the prior comes from the bundle's training sources.

    python scripts/experiments/exp_decision_prior.py --bundle models/default \
        --train semeval-2013-2016,airline-sentiment:train --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline.data.sources import load_dataset
from pipeline.models.predict import Predictor

HELD_OUT = ("semeval-2017-test", "airline-sentiment:test")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--train", default="semeval-2013-2016,airline-sentiment:train", help="the bundle's sources")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--alphas", default="0,0.25,0.5,0.75,1")
    args = parser.parse_args(argv)

    predictor = Predictor.from_path(args.bundle)
    classes = list(predictor.classifiers["sentiment"].classes_)
    train_labels = [label for name in args.train.split(",") for label in load_dataset(name, args.data_dir).labels]
    prior = np.asarray([train_labels.count(c) for c in classes], dtype=float)
    prior /= prior.sum()
    print("training prior:", ", ".join(f"{c} {p:.3f}" for c, p in zip(classes, prior)))
    print("| held-out set | alpha | macro-recall | accuracy | recall per class |")
    print("|---|---:|---:|---:|---|")
    for name in HELD_OUT:
        data = load_dataset(name, args.data_dir)
        proba = predictor.predict_proba(list(data.texts))[1]["sentiment"]
        gold = np.asarray([classes.index(label) for label in data.labels])
        for alpha in (float(a) for a in args.alphas.split(",")):
            chosen = (proba / prior**alpha).argmax(axis=1)
            recall = [float(np.mean(chosen[gold == k] == k)) for k in range(len(classes))]
            per_class = ", ".join(f"{c} {r:.3f}" for c, r in zip(classes, recall))
            print(f"| {name} | {alpha:g} | {np.mean(recall):.4f} | {np.mean(chosen == gold):.4f} | {per_class} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
