#!/usr/bin/env python3
"""Benchmark ``voc rank`` at 100k, 1M and 10M scored posts, next to ``voc score`` in the same run.

1. ``voc score`` (``--workers``, default 2) on posts resampled from the shared texts exactly as
   ``scripts/bench/bench_score.py`` makes them, at each of ``--score-sizes`` (JSONL in, Parquet out), each run a
   fresh process timed end to end with its peak memory.
2. The scored output of ``--base-size`` posts (default: the largest of those runs) is replicated, with new
   ids (``ID~k``) and timestamps drawn uniformly over ``--days`` days (seeded), into one Parquet file of
   each of ``--sizes`` posts (written in row groups: bounded memory).
3. ``voc rank --input scored-N.parquet --output DIR --by brand`` (default ranking config) on each, timed
   the same way.

It prints a Markdown table: seconds, posts/s, peak RSS of the largest process and peak PSS of the process
tree (sampled from /proc every 0.1 s; ``voc score`` forks workers, ``voc rank`` is one process whose DuckDB
threads count in its RSS), and ``voc rank``'s throughput over ``voc score``'s: at the same size where both
ran, else against the largest ``voc score`` run (its throughput is flat beyond 1M posts, see
docs/scaling.md). Generated files live in ``--work-dir`` (default a temporary folder), never in the
repository; they are reused when present (``--fresh`` rebuilds them).

Usage::

    python scripts/bench/bench_rank.py --sizes 100000,1000000,10000000 --score-sizes 100000,1000000
    python scripts/bench/bench_rank.py --sizes 1000000,10000000 --score-sizes 1000000,10000000 --base-size 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.benchmarks import measure
from pipeline.data.bench_posts import make_posts, source_texts

REPO = Path(__file__).resolve().parents[2]

SEED = 22
START = "2026-06-01T00:00:00"


def replicate(base: Path, target: Path, n: int, days: float, seed: int = SEED) -> None:
    """``n`` rows of ``base`` (a scored Parquet file) repeated with new ids and uniform timestamps."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if target.exists():
        return
    source = pq.ParquetFile(base)
    rng = np.random.default_rng(seed + n)
    start = np.datetime64(START, "s")
    tmp = target.with_suffix(".tmp")
    written = 0
    copy = 0
    with pq.ParquetWriter(tmp, source.schema_arrow) as writer:
        while written < n:
            for batch in source.iter_batches(batch_size=100_000):
                take = min(batch.num_rows, n - written)
                if take <= 0:
                    break
                table = pa.Table.from_batches([batch]).slice(0, take)
                ids = pc.binary_join_element_wise(pc.cast(table["id"], pa.string()), pa.scalar(f"~{copy}"), "")
                seconds = rng.uniform(0, days * 86_400, size=take).astype(np.int64)
                stamps = np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s")
                created = pc.binary_join_element_wise(pa.array(stamps), pa.scalar("+00:00"), "")
                table = table.set_column(table.schema.get_field_index("id"), "id", ids)
                table = table.set_column(table.schema.get_field_index("created_at"), "created_at", created)
                writer.write_table(table.cast(source.schema_arrow), row_group_size=100_000)
                written += take
            copy += 1
    tmp.rename(target)


