"""Data tests for the committed id-label files (`data/labels/*.jsonl`): they run without the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import INTENT_LABELS, SENTIMENT_LABELS
from pipeline.data.datasets import DATASETS
from pipeline.data.sources import ID_LABELS_PREFIX
from pipeline.training.config import load_config

REPO = Path(__file__).resolve().parents[1]
LABEL_FILES = sorted((REPO / "data" / "labels").glob("*.jsonl"))
EVALUATION_ONLY = "twcs-intent.jsonl"


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _keys(path: Path) -> set[tuple[object, object]]:
    return {(row["dataset"], row["id"]) for row in _rows(path)}


@pytest.mark.parametrize("path", LABEL_FILES, ids=lambda p: p.name)
def test_label_file_rows_are_well_formed_and_unique(path: Path) -> None:
    rows = _rows(path)
    assert rows, f"{path.name} is empty"
    keys = [(row["dataset"], row["id"]) for row in rows]
    assert len(keys) == len(set(keys)), f"{path.name} labels a post twice"
    for row in rows:
        assert row["dataset"] in DATASETS and isinstance(row["id"], str)
        assert "text" not in row, "texts of the shared data sets may not be committed"
        assert row.get("intent", "complaint") in INTENT_LABELS
        assert row.get("sentiment", "neutral") in SENTIMENT_LABELS


@pytest.mark.parametrize("path", [p for p in LABEL_FILES if p.name != EVALUATION_ONLY], ids=lambda p: p.name)
def test_training_label_files_never_hold_an_evaluation_post(path: Path) -> None:
    rows = _rows(path)
    if not any(row.get("intent") or row.get("sentiment") for row in rows):
        pytest.skip(f"{path.name} holds no intent or sentiment label, so trains neither (e.g. the topic judge)")
    shared = {(row["dataset"], row["id"]) for row in rows} & _keys(REPO / "data" / "labels" / EVALUATION_ONLY)
    assert not shared, f"{path.name} holds {len(shared)} posts of the out-of-industry test set"


@pytest.mark.parametrize("name", ["default.yaml", "transformer.yaml"])
def test_a_config_never_trains_on_two_labels_for_one_post(name: str) -> None:
    """Human labels and pseudo-labels of the same post in one training set would contradict each other."""
    config = load_config(REPO / "configs" / name)
    for task in (config.intent, config.sentiment):
        if task is None:
            continue
        seen: dict[tuple[object, object], str] = {}
        for source in task.train:
            if not source.startswith(ID_LABELS_PREFIX):
                continue
            path = (REPO / "configs" / source[len(ID_LABELS_PREFIX) :]).resolve()
            for key in _keys(path):
                assert key not in seen, f"{name}: {key} is in both {seen[key]} and {path.name}"
                seen[key] = path.name


def test_topic_judge_labels_are_topics_of_the_brand_taxonomy() -> None:
    """`topics-judge.jsonl`: each brand's labels come from `configs/taxonomy/<brand>.yaml`, primary first."""
    from pipeline.topics.taxonomy import load_taxonomy

    rows = _rows(REPO / "data" / "labels" / "topics-judge.jsonl")
    names = {
        brand: {t.name for t in load_taxonomy(REPO / "configs" / "taxonomy" / f"{brand}.yaml").topics}
        for brand in {str(row["brand"]) for row in rows}
    }
    for row in rows:
        topics = row["topics"]
        assert isinstance(topics, list) and len(topics) <= 3 and len(set(topics)) == len(topics)
        assert set(topics) <= names[str(row["brand"])], row["id"]
        assert row["primary"] == (topics[0] if topics else "none"), row["id"]
        assert row["double_annotated"] in (0, 1)
