"""Compare every backend on the same splits; writes JSON and a Markdown table (docs/models.md quotes it).

Three measurements, each optional:

* ``--config NAME=FILE``: intent cross-validation on ``brand-intent``: stratified k folds with a fixed seed,
  near-duplicate posts (same text without URLs, mentions, case, punctuation) always in the same fold;
  each fold trains the config's intent classifier on the other folds *plus every other training source of
  the config* (e.g. ``intent-extra.jsonl``, weak labels) and scores only the held-out brand-intent rows.
  Reports macro-F1, per-class F1 (favour-seeking), ECE, macro-F1 with the abstention threshold, and
  macro-F1 on the posts the annotators marked sure and unsure (two labels plausible) apart.
* ``--bundle NAME=DIR``: held-out sentiment (SemEval-2017 test macro-recall, airline-sentiment:test
  accuracy) and intent, per runtime (transformer: ONNX int8 and torch fp32, so the int8 loss is measured
  on the same rows).
* throughput of each bundle and runtime on ``--threads`` CPU threads (posts/s, normalise + both tasks).

Examples (the exact commands behind docs/models.md)::

    python scripts/bench/bench_models.py --config linear=configs/default.yaml --folds 5 --out runs/bench-linear.json
    python scripts/bench/bench_models.py --config transformer=configs/transformer.yaml --folds 5 \
        --out runs/bench-transformer-cv.json
    python scripts/bench/bench_models.py --bundle linear=models/default --bundle transformer=models/transformer \
        --out runs/bench-bundles.json

Quick runs: ``--only-folds 1`` (one fold), ``--set epochs=1`` (override classifier params).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import registry
from pipeline.data.datasets import default_shared_data_dir, resolve_data_dir
from pipeline.data.sources import load_dataset
from pipeline.errors import VocError
from pipeline.training.crossval import (
    by_annotator_certainty,
    grouped_folds,
    load_cv_data,
    near_duplicate_groups,
    resolve_task_init,
)
from pipeline.training.evaluate import classification_metrics

REPO = Path(__file__).resolve().parents[2]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def intent_cv(
    config_path: Path,
    data_dir: Path | None,
    folds: int,
    only_folds: int | None,
    overrides: dict[str, Any],
    init_bundle: Path | None = None,
    member: int | None = None,
) -> dict[str, Any]:
    """Out-of-fold intent predictions on brand-intent; extra training sources join every training fold."""
    data = load_cv_data(config_path, data_dir)
    config, task, classes, target, target_texts = data.config, data.task, data.classes, data.target, data.target_texts
    extra_texts, extra_labels = data.extra_texts, data.extra_labels
    params = dict(task.params)
    classifier_name = task.classifier
    if member is not None:  # one member of an ensemble.v1 (the others: --cv-from, then --ensemble)
        chosen = params["members"][member]
        classifier_name, params = chosen["classifier"], dict(chosen.get("params") or {})
    params.setdefault("seed", config.seed)
    params.setdefault("calibration_folds", task.cv_folds)
    params.update(overrides)
    params = resolve_task_init(params, init_bundle)
    factory = registry.classifiers.get(classifier_name)
    y = np.asarray(target.labels)
    groups = near_duplicate_groups(target.texts)  # reported below; the folds keep each group together
    proba = np.full((len(y), len(classes)), np.nan)
    decided: list[str | None] = [None] * len(y)
    member_proba: dict[int, np.ndarray] = {}
    seconds = []
    for fold, (train_idx, test_idx) in enumerate(grouped_folds(target.labels, target.texts, folds, config.seed)):
        if only_folds is not None and fold >= only_folds:
            break
        started = time.perf_counter()
        classifier = factory(**params)
        classifier.fit(
            [target_texts[i] for i in train_idx] + extra_texts,
            [target.labels[i] for i in train_idx] + extra_labels,
            classes=classes,
        )
        fold_proba = classifier.predict_proba([target_texts[i] for i in test_idx])
        proba[test_idx] = fold_proba
        for m, fitted_member in enumerate(getattr(classifier, "classifiers_", [])):  # ensembles: each member's too
            member_proba.setdefault(m, np.full_like(proba, np.nan))[test_idx] = fitted_member.predict_proba(
                [target_texts[i] for i in test_idx]
            )
        decide = getattr(classifier, "decide", None)
        labels = decide(fold_proba) if decide is not None else [classes[j] for j in fold_proba.argmax(axis=1)]
        for i, label in zip(test_idx, labels):
            decided[i] = label
        seconds.append(round(time.perf_counter() - started, 1))
        print(f"{config_path.name}: fold {fold + 1}/{folds} done in {seconds[-1]}s", file=sys.stderr, flush=True)
    scored = ~np.isnan(proba).any(axis=1)
    gold = [str(label) for label in y[scored]]
    report = classification_metrics(gold, proba[scored], classes)
    decided_idx = np.asarray([classes.index(str(d)) for d in np.asarray(decided, dtype=object)[scored]])
    with_abstention = classification_metrics(gold, np.eye(len(classes))[decided_idx], classes)["overall"]
    return {
        "config": str(config_path),
        "classifier": classifier_name,
        "member": member,
        "train_sources": task.train,
        "folds": folds,
        "folds_run": len(seconds),
        "rows_scored": int(scored.sum()),
        "seed": config.seed,
        "overrides": overrides,
        "overall": report["overall"],
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "macro_f1_with_abstention": with_abstention["macro_f1"],
        "by_annotator_certainty": by_annotator_certainty(gold, proba[scored], classes, target.unsure, scored),
        "fold_seconds": seconds,
        "near_duplicate_rows": int(np.sum(np.bincount(groups)[groups] > 1)),
        "oof_proba": proba.tolist(),
        "gold": [str(label) for label in y],
        "unsure": [bool(u) for u in target.unsure],
        "classes": classes,
        "member_oof_proba": {m: p.tolist() for m, p in member_proba.items()},
    }


def member_cv(parent: dict[str, Any], proba_rows: list[list[float]]) -> dict[str, Any]:
    """The CV result of one ensemble member, from its out-of-fold probabilities."""
    proba = np.asarray(proba_rows)
    result = ensemble_cv([("member", {**parent, "oof_proba": proba})], [1.0])
    result["members"] = []
    return result


def ensemble_cv(members: list[tuple[str, dict[str, Any]]], weights: list[float]) -> dict[str, Any]:
    """Weighted mean of the members' out-of-fold probabilities (same rows, same folds)."""
    if len(members) != len(weights):
        raise SystemExit(f"{len(members)} ensemble members but {len(weights)} weights")
    first = members[0][1]
    classes, gold = first["classes"], first["gold"]
    total = sum(weights)
    proba = sum(w / total * np.asarray(m["oof_proba"]) for w, (_, m) in zip(weights, members))
    scored = ~np.isnan(proba).any(axis=1)
    gold_scored = [g for g, keep in zip(gold, scored) if keep]
    report = classification_metrics(gold_scored, proba[scored], classes)
    return {
        "members": [name for name, _ in members],
        "weights": weights,
        "folds": first["folds"],
        "folds_run": first["folds_run"],
        "rows_scored": int(scored.sum()),
        "overall": report["overall"],
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "macro_f1_with_abstention": report["overall"]["macro_f1"],
        "by_annotator_certainty": by_annotator_certainty(
            gold_scored, proba[scored], classes, first.get("unsure") or [], scored
        ),
        "oof_proba": proba.tolist(),
        "gold": gold,
        "unsure": first.get("unsure") or [],
        "classes": classes,
    }


