from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.data.io import AtomicWriter, RecordWriter, read_posts
from pipeline.errors import InputError

from .conftest import write_jsonl


def _all(spec: object, **kw: object) -> tuple[list[dict], list]:
    rows, rejected = [], []
    for batch in read_posts(spec, **kw):  # type: ignore[arg-type]
        rows += batch.rows
        rejected += batch.rejected
    return rows, rejected


def test_jsonl_rows_and_rejections(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": 1, "text": "hello", "brand": "A", "extra": [1, 2]},
            '{"text": "broken',
            {"text": None},
            {"id": "x"},
            {"text": 42},
            {"text": ["a"]},
            "[1, 2]",
            {"text": "   "},
            "",
            {"text": "no id here"},
        ],
    )
    rows, rejected = _all(path)
    assert [r["text"] for r in rows] == ["hello", "no id here"]
    assert rows[0]["id"] == "1" and rows[0]["extra"] == [1, 2]
    assert rows[1]["id"].startswith("row-")
    reasons = [r.reason for r in rejected]
    assert [r.line for r in rejected] == [2, 3, 4, 5, 6, 7, 8]
    assert reasons[0].startswith("invalid JSON")
    assert (
        "null" in reasons[1]
        and "no 'text' field" in reasons[2]
        and "got int" in reasons[3]
        and "got list" in reasons[4]
    )
    assert "JSON object" in reasons[5] and "empty" in reasons[6]


def test_derived_ids_are_stable(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": "same"}, {"text": "same"}])
    first, _ = _all(path)
    second, _ = _all(path)
    assert [r["id"] for r in first] == [r["id"] for r in second]
    assert first[0]["id"] != first[1]["id"]


def test_undecodable_line_is_rejected_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "bom ok"}\n{"text": "caf\xe9"}\n{"text": "fine"}\n')
    rows, rejected = _all(path)
    assert [r["text"] for r in rows] == ["bom ok", "fine"]
    assert rejected[0].line == 2 and "UTF-8" in rejected[0].reason


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('id,text,brand\n1,"hi, there",A\n2,ragged\n3,"ok",B\n', encoding="utf-8")
    rows, rejected = _all(path)
    assert [r["text"] for r in rows] == ["hi, there", "ok"]
    assert rejected[0].line == 3 and "fields" in rejected[0].reason


def test_csv_without_text_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,body\n1,hi\n")
    with pytest.raises(InputError, match="no 'text' column"):
        _all(path)
    rows, _ = _all(path, text_field="body")
    assert rows[0]["text"] == "hi"


def test_parquet_directory_and_glob(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a", None, "b"], "n": [1, 2, 3]}), tmp_path / "a.parquet")
    write_jsonl(tmp_path / "b.jsonl", [{"text": "c"}])
    rows, rejected = _all(tmp_path)
    assert [r["text"] for r in rows] == ["a", "b", "c"] and len(rejected) == 1
    rows, _ = _all(str(tmp_path / "*.parquet"))
    assert len(rows) == 2


def test_batches_are_bounded(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": f"t{i}"} for i in range(25)])
    sizes = [b.n_read for b in read_posts(path, batch_size=10)]
    assert sizes == [10, 10, 5]


@pytest.mark.parametrize("spec", ["missing.jsonl", "*.nothing", "file.txt"])
def test_unreadable_inputs(tmp_path: Path, spec: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError):
        _all(tmp_path / spec if "*" not in spec else str(tmp_path / spec))


def test_atomic_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), AtomicWriter(target) as handle:
        handle.write("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_record_writer_round_trip(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"out{suffix}"
    with RecordWriter(target) as writer:
        writer.write([{"id": "1", "text": "a", "scores": {"x": 0.5}, "tags": ["a"]}])
        writer.write([{"id": "2", "text": "b", "scores": {"x": 1.0}, "tags": "b"}])
    rows, rejected = _all(target)
    assert [r["id"] for r in rows] == ["1", "2"] and not rejected
    if suffix == ".jsonl":
        assert json.loads(target.read_text().splitlines()[0])["tags"] == ["a"]


def test_jsonl_rows_orjson_refuses_are_parsed_by_json_and_both_parsers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.data.io as pio

    path = tmp_path / "posts.jsonl"
    lines = [
        '{"id": "nan", "text": "a NaN score", "score": NaN}',  # json accepts NaN, orjson does not
        '{"id": "big", "text": "a huge number", "n": 1180591620717411303424}',  # beyond 64 bits
        '{"id": "sur", "text": "lone \\ud800 surrogate"}',  # rejected either way: not writable as UTF-8
        '{"id": "ok", "text": "plain"}',
        "not json",
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b'{"id": "bad", "text": "\xff"}\n')
    fast = list(read_posts(path))
    monkeypatch.setattr(pio, "_fast_json_loads", lambda: None)
    slow = list(read_posts(path))
    for batches in (fast, slow):
        rows = [row for batch in batches for row in batch.rows]
        rejected = [r for batch in batches for r in batch.rejected]
        assert [row["id"] for row in rows] == ["nan", "big", "ok"]
        assert rows[1]["n"] == 2**70
        reasons = {r.line: r.reason for r in rejected}
        assert "undecodable" in reasons[3] and "invalid JSON" in reasons[5] and "not UTF-8" in reasons[6]
    assert [r.to_dict() for b in fast for r in b.rejected] == [r.to_dict() for b in slow for r in b.rejected]
