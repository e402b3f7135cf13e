#!/usr/bin/env python3
"""Cold start of ``voc predict`` for one post: time per stage, end to end, and against ``voc --help``.

Every measurement is a fresh process. Per bundle, each path (the cold-start path that ``voc predict TEXT`` takes for a
few texts, :mod:`pipeline.models.coldstart`, and the batch path, :class:`pipeline.models.predict.Predictor`) is
timed in three
stages: **imports** (the modules the path needs), **load** (read and hash-verify the bundle, build the models) and
**first prediction** (for the batch path this includes spaCy's tokenizer and the fast path's tables). End to end:
``voc predict TEXT`` and ``voc --help`` as a user runs them. Runs are interleaved (one of each per round) so that
another load on the machine hits them alike; the table gives medians.

``--baseline-repo DIR`` adds the end-to-end time and the batch path's stages of another checkout of this
repository (e.g. the commit before a change, from ``git archive``), run with the same Python.

Usage::

    python scripts/bench/bench_cold_start.py                                   # models/default, 5 rounds
    python scripts/bench/bench_cold_start.py --bundle transformer=models/transformer --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEXT = "my bag never arrived"

# Runs in a fresh interpreter: argv = repo, path ("coldstart" or "batch"), bundle, text. Prints the stage times.
PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
repo, path, bundle, text = sys.argv[1:5]
sys.path.insert(0, repo)
import pipeline.cli
if path == "coldstart":
    from pipeline.models.coldstart import ColdStartPredictor, open_for_coldstart
    t1 = time.perf_counter()
    predictor = ColdStartPredictor.from_verified(open_for_coldstart(bundle))
    t2 = time.perf_counter()
    out = predictor.predict([text], ["1"])
else:
    import numpy, scipy.sparse
    import pipeline.models.linear, pipeline.models.fastpath, pipeline.models.predict, pipeline.models.static_embeddings
    from pipeline.text.spacy_import import import_spacy
    import_spacy()
    import spacy.lang.en
    t1 = time.perf_counter()
    predictor = pipeline.models.predict.Predictor.from_path(bundle)
    t2 = time.perf_counter()
    out = predictor.predict([text], ids=["1"])
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "predict": t3 - t2, "intent": out[0].get("intent"),
                  "module": pipeline.cli.__file__}))
"""


def _run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return seconds, result.stdout


def _env(repo: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("VOC_COLDSTART", "VOC_FASTPATH", "VOC_MAX_CHARS"):
        env.pop(name, None)
    if repo is not None:
        env["PYTHONPATH"] = str(repo)
    return env


def _bundle_problem(path: Path) -> str | None:
    """Why a bundle cannot be benchmarked here (None when it can)."""
    if not (path / "metadata.json").exists():
        return f"{path} is not a model bundle"
    env = _env(None)
    check = "import sys; from pipeline.models.bundle import ModelBundle; ModelBundle.load(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", check, str(path)], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["cannot load"])[-1]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also measure this bundle (e.g. transformer=models/transformer); skipped when it cannot load here",
    )
    parser.add_argument("--runs", type=int, default=5, help="rounds (each runs every measurement once)")
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--baseline-repo", type=Path, default=None, help="another checkout to compare with")
    args = parser.parse_args()

    voc = Path(sys.executable).with_name("voc")
    voc_command = [str(voc)] if voc.exists() else [sys.executable, "-m", "pipeline"]
    bundles: dict[str, Path] = {"default": REPO / "models" / "default"}
    for item in args.bundle:
        name, _, directory = item.partition("=")
        if not directory:
            parser.error(f"--bundle takes NAME=DIR, got {item!r}")
        bundles[name] = Path(directory).resolve()
    skipped: dict[str, str] = {}
    for name, path in list(bundles.items()):
        problem = _bundle_problem(path)
        if problem is not None:
            skipped[name] = problem
            del bundles[name]
    baseline = args.baseline_repo.resolve() if args.baseline_repo else None

    # (label, command, env, cwd); probes print their stage times as JSON.
    jobs: list[tuple[str, list[str], dict[str, str], Path]] = [
        ("voc --help", [*voc_command, "--help"], _env(None), REPO)
    ]
    for name, path in bundles.items():
        jobs.append(
            (f"{name}: voc predict", [*voc_command, "predict", "--model", str(path), args.text], _env(None), REPO)
        )
        for kind in ("coldstart", "batch"):
            probe = [sys.executable, "-c", PROBE, str(REPO), kind, str(path), args.text]
            jobs.append((f"{name}: {kind} path", probe, _env(None), REPO))
        if baseline is not None:
            # A bundle inside this checkout is taken from the baseline's checkout (as it was there), if it has it.
            base_path = path
            if path.is_relative_to(REPO) and (baseline / path.relative_to(REPO) / "metadata.json").exists():
                base_path = baseline / path.relative_to(REPO)
            command = [sys.executable, "-m", "pipeline", "predict", "--model", str(base_path), args.text]
            jobs.append((f"{name}: baseline voc predict", command, _env(baseline), baseline))
            probe = [sys.executable, "-c", PROBE, str(baseline), "batch", str(base_path), args.text]
            jobs.append((f"{name}: baseline batch path", probe, _env(baseline), baseline))

    walls: dict[str, list[float]] = {label: [] for label, *_ in jobs}
    stages: dict[str, dict[str, list[float]]] = {}
    notes: dict[str, str] = {}
    for _ in range(args.runs):
        for label, command, env, cwd in jobs:
            try:
                seconds, stdout = _run(command, env, cwd)
            except RuntimeError as exc:
                notes[label] = str(exc).splitlines()[-1]
                continue
            walls[label].append(seconds)
            if "path" in label:
                found = json.loads(stdout.strip().splitlines()[-1])
                for stage in ("imports", "load", "predict"):
                    stages.setdefault(label, {}).setdefault(stage, []).append(found[stage])
                notes[label] = f"intent {found['intent']}"

    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.3f}" if values else "-"

    print(f"cold start, {args.runs} rounds (medians, seconds); text {args.text!r}; python {sys.version.split()[0]}")
    print(f"{'measurement':<34} {'imports':>8} {'load':>8} {'predict':>8} {'process':>8}  note")
    for label, *_ in jobs:
        parts = stages.get(label, {})
        print(
            f"{label:<34} {median(parts.get('imports', [])):>8} {median(parts.get('load', [])):>8} "
            f"{median(parts.get('predict', [])):>8} {median(walls[label]):>8}  {notes.get(label, '')}"
        )
    help_median = statistics.median(walls["voc --help"]) if walls["voc --help"] else None
    for name in bundles:
        runs = walls.get(f"{name}: voc predict")
        if help_median and runs:
            print(f"{name}: voc predict / voc --help = {statistics.median(runs) / help_median:.2f}x")
    for name, problem in skipped.items():
        print(f"{name}: skipped ({problem})")


if __name__ == "__main__":
    main()