def _runtimes(bundle: Any) -> list[str]:
    runtimes = {"default"}
    for clf in bundle.classifiers.values():
        if getattr(clf, "name", "") == "transformer.v1":
            runtimes = {"onnx", "torch"} if getattr(clf, "onnx_path_", None) is not None else {"torch"}
    return sorted(runtimes)


def _set_runtime(bundle: Any, runtime: str, threads: int) -> None:
    for clf in bundle.classifiers.values():
        if getattr(clf, "name", "") == "transformer.v1":
            clf.runtime = runtime
            clf.threads = threads
            clf.session_ = None


def bundle_benchmark(
    path: Path, data_dir: Path | None, threads: int, throughput_rows: int, heldout_runtimes: set[str]
) -> dict[str, Any]:
    """Held-out metrics per runtime (those in ``heldout_runtimes``; fp32 torch ones are in the bundle's
    metadata, computed at training time on the same rows) and throughput for every runtime."""
    from pipeline.models.bundle import ModelBundle
    from pipeline.models.predict import Predictor

    bundle = ModelBundle.load(path)
    root = resolve_data_dir(data_dir or default_shared_data_dir(), None)
    result: dict[str, Any] = {"bundle": str(path), "classifiers": bundle.metadata.get("classifiers"), "runtimes": {}}
    held_out = {
        "sentiment": ["semeval-2017-test", "airline-sentiment:test"],
        "intent": [],
    }
    sample = load_dataset("semeval-2017-test", root).texts[:throughput_rows]
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    for runtime in _runtimes(bundle):
        _set_runtime(bundle, runtime, threads)
        predictor = Predictor(bundle)
        entry: dict[str, Any] = {}
        for task, names in held_out.items():
            if task not in bundle.classifiers or runtime not in heldout_runtimes:
                continue
            for name in names:
                data = load_dataset(name, root)
                started = time.perf_counter()
                proba = bundle.classifiers[task].predict_proba(bundle.normaliser.normalise_many(data.texts))
                overall = classification_metrics(data.labels, proba, bundle.classifiers[task].classes_)["overall"]
                overall["seconds"] = round(time.perf_counter() - started, 1)
                entry[f"{task}/{name}"] = overall
                print(f"{path.name} [{runtime}] {task}/{name}: {overall}", file=sys.stderr, flush=True)
        predictor.predict(sample[:32])  # warm-up: lazy loading, session creation
        started = time.perf_counter()
        predictor.predict(sample)
        elapsed = time.perf_counter() - started
        entry["throughput_posts_per_s"] = round(len(sample) / elapsed, 1)
        entry["throughput_rows"] = len(sample)
        entry["threads"] = threads
        result["runtimes"][runtime] = entry
    result["training_metrics"] = {
        f"{task}/{name}": report["overall"]
        for task, reports in bundle.metadata.get("metrics", {}).items()
        for name, report in reports.items()
    }
    result["training_seconds"] = bundle.metadata.get("training_seconds")
    return result


