"""Training configuration: YAML or JSON files validated by typed models that reject unknown keys.

A config names every stage by its registered, versioned name (``"tfidf_logreg.v1"``) with that stage's
parameters, and names the training data by dataset names from :mod:`pipeline.data.datasets`. The resolved
config (defaults filled in) is saved into every bundle and hashed into its metadata.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline import INTENT_LABELS, SENTIMENT_LABELS
from pipeline.data.sources import SourceConfig, is_weak_source
from pipeline.errors import ConfigError, validation_message


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored typos."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NormaliserConfig(StrictModel):
    name: str = "tweet_normaliser.v1"
    lowercase: bool = True
    fix_dataset_artefacts: bool = True
    mark_caps: bool = True
    max_chars: int = Field(2000, gt=0, description="Longer posts are truncated for the model and flagged.")


class MlflowConfig(StrictModel):
    experiment: str = "voc-pipeline"
    tracking_uri: str | None = Field(None, description="Default: $MLFLOW_TRACKING_URI or ./mlruns.")
    run_name: str | None = None


class TrackingConfig(StrictModel):
    """Optional experiment tracking (``voc-pipeline[mlflow]``)."""

    mlflow: MlflowConfig | None = None


class PromotionConfig(StrictModel):
    """How a challenger bundle is compared with the current one (``voc train --champion``, ``voc promote``)."""

    metric: str = Field("intent/macro_f1", description="task/metric of the pooled held-out evaluation.")
    min_delta: float = Field(0.0, description="The challenger may be at most this much worse and still win.")
    keep: int = Field(5, ge=1, description="Previous bundles kept for rollback.")
    bootstrap: int = Field(
        1000, ge=0, description="Paired bootstrap resamples for the interval of the difference (0: no interval)."
    )
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="Coverage of that interval.")
    decide_by: Literal["point", "interval"] = Field(
        "point",
        description="point: the challenger must not be worse than min_delta on the held-out rows; interval: it "
        "is refused only when the whole interval of the difference lies below -min_delta (clearly worse).",
    )


class TaskConfig(StrictModel):
    """One prediction task (intent or sentiment): which classifier, trained on what, evaluated on what."""

    classifier: str = "tfidf_logreg.v1"
    params: dict[str, Any] = Field(default_factory=dict)
    train: list[str] = Field(min_length=1, description="Dataset names (see pipeline.data.datasets.DATASETS).")
    evaluate_on: list[str] = Field(default_factory=list)
    cv_folds: int = Field(5, ge=0, description="Folds of the cross-validation reported in the bundle; 0 = none.")
    cv_on: str | None = Field(None, description="Dataset to cross-validate on; default: the first train set.")
    labels: list[str] | None = Field(None, description="Label set; default: the contract's labels.")
    holdout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Fraction of each training source held out (by a hash of the id)."
    )
    model_labelled: list[str] = Field(
        default_factory=list,
        description="Training sources whose labels a model wrote (pseudo-labels): trained on, but never used to "
        "fit the calibration or the abstention threshold. `weak:` sources count as such without being listed.",
    )

    source_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Training weight of every row of a source (default 1), e.g. to keep a small set of written "
        "posts from being drowned when a large soft-label source joins the training data.",
    )

    @model_validator(mode="after")
    def _named_sources_in_train(self) -> TaskConfig:
        missing = [name for name in self.model_labelled if name not in self.train]
        if missing:
            raise ValueError(f"model_labelled names sources that are not in train: {missing}")
        unknown = [name for name in self.source_weights if name not in self.train]
        if unknown:
            raise ValueError(f"source_weights names sources that are not in train: {unknown}")
        bad = {name: w for name, w in self.source_weights.items() if not 0 < w < float("inf")}
        if bad:
            raise ValueError(f"source_weights must be positive and finite: {bad}")
        return self

    def is_model_labelled(self, source: str) -> bool:
        """Whether ``source``'s labels came from a model or rule rather than from people."""
        return source in self.model_labelled or is_weak_source(source)


class TrainConfig(StrictModel):
    seed: int = 0
    data_dir: str | None = Field(
        None,
        description="Where the shared datasets are; relative to the config file. --data-dir and "
        "the VOC_DATA_DIR environment variable take precedence.",
    )
    normaliser: NormaliserConfig = Field(default_factory=lambda: NormaliserConfig())
    intent: TaskConfig | None = None
    sentiment: TaskConfig | None = None
    taxonomy: str | None = Field(None, description="Taxonomy YAML shipped in the bundle as the default.")
    sources: dict[str, SourceConfig] = Field(default_factory=dict, description="Named sources with column maps.")
    promotion: PromotionConfig = Field(default_factory=lambda: PromotionConfig())
    tracking: TrackingConfig | None = None

    @field_validator("sentiment")
    @classmethod
    def _sentiment_labels(cls, task: TaskConfig | None) -> TaskConfig | None:
        if task is not None and task.labels is not None and set(task.labels) != set(SENTIMENT_LABELS):
            raise ValueError(f"sentiment labels must be {list(SENTIMENT_LABELS)}")
        return task

    def task(self, name: str) -> TaskConfig | None:
        task: TaskConfig | None = getattr(self, name)
        return task

    def labels_for(self, name: str) -> list[str]:
        task = self.task(name)
        if task is not None and task.labels:
            return list(task.labels)
        return list(INTENT_LABELS if name == "intent" else SENTIMENT_LABELS)


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # YAML and JSON raise many types; all mean "not parseable"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot parse config {path}: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping at the top level")
    return data


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a training config (YAML or JSON)."""
    path = Path(path)
    data = _read_mapping(path)
    try:
        config = TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message("config", path, exc)) from None
    if config.intent is None and config.sentiment is None:
        raise ConfigError(f"invalid config {path}: it trains nothing (give `intent`, `sentiment` or both)")
    return config


def config_hash(config: TrainConfig) -> str:
    """A stable hash of the resolved config (key order and formatting do not matter)."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
