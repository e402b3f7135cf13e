"""Malformed inputs, generated here and run through the CLI for real (issue 6).

Each input gives scored rows, rejected rows with a reason, or one ``error:`` line with exit 2; never a
traceback, a hang or a silently missing row. Every case asserts the counts: scored + rejected = rows read,
and, where rows are physical lines, = the data lines of the file. docs/failure-modes.md tabulates them.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """One bad input: a file name, its bytes, and what the pipeline must do with it."""

    name: str
    filename: str
    make: Callable[[], bytes]
    scored: int
    rejected: int
    reasons: tuple[str, ...] = ()  # substrings expected among the rejection reasons
    physical_rows: int | None = None  # data lines of the file, when each is one row


def _jsonl(*rows: object) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows).encode()


def _garbage(n: int = 200_000) -> bytes:
    return random.Random(6).randbytes(n)


def _garbage_lines() -> int:
    return sum(1 for line in _garbage().split(b"\n") if line.strip())


def _parquet(table: pa.Table) -> Callable[[], bytes]:
    def make() -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return bytes(sink.getvalue().to_pybytes())

    return make


TIMESTAMPS = [
    "2024-03-01T12:30:00Z",
    "2024-03-01T12:30:00+02:00",
    "2024-03-01 12:30",
    "2024-03-01",
    "01/03/2024 12:30",
    "Fri Mar 01 12:30:00 +0000 2024",
    1709296200,
    "yesterday",
    None,
]

CASES = [
    Case(
        "truncated JSON line",
        "posts.jsonl",
        lambda: _jsonl({"text": "my bag never arrived"}, '{"text": "cut off in the mi', {"text": "thanks!"}),
        2,
        1,
        ("invalid JSON",),
        3,
    ),
    Case(
        "invalid JSON lines",
        "posts.jsonl",
        lambda: _jsonl("not json", "{'text': 'single quotes'}", '{text: "x"}', "[1, 2]", '"a string"', {"text": "ok"}),
        1,
        5,
        ("invalid JSON", "must be a JSON object, got list", "must be a JSON object, got str"),
        6,
    ),
    Case(
        "JSON nested 100,000 deep",
        "posts.jsonl",
        lambda: _jsonl("[" * 100_000, {"text": "ok"}),
        1,
        1,
        ("nested too deeply",),
        2,
    ),
    Case(
        "CSV with ragged rows",
        "posts.csv",
        lambda: b"id,text,brand\n1,my bag never arrived,A\n2,short\n3,too,many,fields\n4,thanks,B\n",
        2,
        2,
        ("row has 2 fields, header has 3", "row has 4 fields, header has 3"),
        4,
    ),
    Case(
        "CSV quote left open to end of file",
        "posts.csv",
        lambda: b'id,text\n1,fine\n2,"never closed\n3,after it\n4,after it too\n',
        3,
        1,
        ("quote left open: the field opened on line 3 runs to the end of the file",),
        4,
    ),
    Case(
        "CSV quote left open, closed rows later",
        "posts.csv",
        lambda: b'id,text\n1,"opens\n2,swallowed\n3,"closes",y\n4,ok\n',
        2,
        2,
        ("joined the lines after it",),
        4,
    ),
    Case(
        "CSV quoted multi-line post (valid)",
        "posts.csv",
        lambda: b'id,text\n1,"line one\nline two"\n2,ok\n',
        2,
        0,
    ),
    Case(
        "Latin-1 CSV",
        "posts.csv",
        lambda: "id,text\n1,café crème froid\n2,plain ascii post\n".encode("latin-1"),
        1,
        1,
        ("not valid UTF-8", "iconv"),
        2,
    ),
    Case(
        "Latin-1 JSONL",
        "posts.jsonl",
        lambda: _jsonl({"text": "plain ascii"}) + '{"text": "café"}\n'.encode("latin-1"),
        1,
        1,
        ("not UTF-8", "iconv"),
        2,
    ),
    Case(
        "UTF-16 CSV (BOM)",
        "posts.csv",
        lambda: codecs.BOM_UTF16_LE + "id,text\n1,café שלום\n2,ok\n".encode("utf-16-le"),
        2,
        0,
        (),
        2,
    ),
    Case(
        "UTF-16 JSONL (BOM, big-endian)",
        "posts.jsonl",
        lambda: codecs.BOM_UTF16_BE + '{"text": "café"}\n{"text": "ok"}\n'.encode("utf-16-be"),
        2,
        0,
        (),
        2,
    ),
    Case(
        "UTF-8 BOM CSV",
        "posts.csv",
        lambda: codecs.BOM_UTF8 + b"id,text\n7,hello\n",
        1,
        0,
        (),
        1,
    ),
    Case(
        "UTF-8 BOM JSONL",
        "posts.jsonl",
        lambda: codecs.BOM_UTF8 + _jsonl({"id": "7", "text": "hello"}),
        1,
        0,
        (),
        1,
    ),
    Case(
        "NUL bytes",
        "posts.jsonl",
        lambda: _jsonl({"text": "nul \u0000 inside"}) + b'{"text": "raw"}\x00\n',
        1,
        1,
        ("invalid JSON",),
        2,
    ),
    Case("NUL bytes in CSV", "posts.csv", lambda: b"id,text\n1,a\x00b\n", 1, 0, (), 1),
    Case(
        "binary garbage .jsonl",
        "posts.jsonl",
        _garbage,
        0,
        _garbage_lines(),
        ("not UTF-8",),
        _garbage_lines(),
    ),
    Case("empty .jsonl", "posts.jsonl", lambda: b"", 0, 0, (), 0),
    Case("empty .csv", "posts.csv", lambda: b"", 0, 0, (), 0),
    Case("CSV header only", "posts.csv", lambda: b"id,text,brand\n", 0, 0, (), 0),
    Case("blank lines only", "posts.jsonl", lambda: b"\n\n   \n\r\n", 0, 0, (), 0),
    Case(
        "missing, null and non-string text",
        "posts.jsonl",
        lambda: _jsonl(
            {"id": 1},
            {"text": None},
            {"text": 42},
            {"text": 4.2},
            {"text": ["a", "list"]},
            {"text": {"a": 1}},
            {"text": True},
            {"text": "fine"},
        ),
        1,
        7,
        ("no 'text' field", "is null", "got int", "got float", "got list", "got dict", "got bool"),
        8,
    ),
    Case(
        "emoji-only, whitespace-only, invisible-only",
        "posts.jsonl",
        lambda: _jsonl(
            {"text": "😡😡😡"}, {"text": "✈️👍🏽"}, {"text": " \t\n "}, {"text": ""}, {"text": "\u200b\u2060"}
        ),
        3,
        2,
        ("empty or whitespace only",),
        5,
    ),
    Case(
        "right-to-left and mixed scripts",
        "posts.jsonl",
        lambda: _jsonl(
            {"text": "الرحلة تأخرت ثلاث ساعات"},
            {"text": "המזוודה שלי לא הגיעה"},
            {"text": "Mi vuelo 航班 рейс ✈️ رحلة delayed"},
            {"text": "\u202eevila ma I\u202c"},
        ),
        4,
        0,
        (),
        4,
    ),
    Case(
        "duplicated ids",
        "posts.jsonl",
        lambda: _jsonl({"id": "dup", "text": "my bag never arrived"}, {"id": "dup", "text": "my bag never arrived"}),
        2,
        0,
        (),
        2,
    ),
    Case(
        "timestamps in several formats and none",
        "posts.jsonl",
        lambda: _jsonl(
            *({"text": f"post {i}", "created_at": ts} for i, ts in enumerate(TIMESTAMPS)), {"text": "no ts"}
        ),
        len(TIMESTAMPS) + 1,
        0,
        (),
        len(TIMESTAMPS) + 1,
    ),
    Case(
        "undecodable escapes in another field",
        "posts.jsonl",
        lambda: b'{"text": "ok", "brand": "\\udc80"}\n{"text": "\\ud800 lone"}\n',
        0,
        2,
        ("'brand' has undecodable bytes", "'text' has undecodable bytes"),
        2,
    ),
    Case(
        "CSV with a repeated non-text column",
        "posts.csv",
        lambda: b"id,text,brand,brand\n1,hello,A,B\n",
        1,
        0,
        (),
        1,
    ),
    Case(
        "Parquet with null and non-string text",
        "posts.parquet",
        _parquet(pa.table({"text": ["ok", None, "fine"], "n": [1, 2, 3]})),
        2,
        1,
        ("is null",),
        3,
    ),
    Case(
        "Parquet with an integer text column",
        "posts.parquet",
        _parquet(pa.table({"text": [1, 2]})),
        0,
        2,
        ("must be a string, got int",),
        2,
    ),
]

ERROR_CASES = [
    ("binary garbage .csv", "posts.csv", _garbage, "no 'text' column"),
    ("binary garbage .parquet", "posts.parquet", _garbage, "cannot read Parquet"),
    ("empty .parquet", "posts.parquet", lambda: b"", "cannot read Parquet"),
    ("CSV without a text column", "posts.csv", lambda: b"id,body\n1,hello\n", "no 'text' column"),
    ("CSV with two text columns", "posts.csv", lambda: b"id,text,text\n1,a,b\n", "2 'text' columns"),
    ("CSV header with a quote left open", "posts.csv", lambda: b'id,"text\n1,a\n', "cannot read the CSV header"),
    ("unsupported extension", "posts.txt", lambda: b"hello\n", "unsupported input format"),
]


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    # split on "\n" only: str.splitlines() also splits on U+2028 and U+0085, which JSON leaves unescaped.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", ["score", "predict"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_scored_or_rejected(case: Case, command: str, tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / case.filename
    source.write_bytes(case.make())
    output = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(
        [command, "--input", str(source), "--output", str(output), "--model", str(tiny_bundle_dir)]
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    scored = _read_jsonl(output)
    rejected = _read_jsonl(Path(f"{output}.rejected.jsonl"))
    assert (len(scored), len(rejected)) == (case.scored, case.rejected)
    read = case.scored + case.rejected
    assert f"read {read:,} rows: {case.scored:,} scored" in stderr
    if case.physical_rows is not None:
        assert read == case.physical_rows
    reasons = " | ".join(r["reason"] for r in rejected)
    for expected in case.reasons:
        assert expected in reasons
    for row in rejected:
        assert isinstance(row["line"], int) and row["line"] >= 1 and row["reason"]
    # Rejected rows name distinct lines: none is counted twice.
    assert len({r["line"] for r in rejected}) == len(rejected)


def test_open_quote_rejects_one_line_and_rescores_the_rest(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_bytes(b'id,text\n1,fine\n2,"never closed\n3,after it\n4,after it too\n')
    output = tmp_path / "out.jsonl"
    code, _, _ = run_cli(["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    assert code == 0
    assert [r["id"] for r in _read_jsonl(output)] == ["1", "3", "4"]
    (rejected,) = _read_jsonl(Path(f"{output}.rejected.jsonl"))
    assert rejected["line"] == 3 and rejected["raw"] == '2,"never closed'


def test_carried_through_values(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    """Duplicated ids are both kept; timestamps, in any format or none, are carried through verbatim."""
    source = tmp_path / "posts.jsonl"
    rows: list[dict[str, object]] = [{"id": "dup", "text": "my bag never arrived"}, {"id": "dup", "text": "thanks!"}]
    rows += [{"text": f"post {i}", "created_at": ts} for i, ts in enumerate(TIMESTAMPS)]
    source.write_bytes(_jsonl(*rows))
    output = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    assert code == 0, stderr
    scored = _read_jsonl(output)
    assert [r["id"] for r in scored[:2]] == ["dup", "dup"]
    assert [r.get("created_at") for r in scored[2:]] == TIMESTAMPS


def test_utf16_and_bom_text_is_decoded(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_bytes(codecs.BOM_UTF16_LE + "id,text\n1,café שלום\n".encode("utf-16-le"))
    output = tmp_path / "out.jsonl"
    assert run_cli(["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])[0] == 0
    (row,) = _read_jsonl(output)
    assert row["id"] == "1" and row["text"] == "café שלום"


@pytest.mark.parametrize(("name", "filename", "make", "message"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_unreadable_input_is_one_error_line(
    name: str, filename: str, make: Callable[[], bytes], message: str, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / filename
    source.write_bytes(make())
    output = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], stderr
    assert not output.exists()


def test_ten_megabyte_post_is_scored_truncated_and_flagged(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    text = "my bag never arrived and nobody answers " * 262_144  # ~10 MB
    source = tmp_path / "posts.jsonl"
    source.write_bytes(_jsonl({"id": "huge", "text": text}, {"id": "small", "text": "thanks!"}))
    for command in ("score", "predict"):
        output = tmp_path / f"{command}.jsonl"
        code, _, stderr = run_cli([command, "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
        assert code == 0, stderr
        assert "1 truncated" in stderr
        huge, small = _read_jsonl(output)
        assert huge["id"] == "huge" and huge["truncated"] is True and huge["intent"] == "complaint"
        assert small["truncated"] is False


def test_normaliser_truncates_before_tokenising() -> None:
    """A 10 MB post must cost no more than a max_chars one: the tokenizer only ever sees max_chars."""
    from pipeline.text.normalise import TweetNormaliser

    seen: list[int] = []
    normaliser = TweetNormaliser(max_chars=100)
    real = normaliser.tokenizer

    def spy(text: str) -> object:
        seen.append(len(text))
        return real(text)

    normaliser._tokenizer = spy
    normaliser("word " * 2_000_000)
    assert seen and max(seen) <= 100


@pytest.mark.parametrize("filename", ["posts.jsonl", "posts.csv"])
def test_row_over_the_byte_limit_is_rejected_and_the_next_rows_read(
    filename: str, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    """A single row above VOC_MAX_LINE_BYTES is rejected unread (bounded memory), not fatal."""
    source = tmp_path / filename
    long_text = "x" * 5000
    if filename.endswith(".jsonl"):
        source.write_bytes(_jsonl({"text": "before"}, {"text": long_text}, {"text": "after"}))
    else:
        source.write_bytes(f"id,text\n1,before\n2,{long_text}\n3,after\n".encode())
    output = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(
        ["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)], env={"VOC_MAX_LINE_BYTES": "1000"}
    )
    assert code == 0, stderr
    assert [r["text"] for r in _read_jsonl(output)] == ["before", "after"]
    (rejected,) = _read_jsonl(Path(f"{output}.rejected.jsonl"))
    assert rejected["line"] == (2 if filename.endswith(".jsonl") else 3)
    assert "longer than 1,000 bytes" in rejected["reason"]


def test_open_quote_runaway_is_bounded(tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote left open in a big file is cut after MAX_CSV_RECORD_LINES lines, not held to the end."""
    import pipeline.data.io

    monkeypatch.setattr(pipeline.data.io, "MAX_CSV_RECORD_LINES", 50)
    body = "".join(f"{i},post {i}\n" for i in range(3, 203))
    source = tmp_path / "posts.csv"
    source.write_text('id,text\n1,ok\n2,"open\n' + body)
    output = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(["score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)])
    assert code == 0, stderr
    scored, rejected = _read_jsonl(output), _read_jsonl(Path(f"{output}.rejected.jsonl"))
    assert len(scored) == 201 and len(rejected) == 1 and "runs over 50 lines" in rejected[0]["reason"]


def test_max_chars_override(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_bytes(_jsonl({"text": "my bag never arrived"}))
    output = tmp_path / "out.jsonl"
    args = ["predict", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)]
    assert run_cli(args, env={"VOC_MAX_CHARS": "5"})[0] == 0
    assert _read_jsonl(output)[0]["truncated"] is True
    code, _, stderr = run_cli(args, env={"VOC_MAX_CHARS": "lots"})
    assert code == 2 and stderr.startswith("error: VOC_MAX_CHARS")


SUBPROCESS_CASES = ["CSV quote left open to end of file", "Latin-1 CSV"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_input_through_python_m_pipeline(name: str, tiny_bundle_dir: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    source = tmp_path / case.filename
    source.write_bytes(case.make())
    output = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(_read_jsonl(output)) == case.scored
    assert len(_read_jsonl(Path(f"{output}.rejected.jsonl"))) == case.rejected


@pytest.mark.slow
def test_unreadable_input_through_python_m_pipeline(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_bytes(_garbage())
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "predict", "-i", str(source), "-o", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "VOC_MODEL": str(tiny_bundle_dir)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:") and "Traceback" not in result.stderr
