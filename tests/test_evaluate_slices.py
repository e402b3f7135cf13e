"""Slice metrics: the annotators' `unsure` flag splits a report into clear and ambiguous posts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.data.sources import load_labelled_file
from pipeline.training.evaluate import classification_metrics, slice_metrics

CLASSES = ["complaint", "other"]


def test_unsure_flags_add_annotator_slices_scored_on_their_rows_only() -> None:
    labels = ["complaint"] * 10 + ["other"] * 10 + ["complaint"] * 10 + ["other"] * 10
    right = np.eye(2)[[0] * 10 + [1] * 10]
    wrong = np.eye(2)[[1] * 10 + [0] * 10]
    proba = np.vstack([right, wrong])  # the sure half all right, the unsure half all wrong
    unsure = [False] * 20 + [True] * 20
    slices = slice_metrics(["x"] * 40, labels, proba, CLASSES, unsure=unsure)
    assert slices["annotator sure"] == {"n": 20, "accuracy": 1.0, "macro_f1": 1.0, "macro_recall": 1.0}
    assert slices["annotator unsure"]["n"] == 20 and slices["annotator unsure"]["accuracy"] == 0.0
    assert classification_metrics(labels, proba, CLASSES)["overall"]["accuracy"] == 0.5
    assert "annotator sure" not in slice_metrics(["x"] * 40, labels, proba, CLASSES)  # no flags, no slices
    with pytest.raises(ValueError, match="3 flags for 40 texts"):
        slice_metrics(["x"] * 40, labels, proba, CLASSES, unsure=[True, False, True])


def test_labelled_file_reads_the_unsure_column_when_it_has_one(tmp_path: Path) -> None:
    flagged = tmp_path / "flagged.jsonl"
    rows = [
        {"text": "a", "intent": "complaint", "unsure": 1},
        {"text": "b", "intent": "other", "unsure": "0"},
        {"text": "c", "intent": "other", "unsure": True},
        {"text": "d", "intent": "other"},
    ]
    flagged.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert load_labelled_file(str(flagged)).unsure == [True, False, True, False]
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"text": "a", "intent": "other"}) + "\n", encoding="utf-8")
    loaded = load_labelled_file(str(plain))
    assert loaded.unsure == [] and loaded.labels == {"intent": ["other"]} and loaded.rejected == 0
