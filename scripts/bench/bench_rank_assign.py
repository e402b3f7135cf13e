#!/usr/bin/env python3
"""Benchmark ``voc rank`` on posts that arrive without a topic: the taxonomy assigns them, local vs Ray.

The demo posts (``data/demo/posts.jsonl``) are scored once by ``voc score``'s job (intent and sentiment, and
the demo taxonomy's topics), then replicated to ``--posts`` rows (each text with a suffix, so most texts are
distinct) in ``--shards`` Parquet files, twice: without the topic fields (``voc rank --taxonomy`` assigns
them) and with ``voc score``'s primary topic. Each is ranked with the local engine and with ``--engine ray``
(``--workers``), discovery off, and the script prints the seconds and whether both engines give the same
topic counts. No shared data is needed; the generated files live in a temporary folder::

    python scripts/bench/bench_rank_assign.py --posts 200000 --shards 4 --workers 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.data.io import read_posts
from pipeline.ranking.rank import RankConfig
from pipeline.ranking.run import rank_file
from pipeline.scoring.job import BatchScorer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo" / "posts.jsonl"
TAXONOMY = REPO / "configs" / "taxonomy" / "demo.yaml"


def write_shards(scored: list[dict], n_posts: int, n_shards: int, folder: Path, with_topics: bool) -> None:
    folder.mkdir(parents=True)
    records = []
    for i in range(n_posts):
        row = scored[i % len(scored)]
        record = {
            "id": f"p{i}",
            "text": f"{row['text']} {i % 997}",
            "created_at": row["created_at"],
            "brand": row["brand"],
            "intent": row["intent"],
            "sentiment": row["sentiment"],
        }
        if with_topics:
            record["topic"] = row["topic"]
            record["topics"] = json.dumps(row["topics"])
        records.append(record)
    for k in range(n_shards):
        pq.write_table(pa.Table.from_pylist(records[k::n_shards]), folder / f"part-{k:03d}.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Ray tasks at a time (and the local Ray's CPUs)")
    args = parser.parse_args(argv)
    import ray

    demo = [row for batch in read_posts(DEMO) for row in batch.rows]  # the demo's malformed rows left out
    scored = BatchScorer(None, taxonomy=TAXONOMY).score(demo)
    config = RankConfig(discover=False, n_bootstrap=100)
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR", configure_logging=False)
    print(f"{args.posts:,} posts in {args.shards} Parquet shards; Ray with {args.workers} workers")
    print("| input | engine | seconds | topic counts equal to local |")
    print("|---|---|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, with_topics in (("without topics (assigned by voc rank)", False), ("with voc score's topics", True)):
            folder = Path(tmp) / ("topics" if with_topics else "bare")
            write_shards(scored, args.posts, args.shards, folder, with_topics)
            counts = {}
            for engine in ("local", "ray"):
                start = time.perf_counter()
                result, _ = rank_file(
                    folder, Path(tmp) / f"out-{folder.name}-{engine}", config=config, taxonomy=TAXONOMY,
                    engine=engine, workers=args.workers,
                )  # fmt: skip
                seconds = time.perf_counter() - start
                counts[engine] = {e["topic"]: e["n_posts"] for e in result["topics"]}
                same = "" if engine == "local" else str(counts["ray"] == counts["local"])
                print(f"| {name} | {engine} | {seconds:.1f} | {same} |")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
