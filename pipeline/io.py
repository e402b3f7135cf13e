"""Reading posts in bounded batches and writing results atomically.

Inputs are JSONL, CSV or Parquet files, chosen by extension, or a directory or glob of them. Every input
row ends up either in a :class:`PostBatch`'s ``rows`` or in its ``rejected`` list, with its file, line
number and a reason: nothing is dropped silently. A file that cannot be read at all (missing, no text
column, not Parquet) raises :class:`~pipeline.errors.InputError`.

Writers write to a temporary file beside the target and rename it into place when closed without error,
so a killed job never leaves a half-written file under the final name.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pipeline.errors import InputError

SUPPORTED_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
CORE_FIELDS = ("id", "text", "created_at", "brand")
MAX_REJECTED_RAW_CHARS = 2000
# Parquet column holding, as JSON, input columns first seen after the output schema was fixed.
EXTRA_COLUMNS = "extra_columns"


@dataclass
class Rejected:
    """One input row that could not be used, with where it was and why."""

    source: str
    line: int
    reason: str
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw
        if isinstance(raw, str) and len(raw) > MAX_REJECTED_RAW_CHARS:
            raw = raw[:MAX_REJECTED_RAW_CHARS] + "…"
        return {"source": self.source, "line": self.line, "reason": self.reason, "raw": raw}


@dataclass
class PostBatch:
    """Usable rows (each a dict with at least ``id`` and ``text``) and the rows rejected beside them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def n_read(self) -> int:
        return len(self.rows) + len(self.rejected)