def sentiment_ensemble(spec: str, data_dir: Path | None) -> dict[str, Any]:
    """``DIR_A,DIR_B[:wA,wB]``: held-out sentiment of the weighted mean of several bundles' probabilities
    (each bundle with its own normaliser and default runtime, i.e. int8 ONNX for transformers)."""
    from pipeline.models.bundle import ModelBundle

    dirs_text, _, weight_text = spec.partition(":")
    dirs = [Path(d) for d in dirs_text.split(",")]
    weights = np.asarray([float(w) for w in weight_text.split(",")] if weight_text else [1.0] * len(dirs))
    weights = weights / weights.sum()
    bundles = [ModelBundle.load(d) for d in dirs]
    classes = list(bundles[0].classifiers["sentiment"].classes_)
    assert all(list(b.classifiers["sentiment"].classes_) == classes for b in bundles), "label sets differ"
    root = resolve_data_dir(data_dir or default_shared_data_dir(), None)
    result: dict[str, Any] = {"bundles": [str(d) for d in dirs], "weights": weights.tolist()}
    for name in ("semeval-2017-test", "airline-sentiment:test"):
        data = load_dataset(name, root)
        members = [b.classifiers["sentiment"].predict_proba(b.normaliser.normalise_many(data.texts)) for b in bundles]
        proba = sum(w * p for w, p in zip(weights, members))
        result[f"sentiment/{name}"] = classification_metrics(data.labels, proba, classes)["overall"]
        for d, p in zip(dirs, members):
            result[f"sentiment/{name}/{d.name}"] = classification_metrics(data.labels, p, classes)["overall"]
        print(f"{spec} {name}: {result[f'sentiment/{name}']}", file=sys.stderr, flush=True)
    return result


