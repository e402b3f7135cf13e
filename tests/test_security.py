"""Untrusted model bundles (issue 6): loading never unpickles, runs nothing, reads nothing outside the bundle.

Every refusal is checked through the CLI as well: one ``error:`` line and exit 2. Python's audit hooks
record what the loader opens and whether pickle resolves any global while it runs.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data.io import sha256_file
from pipeline.errors import BundleError
from pipeline.models.bundle import ModelBundle

_EVENTS: list[tuple[str, tuple[Any, ...]]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _EVENTS is not None and event in ("open", "pickle.find_class", "os.system", "subprocess.Popen", "exec"):
        _EVENTS.append((event, args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only inside _watch()


@contextmanager
def _watch() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    global _EVENTS
    events: list[tuple[str, tuple[Any, ...]]] = []
    _EVENTS = events
    try:
        yield events
    finally:
        _EVENTS = None


def _opened(events: list[tuple[str, tuple[Any, ...]]]) -> set[Path]:
    paths = set()
    for event, args in events:
        if event == "open" and isinstance(args[0], (str, Path)):
            paths.add(Path(args[0]).resolve())
    return paths


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED_MARKER",))


def _rehash(bundle: Path) -> dict[str, Any]:
    """Recompute every hash, as an attacker who edits the bundle can; returns the metadata."""
    meta = json.loads((bundle / "metadata.json").read_text())
    files = sorted(p for p in bundle.rglob("*") if (p.is_file() or p.is_symlink()) and p.name != "metadata.json")
    meta["files"] = {p.relative_to(bundle).as_posix(): sha256_file(p) if p.exists() else "x" for p in files}
    (bundle / "metadata.json").write_text(json.dumps(meta))
    return dict(meta)


def _cli_refuses(bundle: Path, message: str) -> None:
    result = CliRunner().invoke(app, ["predict", "--model", str(bundle), "my bag never arrived"])
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr


def test_malicious_npy_inside_the_npz_never_unpickles(
    bundle_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    weights = bundle_copy / "intent" / "weights.npz"
    with np.load(weights) as npz:
        arrays = {k: npz[k] for k in npz.files}
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Exploit(), _Exploit()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(weights, "w") as archive:
        for key, value in arrays.items():
            if key != "intercept":
                member = io.BytesIO()
                np.save(member, value)
                archive.writestr(f"{key}.npy", member.getvalue())
        archive.writestr("intercept.npy", buffer.getvalue())  # an object array: a pickle in disguise
    _rehash(bundle_copy)
    with _watch() as events, pytest.raises(BundleError, match="intent classifier"):
        ModelBundle.load(bundle_copy)
    assert not [e for e in events if e[0] != "open"]  # no pickle.find_class, no os.system
    assert not (tmp_path / "PWNED_MARKER").exists()
    _cli_refuses(bundle_copy, "cannot load the intent classifier")
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_planted_pickle_files_are_never_read(
    bundle_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pickle dropped into the bundle is at most hashed as bytes (when listed), never unpickled."""
    monkeypatch.chdir(tmp_path)
    planted = bundle_copy / "model.pkl"
    planted.write_bytes(pickle.dumps(_Exploit()))
    with _watch() as events:
        ModelBundle.load(bundle_copy)  # unlisted: not even opened
    assert planted.resolve() not in _opened(events)
    _rehash(bundle_copy)
    with _watch() as events:
        ModelBundle.load(bundle_copy)  # listed: hashed, nothing more
    assert not [e for e in events if e[0] in ("pickle.find_class", "os.system", "subprocess.Popen")]
    assert not (tmp_path / "PWNED_MARKER").exists()


