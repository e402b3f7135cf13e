"""Reading posts in bounded batches and writing results atomically.

Inputs are JSONL, CSV or Parquet files, chosen by extension, or a directory or glob of them. Every input
row ends up either in a :class:`PostBatch`'s ``rows`` or in its ``rejected`` list, with its file, line
number and a reason: nothing is dropped silently. A file that cannot be read at all (missing, no text
column, not Parquet) raises :class:`~pipeline.errors.InputError`.

Writers write to a temporary file beside the target and rename it into place when closed without error,
so a killed job never leaves a half-written file under the final name.
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import io
import json
import math
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
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

# Limits on a single row. Every reader checks them while reading, before a row is held whole in memory.
# A physical line (JSONL) or one CSV record longer than this many bytes is rejected, not loaded; override
# with $VOC_MAX_LINE_BYTES. The default is far above any real post (a 10 MB post is still scored).
MAX_LINE_BYTES = 50 * 2**20
# A quoted CSV field that runs over more physical lines than this is taken for a quote left open.
MAX_CSV_RECORD_LINES = 10_000
# Marks an undecodable byte b as the lone surrogate U+DC00+b (as surrogateescape does, but for every byte,
# which UTF-16 errors need), so that the row holding it, not the whole file, is rejected.
_UNDECODABLE = "voc-undecodable"
# Byte-order marks, longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
NOT_UTF8_HINT = "convert Latin-1/Windows-1252 exports to UTF-8 first, e.g. iconv -f latin1 -t utf-8"
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_UNDECODABLE, _mark_undecodable)


def max_line_bytes() -> int:
    """The per-row byte limit: ``$VOC_MAX_LINE_BYTES`` if set to a positive integer, else MAX_LINE_BYTES."""
    env = os.environ.get("VOC_MAX_LINE_BYTES", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise InputError(f"VOC_MAX_LINE_BYTES must be a positive integer, got {env!r}") from None
        if value <= 0:
            raise InputError(f"VOC_MAX_LINE_BYTES must be a positive integer, got {env!r}")
        return value
    return MAX_LINE_BYTES


def sniff_encoding(path: Path) -> tuple[str, int]:
    """(encoding, length of its byte-order mark) from the file's first bytes; UTF-8 when there is no BOM."""
    with path.open("rb") as handle:
        head = handle.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    return "utf-8", 0


def _open_text(path: Path, encoding: str, bom: int, newline: str) -> IO[str]:
    handle = path.open("rb")
    handle.seek(bom)
    return io.TextIOWrapper(handle, encoding=encoding, errors=_UNDECODABLE, newline=newline)


@dataclass
class Rejected:
    """One input row that could not be used, with where it was and why."""

    source: str
    line: int
    reason: str
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        raw = _shorten(self.raw)
        return {"source": self.source, "line": self.line, "reason": self.reason, "raw": raw}


