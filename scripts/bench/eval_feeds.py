"""Each bundle on the project's judges, every set scored as one feed, with and without label-shift adaptation.

Judges (labels by the project or the data set's authors; none is trained on):

- ``company-mentions``: the cross-industry intent judge, 641 posts naming companies in ten industries
  outside air travel (SemEval-2017 test tweets and support posts; ``data/labels/company-mentions-judge.jsonl``);
- ``twcs-ood``: 577 support posts to 62 non-airline companies (``data/labels/twcs-intent.jsonl``);
- ``semeval-2017-test`` and ``airline-sentiment:test`` for sentiment.

For intent it prints macro-F1, F1 per class, complaint precision and recall, and the true class mix against
the labels' mix, the mean probability (what ``voc rank``'s expected counts give) and the estimated mix; for
sentiment macro-recall and macro-F1. ``--json`` writes every number::

    python scripts/bench/eval_feeds.py --data-dir ../shared/data --bundle default=models/default
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score

from pipeline.data.sources import load_dataset
from pipeline.models.predict import Predictor
from pipeline.scoring.adaptation import adapt_feed, calibration_mix

ROOT = Path(__file__).resolve().parents[2]
INTENT_JUDGES = {
    "company-mentions": "ids:" + str(ROOT / "data" / "labels" / "company-mentions-judge.jsonl"),
    "twcs-ood": "ids:" + str(ROOT / "data" / "labels" / "twcs-intent.jsonl"),
}
SENTIMENT_JUDGES = {"semeval-2017-test": "semeval-2017-test", "airline-sentiment:test": "airline-sentiment:test"}


def _scores(y: np.ndarray, predicted: np.ndarray, classes: list[str], task: str) -> dict[str, object]:
    out: dict[str, object] = {
        "macro_f1": round(float(f1_score(y, predicted, labels=classes, average="macro", zero_division=0)), 4),
        "macro_recall": round(float(recall_score(y, predicted, labels=classes, average="macro", zero_division=0)), 4),
        "per_class_f1": {
            c: round(float(v), 4)
            for c, v in zip(classes, f1_score(y, predicted, labels=classes, average=None, zero_division=0))
        },
    }
    if task == "intent":
        out["complaint_precision"] = round(
            float(precision_score(y, predicted, labels=["complaint"], average="macro", zero_division=0)), 4
        )
        out["complaint_recall"] = round(
            float(recall_score(y, predicted, labels=["complaint"], average="macro", zero_division=0)), 4
        )
    return out


def evaluate_feed(predictor: Predictor, task: str, source: str, data_dir: Path) -> dict[str, object]:
    data = load_dataset(source, data_dir, task, soft=False)
    _, probabilities = predictor.predict_proba(list(data.texts))
    proba = probabilities[task]
    classifier = predictor.classifiers[task]
    classes = list(classifier.classes_)
    y = np.asarray(data.labels)
    true_mix = {c: round(float(np.mean(y == c)), 4) for c in classes}
    result: dict[str, object] = {"posts": len(y), "true_mix": true_mix}
    plain = np.asarray(predictor.labels_from_proba(task, proba))
    result["unadapted"] = _scores(y, plain, classes, task) | {
        "predicted_mix": {c: round(float(np.mean(plain == c)), 4) for c in classes},
        # the mean probability: the share `voc rank`'s expected counts give (intents_expected)
        "expected_mix": {c: round(float(v), 4) for c, v in zip(classes, proba.mean(axis=0))},
    }
    source_mix = calibration_mix(predictor.bundle.metadata, task, classes)
    if source_mix is not None:
        adjusted, estimates = adapt_feed(proba, source_mix, task=task, classes=classes)
        adapted = np.asarray(predictor.labels_from_proba(task, adjusted))
        estimate = estimates[""].to_dict()
        result["adapted"] = _scores(y, adapted, classes, task) | {
            "estimated_mix": estimate["mix"],
            "interval_95": estimate["interval_95"],
            "estimated_mix_abs_error": round(
                float(np.mean([abs(estimate["mix"][c] - true_mix[c]) for c in classes])), 4
            ),
        }
        result["calibration_mix"] = estimate["calibration_mix"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", action="append", required=True, help="NAME=DIR, repeatable")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)
    report: dict[str, object] = {}
    for spec in args.bundle:
        name, _, directory = spec.partition("=")
        if not name or not directory:
            parser.error(f"--bundle {spec!r}: expected NAME=DIR")
        predictor = Predictor.from_path(directory)
        results: dict[str, object] = {}
        for task, judges in (("intent", INTENT_JUDGES), ("sentiment", SENTIMENT_JUDGES)):
            if task not in predictor.classifiers:
                continue
            for judge, source in judges.items():
                result = evaluate_feed(predictor, task, source, args.data_dir)
                results[f"{task}:{judge}"] = result
                plain, adapted = result["unadapted"], result.get("adapted")  # type: ignore[union-attr]
                line = f"{name:<12} {task:<9} {judge:<24} macro-F1 {plain['macro_f1']:.3f}"  # type: ignore[index]
                line += f" recall {plain['macro_recall']:.3f}"  # type: ignore[index]
                if adapted:
                    line += f" | adapted macro-F1 {adapted['macro_f1']:.3f} recall {adapted['macro_recall']:.3f}"  # type: ignore[index]
                    line += f" mix error {adapted['estimated_mix_abs_error']:.3f}"  # type: ignore[index]
                print(line)
                if task == "intent":
                    print(f"{'':<12} true mix      {result['true_mix']}")  # type: ignore[index]
                    print(f"{'':<12} predicted mix {plain['predicted_mix']}")  # type: ignore[index]
                    print(f"{'':<12} expected mix  {plain['expected_mix']}")  # type: ignore[index]
                    if adapted:
                        print(f"{'':<12} estimated mix {adapted['estimated_mix']}")  # type: ignore[index]
                        for key in ("per_class_f1", "complaint_precision", "complaint_recall"):
                            print(f"{'':<12} {key}: {plain[key]} -> {adapted[key]}")  # type: ignore[index]
        report[name] = results
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
