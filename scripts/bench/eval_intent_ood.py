"""Intent of one or more bundles on the out-of-industry set, in the two fixed halves that choose and report.

The 577 posts of ``data/labels/twcs-intent.jsonl`` (62 non-airline companies, labelled by the project) are
split by a hash of the id (``pipeline.data.splits.hash_halves``, as in ``scripts/experiments/exp_pseudo_labels.py``):
a variant is chosen on the ``dev`` half and reported on the ``test`` half. Prints macro-F1 on all / dev / test,
on the posts the annotators marked sure and unsure (two labels plausible), and ECE per bundle, and for each
bundle after the first the paired bootstrap interval of its macro-F1 difference from the first::

    VOC_TRANSFORMER_RUNTIME=torch python scripts/bench/eval_intent_ood.py --data-dir ../shared/data \\
        --bundle v8=models/transformer-v8 --bundle new=models/transformer

``VOC_TRANSFORMER_RUNTIME=torch`` scores a transformer bundle in fp32 (the default runs its int8 ONNX model).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from pipeline.data.sources import load_dataset
from pipeline.data.splits import hash_halves
from pipeline.models.predict import Predictor
from pipeline.training.evaluate import bootstrap_interval, expected_calibration_error

ROOT = Path(__file__).resolve().parents[2]

OOD = "ids:" + str(ROOT / "data" / "labels" / "twcs-intent.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", action="append", required=True, help="NAME=DIR, repeatable; the first is the base")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples")
    args = parser.parse_args(argv)
    data = load_dataset(OOD, args.data_dir, "intent")
    parts = hash_halves(list(data.ids))
    unsure = np.asarray(data.unsure, dtype=bool)
    parts["sure"], parts["unsure"] = np.flatnonzero(~unsure), np.flatnonzero(unsure)
    y = np.asarray(data.labels)
    predicted: dict[str, np.ndarray] = {}
    for spec in args.bundle:
        name, _, directory = spec.partition("=")
        if not name or not directory:
            parser.error(f"--bundle {spec!r}: expected NAME=DIR")
        predictor = Predictor.from_path(directory)
        _, proba = predictor.predict_proba(list(data.texts))
        classifier = predictor.classifiers["intent"]
        classes = list(classifier.classes_)
        p = proba["intent"]
        # the labels `voc predict` gives (an abstention threshold may say `other`)
        predictions = predictor.predict_from_proba(list(data.texts), None, {"intent": p})
        labels = np.asarray([prediction["intent"] for prediction in predictions])
        predicted[name] = labels
        scores = {k: f1_score(y[idx], labels[idx], average="macro") for k, idx in parts.items()}
        correct = labels == y
        ece, _ = expected_calibration_error(p, np.asarray([classes.index(label) for label in y]))
        print(
            f"{name:>12}: macro-F1 all {scores['all']:.4f}  dev {scores['dev']:.4f}  test {scores['test']:.4f}"
            f"  sure {scores['sure']:.4f} (n {len(parts['sure'])})  unsure {scores['unsure']:.4f}"
            f"  accuracy {correct.mean():.4f}  ECE {ece:.4f}  (n {len(y)}, classes {classes})"
        )
    base = args.bundle[0].partition("=")[0]
    for name, labels in predicted.items():
        if name == base:
            continue

        def improvement(rows: np.ndarray, labels: np.ndarray = labels) -> float:
            new = f1_score(y[rows], labels[rows], average="macro")
            return float(new - f1_score(y[rows], predicted[base][rows], average="macro"))

        low, high = bootstrap_interval(len(y), improvement, resamples=args.resamples)
        point = improvement(np.arange(len(y)))
        print(f"{name} - {base}: macro-F1 {point:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}] ({args.resamples} resamples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