def _shorten(raw: Any) -> Any:
    """The raw row as it goes into the rejected file: long strings cut, undecodable bytes shown as U+FFFD."""
    if isinstance(raw, str):
        return _printable(raw[:MAX_REJECTED_RAW_CHARS] + "…" if len(raw) > MAX_REJECTED_RAW_CHARS else raw)
    if isinstance(raw, dict):
        return {_printable(str(k)): _shorten(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_shorten(v) for v in raw]
    return raw


@dataclass
class PostBatch:
    """Usable rows (each a dict with at least ``id`` and ``text``) and the rows rejected beside them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def n_read(self) -> int:
        return len(self.rows) + len(self.rejected)


# What a reader takes: a file, a directory or a glob, or the files that :func:`input_files` resolved already.
InputSpec = str | Path | Sequence[Path]


def input_files(spec: InputSpec) -> list[Path]:
    """Expand a file, directory or glob into the supported files it names, in a stable order.

    A list (or tuple) of paths is taken as resolved already and returned as it is: a job that resolves its
    input once passes the list on, so that the directory or glob is read once per run.
    """
    if isinstance(spec, (list, tuple)):
        return [Path(p) for p in spec]
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

    def __init__(self, text_field: str, source: str, encoding: str = "utf-8") -> None:
        self.text_field = text_field
        self.source = source
        self.encoding = encoding

    def __call__(self, record: Any, line: int, batch: PostBatch, valid_utf8: bool = False) -> None:
        """Append ``record`` to ``batch.rows`` or a rejection to ``batch.rejected``.

        ``valid_utf8``: the parser guarantees every string is valid Unicode (orjson rejects lone
        surrogates), so the per-field check is skipped.
        """
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
        bad_field = None if valid_utf8 else _field_with_surrogates(record)
        if bad_field is not None:
            # Lone surrogates cannot be written as UTF-8: the row would crash the writer, or be altered.
            hint = f"; {NOT_UTF8_HINT}" if self.encoding == "utf-8" else ""
            batch.rejected.append(
                Rejected(
                    self.source,
                    line,
                    f"'{bad_field}' has undecodable bytes (not valid {self.encoding.upper()}){hint}",
                    record,
                )
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


def _field_with_surrogates(record: dict[str, Any]) -> str | None:
    """The first field (key or value, nested values included) that cannot be encoded as UTF-8, else None."""
    for key, value in record.items():
        if isinstance(value, str):
            if _has_surrogates(value):
                return key
        elif isinstance(value, (dict, list)) and _has_surrogates(json.dumps(value, ensure_ascii=False, default=str)):
            return key
        if _has_surrogates(key):
            return _SURROGATE_RE.sub("\ufffd", key)
    return None


def _printable(value: Any) -> Any:
    """``value`` with lone surrogates (undecodable bytes) shown as U+FFFD, so it can be written as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    return value


def read_posts(spec: InputSpec, *, text_field: str = "text", batch_size: int = 5000) -> Iterator[PostBatch]:
    """Stream posts from a file, directory or glob in batches of at most ``batch_size`` read rows."""
    for path in input_files(spec):
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[kind]
        try:
            yield from reader(path, text_field, batch_size)
        except OSError as exc:  # e.g. a file that vanished or a disk error while reading
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def count_rows(spec: InputSpec) -> int | None:
    """Rows in the input, cheaply where possible (for progress bars); None if unknown.

    JSONL counts newlines in fixed-size chunks: an approximation (blank lines count) in bounded memory,
    whatever the length of a line.
    """
    total = 0
    for path in input_files(spec):
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        if kind == "parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        elif kind == "jsonl":
            last = b"\n"
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    total += chunk.count(b"\n")
                    last = chunk[-1:]
            total += last != b"\n"
        else:
            return None
    return total


@dataclass
class _Line:
    """One physical line: its number, its text without the line ending, or why it cannot be used."""

    number: int
    text: str = ""
    error: str | None = None


def _skip_rest_of_line(handle: IO[Any], chunk: int = 1 << 20) -> None:
    newline = b"\n" if "b" in getattr(handle, "mode", "rb") and not isinstance(handle, io.TextIOBase) else "\n"
    while True:
        piece = handle.readline(chunk)
        if not piece or piece.endswith(newline):
            return


def _jsonl_lines(path: Path, limit: int) -> Iterator[_Line]:
    """Physical lines of a UTF-16/32 JSONL file, each read with a size cap so that one huge line cannot
    exhaust memory (UTF-8 files go through :func:`_raw_jsonl_batches`)."""
    encoding, bom = sniff_encoding(path)
    too_long = f"line longer than {limit:,} bytes (the per-row limit; see VOC_MAX_LINE_BYTES)"
    number = 0
    # UTF-16/32 (by BOM): decoded as text; a limit in characters bounds memory as well (4 bytes each at most).
    with _open_text(path, encoding, bom, newline="\n") as text_handle:
        while True:
            line = text_handle.readline(limit + 1)
            if not line:
                return
            number += 1
            if len(line) > limit and not line.endswith("\n"):
                _skip_rest_of_line(text_handle)
                yield _Line(number, error=too_long)
                continue
            line = line.rstrip("\r\n")
            if _has_surrogates(line) and "\\u" not in line:  # escapes are checked per field after parsing
                yield _Line(number, _printable(line), f"undecodable bytes (not valid {encoding.upper()})")
            else:
                yield _Line(number, line)


@dataclass
class RawJsonlBatch:
    """Lines of a UTF-8 JSONL file read but not parsed yet, so that the parsing can run where the scoring
    does (a worker process) rather than in the process that reads: ``parse`` gives the same
    :class:`PostBatch` as :func:`read_posts`. Each line is (number, bytes, None) or (number, None, error)."""

    source: str
    lines: list[tuple[int, bytes | None, str | None]] = field(default_factory=list)

    @property
    def n_read(self) -> int:
        return len(self.lines)

    def parse(self, text_field: str = "text") -> PostBatch:
        validate = _RowValidator(text_field, self.source, "utf-8")
        batch = PostBatch()
        fast_loads = _fast_json_loads()
        for number, raw, error in self.lines:
            if raw is None:
                batch.rejected.append(Rejected(self.source, number, error or "unreadable line", None))
                continue
            if fast_loads is not None:
                try:
                    record = fast_loads(raw)
                except ValueError:
                    pass  # invalid JSON, invalid UTF-8, NaN, huge integers...: the standard parser decides
                else:
                    validate(record, number, batch, valid_utf8=True)
                    continue
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                shown = raw[:MAX_REJECTED_RAW_CHARS].decode("utf-8", "replace").rstrip("\r\n")
                reason = f"undecodable bytes (not UTF-8: {exc.reason}); {NOT_UTF8_HINT}"
                batch.rejected.append(Rejected(self.source, number, reason, shown))
                continue
            if text.strip():  # blank lines are not rows
                _parse_json_line(text, number, self.source, validate, batch)
        return batch


def _fast_json_loads() -> Callable[[bytes], Any] | None:
    """orjson's ``loads`` (several times faster than ``json.loads``, and strict), or None if not installed."""
    try:
        import orjson
    except ImportError:
        return None
    loads: Callable[[bytes], Any] = orjson.loads
    return loads


def _parse_json_line(text: str, number: int, source: str, validate: _RowValidator, batch: PostBatch) -> None:
    try:
        record = json.loads(text)
    except ValueError as exc:
        batch.rejected.append(Rejected(source, number, f"invalid JSON: {exc}", text))
    except RecursionError:
        batch.rejected.append(Rejected(source, number, "invalid JSON: nested too deeply", text[:200]))
    else:
        validate(record, number, batch)


def _raw_jsonl_batches(path: Path, batch_size: int) -> Iterator[RawJsonlBatch]:
    """Unparsed batches of a UTF-8 JSONL file (blank lines skipped), each line read with the size cap."""
    _, bom = sniff_encoding(path)
    limit = max_line_bytes()
    too_long = f"line longer than {limit:,} bytes (the per-row limit; see VOC_MAX_LINE_BYTES)"
    batch = RawJsonlBatch(str(path))
    number = 0
    with path.open("rb") as handle:
        handle.seek(bom)
        readline = handle.readline
        lines = batch.lines
        while True:
            raw = readline(limit + 1)
            if not raw:
                break
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                _skip_rest_of_line(handle)
                lines.append((number, None, too_long))
            elif raw.isspace():
                continue  # blank (ASCII whitespace only): not a row; other blank lines are skipped by parse
            else:
                lines.append((number, raw, None))
            if len(lines) >= batch_size:
                yield batch
                batch = RawJsonlBatch(str(path))
                lines = batch.lines
    if batch.lines:
        yield batch


def _read_jsonl(path: Path, text_field: str, batch_size: int) -> Iterator[PostBatch]:
    encoding, _ = sniff_encoding(path)
    if encoding == "utf-8":
        for raw in _raw_jsonl_batches(path, batch_size):
            yield raw.parse(text_field)
        return
    validate = _RowValidator(text_field, str(path), encoding)
    batch = PostBatch()
    for line in _jsonl_lines(path, max_line_bytes()):
        if line.error is not None:
            batch.rejected.append(Rejected(str(path), line.number, line.error, line.text or None))
        elif not line.text.strip():
            continue  # blank lines are not rows
        else:
            _parse_json_line(line.text, line.number, str(path), validate, batch)
        if batch.n_read >= batch_size:
            yield batch
            batch = PostBatch()
    if batch.n_read:
        yield batch


def read_batches(
    spec: InputSpec, *, text_field: str = "text", batch_size: int = 5000
) -> Iterator[PostBatch | RawJsonlBatch]:
    """Like :func:`read_posts`, but UTF-8 JSONL comes as :class:`RawJsonlBatch` to be parsed by the
    consumer (``batch.parse(text_field)``); a batch may then hold fewer rows than it read lines when some
    lines turn out blank."""
    for path in input_files(spec):
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        try:
            if kind == "jsonl" and sniff_encoding(path)[0] == "utf-8":
                yield from _raw_jsonl_batches(path, batch_size)
            else:
                reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[kind]
                yield from reader(path, text_field, batch_size)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


# Appended after the last line of a CSV file: a record that contains it was still inside quotes at the end
# of the file. U+FDD0 is a Unicode noncharacter, which no real export contains.
_CSV_EOF = "\ufdd0voc-end-of-file\ufdd0"


class _CsvRecordTooLong(Exception):
    pass


class _CsvLineTooLong(Exception):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


class _CsvLines:
    """Feeds ``csv.reader`` physical lines and remembers those of the record being parsed.

    The csv module, given a quote left open, reads on to the end of the file and returns everything as one
    field. To account for every line, a record that goes wrong (open at the end of the file, too long,
    wrong number of fields over several lines) is rejected at its first line and its other lines are read
    again as rows of their own: a fresh reader gets them from :attr:`replay`.
    """

    def __init__(self, handle: IO[str], limit: int) -> None:
        self.handle = handle
        self.limit = limit
        self.number = 0
        self.pending: list[tuple[int, str]] = []
        self.pending_chars = 0
        self.replay: deque[tuple[int, str]] = deque()
        self.exhausted = False

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self.replay:
            item = self.replay.popleft()
        elif self.exhausted:
            raise StopIteration
        else:
            line = self.handle.readline(self.limit + 1)
            if not line:
                self.exhausted = True
                item = (0, _CSV_EOF + "\n")
            else:
                self.number += 1
                if len(line) > self.limit and not line.endswith(("\n", "\r")):
                    _skip_rest_of_line(self.handle)
                    raise _CsvLineTooLong(self.number)
                if not line.endswith(("\n", "\r")):
                    line += "\n"  # the last line without a newline: the end-of-file mark must start a line
                item = (self.number, line)
        self.pending.append(item)
        self.pending_chars += len(item[1])
        if len(self.pending) > MAX_CSV_RECORD_LINES or self.pending_chars > self.limit:
            raise _CsvRecordTooLong
        return item[1]

    def start_record(self) -> None:
        self.pending = []
        self.pending_chars = 0

    def give_back(self) -> int:
        """Forget the current record but its first line, queue the rest to be read again; its line number."""
        first = self.pending[0][0] if self.pending else self.number
        self.replay.extendleft(reversed(self.pending[1:]))
        self.start_record()
        return first

    @property
    def first_line(self) -> int:
        return self.pending[0][0] if self.pending else self.number

    @property
    def last_line(self) -> int:
        numbers = [n for n, _ in self.pending if n]
        return numbers[-1] if numbers else self.number


class _CsvRecords:
    """(first line number, field values or None, reason when rejected, raw first line) per CSV record.

    ``n_fields`` (set once the header is read) lets a record of the wrong width that spans several lines,
    the mark of a stray quote, be rejected at its first line and its other lines be read again.
    """

    def __init__(self, lines: _CsvLines) -> None:
        self.lines = lines
        self.reader = csv.reader(lines)
        self.n_fields: int | None = None

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str | None, str | None]]:
        lines = self.lines
        while True:
            lines.start_record()
            try:
                values = next(self.reader)
            except StopIteration:
                return
            except _CsvLineTooLong as exc:
                # The partial record before the long line (if any) is read again after it.
                lines.replay.extendleft(reversed(lines.pending))
                lines.start_record()
                self.reader = csv.reader(lines)
                yield exc.number, None, f"line longer than {lines.limit:,} bytes (the per-row limit)", None
                continue
            except _CsvRecordTooLong:
                yield self._reject(
                    f"quote left open: the field opened on line {{first}} runs over {MAX_CSV_RECORD_LINES:,} "
                    f"lines or {lines.limit:,} bytes; the lines after it are read again as rows"
                )
                continue
            except csv.Error as exc:
                yield self._reject(f"malformed CSV: {exc}")
                continue
            if values == [_CSV_EOF]:
                return
            if any(_CSV_EOF in v for v in values):
                again = "; the lines after it are read again as rows" if len(lines.pending) > 2 else ""
                yield self._reject(
                    f"quote left open: the field opened on line {{first}} runs to the end of the file{again}"
                )
                continue
            first = lines.first_line
            if self.n_fields is not None and len(values) != self.n_fields and lines.last_line > first and values:
                yield self._reject(
                    f"row has {len(values)} fields, header has {self.n_fields} (a quote on line {{first}} joined "
                    "the lines after it, which are read again as rows)"
                )
                continue
            yield first, values, None, None

    def _reject(self, reason: str) -> tuple[int, None, str, str | None]:
        raw = self.lines.pending[0][1].rstrip("\r\n") if self.lines.pending else None
        first = self.lines.give_back()
        self.reader = csv.reader(self.lines)
        return first, None, reason.replace("{first}", str(first)), raw


