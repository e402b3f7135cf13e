"""Posts for the benchmarks (``scripts/bench/``): real texts from the shared data, resampled into feeds of any size."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from pipeline.data.datasets import default_shared_data_dir

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "posts.jsonl"
SEED = 5


def demo_texts() -> list[str]:
    """The texts of the demo posts (``data/demo/posts.jsonl``), its malformed lines skipped."""
    texts = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            texts.append(row["text"])
    return texts


def source_texts() -> list[str]:
    """Real post texts (shared data when present) plus the demo posts."""
    texts: list[str] = []
    shared = default_shared_data_dir() or Path("/nonexistent")
    airline = shared / "twitter-us-airline-sentiment" / "Tweets.csv"
    if airline.exists():
        with airline.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    for path in sorted((shared / "semeval2017-task4a-english").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                texts.append(parts[2])
    for path in sorted((shared / "twcs-samples").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    texts += demo_texts()
    return [t for t in texts if t.strip()]


def make_posts(path: Path, n: int, texts: list[str]) -> None:
    if path.exists():
        return
    rng = random.Random(SEED + n)
    brands = ["SkyNimbus", "Vireo Mobile", "Parcelo", "Brightwave"]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = {
                "id": f"p{i:07d}",
                "text": texts[rng.randrange(len(texts))],
                "brand": brands[i % len(brands)],
                "created_at": f"2026-09-{1 + i % 28:02d}T12:00:00+00:00",
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.rename(path)
