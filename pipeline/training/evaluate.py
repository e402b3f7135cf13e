"""Evaluation: overall, per-class and slice metrics, calibration, for any bundle on any labelled data.

:func:`classification_metrics` is the one place metrics are computed, used by training (cross-validation
and held-out sets, written into the bundle) and by ``voc evaluate``. Slices are defined by
:data:`SLICES` on the raw text, so that they mean the same thing for every backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from pipeline.text.patterns import TAG_OR_HTTP_URL

_NEGATION_RE = re.compile(
    r"\b(not|no|never|nothing|nobody|none|cannot|can't|cant|won't|wont|don't|dont|didn't|didnt|"
    r"isn't|isnt|wasn't|wasnt|aren't|haven't|hasn't|n't)\b",
    re.IGNORECASE,
)
_SARCASM_RE = re.compile(
    r"(#sarcasm|\bthanks? (a lot|for nothing|for (losing|ruining|cancel|delay))|\byeah right\b|"
    r"\bjust great\b|\bso helpful\b|\bgreat job\b.*\b(not|never|lost|late|delay|cancel)|"
    r"\blove (it )?when\b|\bnot\b.*\b(lol|lmao)\b|🙄|😒|\"(great|helpful|service)\")",
    re.IGNORECASE,
)
_QUESTION_WORD_RE = re.compile(
    r"^\W*(\S+\s+){0,3}(how|what|when|where|why|who|which|can|could|will|would|is|are|do|does|"
    r"did|should|any way|anyone)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W\d_]{2,}")


def _is_emoji_only(text: str) -> bool:
    stripped = TAG_OR_HTTP_URL.sub(" ", text)
    return not _WORD_RE.search(stripped) and any(ord(ch) > 0x2000 for ch in stripped)


def _is_hashtags_only(text: str) -> bool:
    words = text.split()
    content = [w for w in words if not w.startswith("@") and not w.startswith("http")]
    return bool(content) and all(w.startswith("#") for w in content)


def _content_words(text: str) -> int:
    return len(_WORD_RE.findall(TAG_OR_HTTP_URL.sub(" ", text)))


SLICES: dict[str, Callable[[str], bool]] = {
    "negation": lambda t: bool(_NEGATION_RE.search(t)),
    "sarcasm_markers": lambda t: bool(_SARCASM_RE.search(t)),
    "question_without_mark": lambda t: "?" not in t and bool(_QUESTION_WORD_RE.search(TAG_OR_HTTP_URL.sub(" ", t))),
    "emoji_only": _is_emoji_only,
    "hashtags_only": _is_hashtags_only,
    "very_short": lambda t: _content_words(t) <= 4,
    "very_long": lambda t: len(t) >= 200,
}


def expected_calibration_error(
    proba: np.ndarray, y: np.ndarray, n_bins: int = 15
) -> tuple[float, list[dict[str, float]]]:
    """ECE of the top-label confidence, and the reliability table behind it."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    table = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if not mask.any():
            continue
        gap = abs(correct[mask].mean() - confidence[mask].mean())
        ece += mask.mean() * gap
        table.append(
            {
                "low": float(lo),
                "high": float(hi),
                "n": int(mask.sum()),
                "confidence": float(confidence[mask].mean()),
                "accuracy": float(correct[mask].mean()),
            }
        )
    return float(ece), table


INTERVAL_METRICS = ("accuracy", "macro_f1", "macro_recall")


def bootstrap_rows(n_rows: int, resamples: int, seed: int = 0) -> Iterator[np.ndarray]:
    """``resamples`` draws of ``n_rows`` row indices with replacement (a seeded, reproducible bootstrap)."""
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield rng.integers(0, n_rows, n_rows)


