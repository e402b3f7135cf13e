#!/usr/bin/env python3
"""Is an ensemble teacher better calibrated with its temperature or without? From the per-fold teacher cache.

``scripts/experiments/exp_pseudo_labels.py`` caches each fold teacher's probabilities on its held-out brand-intent
fold and on the out-of-industry set, with the ensemble's fitted temperature ``T``. The plain (not recalibrated) mean is
``softmax(T * log p)``, so both can be scored without training anything:

    python scripts/experiments/exp_ensemble_calibration.py --data-dir ../shared/data --key 0a528f6fe11a

``--key`` is the teacher hash in the cache file names (``fold0-of-5-pool16661-KEY.npz``); ``--config`` must be the
student config of that run (it fixes the folds).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline.data.datasets import load_id_labels
from pipeline.models.calibration import softmax
from pipeline.training.crossval import grouped_folds, load_cv_data
from pipeline.training.evaluate import expected_calibration_error

REPO = Path(__file__).resolve().parents[2]


def _plain(proba: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(temperature * np.log(np.clip(proba, 1e-300, None)))


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-300, None)).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--key", required=True, help="teacher hash in the cache file names")
    parser.add_argument(
        "--config", type=Path, default=REPO / "configs" / "default.yaml", help="the run's student config"
    )
    parser.add_argument("--ood", type=Path, default=REPO / "data" / "labels" / "twcs-intent.jsonl")
    parser.add_argument("--cache", type=Path, default=Path("runs/pseudo-teacher-cache"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    data = load_cv_data(args.config, args.data_dir, drop_pseudo_labels=True)
    classes, labels = data.classes, np.asarray(data.target.labels)
    y = np.asarray([classes.index(label) for label in labels])
    ood = load_id_labels(args.ood, data.data_root)
    y_ood = np.asarray([classes.index(label) for label in ood.labels])
    recalibrated, plain = np.zeros((len(y), len(classes))), np.zeros((len(y), len(classes)))
    ood_ece: dict[str, list[float]] = {"recalibrated": [], "plain": []}
    splits = grouped_folds(data.target.labels, data.target.texts, args.folds, data.config.seed)
    for fold, (_, test_idx) in enumerate(splits):
        path = next(args.cache.glob(f"fold{fold}-of-{args.folds}-pool*-{args.key}.npz"), None)
        if path is None:
            parser.error(f"no cached teacher for fold {fold} and key {args.key} in {args.cache}")
        saved = np.load(path)
        if "temperature" not in saved:
            parser.error(f"{path} has no temperature (cached before it was recorded)")
        temperature = float(saved["temperature"])
        if len(saved["test"]) != len(test_idx):
            parser.error(f"{path} does not match the folds of {args.config}")
        recalibrated[test_idx], plain[test_idx] = saved["test"], _plain(saved["test"], temperature)
        ood_ece["recalibrated"].append(expected_calibration_error(saved["ood"], y_ood)[0])
        ood_ece["plain"].append(expected_calibration_error(_plain(saved["ood"], temperature), y_ood)[0])
        print(f"fold {fold + 1}: T = {temperature:.3f}")
    print("| teacher probabilities | CV ECE | CV log-loss | out-of-industry ECE (mean over fold teachers) |")
    print("|---|---:|---:|---:|")
    for name, proba in (("plain mean", plain), ("recalibrated", recalibrated)):
        key = "plain" if name == "plain mean" else "recalibrated"
        print(
            f"| {name} | {expected_calibration_error(proba, y)[0]:.4f} | {_log_loss(proba, y):.4f} | "
            f"{np.mean(ood_ece[key]):.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