def _unique_header(header: list[str], path: Path, text_field: str) -> list[str]:
    """Column names made unique (``name``, ``name.2``, ...) so a repeated column does not overwrite another."""
    if header.count(text_field) > 1:
        raise InputError(f"{path} has {header.count(text_field)} '{text_field}' columns; which one is the text?")
    seen: dict[str, int] = {}
    unique = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return unique


def _read_csv(path: Path, text_field: str, batch_size: int) -> Iterator[PostBatch]:
    encoding, bom = sniff_encoding(path)
    validate = _RowValidator(text_field, str(path), encoding)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # the per-record limit is enforced by _CsvLines
    with _open_text(path, encoding, bom, newline="") as handle:
        records = _CsvRecords(_CsvLines(handle, max_line_bytes()))
        rows = iter(records)
        for number, values, reason, _ in rows:
            if values is None:
                raise InputError(
                    f"cannot read the CSV header of {path} (line {number}): {(reason or '').split(';')[0]}"
                )
            if values and (len(values) > 1 or values[0].strip()):
                header = [_printable(v) for v in values]
                break
        else:
            return  # an empty file: no rows
        if text_field not in header:
            shown = ", ".join(header[:8]) + ("…" if len(header) > 8 else "")
            raise InputError(f"{path} has no '{text_field}' column (columns: {shown}); use --text-field NAME")
        header = _unique_header(header, path, text_field)
        records.n_fields = len(header)
        batch = PostBatch()
        for number, values, reason, raw in rows:
            if values is None:
                batch.rejected.append(Rejected(str(path), number, reason or "malformed CSV", _printable(raw)))
            elif not values or (len(values) == 1 and not values[0].strip()):
                continue  # blank lines are not rows
            elif len(values) != len(header):
                batch.rejected.append(
                    Rejected(
                        str(path), number, f"row has {len(values)} fields, header has {len(header)}", _printable(values)
                    )
                )
            else:
                validate(dict(zip(header, values)), number, batch)
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

    def __init__(self, target: str | Path, *, schema: Any = None) -> None:
        self.target = Path(target)
        self.kind = output_kind(target)
        self._atomic = AtomicWriter(self.target, "wb")
        self._handle: IO[bytes] | None = None
        self._parquet: Any = None
        # A preset Parquet schema (pyarrow.Schema): the shards of one `voc score` job share the first's.
        self._schema: Any = schema
        self.n_written = 0
        self._digest = hashlib.sha256() if self.kind == "jsonl" else None

    @property
    def sha256(self) -> str | None:
        """``sha256:<hex>`` of the bytes written (JSONL; None for Parquet, whose writer adds a footer)."""
        return None if self._digest is None else "sha256:" + self._digest.hexdigest()

    @property
    def schema(self) -> Any:
        """The Parquet schema in use (None until the first batch fixes it, and for JSONL)."""
        return self._schema

    def __enter__(self) -> RecordWriter:
        self._handle = self._atomic.__enter__()
        return self

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        assert self._handle is not None
        try:
            if self.kind == "jsonl":
                payload = jsonl_bytes(records)
                self._handle.write(payload)
                assert self._digest is not None
                self._digest.update(payload)
            else:
                self._write_parquet(records)
        except OSError as exc:  # a full disk, a quota, an I/O error: the user's to fix, not a crash
            raise InputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
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
        if self._parquet is None:
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


