"""Train variants of the default bundle's heads and measure each on the behaviour suite and the held-out sets.

One head (or both) of ``configs/default.yaml`` is retrained with parameters overridden (``--set KEY=VALUE``, values
read as YAML) and optional extra training files (``--extra FILE``: labelled JSONL, trained on, never calibrated
on); the other head is taken from ``--base`` (default ``models/default``). The merged bundle is saved to ``--out``
and scored: the held-out numbers of the training run (SemEval-2017 and airline test for sentiment; twcs and the
cross-industry judge for intent) and the failure rates of :mod:`pipeline.training.behaviour` per capability. Example::

    nice .venv/bin/python scripts/experiments/exp_behaviour.py --task sentiment --set mark_scope=true \\
        --set mask_identity=true --out runs/sent-scope --data-dir /work/shared/data
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import yaml

from pipeline.models.bundle import ModelBundle
from pipeline.models.predict import Predictor
from pipeline.training.behaviour import behaviour_summary, format_summary
from pipeline.training.config import TrainConfig, load_config
from pipeline.training.train import train_bundle

ROOT = Path(__file__).resolve().parents[2]


def _variant(config: TrainConfig, tasks: list[str], overrides: list[str], extra: list[str]) -> TrainConfig:
    data = config.model_dump(mode="json")
    for task in ("intent", "sentiment"):
        if task not in tasks:
            data[task] = None
            continue
        params = dict(data[task]["params"])
        for item in overrides:
            key, _, value = item.partition("=")
            params[key] = yaml.safe_load(value)
        data[task]["params"] = params
        extra_paths = [str(Path(e).resolve()) for e in extra]
        data[task]["train"] = list(data[task]["train"]) + extra_paths
        data[task]["model_labelled"] = list(data[task].get("model_labelled") or []) + extra_paths
    return TrainConfig.model_validate(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--task", action="append", choices=["intent", "sentiment"], required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--extra", action="append", default=[], metavar="FILE", help="Extra labelled training file.")
    parser.add_argument("--base", type=Path, default=ROOT / "models" / "default", help="Bundle for the other head.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()

    config = _variant(load_config(args.config), args.task, args.overrides, args.extra)
    started = time.perf_counter()
    run = train_bundle(config, args.data_dir, base=args.config.parent, log=print)
    base = ModelBundle.load(args.base)
    classifiers: dict[str, Any] = {**base.classifiers, **run.bundle.classifiers}
    metadata = dict(base.metadata)
    metadata["metrics"] = {**base.metadata.get("metrics", {}), **run.metrics}
    bundle = ModelBundle(
        normaliser=run.bundle.normaliser,
        classifiers={task: classifiers[task] for task in ("intent", "sentiment") if task in classifiers},
        config=run.bundle.config,
        metadata=metadata,
        taxonomy_text=base.taxonomy_text,
        model_card="# experiment bundle (scripts/experiments/exp_behaviour.py)\n",
    )
    summary = behaviour_summary(Predictor(bundle))
    bundle.save(args.out)
    held_out = {
        f"{task}/{name}": {k: report["overall"][k] for k in ("accuracy", "macro_f1", "macro_recall")}
        for task, reports in run.metrics.items()
        for name, report in reports.items()
    }
    result = {
        "tasks": args.task,
        "overrides": args.overrides,
        "extra": args.extra,
        "seconds": round(time.perf_counter() - started, 1),
        "held_out": held_out,
        "behaviour": summary,
    }
    (args.out / "experiment.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, numbers in held_out.items():
        print(f"{name:<55} " + "  ".join(f"{k} {v:.4f}" for k, v in numbers.items()))
    print(format_summary(summary, tests=True))


if __name__ == "__main__":
    main()