def line(row: dict[str, Any]) -> str:
    return (
        f"{row['seconds']:7.1f} s {row['rate']:9,.0f}/s cpu {row['cpu']:7.1f} s rss {row['rss_one'] / 2**20:6.0f} "
        f"MiB (tree PSS {row['rss_sum'] / 2**20:6.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="scored posts to rank (comma-separated)")
    parser.add_argument("--score-sizes", default="100000,1000000", help="posts to score (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="voc score --workers")
    parser.add_argument(
        "--base-size",
        type=int,
        default=None,
        help="the scored run whose output the rank inputs replicate (default: the largest)",
    )
    parser.add_argument("--days", type=float, default=80.0, help="the replicated posts' time span")
    parser.add_argument("--rank-args", default="--by brand", help="extra voc rank arguments")
    parser.add_argument("--work-dir", type=Path, default=None, help="for the generated files (default: temp)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the generated files")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    score_sizes = sorted(int(s) for s in args.score_sizes.split(",") if s)
    if not score_sizes:
        raise SystemExit("--score-sizes needs at least one size (the rank inputs replicate its output)")
    work = args.work_dir or Path(tempfile.gettempdir()) / "voc-bench-rank"
    if args.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    voc = [sys.executable, "-m", "pipeline"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    load = os.getloadavg()[0]
    texts = source_texts()
    print(
        f"# {len(texts):,} source texts ({len(set(texts)):,} distinct); {os.cpu_count()} CPUs; load {load:.2f}",
        flush=True,
    )

    score_rows: dict[int, dict[str, Any]] = {}
    for n in score_sizes:
        posts = work / f"posts-{n}.jsonl"
        make_posts(posts, n, texts)
        scored = work / f"scored-{n}.parquet"
        for leftover in (scored, Path(f"{scored}.mix.json"), Path(f"{scored}.rejected.jsonl")):
            leftover.unlink(missing_ok=True)
        result = measure([*voc, "score", "-i", str(posts), "-o", str(scored), "-w", str(args.workers), "-q"], env)
        score_rows[n] = {**result, "rate": n / result["seconds"]}
        print(f"  voc score n={n:>11,} w={args.workers}: {line(score_rows[n])}", file=sys.stderr, flush=True)
    base_n = args.base_size or score_sizes[-1]
    if base_n not in score_sizes:
        raise SystemExit(f"--base-size {base_n} must be one of --score-sizes")
    base = work / f"scored-{base_n}.parquet"

    rank_rows: dict[int, dict[str, Any]] = {}
    for n in sizes:
        data = work / f"rank-input-{n}-from-{base_n}.parquet"
        replicate(base, data, n, args.days)
        out = work / f"ranking-{n}"
        shutil.rmtree(out, ignore_errors=True)
        result = measure([*voc, "rank", "-i", str(data), "-o", str(out), "-q", *args.rank_args.split()], env)
        rank_rows[n] = {**result, "rate": n / result["seconds"]}
        print(f"  voc rank  n={n:>11,}: {line(rank_rows[n])}", file=sys.stderr, flush=True)

    print()
    print(f"voc score --workers {args.workers} (JSONL in, Parquet out):\n")
    print("| posts | seconds | posts/s | CPU s | peak RSS, largest | peak PSS, all |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, r in score_rows.items():
        print(
            f"| {n:,} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['cpu']:.1f} | {r['rss_one'] / 2**20:,.0f} MiB "
            f"| {r['rss_sum'] / 2**20:,.0f} MiB |"
        )
    print(
        f"\nvoc rank {args.rank_args} (Parquet in; replicated from {base_n:,} scored posts over {args.days:g} days):\n"
    )
    print("| posts | seconds | posts/s | × voc score | CPU s | peak RSS, largest | peak PSS, all |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in rank_rows.items():
        largest = max(score_rows)
        reference = score_rows.get(n) or score_rows[largest]
        mark = "" if n in score_rows else f" (vs {largest:,})"
        print(
            f"| {n:,} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['rate'] / reference['rate']:.1f}{mark} "
            f"| {r['cpu']:.1f} | {r['rss_one'] / 2**20:,.0f} MiB | {r['rss_sum'] / 2**20:,.0f} MiB |"
        )
    ordered = sorted(rank_rows)
    for low, high in zip(ordered, ordered[1:]):
        a, b = rank_rows[low], rank_rows[high]
        print(
            f"\n{low:,} -> {high:,} posts: time x{b['seconds'] / a['seconds']:.2f} for x{high / low:g} posts; "
            f"peak RSS {100 * (b['rss_one'] / a['rss_one'] - 1):+.0f}%",
            end="",
        )
    print(f"\n\nload average at the end: {os.getloadavg()[0]:.2f} (at the start: {load:.2f})")


if __name__ == "__main__":
    main()
