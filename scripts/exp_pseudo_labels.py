#!/usr/bin/env python3
"""Does self-training help the linear intent model? Cross-validated with a teacher retrained per fold.

For each grouped fold of ``brand-intent`` (the folds of ``scripts/bench_models.py``): the teacher, the intent
model of ``--teacher-config`` (``ensemble.v1`` of ``configs/transformer.yaml``, its encoder started from the
sentiment task of ``--init-bundle``), is trained on the other folds plus the config's extra sources. It labels
the unlabelled customer posts (``twcs`` + ``ibm-cdp``); the confident labels (top probability ≥ ``--threshold``,
at most ``--cap`` per label, most confident first) join the linear model's training data
(``--student-config``, the default bundle's intent settings). Teacher, student and the plain linear model
are all scored on the held-out fold only, so no model ever sees a post it is scored on, directly or
through the teacher.

    python scripts/exp_pseudo_labels.py --data-dir ../shared/data --init-bundle models/transformer-v2 \
        --out runs/pseudo-labels.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_models import load_cv_data, near_duplicate_groups, resolve_task_init  # noqa: E402

from pipeline import registry  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.datasets import load_dataset  # noqa: E402
from pipeline.evaluate import classification_metrics  # noqa: E402

UNLABELLED = ("twcs", "ibm-cdp")


def _task(config_path: Path, init_bundle: Path | None) -> tuple[str, dict[str, Any]]:
    config = load_config(config_path)
    assert config.intent is not None
    params = dict(config.intent.params)
    params.setdefault("seed", config.seed)
    params.setdefault("calibration_folds", config.intent.cv_folds)
    for member in params.get("members") or []:
        if str(member.get("classifier", "")).startswith("transformer"):
            member.setdefault("params", {}).update(progress=False, onnx="none")
    return config.intent.classifier, resolve_task_init(params, init_bundle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--teacher-config", type=Path, default=REPO / "configs" / "transformer.yaml")
    parser.add_argument("--student-config", type=Path, default=REPO / "configs" / "default.yaml")
    parser.add_argument("--init-bundle", type=Path, required=True, help="bundle of the teacher config (sentiment)")
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("runs/pseudo-labels.json"))
    args = parser.parse_args(argv)
    from sklearn.model_selection import StratifiedGroupKFold

    student_name, student_params = _task(args.student_config, None)
    teacher_name, teacher_params = _task(args.teacher_config, args.init_bundle)
    data = load_cv_data(args.student_config, args.data_dir)
    classes, target, target_texts = data.classes, data.target, data.target_texts
    extra_texts, extra_labels = data.extra_texts, data.extra_labels
    unlabelled: list[str] = []
    for name in UNLABELLED:
        unlabelled += data.normaliser.normalise_many(list(load_dataset(name, data.data_root).texts))
    y = np.asarray(target.labels)
    splitter = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=data.config.seed)
    proba = {m: np.full((len(y), len(classes)), np.nan) for m in ("linear", "teacher", "student")}
    added: list[int] = []
    splits = splitter.split(np.zeros(len(y)), y, near_duplicate_groups(target.texts))
    for fold, (train_idx, test_idx) in enumerate(splits):
        started = time.perf_counter()
        train_texts = [target_texts[i] for i in train_idx] + extra_texts
        train_labels = [target.labels[i] for i in train_idx] + extra_labels
        test_texts = [target_texts[i] for i in test_idx]
        teacher = registry.classifiers.get(teacher_name)(**teacher_params).fit(train_texts, train_labels, classes)
        proba["teacher"][test_idx] = teacher.predict_proba(test_texts)
        pseudo = teacher.predict_proba(unlabelled)
        top, label = pseudo.max(axis=1), pseudo.argmax(axis=1)
        rows: list[int] = []
        for k in range(len(classes)):
            chosen = np.flatnonzero((label == k) & (top >= args.threshold))
            rows += chosen[np.argsort(-top[chosen], kind="stable")][: args.cap].tolist()
        added.append(len(rows))
        linear = registry.classifiers.get(student_name)(**student_params).fit(train_texts, train_labels, classes)
        proba["linear"][test_idx] = linear.predict_proba(test_texts)
        student = registry.classifiers.get(student_name)(**student_params).fit(
            train_texts + [unlabelled[i] for i in rows], train_labels + [classes[label[i]] for i in rows], classes
        )
        proba["student"][test_idx] = student.predict_proba(test_texts)
        print(f"fold {fold + 1}/{args.folds}: {len(rows)} pseudo-labelled posts, {time.perf_counter() - started:.0f}s",
              file=sys.stderr, flush=True)
    results: dict[str, Any] = {"threshold": args.threshold, "cap": args.cap, "pseudo_labelled_per_fold": added}
    print("| model | macro-F1 | favour-seeking F1 | question F1 | other F1 |\n|---|---:|---:|---:|---:|")
    for name, p in proba.items():
        report = classification_metrics([str(v) for v in y], p, classes)
        results[name] = {"overall": report["overall"], "per_class": report["per_class"]}
        f1 = {c: report["per_class"][c]["f1"] for c in classes}
        print(f"| {name} | {report['overall']['macro_f1']:.4f} | {f1['favour-seeking']:.3f} | {f1['question']:.3f} | "
              f"{f1['other']:.3f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
