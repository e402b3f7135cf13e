"""The intent cross-validation that the model benchmark and the experiments share.

Folds of ``brand-intent`` (:data:`CV_DATASET`): stratified by label, near-duplicate posts (the same text once
URLs, mentions, case and punctuation are gone) in one fold, a fixed seed (:func:`grouped_folds`). Each fold
trains on the other folds plus every other training source of the config (:func:`load_cv_data`), except
a teacher's pseudo-labels, which saw every brand-intent post (:func:`is_model_labelled`). Results are also
split by the annotators' ``unsure`` flag (:func:`by_annotator_certainty`).
``scripts/bench/bench_models.py`` runs it for docs/models.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.data.datasets import match_key, resolve_data_dir
from pipeline.data.sources import id_labels_file, is_id_labels_source
from pipeline.errors import ConfigError
from pipeline.text.normalise import normaliser_from_config
from pipeline.training.config import load_config
from pipeline.training.evaluate import classification_metrics
from pipeline.training.train import DatasetCache

CV_DATASET = "brand-intent"


def _quiet(_: str) -> None:
    return None


def resolve_task_init(params: dict[str, Any], bundle: Path | None) -> dict[str, Any]:
    """``init_encoder: task:NAME`` (resolved by ``voc train`` from the same run) -> ``<bundle>/NAME``.

    For the CV of a config whose intent encoder starts from its sentiment encoder: every fold starts from
    the sentiment task of an already trained bundle of that config.
    """
    params = json.loads(json.dumps(params))
    for holder in [params, *[m.setdefault("params", {}) for m in params.get("members") or []]]:
        init = str(holder.get("init_encoder") or "")
        if init.startswith("task:"):
            if bundle is None:
                raise ConfigError(f"init_encoder {init!r}: pass --init-bundle DIR (a bundle trained from this config)")
            holder["init_encoder"] = str(bundle / init[len("task:") :])
    return params


class CvData(NamedTuple):
    """A config's intent task, with brand-intent and its other training sources, normalised."""

    config: Any
    task: Any
    data_root: Path
    normaliser: Any
    classes: list[str]
    target: Any
    target_texts: list[str]
    extra_texts: list[str]
    extra_labels: list[str]
    extra_unsure: list[bool]  # the annotators' flag per extra row (False where a source has none)


def is_model_labelled(source: str, base: Path, task: Any = None) -> bool:
    """Whether a training source holds a teacher's pseudo-labels, which leak brand-intent into a CV.

    That is an ``ids:`` source the config's task lists under ``model_labelled:`` (what ``voc train`` reads),
    or an ``ids:`` file whose rows carry a teacher ``confidence`` (caught even when the config forgot to list
    it). ``weak:`` sources are model-labelled for calibration but come from rules, not from a teacher that
    saw brand-intent, so they stay in a CV.
    """
    if not is_id_labels_source(source):
        return False
    if task is not None and source in task.model_labelled:
        return True
    path = base / id_labels_file(source)
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return bool(first.strip()) and "confidence" in json.loads(first)


def load_cv_data(
    config_path: Path, data_dir: Path | None, drop_pseudo_labels: bool = False, log: Callable[[str], None] = _quiet
) -> CvData:
    """Load what an intent cross-validation of ``config_path`` needs (every source normalised once).

    Pseudo-labels (:func:`is_model_labelled`) come from a teacher that saw every brand-intent post, so a CV
    that trains on them is optimistic: they are refused, or left out with ``drop_pseudo_labels`` (what
    ``scripts/experiments/exp_pseudo_labels.py`` does before adding each fold's own teacher labels).
    """
    config = load_config(config_path)
    task = config.intent
    assert task is not None, f"{config_path} has no intent task"
    data_root = resolve_data_dir(data_dir, config.data_dir, base=config_path.parent)
    normaliser = normaliser_from_config(config.normaliser.model_dump())
    cache = DatasetCache(data_root, normaliser, config_path.parent)
    extra_texts: list[str] = []
    extra_labels: list[str] = []
    extra_unsure: list[bool] = []
    for name in task.train:
        if name == CV_DATASET:
            continue
        if is_model_labelled(name, config_path.parent, task):
            if not drop_pseudo_labels:
                raise ConfigError(
                    f"{config_path} trains on pseudo-labels ({name}) from a teacher that saw all of "
                    f"{CV_DATASET}, so its CV would be optimistic; use scripts/experiments/exp_pseudo_labels.py, "
                    "which retrains the teacher per fold"
                )
            log(f"note: {name} (pseudo-labels) left out; each fold adds its own teacher's")
            continue
        if cache.get(name, "intent").weights:
            raise ConfigError(f"{name} has soft labels (weighted rows), which this CV does not train on")
        part = cache.get(name, "intent")
        extra_texts += cache.normalised(name, "intent")
        extra_labels += part.labels
        extra_unsure += part.unsure or [False] * len(part)  # e.g. the project's written posts carry no flag
    return CvData(
        config,
        task,
        data_root,
        normaliser,
        config.labels_for("intent"),
        cache.get(CV_DATASET, "intent"),
        cache.normalised(CV_DATASET, "intent"),
        extra_texts,
        extra_labels,
        extra_unsure,
    )


def grouped_folds(labels: list[str], texts: list[str], folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) indices of the CV folds on brand-intent: stratified by label, and near-duplicates (same
    text once URLs, mentions, case and punctuation are gone) share a fold. Every experiment uses these folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), np.asarray(labels), near_duplicate_groups(texts)))


def near_duplicate_groups(texts: list[str]) -> np.ndarray:
    """One group id per text; texts equal after dropping URLs, mentions, case and punctuation share one."""
    ids: dict[str, int] = {}
    return np.asarray([ids.setdefault(match_key(t) or f"\x00{i}", len(ids)) for i, t in enumerate(texts)])


def by_annotator_certainty(
    gold: list[str], proba: np.ndarray, classes: list[str], unsure: list[bool], scored: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Macro-F1 and favour-seeking F1 of the scored rows whose annotators marked them sure, and unsure.

    ``unsure`` has one flag per row of the data set (``scored`` picks the rows of ``gold``); empty without flags.
    """
    if len(unsure) != len(scored):
        return {}
    flags = np.asarray(unsure, dtype=bool)[scored]
    result = {}
    for name, mask in (("sure", ~flags), ("unsure", flags)):
        report = classification_metrics([g for g, keep in zip(gold, mask) if keep], proba[mask], classes)
        result[name] = {
            "n": int(mask.sum()),
            "macro_f1": report["overall"]["macro_f1"],
            "favour_seeking_f1": report["per_class"]["favour-seeking"]["f1"] if "favour-seeking" in classes else None,
        }
    return result
