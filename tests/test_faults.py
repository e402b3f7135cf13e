"""Faults (issue 6): a killed job, a full disk, an unwritable output; what was complete stays complete.

Tests run as root in CI, where chmod does not stop a write: unwritable outputs are paths under a regular
file or under /proc, and a full disk is simulated by making the writes or the fsync fail with ENOSPC.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import pipeline.data.io
from pipeline.cli import app

REPO = Path(__file__).resolve().parents[1]
GOOD = '{"id": "previous", "intent": "other"}\n'


def _posts(path: Path, n: int) -> Path:
    texts = ["my bag never arrived", "thanks for the quick help!", "do you fly to lima?", "app keeps crashing"]
    path.write_text("".join(json.dumps({"id": str(i), "text": texts[i % 4] + f" #{i}"}) + "\n" for i in range(n)))
    return path


def _score(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["score", *args])
    return result.exit_code, result.stderr


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def _assert_one_error(code: int, stderr: str, *any_of: str) -> None:
    """Exit 2 and one ``error:`` line that contains at least one of ``any_of``."""
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert any(needle in lines[0] for needle in any_of), stderr


UNWRITABLE = ("cannot write", "File exists", "No such file", "Not a directory", "Is a directory")


@pytest.mark.slow
def test_killed_job_leaves_no_half_written_output(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = _posts(tmp_path / "posts.jsonl", 100_000)
    output = tmp_path / "out" / "scored.jsonl"
    output.parent.mkdir()
    output.write_text(GOOD)  # the complete output of an earlier run
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "score", "-i", str(source), "-o", str(output)]
        + ["-m", str(tiny_bundle_dir), "--batch-size", "200", "--quiet"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        # Kill it mid-write: once a first shard of scored rows is on disk (in the resumable parts directory)
        # or the output's temporary file has begun. Waiting for the temporary file alone raced the final
        # assembly, which copies the shards in the kernel within milliseconds on a fast machine (CI).
        parts = output.parent / (output.name + ".parts")
        while time.monotonic() < deadline and process.poll() is None:
            started = [p for p in output.parent.iterdir() if ".tmp-" in p.name and p.stat().st_size > 0]
            if parts.is_dir():
                started += [p for p in parts.iterdir() if p.name.endswith(".jsonl") and p.stat().st_size > 0]
            if started:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the job finished before it could be killed; use a bigger input"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert output.read_text() == GOOD  # the earlier complete output, untouched
    # What the killed job wrote is under temporary names or in the resumable parts directory, never under
    # the final name (nor the rejected file's); the lock of a killed job is stale, not a live one.
    visible = {p.name for p in output.parent.iterdir() if not p.name.startswith(".")}
    assert visible <= {"scored.jsonl", "scored.jsonl.parts", "scored.jsonl.lock"}


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes have been written."""

    def __init__(self, real: Any, room: int) -> None:
        self._real = real
        self._room = room

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return int(self._real.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize("room", [0, 3000])
def test_full_disk_while_writing(
    room: int, tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _posts(tmp_path / "posts.jsonl", 200)
    output = tmp_path / "scored.jsonl"
    output.write_text(GOOD)
    real_open = open

    def full_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        return _FullDisk(real_open(file, *args, **kwargs), room)

    monkeypatch.setattr(pipeline.data.io, "open", full_open, raising=False)
    code, stderr = _score(["-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir), "--batch-size", "20"])
    _assert_one_error(code, stderr, "No space left on device")
    assert output.read_text() == GOOD
    assert _leftovers(tmp_path) == []


def test_full_disk_at_fsync(tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _posts(tmp_path / "posts.jsonl", 20)
    output = tmp_path / "scored.jsonl"
    output.write_text(GOOD)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline.data.io.os, "fsync", no_space)
    code, stderr = _score(["-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    _assert_one_error(code, stderr, "No space left on device")
    assert output.read_text() == GOOD
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["under-a-file", "proc", "is-a-directory"])
def test_unwritable_output(where: str, tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = _posts(tmp_path / "posts.jsonl", 5)
    (tmp_path / "file.txt").write_text("a regular file")
    output = {
        "under-a-file": tmp_path / "file.txt" / "scored.jsonl",
        "proc": Path("/proc/voc-no-such-dir/scored.jsonl"),
        "is-a-directory": tmp_path / "dir.jsonl",
    }[where]
    if where == "is-a-directory":
        output.mkdir()
        (output / "keep").write_text("kept")
    for command in ("score", "predict"):
        result = CliRunner().invoke(app, [command, "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
        _assert_one_error(result.exit_code, result.stderr, *UNWRITABLE)
    assert (tmp_path / "file.txt").read_text() == "a regular file"
    if where == "is-a-directory":
        assert (output / "keep").read_text() == "kept"
    assert _leftovers(tmp_path) == []


def test_failed_job_keeps_previous_rejected_file_consistent(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed job changes neither the output nor its rejected file: both stay from the last good run."""
    source = tmp_path / "posts.jsonl"
    source.write_text('{"text": "ok"}\nnot json\n')
    output = tmp_path / "scored.jsonl"
    assert _score(["-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])[0] == 0
    before = output.read_bytes(), Path(f"{output}.rejected.jsonl").read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline.data.io.os, "fsync", no_space)
    code, stderr = _score(["-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    _assert_one_error(code, stderr, "No space left on device")
    assert (output.read_bytes(), Path(f"{output}.rejected.jsonl").read_bytes()) == before
    assert _leftovers(tmp_path) == []
