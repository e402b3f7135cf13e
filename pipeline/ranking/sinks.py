"""Scored posts and rankings in SQL, for dashboards and analysts: ``voc score --db URL``, ``voc rank --db URL``.

``URL`` is a DuckDB file (``voc.duckdb``, or ``duckdb:///path/voc.duckdb``; no server) or a PostgreSQL URL
(``postgresql://user:password@host:5432/db``; needs ``pip install 'voc-pipeline[postgres]'``). The tables
(created when missing; :data:`SCHEMA`):

* ``voc_score_jobs``: one row per ``voc score`` job (``job_id`` = the job's output path): input, when it
  finished, its number of posts;
* ``voc_posts``: one row per scored post of a job: id, text, brand, time, reach, intent with its five
  probabilities, sentiment, topic with its label and score;
* ``voc_rankings``: one row per ``voc rank`` run (``run_id`` = its output directory): when, the hash and
  the JSON of its parameters, input, totals;
* ``voc_ranking_topics``: the ranked topics of a run, overall (``brand`` = '') and per brand, with the
  columns of ``ranking.csv``;
* ``voc_topics``: the topics of a run (taxonomy and discovered) with label, source and keywords.

A rerun of the same job replaces its rows, in one transaction with the new ones: readers see the previous
run or the new one, never a part of either, and never both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline import INTENT_LABELS
from pipeline.errors import InputError

POST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("job_id", "TEXT NOT NULL"),
    ("row_number", "BIGINT NOT NULL"),
    ("id", "TEXT"),
    ("text", "TEXT"),
    ("brand", "TEXT"),
    ("created_at", "TIMESTAMPTZ"),
    ("reach", "DOUBLE PRECISION"),
    ("intent", "TEXT"),
    *((f"p_{label.replace('-', '_')}", "DOUBLE PRECISION") for label in INTENT_LABELS),
    ("sentiment", "TEXT"),
    ("topic", "TEXT"),
    ("topic_label", "TEXT"),
    ("topic_score", "DOUBLE PRECISION"),
)
RANKING_TOPIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "TEXT NOT NULL"),
    ("brand", "TEXT NOT NULL"),
    ("rank", "INTEGER"),
    ("topic", "TEXT NOT NULL"),
    ("label", "TEXT"),
    ("source", "TEXT"),
    ("score", "DOUBLE PRECISION"),
    ("ci_low", "DOUBLE PRECISION"),
    ("ci_high", "DOUBLE PRECISION"),
    ("impact_removed", "DOUBLE PRECISION"),
    ("n_posts", "BIGINT"),
    ("n_complaints", "BIGINT"),
    ("expected_complaints", "DOUBLE PRECISION"),
    ("negative_share", "DOUBLE PRECISION"),
    ("problem_rate", "DOUBLE PRECISION"),
    ("share", "DOUBLE PRECISION"),
    ("growth", "DOUBLE PRECISION"),
    ("emergence", "DOUBLE PRECISION"),
    ("emerging", "BOOLEAN"),
    ("keywords", "TEXT"),
    ("examples", "TEXT"),
)


def _table(name: str, columns: tuple[tuple[str, str], ...], key: str) -> str:
    body = ", ".join(f"{c} {t}" for c, t in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} ({body}, PRIMARY KEY ({key}))"


SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS voc_score_jobs (job_id TEXT PRIMARY KEY, input TEXT, output TEXT, "
    "finished_at TIMESTAMPTZ, n_posts BIGINT)",
    _table("voc_posts", POST_COLUMNS, "job_id, row_number"),
    "CREATE TABLE IF NOT EXISTS voc_rankings (run_id TEXT PRIMARY KEY, generated_at TIMESTAMPTZ, "
    "config_hash TEXT, config TEXT, input TEXT, by_brand BOOLEAN, n_posts BIGINT, n_problems BIGINT, "
    "problem_rate DOUBLE PRECISION, n_topics_ranked INTEGER)",
    _table("voc_ranking_topics", RANKING_TOPIC_COLUMNS, "run_id, brand, topic"),
    "CREATE TABLE IF NOT EXISTS voc_topics (run_id TEXT NOT NULL, topic TEXT NOT NULL, label TEXT, source TEXT, "
    "keywords TEXT, PRIMARY KEY (run_id, topic))",
)


def job_key(path: str | Path) -> str:
    """A job's key in the database: the absolute path of what it writes."""
    return str(Path(path).resolve())


