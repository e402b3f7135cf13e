"""Reliability and confusion-matrix PNGs for evaluation reports (optional extra ``plots``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.training.evaluate import classification_metrics


def _report() -> dict[str, object]:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=60)
    labels = [["negative", "neutral", "positive"][i] for i in rng.integers(0, 3, size=60)]
    return {"tasks": {"sentiment": classification_metrics(labels, proba, ["negative", "neutral", "positive"])}}


def test_writes_pngs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="needs the plots extra: pip install 'voc-pipeline[plots]'")
    from pipeline.training.plots import write_evaluation_plots

    files, note = write_evaluation_plots(_report(), tmp_path)
    assert note is None
    assert sorted(p.name for p in files) == ["sentiment-confusion.png", "sentiment-reliability.png"]
    for path in files:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.training.plots as plots

    def missing() -> None:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(plots, "_pyplot", missing)
    files, note = plots.write_evaluation_plots(_report(), tmp_path)
    assert files == [] and note is not None and "voc-pipeline[plots]" in note
