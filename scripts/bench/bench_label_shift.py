"""Synthetic label shift: resample labelled feeds to known class mixes and measure adaptation.

For each complaint share from 0.15 to 0.85 (the other classes keep their relative shares), posts of a
labelled set are drawn with replacement to that mix, scored once by the bundle, and adapted as one feed by
:func:`pipeline.scoring.adaptation.adapt_feed`. Prints, per share, the error of the estimated complaint share, the
mean absolute error over all classes, and intent macro-F1 with and without adaptation; then the error of
the estimated complaint share by feed size (where adaptation becomes reliable: ``MIN_GROUP_POSTS``)::

    python scripts/bench/bench_label_shift.py --data-dir ../shared/data --bundle models/default

The sets are the project's out-of-industry judges (never trained on), so the posteriors are honest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from pipeline.data.sources import load_dataset
from pipeline.models.predict import Predictor
from pipeline.scoring.adaptation import adapt_feed, calibration_mix

ROOT = Path(__file__).resolve().parents[2]
SETS = {
    "twcs-ood": "ids:" + str(ROOT / "data" / "labels" / "twcs-intent.jsonl"),
    "company-mentions": "ids:" + str(ROOT / "data" / "labels" / "company-mentions-judge.jsonl"),
}
SHARES = (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85)
SIZES = (50, 100, 200, 500, 1000, 5000)


def target_mix(base: np.ndarray, complaint: int, share: float) -> np.ndarray:
    """``base`` with the complaint class at ``share`` and the rest rescaled to fill 1 - share."""
    rest = base.copy()
    rest[complaint] = 0.0
    mix = rest / rest.sum() * (1.0 - share)
    mix[complaint] = share
    return mix


def draw(y: np.ndarray, mix: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    counts = rng.multinomial(n, mix)
    picks = [rng.choice(np.flatnonzero(y == k), size=c, replace=True) for k, c in enumerate(counts) if c]
    return np.concatenate(picks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=2000, help="posts per synthetic feed")
    parser.add_argument("--repeats", type=int, default=10, help="feeds per share (different draws)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)
    predictor = Predictor.from_path(args.bundle)
    classes = list(predictor.classifiers["intent"].classes_)
    source_mix = calibration_mix(predictor.bundle.metadata, "intent", classes)
    if source_mix is None:
        parser.error(f"{args.bundle}: the bundle does not record the mix it was calibrated on")
    complaint = classes.index("complaint")
    report: dict[str, object] = {"bundle": str(args.bundle), "calibration_mix": dict(zip(classes, source_mix))}
    for name, source in SETS.items():
        data = load_dataset(source, args.data_dir, "intent", soft=False)
        y = np.asarray([classes.index(label) for label in data.labels])
        proba = predictor.predict_proba(list(data.texts))[1]["intent"]
        base = np.bincount(y, minlength=len(classes)) / len(y)
        rng = np.random.default_rng(args.seed)
        rows = []
        print(f"\n{name} ({len(y)} posts), feeds of {args.n}, {args.repeats} draws per share")
        print("complaint share | estimated   | abs error complaint | MAE all classes | macro-F1 plain -> adapted")
        for share in SHARES:
            mix = target_mix(base, complaint, share)
            errors, maes, plain_f1, adapted_f1, estimated = [], [], [], [], []
            for _ in range(args.repeats):
                picks = draw(y, mix, args.n, rng)
                truth = np.bincount(y[picks], minlength=len(classes)) / len(picks)
                adjusted, estimates = adapt_feed(proba[picks], source_mix, task="intent", classes=classes)
                est = np.asarray(estimates[""].mix)
                estimated.append(est[complaint])
                errors.append(abs(est[complaint] - truth[complaint]))
                maes.append(float(np.mean(np.abs(est - truth))))
                labels = [classes[k] for k in y[picks]]
                plain = predictor.labels_from_proba("intent", proba[picks])
                adapted = predictor.labels_from_proba("intent", adjusted)
                plain_f1.append(f1_score(labels, plain, labels=classes, average="macro", zero_division=0))
                adapted_f1.append(f1_score(labels, adapted, labels=classes, average="macro", zero_division=0))
            row = {
                "complaint_share": share,
                "estimated": round(float(np.mean(estimated)), 4),
                "abs_error_complaint": round(float(np.mean(errors)), 4),
                "mae_all_classes": round(float(np.mean(maes)), 4),
                "macro_f1_plain": round(float(np.mean(plain_f1)), 4),
                "macro_f1_adapted": round(float(np.mean(adapted_f1)), 4),
            }
            rows.append(row)
            print(
                f"{share:15.2f} | {row['estimated']:.3f}       | {row['abs_error_complaint']:.3f}"
                f"               | {row['mae_all_classes']:.3f}           | {row['macro_f1_plain']:.3f} -> "
                f"{row['macro_f1_adapted']:.3f}"
            )
        mean_error = float(np.mean([r["abs_error_complaint"] for r in rows]))
        worst_drop = float(max(r["macro_f1_plain"] - r["macro_f1_adapted"] for r in rows))
        print(f"mean abs error of the complaint share {mean_error:.3f}; worst macro-F1 drop {worst_drop:+.3f}")
        by_size = []
        mix = base
        for size in SIZES:
            errs = []
            for _ in range(args.repeats * 3):
                picks = draw(y, mix, size, rng)
                truth = np.bincount(y[picks], minlength=len(classes)) / len(picks)
                _, estimates = adapt_feed(proba[picks], source_mix, classes=classes, min_posts=1)
                errs.append(abs(estimates[""].mix[complaint] - truth[complaint]))  # type: ignore[index]
            by_size.append({"posts": size, "abs_error_complaint": round(float(np.mean(errs)), 4)})
        print("feed size: " + ", ".join(f"{r['posts']} -> {r['abs_error_complaint']:.3f}" for r in by_size))
        report[name] = {"shifts": rows, "mean_abs_error_complaint": mean_error, "by_size": by_size}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