def percentile_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` share of ``values`` (percentile bootstrap interval)."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(np.asarray(values, dtype=float), [tail, 1.0 - tail])
    return round(float(low), 6), round(float(high), 6)


def bootstrap_interval(
    n_rows: int,
    statistic: Callable[[np.ndarray], float],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(rows)`` over resampled row indices."""
    return percentile_interval([statistic(rows) for rows in bootstrap_rows(n_rows, resamples, seed)], confidence)


def metric_intervals(
    labels: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    metrics: Sequence[str] = INTERVAL_METRICS,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Bootstrap intervals of overall metrics: how far each could move on another sample of the same size.

    One draw of the rows serves every metric.
    """
    gold = np.asarray(labels, dtype=object)
    draws: dict[str, list[float]] = {m: [] for m in metrics}
    for rows in bootstrap_rows(len(gold), resamples, seed):
        overall = classification_metrics(gold[rows].tolist(), proba[rows], classes)["overall"]
        for m in metrics:
            draws[m].append(float(overall[m]))
    intervals: dict[str, Any] = {"confidence": confidence, "resamples": resamples}
    for m in metrics:
        low, high = percentile_interval(draws[m], confidence)
        intervals[m] = [round(low, 4), round(high, 4)]
    return intervals


def classification_metrics(labels: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Overall, per-class and calibration metrics of calibrated probabilities against gold labels.

    Gold labels outside ``classes`` (a model that does not know a label) count as errors.
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index.get(label, -1) for label in labels])
    pred = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=int)
    gold_classes = [c for c in classes if c in set(labels)]
    per_class: dict[str, dict[str, float]] = {}
    for c in classes:
        k = index[c]
        tp = int(np.sum((pred == k) & (y == k)))
        fp = int(np.sum((pred == k) & (y != k)))
        fn = int(np.sum((pred != k) & (y == k)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": int(np.sum(y == k)),
        }
    supported = [per_class[c] for c in gold_classes]
    n = len(y)
    known = y >= 0
    ece, reliability = expected_calibration_error(proba[known], y[known]) if known.any() else (0.0, [])
    log_loss = float(-np.mean(np.log(np.clip(proba[known, y[known]], 1e-12, 1.0)))) if known.any() else 0.0
    confusion = [[int(np.sum((y == i) & (pred == j))) for j in range(len(classes))] for i in range(len(classes))]
    weights = np.asarray([p["support"] for p in supported], dtype=float)
    return {
        "overall": {
            "n": n,
            "accuracy": round(float(np.mean(pred == y)) if n else 0.0, 4),
            "macro_f1": round(float(np.mean([p["f1"] for p in supported])) if supported else 0.0, 4),
            "macro_recall": round(float(np.mean([p["recall"] for p in supported])) if supported else 0.0, 4),
            "weighted_f1": round(
                float(np.average([p["f1"] for p in supported], weights=weights)) if supported else 0.0, 4
            ),
            "ece": round(ece, 4),
            "log_loss": round(log_loss, 4),
        },
        "per_class": per_class,
        "confusion": {"labels": classes, "matrix": confusion},
        "reliability": reliability,
    }


def slice_metrics(
    texts: Sequence[str],
    labels: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[str] | None = None,
    min_size: int = 10,
    unsure: Sequence[bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """Accuracy and macro-F1 on each slice of :data:`SLICES` (and per group, e.g. brand) with n ≥ min_size.

    ``unsure`` (the annotators' flag where two labels were plausible, when the data has it) adds the slices
    ``annotator sure`` and ``annotator unsure``: how much of the error lies in posts people found ambiguous.
    """
    result: dict[str, dict[str, Any]] = {}
    named: dict[str, np.ndarray] = {
        name: np.asarray([rule(t) for t in texts], dtype=bool) for name, rule in SLICES.items()
    }
    if unsure is not None and len(unsure):
        if len(unsure) != len(texts):
            raise ValueError(f"unsure has {len(unsure)} flags for {len(texts)} texts")
        flags = np.asarray(unsure, dtype=bool)
        named["annotator sure"], named["annotator unsure"] = ~flags, flags
    if groups is not None:
        for group in sorted(set(groups) - {""}):
            named[f"brand={group}"] = np.asarray([g == group for g in groups], dtype=bool)
    labels_array = np.asarray(labels, dtype=object)
    for name, mask in named.items():
        count = int(mask.sum())
        if count < min_size:
            result[name] = {"n": count}
            continue
        overall = classification_metrics(list(labels_array[mask]), proba[mask], classes)["overall"]
        result[name] = {
            "n": count,
            "accuracy": overall["accuracy"],
            "macro_f1": overall["macro_f1"],
            "macro_recall": overall["macro_recall"],
        }
    return result


def evaluate_predictions(
    texts: Sequence[str],
    labels: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    groups: Sequence[str] | None = None,
    unsure: Sequence[bool] | None = None,
) -> dict[str, Any]:
    report = classification_metrics(labels, proba, classes)
    report["slices"] = slice_metrics(texts, labels, proba, classes, groups, unsure=unsure)
    return report


def run_evaluation(
    *,
    model: Any = None,
    data: str | None = None,
    dataset: str | None = None,
    data_dir: Any = None,
    task: str | None = None,
    output: Any = "reports/evaluate",
    text_field: str = "text",
    bootstrap: int = 1000,
) -> dict[str, Any]:
    """Evaluate a bundle on a labelled file or a named dataset; writes ``evaluation.json`` and ``evaluation.md``.

    ``bootstrap`` resamples give 95% intervals of accuracy, macro-F1 and macro-recall (0: none).
    """
    from pathlib import Path

    from pipeline.data.datasets import resolve_data_dir
    from pipeline.data.io import write_json_atomic, write_text_atomic
    from pipeline.data.sources import load_dataset, load_labelled_file
    from pipeline.errors import InputError
    from pipeline.models.predict import Predictor

    if (data is None) == (dataset is None):
        raise InputError("give exactly one of --data FILE or --dataset NAME")
    if task not in (None, "intent", "sentiment"):
        raise InputError(f"unknown --task {task!r}: use intent or sentiment")
    predictor = Predictor.from_path(model)
    rejected = 0
    if dataset is not None:
        loaded = load_dataset(dataset, resolve_data_dir(data_dir, None), task, soft=False)
        intent_classes = predictor.classifiers["intent"].classes_ if "intent" in predictor.classifiers else []
        chosen = task or ("intent" if set(loaded.labels) <= set(intent_classes) else "sentiment")
        texts, brands, unsure = loaded.texts, loaded.groups, loaded.unsure
        labels: dict[str, list[str | None]] = {chosen: list(loaded.labels)}
        source = dataset
    else:
        assert data is not None
        labelled = load_labelled_file(data, text_field)
        texts, brands, unsure, rejected = labelled.texts, labelled.brands, labelled.unsure, labelled.rejected
        labels = {k: v for k, v in labelled.labels.items() if task is None or k == task}
        source = data
        if not labels:
            raise InputError(f"{data} has no '{task}' labels")
    _, probabilities = predictor.predict_proba(texts)
    report: dict[str, Any] = {
        "model": str(predictor.bundle.path),
        "data": source,
        "rows_rejected": rejected,
        "output": str(output),
        "tasks": {},
    }
    for name, gold in labels.items():
        if name not in probabilities:
            raise InputError(f"the model has no {name} classifier")
        keep = [i for i, g in enumerate(gold) if g is not None]
        result = evaluate_predictions(
            [texts[i] for i in keep],
            [str(gold[i]) for i in keep],
            probabilities[name][keep],
            predictor.classifiers[name].classes_,
            [brands[i] for i in keep],
            unsure=[unsure[i] for i in keep] if unsure else None,
        )
        if bootstrap > 0 and keep:
            result["intervals"] = metric_intervals(
                [str(gold[i]) for i in keep],
                probabilities[name][keep],
                predictor.classifiers[name].classes_,
                resamples=bootstrap,
            )
        classifier = predictor.classifiers[name]
        threshold = classifier.abstain_threshold_
        if threshold is not None:  # labels as shipped: low confidence -> abstain label
            label_set = list(classifier.classes_)
            decided_idx = [label_set.index(label) for label in classifier.decide(probabilities[name][keep])]
            decided = classification_metrics(
                [str(gold[i]) for i in keep], np.eye(len(label_set))[decided_idx], label_set
            )
            result["with_abstention"] = {
                "threshold": threshold,
                **decided["overall"],
                "per_class": decided["per_class"],
            }
        report["tasks"][name] = result
    out = Path(output)
    from pipeline.training.plots import write_evaluation_plots

    plots, note = write_evaluation_plots(report, out)
    report["plots"] = [p.name for p in plots] if plots else note
    write_json_atomic(out / "evaluation.json", report)
    write_text_atomic(out / "evaluation.md", evaluation_markdown(report))
    return report


def evaluation_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation of {report['model']} on {report['data']}", ""]
    for name, result in report["tasks"].items():
        o = result["overall"]
        lines += [
            f"## {name}",
            "",
            f"n={o['n']:,} accuracy={o['accuracy']:.3f} macro-F1={o['macro_f1']:.3f} "
            f"macro-recall={o['macro_recall']:.3f} ECE={o['ece']:.3f}",
            "",
        ]
        if "intervals" in result:
            ci = result["intervals"]
            shown = ", ".join(f"{m} [{ci[m][0]:.3f}, {ci[m][1]:.3f}]" for m in INTERVAL_METRICS if m in ci)
            share = round(100 * ci["confidence"])
            lines += [f"{share}% bootstrap intervals ({ci['resamples']} resamples): {shown}", ""]
        if "with_abstention" in result:
            a = result["with_abstention"]
            lines += [
                f"With the abstention threshold {a['threshold']:.3f} (labels as shipped): accuracy={a['accuracy']:.3f} "
                f"macro-F1={a['macro_f1']:.3f}",
                "",
            ]
        if os.path.exists(os.path.join(report.get("output", ""), f"{name}-reliability.png")):
            lines += [f"![{name} reliability]({name}-reliability.png) ![{name} confusion]({name}-confusion.png)", ""]
        lines += [
            "| label | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for label, m in result["per_class"].items():
            lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
        lines += ["", "| slice | n | accuracy | macro-F1 |", "|---|---|---|---|"]
        for slice_name, m in result["slices"].items():
            if "accuracy" in m:
                lines.append(f"| {slice_name} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} |")
        matrix = result["confusion"]
        lines += ["", "Confusion (rows gold, columns predicted): " + ", ".join(matrix["labels"]), ""]
        lines += ["    " + " ".join(f"{v:6d}" for v in row) for row in matrix["matrix"]]
        lines.append("")
    return "\n".join(lines)


def run_behaviour(*, model: Any = None, output: Any = "reports/evaluate") -> dict[str, Any]:
    """The behaviour suite (:mod:`pipeline.training.behaviour`) on a bundle: failure rates per capability, per identity
    group and per test, for each head; writes ``behaviour.json`` and ``behaviour.md`` under ``output``."""
    from pathlib import Path

    from pipeline.data.io import write_json_atomic, write_text_atomic
    from pipeline.models.predict import Predictor
    from pipeline.training.behaviour import behaviour_summary, format_summary, summary_markdown

    predictor = Predictor.from_path(model)
    summary = behaviour_summary(predictor)
    out = Path(output)
    report = {"model": str(predictor.bundle.path), "output": str(out), "behaviour": summary}
    write_json_atomic(out / "behaviour.json", report)
    text = (
        f"# Behaviour suite on {predictor.bundle.path}\n\n{summary_markdown(summary)}\n\n"
        f"```\n{format_summary(summary)}\n```\n"
    )
    write_text_atomic(out / "behaviour.md", text)
    return report
