"""Property-based tests (hypothesis) over the loaders, the normaliser and ``voc predict`` (issue 6).

The property that matters most: every input row is accounted for, scored + rejected = read. Examples are
derandomised (the same ones every run) and few, so the file runs in seconds and never flakes.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data.io import read_posts
from pipeline.text.normalise import TweetNormaliser

FAST = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
# A JSONL line: a JSON object with some text (or not), another JSON value, or bytes that may be anything.
jsonl_lines = st.one_of(
    st.builds(
        lambda t, extra: json.dumps({"text": t, **extra}),
        st.text(max_size=40),
        st.dictionaries(st.sampled_from(["id", "brand", "created_at"]), json_values, max_size=3),
    ),
    st.builds(lambda v: json.dumps({"text": v}), json_values),
    json_values.map(json.dumps),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ")),
)


def _line_bytes(line: str | bytes) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


def _read_all(path: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Any] = []
    for batch in read_posts(path, batch_size=7):
        rows += batch.rows
        rejected += batch.rejected
    return rows, rejected


@FAST
@given(st.lists(jsonl_lines, max_size=25))
def test_jsonl_loader_accounts_for_every_line(lines: list[str | bytes]) -> None:
    data = b"".join(_line_bytes(line) + b"\n" for line in lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posts.jsonl"
        path.write_bytes(data)
        rows, rejected = _read_all(path)
    # Non-blank physical lines (bytes.splitlines would also split on \r, which JSONL does not).
    expected = [i for i, line in enumerate(data.split(b"\n")[:-1], start=1) if line.strip()]
    if data.startswith(b"\xef\xbb\xbf"):
        expected = [i for i in expected if i != 1 or data.split(b"\n")[0][3:].strip()]
    assert len(rows) + len(rejected) == len(expected)
    assert all(r.reason for r in rejected)
    assert all(isinstance(r["text"], str) and r["text"].strip() for r in rows)


csv_cells = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@FAST
@given(st.lists(st.tuples(csv_cells, csv_cells), max_size=20))
def test_csv_written_by_csv_module_round_trips(rows: list[tuple[str, str]]) -> None:
    """Quotes, commas and newlines inside fields, written properly, are one row each: none lost or split."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posts.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
        read, rejected = _read_all(path)
    # Two fields always make a non-blank line (at least the comma), so every row written is read back.
    assert len(read) + len(rejected) == len(rows)
    assert [r["text"] for r in read] == [b for _, b in rows if b.strip()]


@FAST
@given(st.lists(st.text(st.sampled_from('ab ,"\n'), max_size=12), max_size=15))
def test_malformed_csv_never_raises_and_lines_are_distinct(lines: list[str]) -> None:
    """Stray quotes and commas anywhere: no exception, every rejection has a line and a reason."""
    text = "id,text\n" + "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posts.csv"
        path.write_text(text, newline="")
        rows, rejected = _read_all(path)
    physical = text.count("\n") - 1
    assert len(rows) + len(rejected) <= physical
    assert all(r.reason and 2 <= r.line <= physical + 1 for r in rejected)
    if '"' not in text:  # without quotes every non-blank line is one row, scored or rejected
        assert len(rows) + len(rejected) == sum(1 for line in text.split("\n")[1:] if line.strip())


NORMALISER = TweetNormaliser(max_chars=60)


@FAST
@given(st.text(max_size=200))
def test_normaliser_never_raises_and_output_is_tidy(text: str) -> None:
    out = NORMALISER(text)
    assert out == out.strip()
    assert "  " not in out and "\n" not in out and "\t" not in out
    # Each of the max_chars characters kept can grow by a bounded marker at most ("#a" -> "xxhashtag a").
    assert len(out) <= 12 * NORMALISER.max_chars


@FAST
@given(st.text(st.sampled_from("abcdeé xyz"), max_size=50))
def test_normaliser_is_idempotent_on_plain_words(text: str) -> None:
    """On plain lowercase words the normaliser only squeezes spaces and long runs: applying it twice is
    applying it once (markers, digits and punctuation are rewritten, so general text is not idempotent)."""
    once = NORMALISER(text)
    assert NORMALISER(once) == once


@FAST
@given(st.text(max_size=30), st.text(max_size=30))
def test_normaliser_pipe_matches_call(a: str, b: str) -> None:
    assert list(NORMALISER.pipe([a, b])) == [NORMALISER(a), NORMALISER(b)]


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(jsonl_lines, min_size=1, max_size=12))
def test_voc_predict_accounts_for_every_row(tiny_bundle_dir: Path, lines: list[str | bytes]) -> None:
    data = b"".join(_line_bytes(line) + b"\n" for line in lines)
    expected = sum(1 for line in data.split(b"\n")[:-1] if line.strip())
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "posts.jsonl", Path(tmp) / "out.jsonl"
        source.write_bytes(data)
        result = CliRunner().invoke(
            app, ["predict", "-i", str(source), "-o", str(output), "-m", str(tiny_bundle_dir), "--batch-size", "5"]
        )
        assert result.exit_code == 0, result.stderr
        scored = [line for line in output.read_text(encoding="utf-8").split("\n") if line]
        rejected_file = Path(f"{output}.rejected.jsonl")
        rejected = rejected_file.read_text(encoding="utf-8").split("\n")[:-1] if rejected_file.exists() else []
    assert len(scored) + len(rejected) == expected
    assert f"read {expected:,} rows: {len(scored):,} scored" in result.stderr
