"""`voc score --db` and `voc rank --db`: DuckDB (a file) and PostgreSQL (a real server the tests start)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.ranking import sinks
from pipeline.ranking.rank import RankConfig
from pipeline.ranking.run import rank_file
from tests.test_rank import base_records

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "posts.jsonl"
CONFIG = RankConfig(discover=False, n_bootstrap=50)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (the Debian `postgresql` package), skipped with the reason where it
    cannot start."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'voc-pipeline[postgres]')")
    found = shutil.which("initdb") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if not found:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql; .ci/run installs it)")
    bindir = Path(os.path.realpath(found)).parent
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="voc-pg-"))
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root: run them as the package's user
        if not shutil.which("runuser") or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root without a 'postgres' user to run the server as")
        shutil.chown(base, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    started = False
    try:
        init = subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "voc", "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if init.returncode:
            pytest.skip(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
        start = subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-t",
                "60",
                "-l",
                str(base / "server.log"),
                "-o",
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if start.returncode:
            log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
            pytest.skip(f"PostgreSQL did not start: {(start.stderr + log).strip().splitlines()[-1:]}")
        started = True
        yield f"postgresql://voc@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["duckdb", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return str(tmp_path / "voc.duckdb")
    return str(request.getfixturevalue("postgres_url"))


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if sinks.is_postgres(url):
        import psycopg

        with psycopg.connect(url) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    import duckdb

    with duckdb.connect(url, read_only=True) as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


def _scored(tmp_path: Path, n: int | None = None) -> Path:
    recs = [dict(r, brand="Alpha" if i % 2 else "Beta") for i, r in enumerate(base_records())][:n]
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


def test_scored_posts_and_rankings_in_sql_reruns_replace(db_url: str, tmp_path: Path) -> None:
    scored = _scored(tmp_path)
    assert sinks.store_scored(db_url, scored, "posts.jsonl") == 350
    assert sinks.store_scored(db_url, scored, "posts.jsonl") == 350  # the same job again: replaced
    job = sinks.job_key(scored)
    mine = f"job_id = '{job}'"
    assert _query(db_url, f"SELECT count(*), count(DISTINCT id) FROM voc_posts WHERE {mine}") == [(350, 350)]
    assert _query(db_url, f"SELECT job_id, n_posts FROM voc_score_jobs WHERE {mine}") == [(job, 350)]
    rows = _query(
        db_url, f"SELECT intent, sentiment, topic, brand, p_complaint FROM voc_posts WHERE {mine} AND id = 'p0'"
    )
    assert rows == [("complaint", "negative", "lost-luggage", "Beta", 1.0)]
    assert _query(db_url, f"SELECT count(*) FROM voc_posts WHERE {mine} AND created_at IS NULL") == [(0,)]

    for _ in range(2):
        result, _ = rank_file(scored, tmp_path / "ranking", config=CONFIG, by_brand=True)
        sinks.write_ranking(db_url, sinks.job_key(tmp_path / "ranking"), result)
    other, _ = rank_file(scored, tmp_path / "ranking-2", config=CONFIG)
    sinks.write_ranking(db_url, sinks.job_key(tmp_path / "ranking-2"), other)
    runs = _query(
        db_url,
        "SELECT run_id, config_hash, by_brand, n_posts FROM voc_rankings WHERE run_id LIKE "
        f"'{tmp_path}%' ORDER BY run_id",
    )
    assert [r[0] for r in runs] == sorted([sinks.job_key(tmp_path / "ranking"), sinks.job_key(tmp_path / "ranking-2")])
    assert runs[0][1] != runs[1][1] and [r[3] for r in runs] == [350, 350]  # by_brand differs: another hash
    per_scope = _query(
        db_url,
        "SELECT brand, count(*) FROM voc_ranking_topics WHERE run_id = "
        f"'{sinks.job_key(tmp_path / 'ranking')}' GROUP BY brand ORDER BY brand",
    )
    expected = [("", len(result["topics"]))] + sorted((b, len(e)) for b, e in result["brands"].items())
    assert per_scope == expected
    top = _query(
        db_url,
        "SELECT topic, rank, score FROM voc_ranking_topics WHERE brand = '' AND rank = 1 AND "
        f"run_id = '{sinks.job_key(tmp_path / 'ranking')}'",
    )
    assert top == [(result["topics"][0]["topic"], 1, result["topics"][0]["score"])]
    assert ("lost-luggage",) in _query(db_url, f"SELECT topic FROM voc_topics WHERE run_id LIKE '{tmp_path}%'")


def test_a_failed_write_leaves_the_previous_run_whole(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored = _scored(tmp_path)
    sinks.store_scored(db_url, scored, "posts.jsonl")
    result, _ = rank_file(scored, tmp_path / "ranking", config=CONFIG)
    run = sinks.job_key(tmp_path / "ranking")
    sinks.write_ranking(db_url, run, result)
    count_topics = f"SELECT count(*) FROM voc_ranking_topics WHERE run_id = '{run}'"
    before = _query(db_url, count_topics)

    original_rows, original_select = sinks._rows, sinks._post_select

    def broken_rows(store: Any, job: str, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        yield from list(original_rows(store, job, batch))[:100]  # PostgreSQL: the COPY stops halfway
        raise RuntimeError("connection lost")

    monkeypatch.setattr(sinks, "_rows", broken_rows)
    monkeypatch.setattr(
        sinks,
        "_post_select",
        lambda job: original_select(job).replace(  # DuckDB: the insert
            "topic_score FROM posts", "CASE WHEN ord > 150 THEN error('disk full') ELSE topic_score END FROM posts"
        ),
    )
    with pytest.raises(Exception, match=r"connection lost|disk full"):
        sinks.store_scored(db_url, _scored(tmp_path, 200), "posts.jsonl")
    monkeypatch.undo()
    job = sinks.job_key(scored)
    assert _query(db_url, f"SELECT count(*) FROM voc_posts WHERE job_id = '{job}'") == [(350,)]  # whole

    def broken_ranking(run_id: str, res: dict[str, Any]) -> Any:
        run_row, topic_rows, topics = original_ranking(run_id, res)
        return run_row, topic_rows[:1], [(*topics[0], "one column too many")]

    original_ranking = sinks.ranking_rows
    monkeypatch.setattr(sinks, "ranking_rows", broken_ranking)
    with pytest.raises(Exception):  # noqa: B017 - the database's own error
        sinks.write_ranking(db_url, run, result)
    monkeypatch.undo()
    assert _query(db_url, count_topics) == before


def test_cli_db_options(tmp_path: Path) -> None:
    db = tmp_path / "voc.duckdb"
    runner = CliRunner()
    out = runner.invoke(app, ["score", "-i", str(DEMO), "-o", str(tmp_path / "scored.jsonl"), "--db", str(db), "-q"])
    assert out.exit_code == 0, out.output
    n_scored = sum(1 for _ in (tmp_path / "scored.jsonl").open(encoding="utf-8"))
    assert _query(str(db), "SELECT count(*) FROM voc_posts") == [(n_scored,)]
    out = runner.invoke(
        app,
        [
            "rank",
            "-i",
            str(tmp_path / "scored.jsonl"),
            "-o",
            str(tmp_path / "ranking"),
            "--by",
            "brand",
            "--db",
            str(db),
            "-q",
        ],
    )
    assert out.exit_code == 0, out.output
    ranking = json.loads((tmp_path / "ranking" / "ranking.json").read_text(encoding="utf-8"))
    assert _query(str(db), "SELECT n_topics_ranked FROM voc_rankings") == [(ranking["n_topics_ranked"],)]
    bad = runner.invoke(
        app,
        [
            "rank",
            "-i",
            str(tmp_path / "scored.jsonl"),
            "-o",
            str(tmp_path / "r2"),
            "--db",
            "postgresql://nobody@127.0.0.1:1/none",
            "-q",
        ],
    )
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1
