"""Optional MLflow tracking of training runs (``pip install 'voc-pipeline[mlflow]'``).

The bundle itself is the experiment record (metrics, config, data hashes, versions); MLflow gets a copy:
the config's flattened parameters, the headline metrics, tags with the config hash and seed, and the bundle's
metadata.json, config.json and comparison.json as artifacts.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.extras import require
from pipeline.training.config import MlflowConfig


def check_mlflow() -> ModuleType:
    """The ``mlflow`` module, or one-line :class:`~pipeline.extras.MissingExtraError` naming the extra."""
    return require("mlflow", "mlflow", "MLflow tracking (--mlflow or tracking.mlflow in the config)")


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = str(value)[:500]  # MLflow limits parameter values


def log_to_mlflow(bundle: Any, path: Path, metrics: dict[str, Any], settings: MlflowConfig | None = None) -> str:
    """Log one training run; returns the MLflow run id."""
    mlflow = check_mlflow()
    settings = settings or MlflowConfig()
    uri = settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(settings.experiment)
    params: dict[str, str] = {}
    _flatten("", bundle.config, params)
    flat_metrics = {
        f"{task}.{name}.{key}".replace(":", "_"): float(value)
        for task, reports in metrics.items()
        for name, report in reports.items()
        for key, value in report["overall"].items()
        if isinstance(value, (int, float))
    }
    with mlflow.start_run(run_name=settings.run_name) as active:
        mlflow.log_params(params)
        mlflow.log_metrics(flat_metrics)
        mlflow.set_tags(
            {
                "voc.config_hash": str(bundle.metadata.get("config_hash")),
                "voc.seed": str(bundle.metadata.get("seed")),
                "voc.bundle": str(path),
            }
        )
        for name in ("metadata.json", "config.json", "comparison.json"):
            if (path / name).exists():
                mlflow.log_artifact(str(path / name))
        run_id: str = active.info.run_id
    return run_id
