#!/usr/bin/env python3
"""Does self-training help the linear intent model? Cross-validated with a teacher retrained per fold.

For each grouped fold of ``brand-intent`` (the folds of ``scripts/bench/bench_models.py``): the teacher, the intent
model of ``--teacher-config`` (``ensemble.v1`` of ``configs/transformer.yaml``, its encoder started from the
sentiment task of ``--init-bundle``), is trained on the other folds plus the config's extra sources. It labels
the unlabelled customer posts (``twcs`` + ``ibm-cdp``); the confident labels (top probability ≥ ``--threshold``,
at most ``--cap`` per label, most confident first) join the linear model's training data
(``--student-config``, the default bundle's intent settings). Teacher, student and the plain linear model
are all scored on the held-out fold only, so no model ever sees a post it is scored on, directly or
through the teacher. Each fold's models are also scored on the out-of-industry test set
(``--ood``, ``data/labels/twcs-intent.jsonl``), whose posts never enter the pool (``make_pseudo_labels.py``),
in two fixed halves by a hash of the id: choose a variant on the ``dev`` half, report the ``test`` half.

``--variants 0.7:1000,0.9:500`` trains one student per threshold:cap on the same teacher outputs, which are
cached per fold in ``--cache`` (a rerun with other variants skips the teachers).

    python scripts/experiments/exp_pseudo_labels.py --data-dir ../shared/data --init-bundle models/transformer-v2 \
        --variants 0.7:1000,0.7:300,0.9:1000 --out runs/pseudo-labels.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import registry
from pipeline.data.datasets import load_id_labels, match_key
from pipeline.data.sources import id_labels_file, is_id_labels_source
from pipeline.data.splits import hash_halves as ood_halves
from pipeline.models.ensemble import EnsembleClassifier
from pipeline.training.config import load_config
from pipeline.training.crossval import (
    by_annotator_certainty,
    grouped_folds,
    is_model_labelled,
    load_cv_data,
    resolve_task_init,
)
from pipeline.training.evaluate import classification_metrics
from pipeline.training.pseudo_labels import (
    SOFT_FLOOR,
    ids_and_text_keys,
    select_confident,
    select_prior_matched,
    soft_pairs,
    unlabelled_pool,
)

REPO = Path(__file__).resolve().parents[2]


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


EXPORT_SETTINGS = ("onnx", "quantisation", "quantisation_rows", "runtime", "progress", "threads")


def _without_export_settings(params: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in params.items() if k not in EXPORT_SETTINGS}
    if "members" in kept:
        kept["members"] = [
            {**m, "params": {k: v for k, v in (m.get("params") or {}).items() if k not in EXPORT_SETTINGS}}
            for m in kept["members"]
        ]
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--teacher-config", type=Path, default=REPO / "configs" / "transformer.yaml")
    parser.add_argument("--student-config", type=Path, default=REPO / "configs" / "default.yaml")
    parser.add_argument("--init-bundle", type=Path, required=True, help="bundle of the teacher config (sentiment)")
    parser.add_argument("--variants", default="0.7:1000", help="students to train, threshold:cap,...")
    parser.add_argument("--ood", type=Path, default=REPO / "data" / "labels" / "twcs-intent.jsonl")
    parser.add_argument(
        "--teacher-data-config",
        type=Path,
        help="train the teacher on this config's intent sources (default: the student config's), e.g. an older one",
    )
    parser.add_argument("--cache", type=Path, default=Path("runs/pseudo-teacher-cache"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("runs/pseudo-labels.json"))
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the student config trained without pseudo-labels (e.g. when it is the teacher's config)",
    )
    args = parser.parse_args(argv)
    student_name, student_params = _task(args.student_config, args.init_bundle)  # a transformer student too
    teacher_name, teacher_params = _task(args.teacher_config, args.init_bundle)
    data = load_cv_data(args.student_config, args.data_dir, drop_pseudo_labels=True)
    classes, target, target_texts = data.classes, data.target, data.target_texts
    extra_texts, extra_labels = data.extra_texts, data.extra_labels
    teacher_extra_texts, teacher_extra_labels = extra_texts, extra_labels
    if args.teacher_data_config is not None:
        teacher_data = load_cv_data(args.teacher_data_config, args.data_dir, drop_pseudo_labels=True)
        if teacher_data.target.ids != data.target.ids:
            parser.error("--teacher-data-config must cross-validate on the same posts as the student config")
        teacher_extra_texts, teacher_extra_labels = teacher_data.extra_texts, teacher_data.extra_labels
    # threshold:cap[:how]; "prior" selects with select_prior_matched (label shares = the teacher's soft prior);
    # "drop-LABEL" leaves out the pseudo-labels of one class; "soft" (or "soft@FLOOR") trains on the teacher's
    # probabilities (soft_pairs) of the posts the plain rule selects
    variants = [
        (float(t), int(c), rest[0] if rest else "") for t, c, *rest in (v.split(":") for v in args.variants.split(","))
    ]
    ood = load_id_labels(args.ood, data.data_root)
    pool, _ = unlabelled_pool(data.data_root, [ood])
    # Posts that the student already has human labels for (its ``ids:`` sources) get no pseudo-label: the
    # pool stays the same (the teacher cache is keyed on it), they are only left out of the selection.
    human_ids, human_keys = ids_and_text_keys(
        [
            load_id_labels(args.student_config.parent / id_labels_file(source), data.data_root)
            for source in data.task.train
            if is_id_labels_source(source) and not is_model_labelled(source, args.student_config.parent, data.task)
        ]
    )
    selectable = np.asarray(
        [item_id not in human_ids and match_key(text) not in human_keys for _, item_id, text in pool], dtype=bool
    )
    if not selectable.all():
        print(f"note: {int((~selectable).sum())} pool posts have human labels; not pseudo-labelled", file=sys.stderr)
    unlabelled = data.normaliser.normalise_many([text for _, _, text in pool])
    ood_texts = data.normaliser.normalise_many(ood.texts)
    halves = {k: rows.tolist() for k, rows in ood_halves(list(ood.ids)).items() if k != "all"}
    # A cached teacher is reused only for the same teacher settings and the same extra training posts;
    # settings that only decide how a trained model is saved or run (the ONNX export) do not count.
    teacher_key = hashlib.sha256(
        json.dumps(
            [teacher_name, _without_export_settings(teacher_params), teacher_extra_texts, teacher_extra_labels],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:12]
    y = np.asarray(target.labels)
    students = [f"student {t}:{c}" + (f":{how}" if how else "") for t, c, how in variants]
    names = ([] if args.no_baseline else ["linear"]) + ["teacher"] + students
    proba = {m: np.full((len(y), len(classes)), np.nan) for m in names}
    ood_proba: dict[str, list[np.ndarray]] = {m: [] for m in names}
    added: dict[str, list[int]] = {m: [] for m in students}
    args.cache.mkdir(parents=True, exist_ok=True)
    splits = grouped_folds(target.labels, target.texts, args.folds, data.config.seed)
    for fold, (train_idx, test_idx) in enumerate(splits):
        started = time.perf_counter()
        train_texts = [target_texts[i] for i in train_idx] + extra_texts
        train_labels = [target.labels[i] for i in train_idx] + extra_labels
        teacher_texts = [target_texts[i] for i in train_idx] + teacher_extra_texts
        teacher_labels = [target.labels[i] for i in train_idx] + teacher_extra_labels
        test_texts = [target_texts[i] for i in test_idx]
        cached = args.cache / f"fold{fold}-of-{args.folds}-pool{len(pool)}-{teacher_key}.npz"
        if cached.is_file():
            saved = np.load(cached)
            proba["teacher"][test_idx], pseudo, teacher_ood = saved["test"], saved["pool"], saved["ood"]
        else:
            teacher = registry.classifiers.get(teacher_name)(**teacher_params).fit(
                teacher_texts, teacher_labels, classes
            )
            proba["teacher"][test_idx] = teacher.predict_proba(test_texts)
            pseudo, teacher_ood = teacher.predict_proba(unlabelled), teacher.predict_proba(ood_texts)
            # An ensemble's temperature on its mean: softmax(T * log p) gives back the plain mean. Other models'
            # ``temperature_`` scales their logits, not their probabilities, so it is not recorded (1).
            temperature = float(teacher.temperature_) if isinstance(teacher, EnsembleClassifier) else 1.0
            np.savez(cached, test=proba["teacher"][test_idx], pool=pseudo, ood=teacher_ood, temperature=temperature)
        ood_proba["teacher"].append(teacher_ood)
        if not args.no_baseline:
            linear = registry.classifiers.get(student_name)(**student_params).fit(train_texts, train_labels, classes)
            proba["linear"][test_idx] = linear.predict_proba(test_texts)
            ood_proba["linear"].append(linear.predict_proba(ood_texts))
        label = pseudo.argmax(axis=1)
        for (threshold, cap, how), name in zip(variants, students):
            if how == "prior":  # human-labelled posts are masked before the quotas are filled
                kept = np.flatnonzero(selectable)
                pairs = [(int(kept[i]), k) for i, k in select_prior_matched(pseudo[kept], threshold, cap)]
            else:
                pairs = [(i, int(label[i])) for i in select_confident(pseudo, threshold, cap) if selectable[i]]
            if how.startswith("drop-"):  # e.g. drop-favour-seeking: no pseudo-label of that class (its precision
                dropped = classes.index(how[len("drop-") :])  # was 47 of 237 when people checked it)
                pairs = [(i, k) for i, k in pairs if k != dropped]
            added[name].append(len(pairs))
            weights: list[float] | None = None
            if how.startswith("soft"):  # each selected post once per label its teacher gives >= the floor
                floor = float(how[len("soft@") :]) if how.startswith("soft@") else SOFT_FLOOR  # e.g. soft@0.1
                pairs, weights = soft_pairs(pseudo, [i for i, _ in pairs], floor)
            # As `voc train` does for a config with `model_labelled` sources: calibrate on people's labels only.
            gold = [True] * len(train_texts) + [False] * len(pairs) if data.task.model_labelled else None
            fit_kwargs: dict[str, Any] = {"gold": gold}
            if weights is not None:
                fit_kwargs["sample_weight"] = [1.0] * len(train_texts) + weights
            student = registry.classifiers.get(student_name)(**student_params).fit(
                train_texts + [unlabelled[i] for i, _ in pairs],
                train_labels + [classes[k] for _, k in pairs],
                classes,
                **fit_kwargs,
            )
            proba[name][test_idx] = student.predict_proba(test_texts)
            ood_proba[name].append(student.predict_proba(ood_texts))
        print(f"fold {fold + 1}/{args.folds}: {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    results: dict[str, Any] = {"variants": args.variants, "pseudo_labelled_per_fold": added, "pool": len(pool)}
    print(
        "| model | CV macro-F1 | favour-seeking F1 | question F1 | other F1 | out-of-industry: all / dev / test "
        "| ECE: CV / out-of-industry |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, p in proba.items():
        report = classification_metrics([str(v) for v in y], p, classes)
        ood_f1: dict[str, float] = {}
        for half, rows in (("all", list(range(len(ood)))), *halves.items()):
            gold = [ood.labels[i] for i in rows]
            scores = [classification_metrics(gold, q[rows], classes)["overall"]["macro_f1"] for q in ood_proba[name]]
            ood_f1[half] = float(np.mean(scores))
        # Each fold's model is scored on the whole out-of-industry set; the mean of their ECEs.
        ood_ece = float(
            np.mean([classification_metrics(ood.labels, q, classes)["overall"]["ece"] for q in ood_proba[name]])
        )
        results[name] = {
            "overall": report["overall"],
            "per_class": report["per_class"],
            "ood_macro_f1": ood_f1,
            "ood_ece": ood_ece,
            "by_annotator_certainty": by_annotator_certainty(
                [str(v) for v in y], p, classes, target.unsure, np.ones(len(y), dtype=bool)
            ),
        }
        f1 = {c: report["per_class"][c]["f1"] for c in classes}
        print(
            f"| {name} | {report['overall']['macro_f1']:.4f} | {f1['favour-seeking']:.3f} | {f1['question']:.3f} | "
            f"{f1['other']:.3f} | {ood_f1['all']:.4f} / {ood_f1['dev']:.4f} / {ood_f1['test']:.4f} "
            f"| {report['overall']['ece']:.3f} / {ood_ece:.3f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