def input_files(spec: str | Path) -> list[Path]:
    """Expand a file, directory or glob into the supported files it names, in a stable order."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        if not files:
            raise InputError(f"no .jsonl, .csv or .parquet files in directory {path}")
        return files
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        files = [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]
        if not files:
            raise InputError(f"no .jsonl, .csv or .parquet files match {text}")
        return files
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if not path.is_file():
        raise InputError(f"input is not a file: {path}")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"unsupported input format {path.suffix or '(none)'!r} for {path}: use .jsonl, .csv or .parquet"
        )
    return [path]


def derived_id(text: str, source: str, line: int) -> str:
    """A stable id for a row without one: content hash plus position, so duplicates stay distinct."""
    digest = hashlib.sha1(f"{Path(source).name}\x00{line}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"row-{digest[:16]}"


class _RowValidator:
    """Turns a raw record into a usable row or a rejection (shared by every format)."""

    def __init__(self, text_field: str, source: str) -> None:
        self.text_field = text_field
        self.source = source

    def __call__(self, record: Any, line: int, batch: PostBatch) -> None:
        if not isinstance(record, dict):
            batch.rejected.append(
                Rejected(self.source, line, f"row must be a JSON object, got {type(record).__name__}", record)
            )
            return
        if self.text_field not in record:
            batch.rejected.append(Rejected(self.source, line, f"no '{self.text_field}' field", record))
            return
        text = record[self.text_field]
        if text is None:
            batch.rejected.append(Rejected(self.source, line, f"'{self.text_field}' is null", record))
            return
        if not isinstance(text, str):
            batch.rejected.append(
                Rejected(self.source, line, f"'{self.text_field}' must be a string, got {type(text).__name__}", record)
            )
            return
        if _has_surrogates(text):
            batch.rejected.append(
                Rejected(self.source, line, "text has undecodable bytes (not UTF-8)", _printable(record))
            )
            return
        if not text.strip():
            batch.rejected.append(Rejected(self.source, line, "text is empty or whitespace only", record))
            return
        row = dict(record)
        if self.text_field != "text":
            row["text"] = row.pop(self.text_field)
        raw_id = row.get("id")
        if raw_id is None or (isinstance(raw_id, float) and math.isnan(raw_id)) or raw_id == "":
            row["id"] = derived_id(text, self.source, line)
        elif not isinstance(raw_id, str):
            row["id"] = str(raw_id)
        batch.rows.append(row)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if isinstance(v, str) else v
        for k, v in record.items()
    }


def read_posts(spec: str | Path, *, text_field: str = "text", batch_size: int = 5000) -> Iterator[PostBatch]:
    """Stream posts from a file, directory or glob in batches of at most ``batch_size`` read rows."""
    for path in input_files(spec):
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[kind]
        yield from reader(path, text_field, batch_size)


def count_rows(spec: str | Path) -> int | None:
    """Rows in the input, cheaply where possible (for progress bars); None if unknown."""
    total = 0
    for path in input_files(spec):
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        if kind == "parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        elif kind == "jsonl":
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            return None
    return total


def _read_jsonl(path: Path, text_field: str, batch_size: int) -> Iterator[PostBatch]:
    validate = _RowValidator(text_field, str(path))
    batch = PostBatch()
    with path.open("rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            if line_number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
                raw_line = raw_line[3:]
            if not raw_line.strip():
                continue  # blank lines are not rows
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raw = raw_line.decode("utf-8", "replace").rstrip("\r\n")
                batch.rejected.append(
                    Rejected(str(path), line_number, f"undecodable bytes (not UTF-8): {exc.reason}", raw)
                )
            else:
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    batch.rejected.append(Rejected(str(path), line_number, f"invalid JSON: {exc}", line.rstrip("\r\n")))
                else:
                    validate(record, line_number, batch)
            if batch.n_read >= batch_size:
                yield batch
                batch = PostBatch()
    if batch.n_read:
        yield batch


def _read_csv(path: Path, text_field: str, batch_size: int) -> Iterator[PostBatch]:
    validate = _RowValidator(text_field, str(path))
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # surrogateescape keeps undecodable bytes so that the row, not the file, is rejected.
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"cannot read CSV header of {path}: {exc}") from None
        if text_field not in header:
            shown = ", ".join(header[:8]) + ("…" if len(header) > 8 else "")
            raise InputError(f"{path} has no '{text_field}' column (columns: {shown}); use --text-field NAME")
        batch = PostBatch()
        while True:
            line_number = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                batch.rejected.append(Rejected(str(path), line_number, f"malformed CSV: {exc}"))
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != len(header):
                batch.rejected.append(
                    Rejected(
                        str(path),
                        line_number,
                        f"row has {len(values)} fields, header has {len(header)}",
                        _printable({"values": values})["values"],
                    )
                )
            else:
                record: dict[str, Any] = dict(zip(header, values))
                validate(record, line_number, batch)
            if batch.n_read >= batch_size:
                yield batch
                batch = PostBatch()
        if batch.n_read:
            yield batch


def _read_parquet(path: Path, text_field: str, batch_size: int) -> Iterator[PostBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read Parquet file {path}: {exc}") from None
    if text_field not in parquet.schema_arrow.names:
        raise InputError(f"{path} has no '{text_field}' column; use --text-field NAME")
    validate = _RowValidator(text_field, str(path))
    row_number = 0
    for record_batch in parquet.iter_batches(batch_size=batch_size):
        batch = PostBatch()
        for record in record_batch.to_pylist():
            row_number += 1
            validate(record, row_number, batch)
        yield batch


# -- writing ---------------------------------------------------------------------------------------------


def temporary_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")


class AtomicWriter:
    """A file opened under a temporary name and renamed over ``target`` on a clean close."""

    def __init__(self, target: str | Path, mode: str = "w") -> None:
        self.target = Path(target)
        self.mode = mode
        self.tmp = temporary_path(self.target)
        self.handle: IO[Any] | None = None

    def __enter__(self) -> IO[Any]:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            if "b" in self.mode:
                self.handle = open(self.tmp, self.mode)
            else:
                self.handle = open(self.tmp, self.mode, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise InputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        return self.handle

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.handle is not None
        try:
            if exc_type is None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
            self.handle.close()
            if exc_type is None:
                os.replace(self.tmp, self.target)
        except OSError as error:
            raise InputError(f"cannot write {self.target}: {error.strerror or error}") from None
        finally:
            if self.tmp.exists():
                self.tmp.unlink()


def write_text_atomic(target: str | Path, text: str) -> None:
    with AtomicWriter(target) as handle:
        handle.write(text)


def write_json_atomic(target: str | Path, obj: Any) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def output_kind(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    raise InputError(f"unsupported output format {suffix or '(none)'!r} for {path}: use .jsonl or .parquet")


def rejected_path(output: str | Path) -> Path:
    return Path(f"{output}.rejected.jsonl")


class RecordWriter:
    """Writes result records (dicts) as JSONL or Parquet, atomically; the schema is fixed by the first batch.

    In Parquet, carried-through columns that are not plain scalars are stored as JSON strings; a column
    whose type changes between batches is coerced to the first batch's type (strings hold anything); a
    column first seen after the first batch goes, as JSON, into ``extra_columns``. Nothing is dropped.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self.kind = output_kind(target)
        self._atomic = AtomicWriter(self.target, "wb")
        self._handle: IO[bytes] | None = None
        self._parquet: Any = None
        self._schema: Any = None
        self.n_written = 0

    def __enter__(self) -> RecordWriter:
        self._handle = self._atomic.__enter__()
        return self

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        assert self._handle is not None
        if self.kind == "jsonl":
            payload = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
            self._handle.write(payload.encode("utf-8"))
        else:
            self._write_parquet(records)
        self.n_written += len(records)

    def _write_parquet(self, records: Sequence[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        prepared = [{k: _parquet_value(v) for k, v in r.items()} for r in records]
        if self._schema is None:
            # Union of the first batch's keys (from_pylist alone would only look at the first row), plus a
            # catch-all for columns that first appear in a later batch.
            names = list(dict.fromkeys(k for r in prepared for k in r))
            names.append(EXTRA_COLUMNS)
            table = pa.Table.from_pylist([{k: r.get(k) for k in names} for r in prepared])
            # A column that is null throughout the first batch gets a string type rather than "null".
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._schema = pa.schema(fields)
            self._parquet = pq.ParquetWriter(self._handle, self._schema, compression="zstd")
        names = self._schema.names
        known = set(names)
        rows = []
        for r in prepared:
            late = {k: v for k, v in r.items() if k not in known}
            row = {k: r.get(k) for k in names}
            if late:  # kept, as JSON text, never dropped
                row[EXTRA_COLUMNS] = json.dumps(late, ensure_ascii=False, default=str)
            rows.append(row)
        try:
            table = pa.Table.from_pylist(rows, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            table = pa.Table.from_pylist(
                [{k: _coerce_to_schema(v, self._schema.field(k).type) for k, v in r.items()} for r in rows],
                schema=self._schema,
            )
        self._parquet.write_table(table)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
            elif self.kind == "parquet" and exc_type is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({"id": pa.array([], pa.string())}), self._handle)
        finally:
            self._atomic.__exit__(exc_type, exc, tb)


def _parquet_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dict) and not all(isinstance(v, (int, float)) for v in value.values()):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _coerce_to_schema(value: Any, arrow_type: Any) -> Any:
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if pa.types.is_floating(arrow_type):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if pa.types.is_integer(arrow_type):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    return value


class RejectedWriter:
    """Streams rejected rows to ``<output>.rejected.jsonl`` (atomically; a stale file from an earlier run
    is removed when this run rejects nothing)."""

    def __init__(self, output: str | Path) -> None:
        self.path = rejected_path(output)
        self.count = 0
        self._atomic: AtomicWriter | None = None
        self._handle: IO[Any] | None = None

    def add(self, rejected: Sequence[Rejected]) -> None:
        if not rejected:
            return
        if self._handle is None:
            self._atomic = AtomicWriter(self.path)
            self._handle = self._atomic.__enter__()
        for row in rejected:
            self._handle.write(json.dumps(row.to_dict(), ensure_ascii=False, default=str) + "\n")
        self.count += len(rejected)

    def close(self, failed: bool = False) -> Path | None:
        """Rename the file into place (or discard it when the job failed); returns its path if written."""
        if self._atomic is None:
            if not failed and self.path.exists():
                self.path.unlink()
            return None
        error = RuntimeError("job failed") if failed else None
        self._atomic.__exit__(type(error) if error else None, error, None)
        self._atomic = self._handle = None
        return None if failed else self.path