def _json_default(value: Any) -> Any:
    """How values JSON has no type for are written: numpy scalars as numbers, anything else as text."""
    if type(value).__module__ == "numpy":
        tolist = getattr(value, "tolist", None)  # scalars give a number, arrays a list
        if tolist is not None:
            return tolist()
    return str(value)


def _json_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, default=_json_default, separators=(",", ":")).encode() + b"\n"


def jsonl_bytes(records: Sequence[dict[str, Any]]) -> bytes:
    """Records as compact JSON lines in UTF-8; orjson when installed (several times faster), else ``json``.

    Values JSON has no type for are written by :func:`_json_default` either way (datetimes as ``str``, so
    the two agree); a record orjson refuses (an integer beyond 64 bits) is written by ``json``.
    """
    try:
        import orjson
    except ImportError:
        return b"".join(_json_line(r) for r in records)
    dumps = orjson.dumps
    option = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    try:
        return b"".join([dumps(r, default=_json_default, option=option) for r in records])
    except TypeError:
        out = []
        for r in records:
            try:
                out.append(dumps(r, default=_json_default, option=option))
            except TypeError:
                out.append(_json_line(r))
        return b"".join(out)


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
        try:
            for row in rejected:
                self._handle.write(json.dumps(row.to_dict(), ensure_ascii=False, default=str) + "\n")
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
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


def sha256_file(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes, read in 1 MiB chunks: what bundles, job manifests and data records hold."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def file_fingerprint(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes (the same digest bundles record), as a user error if unreadable."""
    try:
        return sha256_file(Path(path))
    except FileNotFoundError:
        raise InputError(f"cannot fingerprint {path}: file not found") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
