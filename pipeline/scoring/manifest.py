"""Shards, manifest and lock of a resumable ``voc score`` job.

A job writing ``OUT`` keeps its work in ``OUT.parts/``: one shard per input batch (``part-000123.jsonl``
or ``.parquet``, plus ``part-000123.rejected.jsonl`` when the batch had rejected rows) and
``manifest.json``, rewritten atomically after every shard. The manifest records what the shards were
computed from (input files with sizes and mtimes, the model bundle's and taxonomy's hashes, the settings
that change the bytes written) and each completed shard's row counts and SHA-256. A rerun with
``--resume`` checks the fingerprint, keeps the shards whose hashes still match, and scores only the rest.

Batches are cut from the input deterministically (by ``batch_size`` rows read), and scoring a batch does
not depend on what ran before it in the process, so a resumed job produces the same shards, hence the
same final output, as an uninterrupted one.

``OUT.lock`` is held (``fcntl.flock``) for the whole job, so two jobs writing the same output cannot
interleave their shards; the second is refused at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pipeline.data.io import InputSpec, input_files, sha256_file, write_json_atomic
from pipeline.errors import InputError

MANIFEST_VERSION = 1


def parts_dir(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def lock_path(output: Path) -> Path:
    return output.with_name(output.name + ".lock")


def directory_hash(directory: Path) -> str:
    """SHA-256 over the relative paths and contents of every file under ``directory`` (sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(path).encode("ascii") + b"\0")
    return "sha256:" + digest.hexdigest()


def input_fingerprint(spec: InputSpec) -> list[dict[str, Any]]:
    """Path, size and mtime of every input file: cheap, and changes whenever a file is rewritten."""
    out = []
    for path in input_files(spec):
        stat = path.stat()
        out.append({"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return out


class OutputLock:
    """An exclusive, non-blocking ``flock`` on ``<output>.lock`` for the duration of a job."""

    def __init__(self, output: Path) -> None:
        self.path = lock_path(output)
        self._handle: IO[str] | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # held, locked, until __exit__
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise InputError(
                f"another job is writing {self.path.with_suffix('')} (lock {self.path} is held); "
                "wait for it to finish or choose another --output"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is None:
            return
        # Tidy up. Unlinking before unlocking: a job that opened the old file in the meantime gets the
        # lock on an orphaned inode only after this job has stopped writing (the shards are safe either way).
        self.path.unlink(missing_ok=True)
        self._handle.close()  # releases the lock
        self._handle = None


@dataclass
class ShardRecord:
    """One completed shard: which batch, its counts, and the hashes of its files."""

    index: int
    rows_read: int
    scored: int
    rejected: int
    truncated: int
    intent_counts: dict[str, int]
    sha256: str | None  # None when the batch had no scored rows (no part file)
    rejected_sha256: str | None
    # The shard's class-mix inputs (groups and probabilities; None when the job does not estimate mixes)
    # and how many of its rows had a value in the grouping column.
    mix_sha256: str | None = None
    mix_grouped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Manifest:
    """The state of a sharded job, saved as ``manifest.json`` in the parts directory."""

    fingerprint: dict[str, Any]
    shards: dict[int, ShardRecord] = field(default_factory=dict)
    # The first shard with scored rows fixes the Parquet schema of every later shard.
    schema_shard: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "schema_shard": self.schema_shard,
            "shards": [self.shards[i].to_dict() for i in sorted(self.shards)],
        }

    def save(self, directory: Path) -> None:
        write_json_atomic(directory / "manifest.json", self.to_dict())

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """The saved manifest, or None when there is none or it is unreadable (then the job starts over)."""
        try:
            data = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            if data.get("version") != MANIFEST_VERSION:
                return None
            shards = {int(s["index"]): ShardRecord(**s) for s in data["shards"]}
            return cls(fingerprint=data["fingerprint"], shards=shards, schema_shard=data.get("schema_shard"))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def fingerprint_difference(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """A short description of what changed between two fingerprints, or None when they match."""
    labels = {
        "inputs": "the input files changed",
        "model": "the model bundle changed",
        "taxonomy": "the taxonomy changed",
    }
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            return labels.get(key, f"the setting '{key}' changed ({saved.get(key)!r} -> {current.get(key)!r})")
    return None
