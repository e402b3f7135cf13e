"""`voc score --engine ray` on a local Ray instance: the same predictions as the local engine, row for row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'voc-pipeline[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'voc-pipeline[ray]')")

pytestmark = pytest.mark.slow  # starting Ray takes 10-30 s

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "posts.jsonl"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in rows}


def test_ray_matches_local_engine(local_ray: None, tmp_path: Path) -> None:
    from pipeline.scoring.job import score_posts
    from pipeline.scoring.ray_engine import score_posts_ray

    source = tmp_path / "posts"
    source.mkdir()
    # Two files (a directory input), bad rows included; Ray reads valid JSON only, so keep parsable lines.
    lines = [ln for ln in DEMO.read_text(encoding="utf-8").splitlines() if _is_object(ln)]
    half = len(lines) // 2
    (source / "a.jsonl").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    (source / "b.jsonl").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")

    local_out = tmp_path / "local.parquet"
    local = score_posts(source, local_out, batch_size=100, adapt_labels=("intent",))
    ray_out = tmp_path / "ray_out"
    summary = score_posts_ray(source, ray_out, workers=2, batch_size=100, adapt_labels=("intent",))

    assert ray_out.is_dir() and list(ray_out.glob("*.parquet"))
    assert (summary.scored, summary.rejected) == (local.scored, local.rejected)
    local_rows = pq.read_table(local_out).to_pylist()
    ray_rows = pq.read_table(ray_out).to_pylist()
    assert [r["id"] for r in ray_rows] == [r["id"] for r in local_rows]  # input order kept
    expected = _by_id(local_rows)
    for row in ray_rows:
        want = expected[str(row["id"])]
        for key in ("intent", "sentiment", "topic", "topic_label", "topic_score", "truncated", "text"):
            assert row[key] == want[key], (key, row["id"])
        for key in ("intent_scores", "sentiment_scores", "intent_unadapted", "intent_scores_unadapted"):
            assert row[key] == want[key], (key, row["id"])  # same code, same floats (labels adapted alike)
    # The same class-mix estimate per brand: the same sample, read back from the shards.
    assert summary.mix_path is not None and local.mix_path is not None
    assert json.loads(summary.mix_path.read_text()) == json.loads(local.mix_path.read_text())
    rejected = Path(f"{ray_out}.rejected.jsonl")
    if local.rejected:
        assert len(rejected.read_text(encoding="utf-8").splitlines()) == local.rejected


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _close(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats to 1e-9 (a sum of reach weights may add up in another order on other shards)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-9), path
    else:
        assert a == b, path


def test_ray_rank_matches_local_engine(local_ray: None, tmp_path: Path) -> None:
    """`voc rank --engine ray` over Parquet shards: the local engine's ranking, discovery on a sample included."""
    import pyarrow as pa

    from pipeline.ranking.rank import RankConfig
    from pipeline.ranking.run import rank_file
    from tests.test_rank_aggregate import _discovery_records

    recs = _discovery_records(60)
    for i, r in enumerate(recs):
        r["reach"] = (i * 37) % 500
        r.setdefault("brand", "Alpha" if i % 3 else "Gamma")
    shards = tmp_path / "scored"
    shards.mkdir()
    for k, start in enumerate(range(0, len(recs), 180)):
        pq.write_table(pa.Table.from_pylist(recs[start : start + 180]), shards / f"part-{k:03d}.parquet")
    cfg = RankConfig(n_bootstrap=200, max_topics=6, encoder="none", discovery_sample=90)
    local, _ = rank_file(shards, tmp_path / "local", config=cfg, by_brand=True)
    distributed, _ = rank_file(shards, tmp_path / "ray", config=cfg, by_brand=True, engine="ray", workers=2)
    assert local["discovery"]["n_sampled"] == 90 and local["discovery"]["n_topics"] >= 3
    drop = ("generated_at", "input")
    _close({k: v for k, v in distributed.items() if k not in drop}, {k: v for k, v in local.items() if k not in drop})
    html = (tmp_path / "ray" / "report.html").read_text(encoding="utf-8")
    assert "no example posts" not in html.lower()


def test_ray_rank_assigns_topics_from_the_taxonomy_as_the_local_engine(local_ray: None, tmp_path: Path) -> None:
    """Posts that arrive without a topic: each Ray task assigns them (all their topics) as the local engine does."""
    import pyarrow as pa

    from pipeline.ranking.rank import RankConfig
    from pipeline.ranking.run import rank_file
    from tests.test_topic_semantic import TAXONOMY

    texts = [
        "my parcel never arrived, third time this month",
        "you charged me twice and no refund yet",
        "the app crashes every time I open it",
        "the app crashed when I asked for a refund of my bill",
        "hello there",
    ]
    recs = [
        {"id": str(i), "text": f"{texts[i % len(texts)]} #{i % 7}", "intent": "complaint", "sentiment": "negative"}
        for i in range(90)
    ]
    shards = tmp_path / "scored"
    shards.mkdir()
    for k, start in enumerate(range(0, len(recs), 30)):
        pq.write_table(pa.Table.from_pylist(recs[start : start + 30]), shards / f"part-{k:03d}.parquet")
    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text(json.dumps(TAXONOMY), encoding="utf-8")
    cfg = RankConfig(n_bootstrap=50, encoder="none", discover=False, min_support=1)
    local, _ = rank_file(shards, tmp_path / "local", config=cfg, taxonomy=taxonomy)
    distributed, _ = rank_file(shards, tmp_path / "ray", config=cfg, taxonomy=taxonomy, engine="ray", workers=2)
    counts = {e["topic"]: e["n_posts"] for e in local["topics"]}
    assert {"delivery", "billing", "app"} <= set(counts)
    assert counts == {"app": 36, "billing": 36, "delivery": 18}  # "...app crashed... refund of my bill" counts twice
    drop = ("generated_at", "input")
    _close({k: v for k, v in distributed.items() if k not in drop}, {k: v for k, v in local.items() if k not in drop})
