"""Training: from a config and the shared datasets to a verified model bundle with its model card.

For each task in the config: load and concatenate the named training sets, normalise them, fit the
registered classifier (whose calibration folds double as the cross-validation reported in the bundle),
evaluate it on every named held-out set, and record data files, hashes, row counts and timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.data.datasets import LabelledTexts, concat
from pipeline.data.io import file_fingerprint
from pipeline.data.sources import is_file_source, is_id_labels_source, load_training_source
from pipeline.errors import ConfigError
from pipeline.models.bundle import CONTRACT_LABELS, ModelBundle, library_versions
from pipeline.models.classifier import Classifier, create_classifier
from pipeline.text.normalise import TweetNormaliser, normaliser_from_config
from pipeline.training.config import TrainConfig, config_hash
from pipeline.training.evaluate import evaluate_predictions, metric_intervals
from pipeline.training.model_card import render_model_card

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class TrainingRun:
    """What training produced, beyond the bundle itself."""

    bundle: ModelBundle
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    # Per task, the held-out sets the bundle was evaluated on (evaluate_on and holdout splits), raw texts.
    heldout: dict[str, dict[str, LabelledTexts]] = field(default_factory=dict)


class DatasetCache:
    """Loads each training source once and normalises its texts once, whichever tasks use it.

    A source is a registered dataset name (``brand-intent``) or a labelled file, relative to the config.
    """

    def __init__(
        self, data_dir: Path, normaliser: TweetNormaliser, base: Path, sources: dict[str, Any] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.normaliser = normaliser
        self.base = base
        self.sources = dict(sources or {})
        self._data: dict[tuple[str, str, bool], LabelledTexts] = {}
        self._normalised: dict[tuple[str, str, bool], list[str]] = {}

    def _key(self, name: str, task: str, soft: bool = True) -> tuple[str, str, bool]:
        per_task = is_file_source(name) or name in self.sources or is_id_labels_source(name)
        return (name, task if per_task else "", soft or not is_id_labels_source(name))

    def get(self, name: str, task: str, soft: bool = True) -> LabelledTexts:
        """A source's rows; ``soft=False`` gives an ``ids:`` file with soft labels as one top label per post."""
        key = self._key(name, task, soft)
        if key not in self._data:
            self._data[key] = load_training_source(
                name, task, data_dir=self.data_dir, base=self.base, sources=self.sources, soft=soft
            )
        return self._data[key]

    def normalised(self, name: str, task: str, soft: bool = True) -> list[str]:
        key = self._key(name, task, soft)
        if key not in self._normalised:
            self._normalised[key] = self.normaliser.normalise_many(self.get(name, task, soft).texts)
        return self._normalised[key]


def training_texts(bundle: ModelBundle, task: str, data_dir: Path, config_dir: Path) -> list[str]:
    """The normalised training texts of ``task``, as ``voc train`` read them from the bundle's config."""
    cache = DatasetCache(data_dir, bundle.normaliser, config_dir)
    texts: list[str] = []
    for source in bundle.config[task]["train"]:
        texts += cache.normalised(source, task)
    return texts


def _describe(data: LabelledTexts, base: Path) -> dict[str, Any]:
    files = []
    for path in data.files:
        try:
            shown = path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            shown = path.name
        files.append({"path": shown, "sha256": file_fingerprint(path)})
    counts: dict[str, int] = {}
    for label in data.labels:
        counts[label] = counts.get(label, 0) + 1
    described: dict[str, Any] = {"dataset": data.name, "rows": len(data), "label_counts": dict(sorted(counts.items()))}
    if data.weights:  # soft labels: rows are (post, label) pairs; the weights say how much of each label
        weighted: dict[str, float] = {}
        for label, weight in zip(data.labels, data.weights):
            weighted[label] = weighted.get(label, 0.0) + weight
        described["posts"] = len(set(data.ids))
        described["soft_label_mass"] = {k: round(v, 1) for k, v in sorted(weighted.items())}
    return {**described, "files": files}


def resolve_param_paths(params: dict[str, Any], base: Path) -> dict[str, Any]:
    """``params`` with relative file paths read from ``base`` (the config's folder), like data files.

    ``static_table: x.npz`` always names a file. ``encoder`` (and ``init_encoder``) may be a hub id such as
    ``org/name``, which reads like a relative path, so it is resolved only when ``base`` holds that
    directory (the rule of Hugging Face's ``from_pretrained``). Ensemble members' params are resolved alike.
    """
    resolved = dict(params)
    table = resolved.get("static_table")
    if isinstance(table, str) and table.endswith(".npz") and not Path(table).expanduser().is_absolute():
        resolved["static_table"] = str(base / table)
    for key in ("encoder", "init_encoder"):
        value = resolved.get(key)
        if not isinstance(value, str) or not value or ":" in value or Path(value).expanduser().is_absolute():
            continue  # absent, ``package:``/``task:`` forms, or already absolute
        if (base / value).is_dir():
            resolved[key] = str(base / value)
    if isinstance(resolved.get("members"), list):
        resolved["members"] = [
            {**member, "params": resolve_param_paths(dict(member.get("params") or {}), base)}
            if isinstance(member, dict)
            else member
            for member in resolved["members"]
        ]
    return resolved


