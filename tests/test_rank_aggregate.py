"""voc rank from aggregates: the cell bootstrap, every input format alike, discovery on a sample, examples."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.ranking.aggregate import PostStore, allocate
from pipeline.ranking.rank import RankConfig, rank_posts
from pipeline.ranking.run import rank_file
from pipeline.topics.discover import TopicDiscoverer
from tests.test_rank import NO_DISCOVERY, base_records, post


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("generated_at", "input", "mix_estimates")}


# -- the bootstrap on cells is the bootstrap over posts ----------------------------------------------------


def _post_bootstrap(
    records: list[dict[str, Any]], topic: str, n: int, weighted: bool, seed: int = 1
) -> tuple[float, float]:
    """The percentile interval of score(topic) = p(t) / W by resampling the posts themselves."""
    rng = np.random.default_rng(seed)
    problem = np.array(
        [
            r["intent"] == "complaint"
            or (r["sentiment"] == "negative" and r["intent"] not in ("favour-seeking", "praise"))
            for r in records
        ],
        dtype=float,
    )
    in_topic = np.array([r["topic"] == topic for r in records], dtype=float)
    weight = np.array([1 + np.log1p(r["reach"]) if weighted else 1.0 for r in records])
    scores = []
    for _ in range(n):
        idx = rng.integers(0, len(records), len(records))
        w = weight[idx]
        scores.append(float((w * problem[idx] * in_topic[idx]).sum() / w.sum()))
    return float(np.quantile(scores, 0.025)), float(np.quantile(scores, 0.975))


@pytest.mark.parametrize("weighted", [False, True])
def test_bootstrap_on_cells_gives_the_interval_of_resampling_posts(weighted: bool) -> None:
    recs = base_records()
    rng = random.Random(4)
    for r in recs:
        r["reach"] = rng.choice([0, 3, 40, 2_000]) if weighted else None
    cfg = NO_DISCOVERY.model_copy(update={"n_bootstrap": 4000})
    luggage = next(t for t in rank_posts(recs, cfg)["topics"] if t["topic"] == "lost-luggage")
    low, high = _post_bootstrap(recs, "lost-luggage", 4000, weighted)
    # Monte Carlo error of a 2.5% quantile from 4,000 resamples is ~0.002 here; the bounds agree within it.
    assert luggage["ci_low"] == pytest.approx(low, abs=0.006)
    assert luggage["ci_high"] == pytest.approx(high, abs=0.006)


# -- every input format gives the same ranking -------------------------------------------------------------


def _write_formats(recs: list[dict[str, Any]], tmp: Path) -> dict[str, Path]:
    paths = {
        "jsonl": tmp / "scored.jsonl",
        "parquet": tmp / "scored.parquet",
        "csv": tmp / "scored.csv",
        "jsonl-with-bad-line": tmp / "bad.jsonl",
        "shards": tmp / "shards",
    }
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(recs), paths["parquet"])
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        fields = [k for k in recs[0] if k not in ("intent_scores", "sentiment_scores")]
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(recs)
    lines = [json.dumps(r) for r in recs]
    paths["jsonl-with-bad-line"].write_text("\n".join([*lines[:10], "{not json", *lines[10:]]) + "\n", encoding="utf-8")
    paths["shards"].mkdir()
    half = len(recs) // 2
    pq.write_table(pa.Table.from_pylist(recs[:half]), paths["shards"] / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(recs[half:]), paths["shards"] / "part-1.parquet")
    return paths


def test_every_input_format_ranks_alike(tmp_path: Path) -> None:
    recs = base_records()
    rng = random.Random(2)
    for i, r in enumerate(recs):
        r["brand"] = "Alpha" if i % 3 else "Beta"
        r["topic_score"] = round(rng.random(), 4)
    expected = _comparable(rank_posts(recs, NO_DISCOVERY, by_brand=True))
    for kind, path in _write_formats(recs, tmp_path).items():
        result, _ = rank_file(path, tmp_path / f"out-{kind}", config=NO_DISCOVERY, by_brand=True)
        assert result["input"]["n_rejected"] == (1 if kind == "jsonl-with-bad-line" else 0), kind
        got = _comparable(result)  # a CSV has no intent_scores; these are one-hot, as the labels are
        assert got == expected, kind


def test_rejected_rows_and_fields_as_given(tmp_path: Path) -> None:
    recs = base_records()[:60]
    recs[3]["text"] = "   "  # rejected: the fast read hands the file to the row reader
    recs[4]["created_at"] = "not a date"
    recs[5]["reach"] = "12"  # a string is no reach
    del recs[6]["id"]  # an id derived from the text and line, as voc score derives it
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    result, _ = rank_file(path, tmp_path / "out", config=NO_DISCOVERY)
    assert result["input"]["n_rejected"] == 1
    assert result["n_posts"] == 59
    assert result["parameters"]["reach_weighted"] is False


# -- discovery on a bounded sample --------------------------------------------------------------------------

VOCAB = {
    "wifi": ["wifi", "internet", "signal", "connection", "router"],
    "meal": ["meal", "food", "cold", "sandwich", "snack"],
    "seat": ["seat", "legroom", "cramped", "recline", "broken"],
}


def _discovery_records(n_per_topic: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    recs = base_records()
    for name, words in VOCAB.items():
        for _ in range(n_per_topic):
            r = post(
                len(recs), "other", "complaint", "negative", rng.uniform(0, 28), brand=rng.choice(["Alpha", "Beta"])
            )
            r["text"] = " ".join([*rng.sample(words, 3), rng.choice(["again", "today", "still", "now"]), name])
            recs.append(r)
    return recs


def test_discovery_clusters_a_stratified_sample_and_assigns_the_rest() -> None:
    recs = _discovery_records(60)
    cfg = RankConfig(n_bootstrap=50, max_topics=6, encoder="none", discovery_sample=90)
    result = rank_posts(recs, cfg)
    disc = result["discovery"]
    assert disc["n_posts"] > 180 and disc["n_sampled"] == 90
    discovered = [t for t in result["topics"] if t["source"] == "discovered"]
    assert len(discovered) >= 3
    # Posts outside the sample were assigned too: the discovered topics hold more posts than the sample.
    assert sum(t["n_posts"] for t in discovered) > 90
    assert rank_posts(recs, cfg)["topics"] == result["topics"]  # deterministic
    # Every candidate in the sample: the same as discovery over all of them at once.
    everything = rank_posts(recs, cfg.model_copy(update={"discovery_sample": 10_000}))
    assert everything["discovery"]["n_sampled"] == everything["discovery"]["n_posts"]


def test_sample_allocation_is_proportional_and_exact_in_total() -> None:
    counts = {("A", 0): 500, ("A", 1): 300, ("B", 0): 150, (None, -1): 50}
    quotas = allocate(counts, 100)
    assert sum(quotas.values()) == 100
    assert quotas == {("A", 0): 50, ("A", 1): 30, ("B", 0): 15, (None, -1): 5}
    assert allocate(counts, 5_000) == counts


def test_sample_does_not_depend_on_the_order_of_the_input() -> None:
    from pipeline.ranking.aggregate import Windows, discovery_sample

    recs = _discovery_records(30)
    shuffled = list(recs)
    random.Random(9).shuffle(shuffled)
    picked = []
    for rows in (recs, shuffled):
        with PostStore(in_memory=True) as store:
            store.add_records(rows)
            sample = discovery_sample(
                store.con,
                Windows(0.0, 1.0, 0),
                ["complaint", "question"],
                {("Alpha", -1): 20, ("Beta", -1): 20},
                seed=0,
            )
            ids = store.con.execute("SELECT ord, id FROM posts").fetchall()
        by_ord = dict(ids)
        picked.append(sorted(by_ord[s.ord] for s in sample))
    assert picked[0] == picked[1] and len(picked[0]) == 40


def test_discoverer_assigns_new_posts_to_the_nearest_topic() -> None:
    rng = random.Random(5)
    texts = [
        " ".join([*rng.sample(words, 3), rng.choice(["again", "today"])]) for words in VOCAB.values() for _ in range(40)
    ]
    disc = TopicDiscoverer(max_topics=6, random_state=0).fit(texts)
    labels, _ = disc.predict(texts)
    assert np.mean([a == b for a, b in zip(labels, disc.labels_)]) > 0.9
    new, new_scores = disc.predict(["the wifi signal dropped", "my sandwich was cold"])
    assert new == [disc.labels_[0], disc.labels_[40]]
    assert all(0 < s <= 1 for s in new_scores)


# -- examples ----------------------------------------------------------------------------------------------

_DEDUP = re.compile(r"@\w+|https?://\S+|[\W_]+")


def test_examples_skip_copies_as_a_walk_over_every_post_would() -> None:
    recs = base_records()
    # 80 copies of one complaint (case, punctuation, a leading mention apart) with the best topic score, then
    # distinct complaints below it.
    variants = ["my bag is gone", "My bag is GONE!!", "@user{}: my bag is gone", "my bag, is gone..."]
    for i in range(80):
        r = post(1000 + i, "lost-luggage", "complaint", "negative", 3)
        r["text"], r["topic_score"] = variants[i % 4].format(i), 0.99
        recs.append(r)
    for i in range(8):
        r = post(2000 + i, "lost-luggage", "complaint", "negative", 3)
        r["text"], r["topic_score"] = f"bag number {i} lost", 0.9 - i / 100
        recs.append(r)
    luggage = next(t for t in rank_posts(recs, NO_DISCOVERY)["topics"] if t["topic"] == "lost-luggage")
    # The walk: problem posts first (complaints first), then topic score, then input order; one per text.
    ordered = sorted(
        (i for i, r in enumerate(recs) if r["topic"] == "lost-luggage"),
        key=lambda i: (-(2 if recs[i]["intent"] == "complaint" else 0), -recs[i]["topic_score"], i),
    )
    walk: list[str] = []
    seen: set[str] = set()
    for i in ordered:
        key = _DEDUP.sub("", recs[i]["text"].lower())
        if key not in seen and len(walk) < 5:
            seen.add(key)
            walk.append(recs[i]["id"])
    assert luggage["examples"] == walk
    assert luggage["examples"][0] == "p1000" and luggage["examples"][1:] == ["p2000", "p2001", "p2002", "p2003"]
