#!/usr/bin/env python3
"""Benchmark ``voc score`` against a plain scikit-learn pipeline, side by side, in one run.

For each size (default 10k, 100k, 1M posts) it assembles a JSONL file of posts resampled (seeded) from the
texts in ``../shared/data`` (airline tweets, SemEval tweets, customer-support tweets) and the demo posts,
then runs, each in a fresh child process so that start-up, reading and writing are counted:

* ``sklearn``: TfidfVectorizer (word 1-2 + char_wb 2-5, sublinear TF) + LogisticRegression, trained on the
  airline-sentiment texts, predicting sentiment probabilities batch by batch: read JSONL, predict, write
  JSONL. The reference point of issue 5 (it does one task; ``voc score`` does intent, sentiment and topic).
* ``voc``: ``voc score --input posts.jsonl --output scored.jsonl --workers N`` with the default bundle
  (the class mix per brand estimated into ``scored.jsonl.mix.json``).
* ``voc-nomix`` (optional): the same with ``--no-mix``, to price the class-mix estimate.
* ``voc-adapt`` (optional): the same with ``--adapt-labels intent`` (a second pass over the shards).
* ``voc-lexical-topics`` (optional): the same with ``VOC_TOPIC_VECTORS=0``, topics from lexical scores only (no
  static word-piece vectors), to price what reading the posts' meaning costs.
* ``voc-ref`` (optional, small sizes): the same with ``VOC_FASTPATH=0``, the reference implementation.
* ``voc-transformer`` (optional, small sizes): the same with ``--model models/transformer`` (the fine-tuned
  encoder backend, int8 ONNX), to compare the model backends.
* ``ray`` (optional): ``voc score --engine ray``.

``--bundle NAME=DIR`` (repeatable) runs each ``voc`` backend once per bundle, labelled ``voc[NAME]``, in the same run
(e.g. a bundle before and after a change of its settings); without it they use the default bundle.

It prints a Markdown table: wall seconds, posts/s, peak RSS of the largest process and peak PSS of the
whole process tree (PSS counts pages shared by forked workers once; sampled from /proc every 0.1 s), and
the ratio of posts/s to sklearn at the same worker count.
The generated files live in ``--work-dir`` (default a temporary folder), never in the repository.

Usage::

    python scripts/bench/bench_score.py --sizes 10000,100000 --workers 1,2
    python scripts/bench/bench_score.py --sizes 1000000 --workers 2 --backends sklearn,voc
    python scripts/bench/bench_score.py --sizes 200000 --workers 2 --backends voc --bundle old=OLD --bundle new=NEW
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.benchmarks import measure
from pipeline.data.bench_posts import make_posts, source_texts

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEMO = REPO / "data" / "demo" / "posts.jsonl"
SEED = 5


# -- data ------------------------------------------------------------------------------------------------
def airline_training() -> tuple[list[str], list[str]]:
    airline = SHARED / "twitter-us-airline-sentiment" / "Tweets.csv"
    if airline.exists():
        with airline.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [r["text"] for r in rows], [r["airline_sentiment"] for r in rows]
    labels = [json.loads(line) for line in (REPO / "data" / "demo" / "labels.jsonl").read_text().splitlines()]
    posts = {}
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            posts[row["id"]] = row["text"]
        except (ValueError, TypeError, KeyError):
            continue
    pairs = [(posts[r["id"]], r["sentiment"]) for r in labels if r.get("id") in posts]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def train_sklearn(path: Path) -> None:
    if path.exists():
        return
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    texts, labels = airline_training()
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=100_000)),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=150_000
                ),
            ),
        ]
    )
    model = make_pipeline(features, LogisticRegression(C=2.0, max_iter=2000))
    model.fit(texts, labels)
    with path.open("wb") as handle:
        pickle.dump(model, handle)


# -- the plain pipeline, run as a child process ------------------------------------------------------------
def sklearn_child(model_path: str, input_path: str, output_path: str, workers: int, batch: int = 5000) -> None:
    """Read JSONL, predict_proba in batches (``workers`` processes), write JSONL, in input order."""
    from concurrent.futures import ProcessPoolExecutor

    with open(model_path, "rb") as handle:
        model = pickle.load(handle)
    classes = [str(c) for c in model.classes_]

    def batches() -> Any:
        rows: list[dict[str, Any]] = []
        with open(input_path, encoding="utf-8") as handle:
            for line in handle:
                rows.append(json.loads(line))
                if len(rows) >= batch:
                    yield rows
                    rows = []
        if rows:
            yield rows

    global _SK_MODEL
    _SK_MODEL = model
    with open(output_path, "w", encoding="utf-8") as out:
        if workers <= 1:
            results = (_sk_predict(rows) for rows in batches())
            for lines in results:
                out.write(lines)
        else:
            with ProcessPoolExecutor(workers) as pool:  # forked: the model is inherited
                for lines in pool.map(_sk_predict, batches(), chunksize=1):
                    out.write(lines)
    del classes


_SK_MODEL: Any = None


def _sk_predict(rows: list[dict[str, Any]]) -> str:
    proba = _SK_MODEL.predict_proba([r["text"] for r in rows])
    classes = [str(c) for c in _SK_MODEL.classes_]
    out = []
    for row, p in zip(rows, proba.tolist()):
        best = max(range(len(classes)), key=p.__getitem__)
        out.append(json.dumps({"id": row["id"], "sentiment": classes[best], "sentiment_scores": dict(zip(classes, p))}))
    return "\n".join(out) + "\n"


# -- measuring -------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated post counts")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--backends",
        default="sklearn,voc",
        help="of sklearn, voc, voc-nomix (--no-mix), voc-adapt (--adapt-labels intent), voc-lexical-topics "
        "(VOC_TOPIC_VECTORS=0), voc-ref (VOC_FASTPATH=0), voc-transformer, ray",
    )
    parser.add_argument("--ref-max", type=int, default=10_000, help="largest size run with voc-ref")
    parser.add_argument(
        "--transformer-model",
        type=Path,
        default=REPO / "models" / "transformer",
        help="bundle for the voc-transformer backend (voc train --config configs/transformer.yaml)",
    )
    parser.add_argument("--transformer-max", type=int, default=10_000, help="largest size run with voc-transformer")
    parser.add_argument("--work-dir", type=Path, default=None, help="for the generated files (default: temp)")
    parser.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="run the voc backends once per bundle (repeatable; default: the default bundle)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="run every backend this many times, interleaved")
    args = parser.parse_args()
    bundles: list[tuple[str, Path | None]] = [(b.partition("=")[0], Path(b.partition("=")[2])) for b in args.bundle]
    for name, path in bundles:
        if not name or path is None or not (path / "metadata.json").exists():
            raise SystemExit(f"--bundle {name}=...: not a model bundle: {path}")
    sizes = [int(s) for s in args.sizes.split(",")]
    workers_list = [int(w) for w in args.workers.split(",")]
    backends = args.backends.split(",")
    work = args.work_dir or Path(tempfile.gettempdir()) / "voc-bench"
    work.mkdir(parents=True, exist_ok=True)
    texts = source_texts()
    model_path = work / "sklearn-model.pkl"
    train_sklearn(model_path)
    voc = [sys.executable, "-m", "pipeline"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    load = os.getloadavg()[0]
    print(f"# {len(texts):,} source texts ({len(set(texts)):,} distinct); {os.cpu_count()} CPUs; load {load:.2f}")
    rows: list[dict[str, Any]] = []
    for n in sizes:
        posts = work / f"posts-{n}.jsonl"
        make_posts(posts, n, texts)
        runs: list[tuple[str, str, Path | None]] = []  # (label, backend, bundle)
        for backend in backends:
            if backend in ("voc", "voc-nomix", "voc-adapt", "voc-ref", "voc-lexical-topics") and bundles:
                runs += [(f"{backend}[{name}]", backend, path) for name, path in bundles]
            else:
                runs.append((backend, backend, None))
        for workers in workers_list:
            base_rate = None
            for (label, backend, bundle), _ in ((run, r) for r in range(args.rounds) for run in runs):
                if backend == "voc-ref" and n > args.ref_max:
                    continue
                if backend == "voc-transformer" and n > args.transformer_max:
                    continue
                out = work / f"out-{label}-{n}-{workers}".replace("[", "-").replace("]", "")
                if backend == "sklearn":
                    cmd = [
                        sys.executable,
                        __file__,
                        "--child",
                        str(model_path),
                        str(posts),
                        f"{out}.jsonl",
                        str(workers),
                    ]
                    run_env = env
                elif backend == "ray":
                    cmd = [*voc, "score", "-i", str(posts), "-o", str(out), "--engine", "ray", "-w", str(workers), "-q"]
                    run_env = env
                elif backend == "voc-transformer":
                    if not (args.transformer_model / "config.json").exists():
                        raise SystemExit(f"no transformer bundle at {args.transformer_model}: train one first")
                    cmd = [
                        *voc,
                        "score",
                        "-i",
                        str(posts),
                        "-o",
                        f"{out}.jsonl",
                        "-w",
                        str(workers),
                        "-q",
                        "--model",
                        str(args.transformer_model),
                    ]
                    run_env = env
                else:
                    cmd = [*voc, "score", "-i", str(posts), "-o", f"{out}.jsonl", "-w", str(workers), "-q"]
                    if bundle is not None:
                        cmd += ["--model", str(bundle)]
                    if backend == "voc-nomix":
                        cmd.append("--no-mix")
                    elif backend == "voc-adapt":
                        cmd += ["--adapt-labels", "intent"]
                    run_env = {**env, "VOC_FASTPATH": "0" if backend == "voc-ref" else "1"}
                    if backend == "voc-lexical-topics":
                        run_env["VOC_TOPIC_VECTORS"] = "0"
                result = measure(cmd, run_env)
                rate = n / result["seconds"]
                if backend == "sklearn":
                    base_rate = rate
                row = {"posts": n, "workers": workers, "backend": label, **result, "rate": rate}
                row["ratio"] = rate / base_rate if base_rate else None
                rows.append(row)
                print(
                    f"  {label:8s} n={n:>9,} w={workers}: {result['seconds']:7.1f} s {rate:9,.0f}/s "
                    f"cpu {result['cpu']:7.1f} s "
                    f"rss {result['rss_one'] / 2**20:6.0f} MiB (tree PSS {result['rss_sum'] / 2**20:6.0f} MiB)",
                    file=sys.stderr,
                    flush=True,
                )
    print()
    print("| posts | workers | backend | seconds | posts/s | × sklearn | CPU s | peak RSS, largest | peak PSS, all |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "1.00" if r["backend"] == "sklearn" else "-"
        print(
            f"| {r['posts']:,} | {r['workers']} | {r['backend']} | {r['seconds']:.1f} | {r['rate']:,.0f} | {ratio} "
            f"| {r['cpu']:.1f} "
            f"| {r['rss_one'] / 2**20:,.0f} MiB | {r['rss_sum'] / 2**20:,.0f} MiB |"
        )
    # Memory must stay flat as the input grows: peak RSS growth between consecutive sizes.
    by_key = {(r["backend"], r["workers"], r["posts"]): r for r in rows}
    ordered = sorted(sizes)
    if len(ordered) > 1:
        print("\npeak RSS growth between sizes (largest process; tree PSS):")
        labels = list(dict.fromkeys(r["backend"] for r in rows))
        for low, high in zip(ordered, ordered[1:]):
            for backend in labels:
                for workers in workers_list:
                    a, b = by_key.get((backend, workers, low)), by_key.get((backend, workers, high))
                    if a and b:
                        print(
                            f"  {backend} w={workers}, {low:,} -> {high:,}: "
                            f"{100 * (b['rss_one'] / a['rss_one'] - 1):+.0f}% "
                            f"({100 * (b['rss_sum'] / a['rss_sum'] - 1):+.0f}%)"
                        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (at the start: {load:.2f})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sklearn_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