def markdown(results: dict[str, Any]) -> str:
    lines = []
    if results.get("cv"):
        lines += [
            "| backend | intent macro-F1 (CV) | favour-seeking F1 | complaint F1 | question F1 | praise F1 | other F1 "
            "| ECE | macro-F1 with abstention | macro-F1 sure / unsure posts | folds |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in results["cv"].items():
            pc = r["per_class"]
            certainty = r.get("by_annotator_certainty") or {}
            split = f"{certainty['sure']['macro_f1']:.3f} / {certainty['unsure']['macro_f1']:.3f}" if certainty else "–"
            lines.append(
                f"| {name} | {r['overall']['macro_f1']:.3f} | {pc['favour-seeking']['f1']:.3f} | "
                f"{pc['complaint']['f1']:.3f} | {pc['question']['f1']:.3f} | {pc['praise']['f1']:.3f} | "
                f"{pc['other']['f1']:.3f} | {r['overall']['ece']:.3f} | {r['macro_f1_with_abstention']:.3f} | "
                f"{split} | {r['folds_run']}/{r['folds']} |"
            )
        lines.append("")
    if results.get("bundles"):
        lines += [
            "| bundle | runtime | SemEval-2017 macro-recall | airline accuracy | airline macro-F1 | posts/s |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in results["bundles"].items():
            trained = r.get("training_metrics", {})
            if "sentiment/semeval-2017-test" in trained and "torch" in r["runtimes"]:
                r["runtimes"]["torch"].setdefault("sentiment/semeval-2017-test", trained["sentiment/semeval-2017-test"])
                r["runtimes"]["torch"].setdefault(
                    "sentiment/airline-sentiment:test", trained.get("sentiment/airline-sentiment:test", {})
                )
            for runtime, e in r["runtimes"].items():
                sem = e.get("sentiment/semeval-2017-test", {})
                air = e.get("sentiment/airline-sentiment:test", {})
                lines.append(
                    f"| {name} | {runtime} | {sem.get('macro_recall', float('nan')):.3f} | "
                    f"{air.get('accuracy', float('nan')):.3f} | {air.get('macro_f1', float('nan')):.3f} | "
                    f"{e['throughput_posts_per_s']} |"
                )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", default=[], help="NAME=CONFIG: intent CV of this config")
    parser.add_argument("--bundle", action="append", default=[], help="NAME=DIR: held-out + throughput")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", type=int, default=None, help="run only the first N folds (quick)")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE classifier param override")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--throughput-rows", type=int, default=1000)
    parser.add_argument(
        "--heldout-runtimes", default="default,onnx", help="runtimes scored on the held-out sets (torch: slow)"
    )
    parser.add_argument(
        "--cv-from",
        action="append",
        default=[],
        help="NAME=JSON: reuse the CV result NAME (with out-of-fold probabilities) of an earlier --out",
    )
    parser.add_argument(
        "--ensemble",
        action="append",
        default=[],
        help="NAME=A,B[,...][:wA,wB,...]: weighted mean of the out-of-fold probabilities of CV results A, B",
    )
    parser.add_argument(
        "--sentiment-ensemble",
        action="append",
        default=[],
        help="NAME=DIR_A,DIR_B[:wA,wB]: held-out sentiment of a weighted mean of bundles' probabilities",
    )
    parser.add_argument("--member", type=int, default=None, help="CV only member N of an ensemble.v1 config")
    parser.add_argument("--init-bundle", type=Path, default=None, help="bundle for init_encoder: task:NAME")
    parser.add_argument("--out", type=Path, default=Path("runs/bench.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    overrides = {k: _parse_value(v) for k, v in (item.split("=", 1) for item in args.set)}
    results: dict[str, Any] = {"cv": {}, "bundles": {}}
    for item in args.config:
        name, path = item.split("=", 1)
        results["cv"][name] = intent_cv(
            Path(path), args.data_dir, args.folds, args.only_folds, overrides, args.init_bundle, args.member
        )
        for m, member_proba in results["cv"][name].pop("member_oof_proba").items():
            results["cv"][f"{name}/member-{m}"] = member_cv(results["cv"][name], member_proba)
    for item in args.cv_from:
        name, path = item.split("=", 1)
        results["cv"][name] = json.loads(Path(path).read_text(encoding="utf-8"))["cv"][name]
    for item in args.ensemble:
        name, spec = item.split("=", 1)
        member_names, _, weight_text = spec.partition(":")
        names = member_names.split(",")
        weights = [float(w) for w in weight_text.split(",")] if weight_text else [1.0] * len(names)
        results["cv"][name] = ensemble_cv([(n, results["cv"][n]) for n in names], weights)
    for item in args.bundle:
        name, path = item.split("=", 1)
        results["bundles"][name] = bundle_benchmark(
            Path(path), args.data_dir, args.threads, args.throughput_rows, set(args.heldout_runtimes.split(","))
        )
    for item in args.sentiment_ensemble:
        name, spec = item.split("=", 1)
        results.setdefault("sentiment_ensembles", {})[name] = sentiment_ensemble(spec, args.data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except VocError as exc:  # a config this CV refuses (pseudo-labels, soft labels), a missing --init-bundle
        raise SystemExit(f"error: {exc}") from None