def config_hash(parameters: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def duckdb_path(url: str) -> Path:
    return Path(url[len("duckdb://") :] if url.startswith("duckdb://") else url)


# ---------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------


def _post_select(job: str) -> str:
    """The ``voc_posts`` columns from the ``posts`` view of a :class:`pipeline.ranking.aggregate.PostStore`."""
    probabilities = ", ".join(f"p_{j}" for j in range(len(INTENT_LABELS)))
    lit = "'" + job.replace("'", "''") + "'"
    return (
        f"SELECT {lit} AS job_id, row_number() OVER (ORDER BY ord) - 1 AS row_number, id, text, brand, "
        "to_timestamp(t) AS created_at, reach, coalesce(nullif(intent, ''), 'other') AS intent, "
        f"{probabilities}, coalesce(nullif(sentiment, ''), 'neutral') AS sentiment, "
        "coalesce(topic, 'other') AS topic, topic_label, topic_score FROM posts"
    )


def ranking_rows(
    run: str, result: dict[str, Any]
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(the run's row, its ranked topics, its topics) as tuples in the tables' column order."""
    params = dict(result.get("parameters") or {})
    generated = (
        datetime.fromisoformat(str(result.get("generated_at")))
        if result.get("generated_at")
        else datetime.now(timezone.utc)
    )
    run_row = (
        run,
        generated,
        config_hash(params),
        json.dumps(params, sort_keys=True, default=str),
        str((result.get("input") or {}).get("path", "")),
        bool(params.get("by_brand")),
        int(result.get("n_posts", 0)),
        int(result.get("n_problems", 0)),
        float(result.get("problem_rate", 0.0)),
        int(result.get("n_topics_ranked", 0)),
    )
    scopes: list[tuple[str, list[dict[str, Any]]]] = [("", list(result.get("topics", [])))]
    scopes += sorted((str(b), list(entries)) for b, entries in (result.get("brands") or {}).items())
    topic_rows = []
    topics: dict[str, tuple[Any, ...]] = {}
    for brand, entries in scopes:
        for e in entries:
            values = {
                **e,
                "run_id": run,
                "brand": brand,
                "keywords": "; ".join(e.get("keywords", [])),
                "examples": " ".join(str(x) for x in e.get("examples", [])),
            }
            topic_rows.append(tuple(values.get(name) for name, _ in RANKING_TOPIC_COLUMNS))
            topics.setdefault(
                str(e["topic"]), (run, str(e["topic"]), e.get("label"), e.get("source"), values["keywords"])
            )
    return run_row, topic_rows, list(topics.values())


# ---------------------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------------------


def store_scored(url: str, output: str | Path, input_spec: str | Path) -> int:
    """``voc score --db``: the job's output (file or directory of shards) into ``voc_posts``; the count."""
    import os

    from pipeline.ranking.aggregate import PostStore

    out = Path(output)
    with PostStore(directory=os.environ.get("VOC_TMPDIR") or out.parent) as store:
        store.add_input(out)
        return write_posts(url, store, job_key(out), str(input_spec))


def write_posts(url: str, store: Any, job: str, input_spec: str) -> int:
    """Replace job ``job``'s posts with the posts of ``store`` (a loaded :class:`PostStore`), atomically."""
    n = store.count()
    if is_postgres(url):
        with _pg_errors(), _pg_connect(url) as conn, conn.transaction():
            _pg_schema(conn)
            conn.execute("DELETE FROM voc_posts WHERE job_id = %s", (job,))
            conn.execute("DELETE FROM voc_score_jobs WHERE job_id = %s", (job,))
            names = ", ".join(name for name, _ in POST_COLUMNS)
            with conn.cursor().copy(f"COPY voc_posts ({names}) FROM STDIN") as copy:
                for row in _rows(store, job):
                    copy.write_row(row)
            conn.execute(
                "INSERT INTO voc_score_jobs VALUES (%s, %s, %s, %s, %s)",
                (job, input_spec, job, datetime.now(timezone.utc), n),
            )
        return n
    import duckdb

    con = store.con
    path = duckdb_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(f"ATTACH {_sql_str(str(path))} AS voc_sink")
    except duckdb.Error as exc:
        raise InputError(f"cannot open the database {path}: {' '.join(str(exc).split())}") from None
    try:
        for statement in SCHEMA:
            con.execute(statement.replace("CREATE TABLE IF NOT EXISTS ", "CREATE TABLE IF NOT EXISTS voc_sink."))
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM voc_sink.voc_posts WHERE job_id = ?", [job])
            con.execute("DELETE FROM voc_sink.voc_score_jobs WHERE job_id = ?", [job])
            con.execute(f"INSERT INTO voc_sink.voc_posts {_post_select(job)}")
            con.execute(
                "INSERT INTO voc_sink.voc_score_jobs VALUES (?, ?, ?, ?, ?)",
                [job, input_spec, job, datetime.now(timezone.utc), n],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DETACH voc_sink")
    return n


def _rows(store: Any, job: str, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
    relation = store.con.sql(_post_select(job))
    reader = relation.to_arrow_reader(batch) if hasattr(relation, "to_arrow_reader") else relation.record_batch(batch)
    for record_batch in reader:
        yield from zip(*(column.to_pylist() for column in record_batch.columns))


def write_ranking(url: str, run: str, result: dict[str, Any]) -> None:
    """Replace run ``run``'s ranking with ``result`` (a ``ranking.json``), atomically."""
    run_row, topic_rows, topics = ranking_rows(run, result)
    tables = (("voc_rankings", [run_row]), ("voc_ranking_topics", topic_rows), ("voc_topics", topics))
    if is_postgres(url):
        with _pg_errors(), _pg_connect(url) as conn, conn.transaction():
            _pg_schema(conn)
            for name, rows in tables:
                conn.execute(f"DELETE FROM {name} WHERE run_id = %s", (run,))
                if rows:
                    marks = ", ".join(["%s"] * len(rows[0]))
                    conn.cursor().executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        return
    import duckdb

    path = duckdb_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise InputError(f"cannot open the database {path}: {' '.join(str(exc).split())}") from None
    try:
        for statement in SCHEMA:
            con.execute(statement)
        con.execute("BEGIN TRANSACTION")
        try:
            for name, rows in tables:
                con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run])
                if rows:
                    marks = ", ".join(["?"] * len(rows[0]))
                    con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pg_connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise InputError("--db postgresql://... needs psycopg: pip install 'voc-pipeline[postgres]'") from None
    try:
        return psycopg.connect(url)
    except psycopg.Error as exc:
        raise InputError(f"cannot connect to the database: {' '.join(str(exc).split())}") from None


@contextmanager
def _pg_errors() -> Iterator[None]:
    """A PostgreSQL error (connection lost, permissions, a full disk) as one error line."""
    try:
        import psycopg
    except ImportError:
        raise InputError("--db postgresql://... needs psycopg: pip install 'voc-pipeline[postgres]'") from None
    try:
        yield
    except psycopg.Error as exc:
        raise InputError(f"database error: {' '.join(str(exc).split())}") from None


def _pg_schema(conn: Any) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
