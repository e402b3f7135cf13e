"""The retraining workflow behind ``voc train``: config or a bundle to reproduce, champion comparison, history.

:func:`run_training` loads the config (or the one stored in a bundle, ``--reproduce``), trains, compares the
new bundle with the champion (``--champion DIR``, else the bundle already at ``--output``) on the same
held-out data, writes ``comparison.json`` into the new bundle, saves it (keeping the replaced bundle in
``<output>.history/`` for ``voc promote --rollback``), and optionally logs the run to MLflow.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.errors import ConfigError, InputError, validation_message
from pipeline.training.config import TrainConfig, load_config

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def config_from_bundle(bundle_dir: Path) -> tuple[TrainConfig, Path, dict[str, Any]]:
    """The training config stored in a bundle, the folder its relative paths resolve against, and its metadata."""
    from pipeline.models.bundle import ModelBundle

    bundle = ModelBundle.load(bundle_dir)
    try:
        config = TrainConfig.model_validate(bundle.config)
    except ValidationError as exc:
        raise ConfigError(validation_message("config", f"{bundle_dir}/config.json", exc)) from None
    recorded = (bundle.metadata.get("reproduce") or {}).get("config_dir_from_bundle")
    base = (bundle_dir / recorded).resolve() if recorded else Path.cwd()
    if not base.is_dir():
        base = Path.cwd()
    return config, base, bundle.metadata


def _data_dir_for(config: TrainConfig, data_dir: Path | None, base: Path) -> Path:
    from pipeline.data.datasets import resolve_data_dir
    from pipeline.data.sources import is_local_source

    tasks = [t for t in (config.intent, config.sentiment) if t is not None]
    sources = [s for t in tasks for s in (*t.train, *t.evaluate_on)]
    local = all(is_local_source(s, config.sources) for s in sources)
    if local and data_dir is None:
        return base  # only files and configured sources: no shared data needed
    return resolve_data_dir(data_dir, config.data_dir, base=base)


def _compare_metadata(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What differs between a bundle's recorded training and its reproduction."""

    def hashes(meta: dict[str, Any]) -> dict[str, str]:
        return {
            f"{key}:{part['dataset']}:{file['path']}": file["sha256"]
            for key, parts in (meta.get("training_data") or {}).items()
            for part in parts
            for file in part.get("files", [])
        }

    old_hashes, new_hashes = hashes(old), hashes(new)
    changed_data = sorted(k for k in old_hashes.keys() | new_hashes.keys() if old_hashes.get(k) != new_hashes.get(k))
    same_metrics = json.dumps(old.get("metrics"), sort_keys=True) == json.dumps(new.get("metrics"), sort_keys=True)
    old_files, new_files = old.get("files", {}), new.get("files", {})
    weights = sorted(k for k in old_files if k.endswith(".npz"))
    return {
        "data_identical": not changed_data,
        "changed_data": changed_data,
        "config_identical": old.get("config_hash") == new.get("config_hash"),
        "metrics_identical": same_metrics,
        "weights_identical": bool(weights) and all(old_files.get(k) == new_files.get(k) for k in weights),
        "library_versions_identical": old.get("library_versions") == new.get("library_versions"),
    }


