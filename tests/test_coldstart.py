"""The cold-start path of `voc predict TEXT` (pipeline.models.coldstart) against the reference implementation and the
batch fast path; its bundle files; the CLI's dispatch between the paths."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import pipeline.models.coldstart as coldstart
from pipeline.cli import app
from pipeline.cli.commands import plain_predict_arguments
from pipeline.models.bundle import ModelBundle, sha256_file
from pipeline.models.coldstart import (
    ColdStartPredictor,
    Unsupported,
    add_coldstart_files,
    open_for_coldstart,
    predict_texts,
    read_stored_npz,
)
from pipeline.models.lookup import vocabulary_offsets
from pipeline.models.predict import Predictor

from .conftest import REPO
from .test_behaviour import behaviour_texts
from .test_score import _texts


def _all_texts() -> list[str]:
    return _texts() + behaviour_texts()


# -- predictions -----------------------------------------------------------------------------------------------------
def _compare(bundle: Path, texts: list[str]) -> None:
    quick = ColdStartPredictor.from_verified(open_for_coldstart(bundle))
    got = quick.predict(texts)
    fast = Predictor.from_path(bundle)
    assert fast.fast is not None
    reference = Predictor.from_path(bundle)
    reference._fast, reference._fast_checked = None, True  # the reference implementation (VOC_FASTPATH=0)
    normalised = reference.normaliser.normalise_many(texts)
    assert [" ".join(quick.tokens(t)) for t in texts] == normalised
    for expected in (fast.predict(texts), reference.predict(texts)):
        for g, e in zip(got, expected, strict=True):
            assert g.keys() == e.keys()
            for task in ("intent", "sentiment"):
                assert g[task] == e[task]
                assert g[f"{task}_scores"].keys() == e[f"{task}_scores"].keys()
                for label, p in e[f"{task}_scores"].items():
                    assert abs(g[f"{task}_scores"][label] - p) < 1e-5
            assert (g["id"], g["truncated"]) == (e["id"], e["truncated"])


def test_coldstart_matches_reference_and_fast_path_default_bundle(default_bundle: Path) -> None:
    """The demo posts (data/demo/posts.jsonl), chunking edge cases and every text of the behaviour tests."""
    _compare(default_bundle, _all_texts())


def test_coldstart_matches_reference_and_fast_path_tiny_bundle(tiny_bundle_dir: Path) -> None:
    _compare(tiny_bundle_dir, _all_texts())


def test_coldstart_matches_reference_and_fast_path_marked_bundle(marked_bundle_dir: Path) -> None:
    """Identity masks (words and phrases) and scope marks (negation, contrast, answered questions, "used to"), with
    three static blocks: the same labels and scores on every path."""
    extra = [
        "A middle-aged South African traveller was not happy, but the crew was lovely",
        "Was the crew great? No. The muslim agent wasn't rude though",
        "I used to hate this airline, now I love it. Is it good? Yes!",
        "people of color in a wheelchair? never again",
    ]
    _compare(marked_bundle_dir, _all_texts() + extra)


def test_committed_bundle_takes_the_coldstart_path(default_bundle: Path) -> None:
    ColdStartPredictor.from_verified(open_for_coldstart(default_bundle))  # raises Unsupported otherwise


def test_max_chars_override_applies(tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOC_MAX_CHARS", "5")
    got = predict_texts(["my bag never arrived"], tiny_bundle_dir)
    monkeypatch.setenv("VOC_COLDSTART", "0")
    expected = predict_texts(["my bag never arrived"], tiny_bundle_dir)
    assert got[0]["truncated"] and expected[0]["truncated"]
    assert got[0]["intent"] == expected[0]["intent"]
    assert abs(got[0]["intent_scores"]["complaint"] - expected[0]["intent_scores"]["complaint"]) < 1e-5


# -- which path ------------------------------------------------------------------------------------------------------
def _no_coldstart(verified: Any) -> None:
    raise AssertionError("the cold-start path was taken")


def test_many_texts_take_the_batch_path(tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"my bag number {i} never arrived" for i in range(coldstart.COLDSTART_MAX_TEXTS + 1)]
    few = predict_texts(texts[:3], tiny_bundle_dir)
    monkeypatch.setattr(ColdStartPredictor, "from_verified", _no_coldstart)
    many = predict_texts(texts, tiny_bundle_dir)
    assert [p["intent"] for p in many[:3]] == [p["intent"] for p in few]
    assert [p["id"] for p in many] == [str(i + 1) for i in range(len(texts))]
    assert predict_texts(["x" * (coldstart.COLDSTART_MAX_CHARS + 1)], tiny_bundle_dir)[0]["truncated"]


@pytest.mark.parametrize("variable", ["VOC_COLDSTART", "VOC_FASTPATH"])
def test_coldstart_can_be_switched_off(tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "0")
    monkeypatch.setattr(ColdStartPredictor, "from_verified", _no_coldstart)
    assert predict_texts(["my bag never arrived"], tiny_bundle_dir)[0]["intent"] == "complaint"


def test_voc_predict_for_one_post_imports_neither_numpy_scipy_nor_spacy(default_bundle: Path) -> None:
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        f"sys.argv = ['voc', 'predict', '--model', {str(default_bundle)!r}, 'my bag never arrived', 'help!! :) 🙏']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'spacy', 'pydantic') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("complaint") and len(lines) == 3
    assert lines[-1] == "[]"


# -- the command line --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["my bag never arrived", "best crew ever"],
        ["--format", "json", "my bag never arrived"],
        ["-f", "json", "do you fly to lima?", "-m", "{bundle}"],
        ["--format=json", "my bag never arrived"],
        ["--format", "xml", "hello"],
        ["my bag never arrived", "  "],
        ["--model", "no/such/bundle", "hello"],
    ],
)
def test_plain_predict_dispatch_equals_typer(tiny_bundle_dir: Path, args: list[str]) -> None:
    args = [a.replace("{bundle}", str(tiny_bundle_dir)) for a in args]
    if "--model" not in args and "-m" not in args:
        args = ["--model", str(tiny_bundle_dir), *args]
    argv = ["predict", *args]
    assert plain_predict_arguments(argv) is not None
    typer_result = CliRunner().invoke(app, argv)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *argv], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        typer_result.exit_code,
        typer_result.stdout,
        typer_result.stderr,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "--input", "x"],
        ["predict", "--help"],
        ["predict", "--input", "a.jsonl", "--output", "b.jsonl"],
        ["predict", "--max-chars", "5", "hello"],
        ["predict", "-1 star, awful"],
        ["predict", "--model"],
        ["predict", "-m=dir", "hello"],
        ["predict", "--model", "a", "--model", "b", "hello"],
        ["predict", "--format", "--model", "hello"],
    ],
)
def test_other_command_lines_go_through_typer(argv: list[str]) -> None:
    assert plain_predict_arguments(argv) is None


def test_plain_predict_arguments_parses_the_plain_form() -> None:
    assert plain_predict_arguments(["predict", "a", "-m", "dir", "b", "--format=json"]) == {
        "texts": ["a", "b"],
        "model": Path("dir"),
        "output_format": "json",
    }
    assert plain_predict_arguments(["predict"]) == {"texts": None, "model": None, "output_format": "text"}


# -- bundle files ------------------------------------------------------------------------------------------------------
def _as_old_bundle(bundle: Path) -> Path:
    """A bundle as saved before lookup.npz existed: compressed weights, no index, hashes recomputed."""
    for task in ("intent", "sentiment"):
        (bundle / task / "lookup.npz").unlink()
        with np.load(bundle / task / "weights.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        np.savez_compressed(bundle / task / "weights.npz", **arrays)
    meta = json.loads((bundle / "metadata.json").read_text())
    meta["files"] = {rel: sha256_file(bundle / rel) for rel in meta["files"] if not rel.endswith("lookup.npz")}
    (bundle / "metadata.json").write_text(json.dumps(meta))
    return bundle


def test_old_bundle_still_loads_and_predicts(bundle_copy: Path, tiny_bundle_dir: Path) -> None:
    old = _as_old_bundle(bundle_copy)
    with pytest.raises(Unsupported):
        ColdStartPredictor.from_verified(open_for_coldstart(old))
    texts = ["my bag never arrived", "thanks for the quick help!"]
    got = predict_texts(texts, old)  # through the batch path, with the files verified once
    assert got == Predictor.from_path(tiny_bundle_dir).predict(texts, ids=["1", "2"])
    assert ModelBundle.load(old).labels == ModelBundle.load(tiny_bundle_dir).labels
    result = CliRunner().invoke(app, ["predict", "--model", str(old), "my bag never arrived"])
    assert result.exit_code == 0 and result.stdout.startswith("complaint")


def test_add_coldstart_files_upgrades_an_old_bundle(bundle_copy: Path, tiny_bundle_dir: Path) -> None:
    old = _as_old_bundle(bundle_copy)
    texts = _texts()
    before = Predictor.from_path(old).predict(texts)
    written = add_coldstart_files(old)
    assert sorted(written) == sorted(
        f"{t}/{name}" for t in ("intent", "sentiment") for name in ("weights.npz", "lookup.npz")
    )
    assert Predictor.from_path(old).predict(texts) == before
    _compare(old, texts)
    for task in ("intent", "sentiment"):
        with np.load(old / task / "lookup.npz") as got, np.load(tiny_bundle_dir / task / "lookup.npz") as saved:
            assert got.files == saved.files
            for key in saved.files:
                np.testing.assert_array_equal(got[key], saved[key])


def test_index_made_for_another_vocabulary_is_not_used(bundle_copy: Path) -> None:
    shutil.copy(bundle_copy / "sentiment" / "lookup.npz", bundle_copy / "intent" / "lookup.npz")
    meta = json.loads((bundle_copy / "metadata.json").read_text())
    meta["files"]["intent/lookup.npz"] = sha256_file(bundle_copy / "intent" / "lookup.npz")
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(Unsupported, match="another vocabulary"):
        ColdStartPredictor.from_verified(open_for_coldstart(bundle_copy))
    assert predict_texts(["my bag never arrived"], bundle_copy)[0]["intent"] == "complaint"


def test_tampered_index_is_refused_like_any_file(bundle_copy: Path) -> None:
    (bundle_copy / "intent" / "lookup.npz").write_bytes(_npz({"offsets_word": np.zeros(3, dtype=np.int32)}))
    result = CliRunner().invoke(app, ["predict", "--model", str(bundle_copy), "my bag never arrived"])
    assert result.exit_code == 2 and "does not match its hash" in result.stderr


def test_vocabulary_offsets_find_every_term() -> None:
    terms = {"word": ["a", 'qu"ote', "back\\slash", "ünï", "🙂 x", "tab\t", ""], "char": [], "wordpiece": ["[UNK]"]}
    for text in (json.dumps(terms, ensure_ascii=False), json.dumps(terms), json.dumps(terms, indent=2)):
        offsets = vocabulary_offsets(text)
        assert offsets.keys() == terms.keys()
        for kind, kind_terms in terms.items():
            assert [coldstart.scanstring(text, i + 1)[0] for i in offsets[kind]] == kind_terms


def test_sorted_terms_lookup_equals_a_dict() -> None:
    words = ["zeta", "alpha", "mid dle", "ä", "a", "alphabet", "🙂"]
    text = json.dumps({"word": words}, ensure_ascii=False)
    lookup = read_stored_npz(_npz(coldstart.build_lookup(text, "sha256:" + "0" * 64) or {}))
    terms = coldstart._sorted_terms(text, lookup, "word")
    for j, word in enumerate(words):
        assert terms.get(word) == j
    for missing in ("", "b", "alph", "zz", "🙃"):
        assert terms.get(missing) is None
    assert coldstart.build_lookup(json.dumps({"word": ["a", "b", "a"]}), "sha256:00") is None  # repeated term


def _npz(arrays: dict[str, Any], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def test_stored_npz_reader_equals_numpy() -> None:
    arrays: dict[str, np.ndarray] = {
        "f4": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        "i1": np.array([-128, 0, 127], dtype=np.int8),
        "i4": np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32),
        "f2": np.array([0.5, -1.25, 3.0], dtype=np.float16),
        "empty": np.zeros((0, 5), dtype=np.float32),
    }
    got = read_stored_npz(_npz(arrays))
    for key, value in arrays.items():
        assert got[key].shape == value.shape
        assert list(got[key].values) == value.ravel().tolist()


@pytest.mark.parametrize(
    "arrays",
    [
        {"objects": np.array([{"a": 1}, None], dtype=object)},
        {"strings": np.array(["a", "b"])},
        {"big_endian": np.arange(3, dtype=">f4")},
        {"fortran": np.asfortranarray(np.ones((2, 3), dtype=np.float32))},
    ],
)
def test_stored_npz_reader_refuses_what_it_does_not_read(arrays: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.save(member, value, allow_pickle=True)
            archive.writestr(f"{key}.npy", member.getvalue())
    with pytest.raises(Unsupported):
        read_stored_npz(buffer.getvalue())
    with pytest.raises(Unsupported, match="compressed"):
        read_stored_npz(_npz({"a": np.ones(3)}, compressed=True))


def test_parameter_names_match_the_classifiers() -> None:
    from pipeline.models.features import NgramFeaturiser
    from pipeline.models.linear import TfidfLogisticClassifier, TfidfStaticLogisticClassifier
    from pipeline.models.static_embeddings import StaticEmbeddingFeaturiser

    # The marking switches are written only when on (older bundles' settings read back unchanged): both ways.
    marked = {"mark_scope": True, "mask_identity": True}
    for params in ({}, marked):
        assert set(TfidfLogisticClassifier(**params).get_params()) <= coldstart.CLASSIFIER_PARAMS_V1
        assert set(TfidfStaticLogisticClassifier(**params).get_params()) <= coldstart.CLASSIFIER_PARAMS_V2
    assert set(TfidfLogisticClassifier(**marked).get_params()) == coldstart.CLASSIFIER_PARAMS_V1
    assert set(TfidfStaticLogisticClassifier(**marked).get_params()) == coldstart.CLASSIFIER_PARAMS_V2
    assert set(NgramFeaturiser().get_params()) == coldstart.NGRAM_PARAMS
    assert set(StaticEmbeddingFeaturiser(table="x", scope_blocks=True).get_params()) == coldstart.STATIC_PARAMS


def test_environment_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOC_COLDSTART", raising=False)
    monkeypatch.delenv("VOC_FASTPATH", raising=False)
    assert coldstart.coldstart_enabled()
    monkeypatch.setenv("VOC_COLDSTART", "no")
    assert not coldstart.coldstart_enabled()