def init_source(params: dict[str, Any]) -> str:
    """The ``init_encoder`` of a classifier's params, or of the first ensemble member that has one."""
    found = str(params.get("init_encoder") or "")
    for member in params.get("members") or []:
        found = found or str((member.get("params") or {}).get("init_encoder") or "")
    return found


def train_bundle(
    config: TrainConfig,
    data_dir: Path,
    *,
    log: Log = _quiet,
    taxonomy_text: str | None = None,
    base: Path | None = None,
) -> TrainingRun:
    """Train every task of ``config`` on the datasets under ``data_dir`` (files relative to ``base``)."""
    started = time.perf_counter()
    normaliser = normaliser_from_config(config.normaliser.model_dump())
    cache = DatasetCache(data_dir, normaliser, base or Path.cwd(), config.sources)
    heldout: dict[str, dict[str, LabelledTexts]] = {}
    custom_labels: dict[str, list[str]] = {}
    classifiers: dict[str, Classifier] = {}
    training_data: dict[str, list[dict[str, Any]]] = {}
    metrics: dict[str, Any] = {}
    timings: dict[str, float] = {}

    order = ["intent", "sentiment"]
    intent_config = config.task("intent")
    if intent_config is not None and init_source(intent_config.params) == "task:sentiment":
        order.reverse()  # intermediate-task training: the intent encoder starts from sentiment's
    for task in order:
        task_config = config.task(task)
        if task_config is None:
            continue
        task_started = time.perf_counter()
        labels = config.labels_for(task)
        if set(labels) - CONTRACT_LABELS[task]:
            custom_labels[task] = labels  # declared in the config; recorded so that ModelBundle.load accepts it
        parts = [cache.get(name, task) for name in task_config.train]
        normalised_parts = [cache.normalised(name, task) for name in task_config.train]
        holdout_parts: dict[str, tuple[LabelledTexts, list[str]]] = {}
        if task_config.holdout:
            from pipeline.data.splits import holdout_indices

            for i, (name, part) in enumerate(zip(task_config.train, parts)):
                if part.weights:  # soft (model-made) labels are trained on whole, never scored against
                    log(f"{task}: {name} has soft labels; none of its posts is held out")
                    continue
                train_idx, test_idx = holdout_indices(part.ids, task_config.holdout)
                if test_idx:
                    holdout_parts[f"holdout:{name}"] = (
                        part.subset(test_idx, f"holdout:{name}"),
                        [normalised_parts[i][j] for j in test_idx],
                    )
                parts[i] = part.subset(train_idx)
                normalised_parts[i] = [normalised_parts[i][j] for j in train_idx]
        weighted = [
            part.reweighted(task_config.source_weights[name]) if name in task_config.source_weights else part
            for name, part in zip(task_config.train, parts)
        ]
        train_set = concat(*weighted, name="+".join(task_config.train))
        if not len(train_set):
            raise ConfigError(f"{task}: no training rows left after the holdout split")
        unknown = sorted(set(train_set.labels) - set(labels))
        if unknown:
            raise ConfigError(f"{task} training data has labels {unknown} outside the label set {labels}")
        texts = [t for part_texts in normalised_parts for t in part_texts]
        unit = "rows" if train_set.weights else "posts"  # soft labels: one row per (post, label)
        log(f"{task}: training {task_config.classifier} on {len(train_set):,} {unit} ({', '.join(task_config.train)})")

        params = resolve_param_paths(task_config.params, base or Path.cwd())
        params.setdefault("seed", config.seed)
        params.setdefault("calibration_folds", task_config.cv_folds)
        try:
            classifier = create_classifier(task_config.classifier, **params)
        except TypeError as exc:
            raise ConfigError(f"bad params for {task} classifier {task_config.classifier}: {exc}") from None
        source_task = init_source(params)
        if source_task.startswith("task:"):
            source = classifiers.get(source_task[len("task:") :])
            state = source.encoder_state() if source is not None else None
            if state is None:
                raise ConfigError(f"{task}: init_encoder {source_task!r} needs that task's transformer in the config")
            classifier.init_state_ = state
        gold = None
        if any(task_config.is_model_labelled(name) for name in task_config.train):
            gold = [
                not task_config.is_model_labelled(name)
                for name, part in zip(task_config.train, parts)
                for _ in range(len(part))
            ]
            log(f"{task}: calibrating on the {sum(gold):,} rows labelled by people (not on model-labelled sources)")
        fit_options: dict[str, Any] = {"gold": gold}
        if train_set.weights:  # soft labels (``{task}_scores`` in an ids: file) or source_weights: weighted rows
            if not classifier.takes_sample_weight:
                raise ConfigError(
                    f"{task}: {task_config.classifier} cannot train on weighted rows (soft labels or "
                    "source_weights); use hard labels and no source_weights, or a tfidf_logreg classifier"
                )
            fit_options["sample_weight"] = train_set.weights
            log(f"{task}: {len(train_set):,} rows carry {sum(train_set.weights):,.0f} posts' weight")
        classifier.fit(texts, train_set.labels, classes=labels, **fit_options)
        classifiers[task] = classifier
        training_data[task] = [_describe(part, data_dir) for part in parts]
        for name, entry in zip(task_config.train, training_data[task]):
            if task_config.is_model_labelled(name):
                entry["model_labelled"] = True
            if name in task_config.source_weights:
                entry["source_weight"] = task_config.source_weights[name]

        task_metrics: dict[str, Any] = {}
        oof = classifier.oof_proba_
        if oof is not None:
            cv_name = task_config.cv_on or task_config.train[0]
            offset = 0
            for part_name, part in zip(task_config.train, parts):
                if part_name == cv_name:
                    block = oof[offset : offset + len(part)]
                    report = evaluate_predictions(
                        part.texts, part.labels, block, labels, part.groups, unsure=part.unsure
                    )
                    report["folds"] = task_config.cv_folds
                    report["seed"] = config.seed
                    task_metrics[f"cv:{cv_name}"] = report
                offset += len(part)
        for name in task_config.evaluate_on:
            held_out = cache.get(name, task, soft=False)
            proba = classifier.predict_proba(cache.normalised(name, task, soft=False))
            task_metrics[name] = evaluate_predictions(
                held_out.texts, held_out.labels, proba, labels, held_out.groups, unsure=held_out.unsure
            )
            # How far each number could move on another sample of this size (the model card shows it).
            task_metrics[name]["intervals"] = metric_intervals(held_out.labels, proba, labels)
            training_data.setdefault(f"{task}:evaluation", []).append(_describe(held_out, data_dir))
            heldout.setdefault(task, {})[name] = held_out
        for name, (held_out, held_out_texts) in holdout_parts.items():
            proba = classifier.predict_proba(held_out_texts)
            task_metrics[name] = evaluate_predictions(
                held_out.texts, held_out.labels, proba, labels, held_out.groups, unsure=held_out.unsure
            )
            task_metrics[name]["intervals"] = metric_intervals(held_out.labels, proba, labels)
            description = _describe(held_out, data_dir)
            description["holdout"] = task_config.holdout
            training_data.setdefault(f"{task}:evaluation", []).append(description)
            heldout.setdefault(task, {})[name] = held_out
        for name, report in task_metrics.items():
            overall = report["overall"]
            log(
                f"{task}: {name}: accuracy {overall['accuracy']:.3f}  macro-F1 {overall['macro_f1']:.3f}  "
                f"macro-recall {overall['macro_recall']:.3f}  ECE {overall['ece']:.3f}"
            )
        metrics[task] = task_metrics
        timings[task] = round(time.perf_counter() - task_started, 1)

    seconds = time.perf_counter() - started
    metadata = {
        "config_hash": config_hash(config),
        "training_data": training_data,
        "metrics": metrics,
        "training_seconds": {**timings, "total": round(seconds, 1)},
        "seed": config.seed,
        "library_versions": library_versions(),
        "custom_labels": custom_labels,
    }
    bundle = ModelBundle(
        normaliser=normaliser,
        classifiers=classifiers,
        config=config.model_dump(mode="json"),
        metadata=metadata,
        taxonomy_text=taxonomy_text,
    )
    # The behaviour suite and its fairness tests, for every model card (pipeline.training.behaviour).
    from pipeline.models.predict import Predictor
    from pipeline.training.behaviour import behaviour_summary, compact

    behaviour_started = time.perf_counter()
    bundle.metadata["behaviour"] = compact(behaviour_summary(Predictor(bundle)))
    log(f"behaviour suite: {time.perf_counter() - behaviour_started:.1f} s")
    bundle.model_card = render_model_card(bundle)
    return TrainingRun(bundle=bundle, seconds=seconds, metrics=metrics, heldout=heldout)


def headline_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The overall numbers of every evaluation, flattened for printing."""
    return {
        f"{task}/{name}": report["overall"] for task, reports in metrics.items() for name, report in reports.items()
    }
