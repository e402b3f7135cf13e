"""Likely label errors by confident learning (``voc label-issues``).

Out-of-fold probabilities come from cross-validated training of the configured classifier (every row is
predicted by a model that never saw it; the linear backend's calibration folds provide them), then
``cleanlab.filter.find_label_issues`` flags the rows whose given label is implausible under the per-class
confidence thresholds, ranked by self-confidence (the probability of the given label, lowest first).
``cleanlab`` is an optional extra: ``pip install 'voc-pipeline[retrain]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.datasets import LabelledTexts
from pipeline.errors import InputError
from pipeline.extras import require


def out_of_fold_proba(
    texts: list[str],
    labels: list[str],
    classes: list[str],
    *,
    folds: int = 5,
    classifier: str = "tfidf_logreg.v1",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """(n, k) out-of-fold calibrated probabilities of normalised ``texts`` (stratified ``folds``-fold CV)."""
    from pipeline.models.classifier import create_classifier

    if folds < 2:
        raise InputError("--folds must be at least 2")
    settings = dict(params or {})
    settings["seed"] = seed
    settings["calibration_folds"] = folds
    try:
        model = create_classifier(classifier, **settings)
    except TypeError as exc:
        raise InputError(f"bad params for classifier {classifier}: {exc}") from None
    model.fit(texts, labels, classes=classes)
    oof = model.oof_proba_
    if oof is None:
        raise InputError(f"classifier {classifier} does not provide out-of-fold probabilities")
    return np.asarray(oof, dtype=np.float64)


def find_issues(labels: list[str], proba: np.ndarray, classes: list[str]) -> list[dict[str, Any]]:
    """Rows cleanlab flags as likely mislabelled, most likely first, with the suggested label."""
    cleanlab_filter = require("cleanlab.filter", "retrain", "voc label-issues")
    present = [c for c in classes if c in set(labels)]
    if len(present) < 2:
        raise InputError("label-issues needs at least two labels in the data")
    columns = [classes.index(c) for c in present]
    pred_probs = proba[:, columns]
    pred_probs = pred_probs / pred_probs.sum(axis=1, keepdims=True)
    index = {c: i for i, c in enumerate(present)}
    y = np.asarray([index[label] for label in labels])
    ranked = cleanlab_filter.find_label_issues(
        labels=y, pred_probs=pred_probs, return_indices_ranked_by="self_confidence"
    )
    issues = []
    for i in ranked:
        i = int(i)
        suggested = int(pred_probs[i].argmax())
        issues.append(
            {
                "row": i,
                "given_label": present[y[i]],
                "given_label_probability": round(float(pred_probs[i, y[i]]), 4),
                "suggested_label": present[suggested],
                "suggested_label_probability": round(float(pred_probs[i, suggested]), 4),
            }
        )
    return issues


def _classifier_settings(config: Path | None, task: str) -> tuple[str, dict[str, Any], int, Any]:
    if config is None:
        return "tfidf_logreg.v1", {}, 0, None
    from pipeline.training.config import load_config

    loaded = load_config(config)
    task_config = loaded.task(task)
    if task_config is None:
        raise InputError(f"config {config} has no {task} section")
    return task_config.classifier, dict(task_config.params), loaded.seed, loaded


def run_label_issues(
    *,
    data: str | None = None,
    dataset: str | None = None,
    data_dir: Path | None = None,
    task: str = "intent",
    folds: int = 5,
    config: Path | None = None,
    output: Path | None = None,
) -> dict[str, Any]:
    """Find likely label errors in a labelled file or named dataset; writes ``output`` (.jsonl/.csv) if given."""
    from pipeline import INTENT_LABELS, SENTIMENT_LABELS
    from pipeline.text.normalise import TweetNormaliser, normaliser_from_config

    if task not in ("intent", "sentiment"):
        raise InputError(f"unknown --task {task!r}: use intent or sentiment")
    if (data is None) == (dataset is None):
        raise InputError("give exactly one of --data FILE or --dataset NAME")
    if output is not None and output.suffix.lower() not in (".jsonl", ".json", ".csv"):
        raise InputError(f"unsupported output format {output.suffix or '(none)'!r} for {output}: use .jsonl or .csv")
    require("cleanlab.filter", "retrain", "voc label-issues")  # before minutes of training
    classifier, params, seed, train_config = _classifier_settings(config, task)
    loaded: LabelledTexts
    if dataset is not None:
        from pipeline.data.datasets import resolve_data_dir
        from pipeline.data.sources import load_dataset

        loaded = load_dataset(dataset, resolve_data_dir(data_dir, None), soft=False)
        source = dataset
    else:
        from pipeline.data.sources import load_labelled

        assert data is not None
        loaded = load_labelled(data, task)
        source = data
    keep = [i for i, label in enumerate(loaded.labels) if label]
    if len(keep) != len(loaded):
        loaded = loaded.subset(keep)
    classes = train_config.labels_for(task) if train_config is not None else None
    if classes is None:
        contract = list(INTENT_LABELS if task == "intent" else SENTIMENT_LABELS)
        extra = sorted(set(loaded.labels) - set(contract))
        if extra:
            raise InputError(
                f"{source} has {task} labels {extra} outside the contract's {contract}; declare them in a --config"
            )
        classes = contract
    unknown = sorted(set(loaded.labels) - set(classes))
    if unknown:
        raise InputError(f"{source} has {task} labels {unknown} outside the label set {classes}")
    normaliser = (
        normaliser_from_config(train_config.normaliser.model_dump()) if train_config is not None else TweetNormaliser()
    )
    texts = normaliser.normalise_many(loaded.texts)
    proba = out_of_fold_proba(
        texts, loaded.labels, classes, folds=folds, classifier=classifier, params=params, seed=seed
    )
    issues = find_issues(loaded.labels, proba, classes)
    for rank, issue in enumerate(issues, start=1):
        row = issue.pop("row")
        issue.update({"rank": rank, "id": loaded.ids[row], "text": loaded.texts[row]})
    accuracy = float(np.mean([classes[j] == label for j, label in zip(proba.argmax(axis=1), loaded.labels)]))
    report: dict[str, Any] = {
        "data": source,
        "task": task,
        "rows": len(loaded),
        "folds": folds,
        "seed": seed,
        "out_of_fold_accuracy": round(accuracy, 4),
        "issues": len(issues),
        "output": str(output) if output is not None else None,
    }
    if output is not None:
        fields = [
            "rank", "id", "text", "given_label", "suggested_label", "given_label_probability",
            "suggested_label_probability",
        ]  # fmt: skip
        records = [{key: issue[key] for key in fields} for issue in issues]
        if output.suffix.lower() == ".csv":
            from pipeline.training.active import write_records_csv

            write_records_csv(output, records, fields)
        else:
            from pipeline.data.io import RecordWriter

            with RecordWriter(output) as writer:
                writer.write(records)
    report["top"] = issues
    return report