def run_training(
    *,
    config_path: Path | None,
    output: Path,
    data_dir: Path | None = None,
    reproduce: Path | None = None,
    champion: Path | None = None,
    compare: bool = True,
    mlflow: bool = False,
    log: Log = _quiet,
) -> dict[str, Any]:
    """Train a bundle into ``output`` and return a JSON-ready summary (see the module docstring)."""
    from pipeline.models.bundle import ModelBundle
    from pipeline.training.train import headline_metrics, train_bundle

    if (config_path is None) == (reproduce is None):
        raise InputError("give exactly one of --config FILE or --reproduce BUNDLE_DIR")
    old_metadata: dict[str, Any] | None = None
    taxonomy_text: str | None = None
    if reproduce is not None:
        config, base, old_metadata = config_from_bundle(reproduce)
        taxonomy_file = reproduce / "taxonomy.yaml"
        taxonomy_text = taxonomy_file.read_text(encoding="utf-8") if taxonomy_file.exists() else None
    else:
        assert config_path is not None
        config = load_config(config_path)
        base = config_path.resolve().parent
        if config.taxonomy:
            from pipeline.topics.taxonomy import load_taxonomy

            taxonomy_path = base / config.taxonomy
            load_taxonomy(taxonomy_path)  # validate before hours of training, not after
            taxonomy_text = taxonomy_path.read_text(encoding="utf-8")
    if config.tracking is not None and config.tracking.mlflow is not None:
        mlflow = True
    if mlflow:
        from pipeline.training.tracking import check_mlflow

        check_mlflow()  # fail in a second, not after training
    champion_dir = champion
    if champion_dir is None and compare and (output / "metadata.json").exists():
        champion_dir = output
    champion_bundle = ModelBundle.load(champion_dir) if champion_dir is not None and compare else None

    resolved = _data_dir_for(config, data_dir, base)
    run = train_bundle(config, resolved, log=log, taxonomy_text=taxonomy_text, base=base)
    run.bundle.metadata["reproduce"] = {
        "config_dir_from_bundle": os.path.relpath(base, output.resolve()),
        "seed": config.seed,
        "command": f"voc train --reproduce {output}",
    }

    summary: dict[str, Any] = {"bundle": str(output), "seconds": round(run.seconds, 1)}
    comparison: dict[str, Any] | None = None
    if champion_bundle is not None and champion_dir is not None:
        from pipeline.training.promote import COMPARISON_FILE, compare_bundles, interval_note

        comparison = compare_bundles(
            run.bundle,
            champion_bundle,
            run.heldout,
            metric=config.promotion.metric,
            min_delta=config.promotion.min_delta,
            champion_path=champion_dir,
            bootstrap=config.promotion.bootstrap,
            confidence=config.promotion.confidence,
            decide_by=config.promotion.decide_by,
        )
        run.bundle.extra_files[COMPARISON_FILE] = json.dumps(comparison, indent=2, sort_keys=True) + "\n"
        decision = comparison["decision"]
        summary["comparison"] = decision
        if not decision.get("comparable"):
            log(f"comparison with {champion_dir}: not possible: {decision.get('reason')}")
        else:
            verdict = "not worse" if decision["not_worse"] else "WORSE"
            log(
                f"comparison with {champion_dir} on {config.promotion.metric} (n={decision['n']}): "
                f"new {decision['challenger']:.4f} vs champion {decision['champion']:.4f}{interval_note(decision)}; "
                f"by the {'interval' if decision['decided_by'] == 'interval' else 'point values'}: {verdict}"
            )

    if (output / "metadata.json").exists():
        from pipeline.training.promote import history_dir, install_bundle

        staging = output.with_name(f".{output.name}.trained-{os.getpid()}-{time.monotonic_ns()}")
        try:
            run.bundle.save(staging)
            entry = install_bundle(staging, output, reason="train", keep=config.promotion.keep, move=True)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        run.bundle.path = output
        summary["previous"] = str(history_dir(output) / entry["name"]) if entry else None
        if comparison is not None and comparison["decision"].get("not_worse") is False:
            noise = " (within noise)" if comparison["decision"].get("verdict") == "within noise" else ""
            log(
                f"warning: the new bundle is worse than the champion{noise}; `voc promote --rollback --current "
                f"{output}` restores the bundle it replaced"
            )
    else:
        run.bundle.save(output)
    summary["metrics"] = headline_metrics(run.metrics)
    if old_metadata is not None:
        summary["reproduction"] = _compare_metadata(old_metadata, run.bundle.metadata)
    if mlflow:
        from pipeline.training.tracking import log_to_mlflow

        settings = config.tracking.mlflow if config.tracking is not None else None
        summary["mlflow_run_id"] = log_to_mlflow(run.bundle, output, run.metrics, settings)
    return summary
