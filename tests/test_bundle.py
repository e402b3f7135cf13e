from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import BundleError
from pipeline.models.bundle import ModelBundle
from pipeline.models.predict import Predictor


def test_round_trip_predictions(tiny_bundle_dir: Path) -> None:
    predictor = Predictor.from_path(tiny_bundle_dir)
    out = predictor.predict(["my bag never arrived", "thanks for the quick help!"], ids=["a", "b"])
    assert [o["id"] for o in out] == ["a", "b"]
    for o in out:
        assert abs(sum(o["intent_scores"].values()) - 1) < 1e-6
        assert abs(sum(o["sentiment_scores"].values()) - 1) < 1e-6
        assert set(o["intent_scores"]) == {"complaint", "question", "praise", "favour-seeking", "other"}
    assert out[0]["intent"] == "complaint" and out[1]["intent"] == "praise"


def test_metadata_records_provenance(tiny_bundle_dir: Path) -> None:
    meta = json.loads((tiny_bundle_dir / "metadata.json").read_text())
    assert meta["schema"] == {"name": "voc-bundle", "version": 1}
    for key in ("package_version", "created_at", "labels", "library_versions", "files"):
        assert key in meta
    assert "scikit-learn" in meta["library_versions"] and "spacy" in meta["library_versions"]
    assert "intent/weights.npz" in meta["files"]


def test_saved_twice_loads_identically(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    again = ModelBundle.load(tiny_bundle_dir).save(tmp_path / "again")
    a = Predictor.from_path(tiny_bundle_dir).predict(["lost my bag"])
    b = Predictor.from_path(again).predict(["lost my bag"])
    assert a == b


def test_tampered_file_is_refused(bundle_copy: Path) -> None:
    spec = bundle_copy / "intent" / "classifier.json"
    data = json.loads(spec.read_text())
    data["temperature"] = 0.01
    spec.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="does not match its hash"):
        ModelBundle.load(bundle_copy)


def test_missing_file_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "sentiment" / "vocabulary.json").unlink()
    with pytest.raises(BundleError, match="missing"):
        ModelBundle.load(bundle_copy)


def _rehash(bundle: Path) -> None:
    from pipeline.data.io import sha256_file

    meta = json.loads((bundle / "metadata.json").read_text())
    meta["files"] = {rel: sha256_file(bundle / rel) for rel in meta["files"]}
    (bundle / "metadata.json").write_text(json.dumps(meta))


def test_unknown_schema_version_is_refused(bundle_copy: Path) -> None:
    meta = json.loads((bundle_copy / "metadata.json").read_text())
    meta["schema"]["version"] = 99
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="schema version 99"):
        ModelBundle.load(bundle_copy)


def test_inconsistent_labels_are_refused(bundle_copy: Path) -> None:
    meta = json.loads((bundle_copy / "metadata.json").read_text())
    meta["labels"]["intent"] = ["complaint", "other"]
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="labels"):
        ModelBundle.load(bundle_copy)


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("touch PWNED_MARKER",))


def test_planted_pickle_never_executes(bundle_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    weights = bundle_copy / "intent" / "weights.npz"
    with np.load(weights) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["coef"] = np.array([_Exploit()], dtype=object)
    with weights.open("wb") as handle:
        np.savez(handle, **arrays)
    (bundle_copy / "intent" / "model.pkl").write_bytes(pickle.dumps(_Exploit()))
    _rehash(bundle_copy)  # an attacker can recompute the hashes too
    with pytest.raises(BundleError):
        ModelBundle.load(bundle_copy)
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not found"):
        ModelBundle.load(tmp_path / "nothing")
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        ModelBundle.load(tmp_path)
