"""The airline tweets' crowd "negative reasons" as labels for topics, for evaluating topic assignment.

``scripts/bench/eval_topics.py`` (and ``scripts/experiments/topic_variants.py``) read ``Tweets.csv`` of the
shared data, de-duplicated by ``tweet_id`` (the first row kept), and map each reason to a taxonomy topic
(:func:`reason_map`); the taxonomy is never fitted to these labels.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, InputError
from pipeline.topics.taxonomy import Taxonomy

CANT_TELL = "Can't Tell"


def find_csv(data_dir: Path) -> Path:
    for candidate in (data_dir, data_dir / "Tweets.csv", data_dir / "twitter-us-airline-sentiment" / "Tweets.csv"):
        if candidate.is_file():
            return candidate
    raise InputError(f"Tweets.csv not found under {data_dir}")


def load_tweets(path: Path) -> list[dict[str, str]]:
    """Rows de-duplicated by tweet_id (the first occurrence wins)."""
    seen: set[str] = set()
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            rows.append(row)
    return rows


def _key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def reason_map(taxonomy: Taxonomy, reasons: list[str], overrides: list[str]) -> dict[str, str]:
    """Reason string -> taxonomy topic id: the topic whose description names the reason in brackets
    (``... (Late Flight)``), else the topic whose name or label matches it; ``overrides`` (``REASON=topic-id``)
    first."""
    out: dict[str, str] = {}
    for item in overrides:
        reason, _, topic = item.partition("=")
        out[reason.strip()] = topic.strip()
    for reason in reasons:
        if reason in out:
            continue
        for t in taxonomy.topics:
            bracketed = re.findall(r"\(([^)]*)\)", t.description)
            if any(_key(b) == _key(reason) for b in bracketed):
                out[reason] = t.name
                break
        else:
            for t in taxonomy.topics:
                if _key(reason) in (_key(t.name), _key(t.label)) or _key(t.label).startswith(_key(reason)):
                    out[reason] = t.name
                    break
    missing = [r for r in reasons if r not in out]
    if missing:
        raise ConfigError(f"no taxonomy topic for reasons {missing}; pass --map 'REASON=topic-id'")
    known = {t.name for t in taxonomy.topics}
    unknown = sorted(set(out.values()) - known)
    if unknown:
        raise ConfigError(f"--map names unknown topics {unknown}")
    return out


def records_for_ranking(
    rows: list[dict[str, str]], topics: list[tuple[str, str, float]], scored: dict[str, dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Ranking records of the tweets with their assigned ``topics``; intent and sentiment from the crowd's
    sentiment (negative -> complaint, positive -> praise, neutral -> other), or from ``scored`` predictions."""
    intent_of = {"negative": "complaint", "positive": "praise", "neutral": "other"}
    recs = []
    for row, (topic, label, score) in zip(rows, topics):
        rec: dict[str, Any] = {
            "id": row["tweet_id"],
            "text": row["text"],
            "brand": row["airline"],
            "intent": intent_of[row["airline_sentiment"]],
            "sentiment": row["airline_sentiment"],
            "topic": topic,
            "topic_label": label,
            "topic_score": score,
            "created_at": row["tweet_created"] or None,
        }
        if scored is not None and row["tweet_id"] in scored:
            pred = scored[row["tweet_id"]]
            rec["intent"], rec["sentiment"] = pred["intent"], pred["sentiment"]
        recs.append(rec)
    return recs