@pytest.mark.parametrize("target", ["intent/vocabulary.json", "taxonomy.yaml", "README.md", "metadata.json"])
def test_symlink_out_of_the_bundle_is_refused_unread(bundle_copy: Path, tmp_path: Path, target: str) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"secret": True}))
    link = bundle_copy / target
    if target != "metadata.json":
        _rehash(bundle_copy)  # the attacker rehashes after planting, so only the path check can catch it
    link.unlink()
    link.symlink_to(secret)
    if target != "metadata.json":
        meta = json.loads((bundle_copy / "metadata.json").read_text())
        meta["files"][target] = sha256_file(secret)
        (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with _watch() as events, pytest.raises(BundleError, match="outside the bundle"):
        ModelBundle.load(bundle_copy)
    assert secret.resolve() not in _opened(events)
    _cli_refuses(bundle_copy, "outside the bundle")


def test_unlisted_symlink_is_refused_unread(bundle_copy: Path, tmp_path: Path) -> None:
    """A file the loader would read but metadata.json does not list (so no hash checked it) is refused."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("topics: []\n")
    meta = json.loads((bundle_copy / "metadata.json").read_text())
    del meta["files"]["taxonomy.yaml"]
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    (bundle_copy / "taxonomy.yaml").unlink()
    (bundle_copy / "taxonomy.yaml").symlink_to(secret)
    with _watch() as events, pytest.raises(BundleError, match=r"not listed in metadata\.json"):
        ModelBundle.load(bundle_copy)
    assert secret.resolve() not in _opened(events)
    _cli_refuses(bundle_copy, "not listed in metadata.json")


@pytest.mark.parametrize("listed", ["../../etc/passwd", "/etc/passwd", "intent/../../outside.json", "bad\x00name"])
def test_metadata_listing_paths_outside_is_refused_unread(bundle_copy: Path, listed: str) -> None:
    meta = json.loads((bundle_copy / "metadata.json").read_text())
    meta["files"] = {listed: "sha256:0", **meta["files"]}
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with _watch() as events, pytest.raises(BundleError, match=r"outside the bundle|not a valid path"):
        ModelBundle.load(bundle_copy)
    assert Path("/etc/passwd") not in _opened(events)
    _cli_refuses(bundle_copy, "model bundle")


def test_huge_json_file_is_refused_unread(bundle_copy: Path) -> None:
    """A 10 GiB (sparse: no disk used) metadata.json or vocabulary is refused by its size, never read."""
    with (bundle_copy / "metadata.json").open("r+b") as handle:
        handle.truncate(10 * 2**30)
    with _watch() as events, pytest.raises(BundleError, match="over the"):
        ModelBundle.load(bundle_copy)
    assert not [e for e in events if e[0] == "open" and str(e[1][0]).endswith("metadata.json")]
    _cli_refuses(bundle_copy, "over the")


def test_huge_listed_vocabulary_is_refused_unread(bundle_copy: Path) -> None:
    vocabulary = bundle_copy / "sentiment" / "vocabulary.json"
    meta = _rehash(bundle_copy)
    with vocabulary.open("r+b") as handle:
        handle.truncate(10 * 2**30)
    meta["files"]["sentiment/vocabulary.json"] = "sha256:not-computed"  # hashing 10 GiB is not needed
    (bundle_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="over the"):
        ModelBundle.load(bundle_copy)


def test_npz_bomb_is_refused(bundle_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.bundle

    monkeypatch.setattr(pipeline.models.bundle, "MAX_NPZ_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(BundleError, match="would decompress to"):
        ModelBundle.load(bundle_copy)


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("normaliser.json", "[" * 100_000, "nested too deeply"),
        ("normaliser.json", "[1, 2]", "not a JSON object"),
        ("normaliser.json", json.dumps({"name": "tweet_normaliser.v1", "max_chars": -5}), "max_chars"),
        ("normaliser.json", json.dumps({"name": "os.system"}), "unknown normaliser"),
        ("intent/classifier.json", '"just a string"', "not a JSON object"),
    ],
)
def test_hostile_json_is_refused(bundle_copy: Path, file: str, content: str, message: str) -> None:
    (bundle_copy / file).write_text(content)
    _rehash(bundle_copy)
    with pytest.raises(BundleError, match=message):
        ModelBundle.load(bundle_copy)
    _cli_refuses(bundle_copy, "model bundle")


def test_hash_mismatch_unknown_schema_and_labels_refused_by_the_cli(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    import shutil

    def copy(name: str) -> Path:
        return Path(shutil.copytree(tiny_bundle_dir, tmp_path / name))

    tampered = copy("tampered")
    (tampered / "intent" / "vocabulary.json").write_text("{}")
    _cli_refuses(tampered, "does not match its hash")

    future = copy("future")
    meta = json.loads((future / "metadata.json").read_text())
    meta["schema"]["version"] = 99
    (future / "metadata.json").write_text(json.dumps(meta))
    _cli_refuses(future, "schema version 99")

    labels = copy("labels")
    meta = json.loads((labels / "metadata.json").read_text())
    meta["labels"]["sentiment"] = ["negative", "positive"]
    (labels / "metadata.json").write_text(json.dumps(meta))
    _cli_refuses(labels, "do not match metadata.json")

    not_object = copy("not-object")
    (not_object / "metadata.json").write_text("[]")
    _cli_refuses(not_object, "not a voc model bundle")
