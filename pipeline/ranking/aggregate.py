"""Scored posts in DuckDB, and the aggregates that ``voc rank`` ranks from.

``voc rank`` never holds the posts in Python. They are the DuckDB view ``posts`` of a :class:`PostStore`
(only the columns ranking needs; Parquet read in place, other inputs copied into an in-memory table that
spills to disk beyond ``VOC_DUCKDB_MEMORY``), and every step is a query that returns a bounded result:

* :func:`scan_stats`: counts, the time range, the first label of each topic;
* :func:`candidate_strata` and :func:`discovery_sample`: the posts discovery clusters, at most
  ``RankConfig.discovery_sample`` of them, stratified by brand and time window (proportional allocation,
  :func:`allocate`; within a stratum the posts with the smallest hash of their id and the seed, so the
  sample does not depend on the order or partitioning of the input);
* :func:`assign_by_ord` and :func:`assign_by_text`: topics assigned during the job (the sample's own
  discovered topics by row, every other candidate's nearest topic, or a taxonomy's topics for posts that
  arrive without them, one distinct text at a time), kept in an overlay table (primary topic, score, label
  and the other topics) that ``posts`` applies;
* :func:`cells`: counts, reach weights (sum and sum of squares), sums of the intent probabilities and of
  p(1 - p), and the first row, per (brand, topic, time window, intent, sentiment) cell;
* :func:`evidence`: per topic (and per brand and topic), the best candidate examples in the ranking's order
  (problem posts first, then topic score, then input order), or the best post of each distinct text.

Every result is a *partial* that merges exactly with the same result of another part of the input
(:func:`merge_stats`, :func:`merge_counts`, :func:`merge_samples`, :func:`merge_cells`,
:func:`merge_evidence`), which is how ``voc rank --engine ray`` aggregates shards in parallel with the same
code (:mod:`pipeline.scoring.ray_engine`).

Rows: each has ``ord``, its position in the input (file index << 40 | row in file), which orders examples
and topics (first appearance) as the whole input would. Reading: Parquet and UTF-8 JSONL go straight into
DuckDB (only the needed columns; JSONL fields as JSON values, typed as Python would see them). A file with
anything a fast read cannot take exactly as :mod:`pipeline.data.io` would (a malformed line, a row without a
usable text or id, another encoding, an unusual column type, CSV) is read by :func:`pipeline.data.io.read_posts`
instead, in bounded batches, with every rejected row reported as before.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline import INTENT_LABELS
from pipeline.errors import InputError

ORD_SHIFT = 40  # ord = file index << ORD_SHIFT | row within the file
N_INTENTS = len(INTENT_LABELS)
P_COLUMNS = tuple(f"p_{j}" for j in range(N_INTENTS))
POSTS_SCHEMA: tuple[tuple[str, str], ...] = (
    ("ord", "BIGINT"),
    ("id", "VARCHAR"),
    ("text", "VARCHAR"),
    ("intent", "VARCHAR"),  # as given; NULL where the row has none
    ("sentiment", "VARCHAR"),
    ("topic", "VARCHAR"),  # NULL where the row has none (then assigned from the taxonomy, or 'other')
    ("topic_label", "VARCHAR"),
    ("topic_score", "DOUBLE"),
    # The post's other topics (voc score's ``topics`` list minus the primary), joined by "|"; the ranking
    # counts the post under each of them too (cells with ``is_primary`` false), never in the totals.
    ("topics_more", "VARCHAR"),
    ("t", "DOUBLE"),  # epoch seconds of the timestamp; NULL where missing or unparsable
    ("created_at", "VARCHAR"),  # the timestamp as given, for the report
    ("brand", "VARCHAR"),
    ("reach", "DOUBLE"),  # NULL unless a finite number >= 0
    *((p, "DOUBLE") for p in P_COLUMNS),  # the intent probabilities (intent_scores normalised, else one-hot)
)
COLUMNS = tuple(name for name, _ in POSTS_SCHEMA)
# Every character Python's str.isspace() accepts (and a few more): a text with nothing else is blank.
_NON_BLANK = r"[^\s\p{Z}\x{1c}-\x{1f}\x{85}\x{200b}\x{feff}]"
_DEFAULT_MEMORY = "1GB"


def duckdb_connect(database: str = ":memory:", temp_directory: str | None = None) -> Any:
    """A DuckDB connection with the job's limits: ``VOC_DUCKDB_MEMORY`` (default 1GB) and
    ``VOC_DUCKDB_THREADS`` (default: every core), UTC, input order preserved."""
    import duckdb

    con = duckdb.connect(database)
    con.execute(f"SET memory_limit = '{_setting('VOC_DUCKDB_MEMORY', _DEFAULT_MEMORY)}'")
    threads = os.environ.get("VOC_DUCKDB_THREADS", "").strip()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    if temp_directory:
        con.execute(f"SET temp_directory = {_lit(temp_directory)}")
    return con


def _setting(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    if not all(ch.isalnum() or ch in ". " for ch in value):
        raise InputError(f"{name} must be a size such as 1GB or 512MB, got {value!r}")
    return value


def query_arrow(con: Any, sql: str) -> Any:
    """The result of ``sql`` as an Arrow table (``to_arrow_table`` from DuckDB 1.4, ``arrow`` before)."""
    relation = con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _in_list(values: Iterable[str]) -> str:
    items = [_lit(v) for v in values]
    return f"({', '.join(items)})" if items else "(NULL)"


# ---------------------------------------------------------------------------------------------------------
# Python projection: the exact semantics of the row readers (used for records, CSV and the fallback)
# ---------------------------------------------------------------------------------------------------------


def parse_time(value: Any) -> float:
    """Epoch seconds (UTC) of an ISO 8601 string or datetime; NaN when missing or unparsable."""
    if value is None or value == "":
        return math.nan
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:  # "2015-02-24 11:35:52 -0800", as in some exports
                dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
            except ValueError:
                return math.nan
    else:
        return math.nan
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _reach(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) and v >= 0 else None


def _float(value: Any) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


TOPIC_SEPARATOR = "|"


def secondary_topics(topics: Any, primary: Any) -> str | None:
    """A row's ``topics`` list (voc score's ``[{topic, score}]``, or that list as JSON text from Parquet) minus
    its primary topic, joined by :data:`TOPIC_SEPARATOR`; None when there are none."""
    if isinstance(topics, str):
        try:
            topics = json.loads(topics)
        except ValueError:
            return None
    if not isinstance(topics, list):
        return None
    names = [str(t.get("topic")) for t in topics if isinstance(t, dict) and t.get("topic")]
    more = sorted({n for n in names if n != primary and TOPIC_SEPARATOR not in n})
    return TOPIC_SEPARATOR.join(more) or None


def intent_probabilities(scores: Any, label: str) -> list[float]:
    """A post's intent probabilities: its ``intent_scores`` normalised, else its label as certain."""
    out = [0.0] * N_INTENTS
    if isinstance(scores, dict) and scores:
        for j, name in enumerate(INTENT_LABELS):
            value = scores.get(name)
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[j] = float(value)
        total = sum(out)
        if total > 0:
            return [v / total for v in out]
        out = [0.0] * N_INTENTS
    if label in INTENT_LABELS:
        out[INTENT_LABELS.index(label)] = 1.0
    return out


@dataclass
class Presence:
    """How many rows have a value for the fields whose absence is an error."""

    intent: int = 0
    time: int = 0
    brand: int = 0

    def add(self, other: Presence) -> None:
        self.intent += other.intent
        self.time += other.time
        self.brand += other.brand


def project_rows(
    rows: Sequence[dict[str, Any]], first_ord: int, *, time_field: str = "created_at", brand_field: str = "brand"
) -> tuple[Any, Presence]:
    """The posts-table columns of ``rows`` (dicts as :func:`pipeline.data.io.read_posts` gives them) as an Arrow
    table, and how many rows have an intent, a time and a brand."""
    import pyarrow as pa

    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    presence = Presence()
    for i, r in enumerate(rows):
        intent_raw = r.get("intent")
        time_raw = r.get(time_field)
        brand_raw = r.get(brand_field)
        presence.intent += intent_raw is not None
        presence.time += time_raw is not None
        presence.brand += brand_raw is not None
        label = str(intent_raw or "other")
        topic = r.get("topic")
        text = r.get("text")
        seconds = parse_time(time_raw)
        probabilities = intent_probabilities(r.get("intent_scores"), label)
        cols["ord"].append(first_ord + i)
        cols["id"].append(str(r.get("id", first_ord + i)))
        cols["text"].append(text if isinstance(text, str) else "")
        cols["intent"].append(None if intent_raw is None else str(intent_raw))
        sentiment = r.get("sentiment")
        cols["sentiment"].append(None if sentiment is None else str(sentiment))
        cols["topic"].append(str(topic) if topic else None)
        cols["topic_label"].append(str(r["topic_label"]) if r.get("topic_label") else None)
        cols["topic_score"].append(_float(r.get("topic_score")))
        cols["topics_more"].append(secondary_topics(r.get("topics"), topic))
        cols["t"].append(None if math.isnan(seconds) else seconds)
        cols["created_at"].append(None if time_raw in (None, "") else str(time_raw))
        cols["brand"].append(None if brand_raw in (None, "") else str(brand_raw))
        cols["reach"].append(_reach(r.get("reach")))
        for j, p in enumerate(P_COLUMNS):
            cols[p].append(probabilities[j])
    types = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "DOUBLE": pa.float64()}
    schema = pa.schema([(name, types[kind]) for name, kind in POSTS_SCHEMA])
    return pa.table([pa.array(cols[name], type=schema.field(name).type) for name in COLUMNS], schema=schema), presence


# ---------------------------------------------------------------------------------------------------------
# SQL projection: the same columns straight from Parquet and JSONL
# ---------------------------------------------------------------------------------------------------------

_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _json_str(col: str) -> str:
    """A JSON value as Python's str() of it would read for strings and integers (NULL for null)."""
    return (
        f"CASE WHEN json_type({col}) = 'VARCHAR' THEN {col} ->> '$' WHEN {col} IS NULL THEN NULL "
        f"ELSE {col}::VARCHAR END"
    )


def _json_num(col: str) -> str:
    return f"CASE WHEN json_type({col}) IN {_NUMERIC_JSON} THEN TRY_CAST({col} ->> '$' AS DOUBLE) END"


def _time_sql(text: str) -> str:
    return (
        f"coalesce(epoch(TRY_CAST(trim({text}) AS TIMESTAMPTZ)), "
        f"epoch(try_strptime(trim({text}), '%Y-%m-%d %H:%M:%S %z')))"
    )


def _finish_select(raw: str) -> str:
    """Columns in table order from a subquery with the raw values (v_j: intent scores, NULL where none)."""
    label = "coalesce(nullif(intent, ''), 'other')"
    total = " + ".join(f"coalesce(v_{j}, 0)" for j in range(N_INTENTS))
    probs = ", ".join(
        f"CASE WHEN ({total}) > 0 THEN coalesce(v_{j}, 0) / ({total}) "
        f"ELSE ({label} = {_lit(name)})::DOUBLE END AS {P_COLUMNS[j]}"
        for j, name in enumerate(INTENT_LABELS)
    )
    reach = "CASE WHEN reach >= 0 AND isfinite(reach) THEN reach END"
    return (
        f"SELECT ord, id, text, intent, sentiment, nullif(topic, '') AS topic, nullif(topic_label, '') AS "
        f"topic_label, coalesce(topic_score, 0.0) AS topic_score, nullif(topics_more, '') AS topics_more, "
        f"CASE WHEN isfinite(t) THEN t END AS t, "
        f"nullif(created_at, '') AS created_at, nullif(brand, '') AS brand, {reach} AS reach, {probs} "
        f"FROM ({raw})"
    )


def _jsonl_sql(path: Path, first_ord: int, text_field: str, time_field: str, brand_field: str) -> str:
    fields = dict.fromkeys(
        [
            "id",
            text_field,
            "intent",
            "sentiment",
            "topic",
            "topic_label",
            "topic_score",
            "topics",
            time_field,
            brand_field,
            "reach",
            "intent_scores",
        ]
    )
    columns = "{" + ", ".join(f"{_lit(f)}: 'JSON'" for f in fields) + "}"
    c = {f: _ident(f) for f in fields}
    scores = c["intent_scores"]
    values = ", ".join(
        f"CASE WHEN json_type({scores}) = 'OBJECT' AND json_type({scores}, {_lit('$.' + _ident(name))}) IN "
        f"{_NUMERIC_JSON} THEN TRY_CAST(json_extract_string({scores}, {_lit('$.' + _ident(name))}) AS DOUBLE) "
        f"END AS v_{j}"
        for j, name in enumerate(INTENT_LABELS)
    )
    time_text = f"CASE WHEN json_type({c[time_field]}) = 'VARCHAR' THEN {c[time_field]} ->> '$' END"
    raw = (
        f"SELECT {first_ord} + rn - 1 AS ord, "
        f"CASE WHEN json_type({c['id']}) IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN {_json_str(c['id'])} END AS id, "
        f"CASE WHEN json_type({c[text_field]}) = 'VARCHAR' THEN {c[text_field]} ->> '$' END AS text, "
        f"{_json_str(c['intent'])} AS intent, {_json_str(c['sentiment'])} AS sentiment, "
        f"{_json_str(c['topic'])} AS topic, {_json_str(c['topic_label'])} AS topic_label, "
        f"TRY_CAST({c['topic_score']} ->> '$' AS DOUBLE) AS topic_score, "
        f"{_topics_more_sql(c['topics'], _json_str(c['topic']))} AS topics_more, "
        f"{_time_sql(time_text)} AS t, {_json_str(c[time_field])} AS created_at, "
        f"{_json_str(c[brand_field])} AS brand, {_json_num(c['reach'])} AS reach, {values} "
        f"FROM (SELECT *, row_number() OVER () AS rn FROM read_json({_lit(str(path))}, "
        f"format = 'newline_delimited', columns = {columns}, maximum_object_size = 16777216))"
    )
    return _finish_select(raw)


def _topics_more_sql(topics_json: str, primary: str) -> str:
    """SQL for :func:`secondary_topics` of a JSON value (a list of ``{topic, score}`` objects)."""
    names = f"json_extract_string({topics_json}, '$[*].topic')"
    keep = f"lambda x: x IS NOT NULL AND x <> coalesce({primary}, '') AND NOT contains(x, {_lit(TOPIC_SEPARATOR)})"
    kept = f"list_sort(list_distinct(list_filter({names}, {keep})))"
    return (
        f"CASE WHEN json_type({topics_json}) = 'ARRAY' THEN "
        f"nullif(array_to_string({kept}, {_lit(TOPIC_SEPARATOR)}), '') END"
    )


def _parquet_sql(path: Path, first_ord: int, text_field: str, time_field: str, brand_field: str) -> str | None:
    """The projection of one Parquet file, or None when a column has a type only the row reader takes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):
        return None  # the row reader raises the usual error
    types = {f.name: f.type for f in schema}
    if len(types) != len(schema):
        return None  # duplicated column names

    def kind(name: str) -> str:
        t = types.get(name)
        if t is None:
            return "missing"
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return "string"
        if pa.types.is_integer(t):
            return "integer"
        if pa.types.is_floating(t):
            return "float"
        if pa.types.is_timestamp(t):
            return "timestamp"
        if pa.types.is_struct(t):
            return "struct"
        return "other"

    def text_of(name: str) -> str | None:
        k = kind(name)
        if k == "missing":
            return "NULL"
        if k == "string":
            return _ident(name)
        if k == "integer":
            return f"CAST({_ident(name)} AS VARCHAR)"
        return None

    if kind(text_field) != "string" or kind("id") not in ("string", "integer"):
        return None
    strings = {f: text_of(f) for f in ("id", "intent", "sentiment", "topic", "topic_label", brand_field)}
    if any(v is None for v in strings.values()):
        return None
    score_kind = kind("topic_score")
    if score_kind not in ("missing", "float", "integer", "string"):
        return None
    topic_score = "NULL" if score_kind == "missing" else f"TRY_CAST({_ident('topic_score')} AS DOUBLE)"
    topics_kind = kind("topics")
    if topics_kind == "missing":
        topics_more = "NULL"
    elif topics_kind == "string":  # voc score writes lists to Parquet as JSON text
        topics_more = _topics_more_sql(f"TRY_CAST({_ident('topics')} AS JSON)", strings["topic"] or "NULL")
    else:
        return None
    reach = f"CAST({_ident('reach')} AS DOUBLE)" if kind("reach") in ("float", "integer") else "NULL"
    time_kind = kind(time_field)
    if time_kind == "string":
        t, created = _time_sql(_ident(time_field)), _ident(time_field)
    elif time_kind == "timestamp":
        t, created = f"epoch({_ident(time_field)})", f"CAST({_ident(time_field)} AS VARCHAR)"
    elif time_kind == "missing":
        t, created = "NULL", "NULL"
    else:
        return None
    values = [f"NULL AS v_{j}" for j in range(N_INTENTS)]
    scores_kind = kind("intent_scores")
    if scores_kind == "struct":
        struct = types["intent_scores"]
        fields = {struct.field(i).name: struct.field(i).type for i in range(struct.num_fields)}
        for j, name in enumerate(INTENT_LABELS):
            ft = fields.get(name)
            if ft is not None and (pa.types.is_floating(ft) or pa.types.is_integer(ft)):
                v = f"CAST({_ident('intent_scores')}.{_ident(name)} AS DOUBLE)"
                values[j] = f"CASE WHEN isfinite({v}) THEN {v} END AS v_{j}"
    elif scores_kind not in ("missing", "string"):
        return None
    raw = (
        f"SELECT {first_ord} + file_row_number AS ord, {strings['id']} AS id, {_ident(text_field)} AS text, "
        f"{strings['intent']} AS intent, {strings['sentiment']} AS sentiment, {strings['topic']} AS topic, "
        f"{strings['topic_label']} AS topic_label, {topic_score} AS topic_score, {topics_more} AS topics_more, "
        f"{t} AS t, "
        f"{created} AS created_at, {strings[brand_field]} AS brand, {reach} AS reach, {', '.join(values)} "
        f"FROM read_parquet({_lit(str(path))}, file_row_number = true)"
    )
    return _finish_select(raw)


# ---------------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------------


class PostStore:
    """The posts of one ranking job as the DuckDB view ``posts`` (see the module docstring).

    Parquet files the fast read takes stay where they are (``posts`` reads them again in every pass, only
    the columns that pass needs); other inputs are copied into the table ``posts_rows``. Topics assigned
    during the job (from the taxonomy, by discovery) go into ``posts_overlay``, which ``posts`` applies.
    The database is in memory and spills to a temporary directory (in ``directory``, else the system's)
    beyond ``VOC_DUCKDB_MEMORY``; :meth:`close` removes it. ``in_memory``: no spill directory (for posts
    already in memory, as :func:`pipeline.ranking.rank.rank_posts` has them, and for one shard in a Ray task).
    """

    def __init__(self, directory: str | Path | None = None, *, in_memory: bool = False) -> None:
        self._dir: Path | None = None
        if not in_memory:
            base = Path(directory) if directory is not None else None
            if base is not None:
                base.mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix=".voc-rank-", dir=base))
        self.con = duckdb_connect(":memory:", str(self._dir / "spill") if self._dir is not None else None)
        self.con.execute(f"CREATE TABLE posts_rows ({', '.join(f'{n} {k}' for n, k in POSTS_SCHEMA)})")
        self.con.execute(
            "CREATE TABLE posts_overlay "
            "(ord BIGINT, topic VARCHAR, topic_score DOUBLE, topic_label VARCHAR, topics_more VARCHAR)"
        )
        self._scans: list[str] = []
        self.presence = Presence()
        self.n_files = 0
        self._define_views()

    def _define_views(self) -> None:
        parts = [f"SELECT * FROM ({sql})" for sql in self._scans] + ["SELECT * FROM posts_rows"]
        self.con.execute(f"CREATE OR REPLACE VIEW posts_base AS {' UNION ALL '.join(parts)}")
        overlaid = {
            "topic": "CASE WHEN o.ord IS NULL THEN b.topic ELSE o.topic END AS topic",
            "topic_label": "CASE WHEN o.ord IS NULL THEN b.topic_label ELSE o.topic_label END AS topic_label",
            "topic_score": "CASE WHEN o.ord IS NULL THEN b.topic_score ELSE o.topic_score END AS topic_score",
            "topics_more": "CASE WHEN o.ord IS NULL THEN b.topics_more ELSE o.topics_more END AS topics_more",
        }
        columns = ", ".join(overlaid.get(name, f"b.{name}") for name in COLUMNS)
        self.con.execute(
            f"CREATE OR REPLACE VIEW posts AS SELECT {columns} FROM posts_base b "
            "LEFT JOIN posts_overlay o ON b.ord = o.ord"
        )

    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM posts_base").fetchall()[0][0])

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def __enter__(self) -> PostStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading ---------------------------------------------------------------------------------------

    def add_table(self, table: Any, presence: Presence) -> None:
        self.con.register("_voc_batch", table)
        try:
            self.con.execute("INSERT INTO posts_rows SELECT * FROM _voc_batch")
        finally:
            self.con.unregister("_voc_batch")
        self.presence.add(presence)

    def add_records(self, records: Sequence[dict[str, Any]], *, batch_size: int = 50_000) -> None:
        """Posts already in memory (dicts as ``voc score`` writes them), in order."""
        for start in range(0, len(records), batch_size):
            table, presence = project_rows(records[start : start + batch_size], start)
            self.add_table(table, presence)

    def add_input(
        self,
        spec: str | Path,
        *,
        text_field: str = "text",
        time_field: str = "created_at",
        brand_field: str = "brand",
        on_rejected: Callable[[list[Any]], None] | None = None,
        batch_size: int = 20_000,
        files: Sequence[tuple[int, Path]] | None = None,
    ) -> None:
        """Every file of ``spec`` (a file, directory or glob), each straight into DuckDB where it can be read
        exactly that way, else through :func:`pipeline.data.io.read_posts`; rejected rows go to ``on_rejected``.
        ``files``: (index, path) pairs to read instead (a shard of the input, as a Ray task reads it)."""
        from pipeline.data.io import SUPPORTED_SUFFIXES, input_files

        pairs = list(files) if files is not None else list(enumerate(input_files(spec)))
        for index, path in pairs:
            self.n_files += 1
            first = index << ORD_SHIFT
            kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
            if kind in ("jsonl", "parquet") and self._add_fast(path, kind, first, text_field, time_field, brand_field):
                continue
            self._add_rows(path, first, text_field, time_field, brand_field, on_rejected, batch_size)

    def _check(self, relation: str) -> tuple[int, Presence]:
        """Rows the fast read would take wrongly (no usable text or id), and the presence counts."""
        row = self.con.execute(
            f"SELECT count(*) FILTER (WHERE text IS NULL OR NOT regexp_matches(text, {_lit(_NON_BLANK)}) "
            f"OR id IS NULL OR id = ''), count(intent), count(created_at), count(brand) FROM {relation}"
        ).fetchall()[0]
        return int(row[0]), Presence(intent=int(row[1]), time=int(row[2]), brand=int(row[3]))

    def _add_fast(self, path: Path, kind: str, first: int, text_field: str, time_field: str, brand_field: str) -> bool:
        import duckdb

        if kind == "jsonl" and not _utf8_without_bom(path):
            return False
        try:
            sql = (
                _jsonl_sql(path, first, text_field, time_field, brand_field)
                if kind == "jsonl"
                else _parquet_sql(path, first, text_field, time_field, brand_field)
            )
        except OSError:
            return False
        if sql is None:
            return False
        last = first + (1 << ORD_SHIFT)
        try:
            if kind == "parquet":  # read in place, pass after pass
                bad, presence = self._check(f"({sql})")
                if bad:
                    return False
                self._scans.append(sql)
                self._define_views()
                self.presence.add(presence)
                return True
            self.con.execute(f"INSERT INTO posts_rows {sql}")
        except duckdb.Error:
            self.con.execute(f"DELETE FROM posts_rows WHERE ord >= {first} AND ord < {last}")
            return False
        bad, presence = self._check(f"(SELECT * FROM posts_rows WHERE ord >= {first} AND ord < {last})")
        if bad:  # rows to reject, or ids to derive: the row reader does both exactly
            self.con.execute(f"DELETE FROM posts_rows WHERE ord >= {first} AND ord < {last}")
            return False
        self.presence.add(presence)
        return True

    def _add_rows(
        self,
        path: Path,
        first: int,
        text_field: str,
        time_field: str,
        brand_field: str,
        on_rejected: Callable[[list[Any]], None] | None,
        batch_size: int,
    ) -> None:
        from pipeline.data.io import read_posts

        offset = first
        for batch in read_posts(path, text_field=text_field, batch_size=batch_size):
            if on_rejected is not None and batch.rejected:
                on_rejected(batch.rejected)
            if batch.rows:
                table, presence = project_rows(batch.rows, offset, time_field=time_field, brand_field=brand_field)
                self.add_table(table, presence)
            offset += len(batch.rows)


def _utf8_without_bom(path: Path) -> bool:
    """DuckDB reads UTF-8 only; a byte-order mark or another encoding goes to the row reader."""
    from pipeline.data.io import sniff_encoding

    try:
        encoding, bom = sniff_encoding(path)
    except OSError:
        return False
    return encoding == "utf-8" and bom == 0


# ---------------------------------------------------------------------------------------------------------
# Queries (each returns a partial that merges with the same result of other shards)
# ---------------------------------------------------------------------------------------------------------

# The posts with every default applied, as ranking sees them.
SCORED = (
    "(SELECT ord, id, text, coalesce(nullif(intent, ''), 'other') AS intent, "
    "coalesce(nullif(sentiment, ''), 'neutral') AS sentiment, coalesce(topic, 'other') AS topic, topic_label, "
    "topic_score, topics_more, t, created_at, brand, reach, " + ", ".join(P_COLUMNS) + " FROM posts)"
)


@dataclass
class Stats:
    n: int = 0
    t_min: float = math.inf
    t_max: float = -math.inf
    n_reach: int = 0
    n_missing_topic: int = 0
    labels: dict[str, tuple[int, str]] = field(default_factory=dict)  # topic -> (first ord, label)


def scan_stats(con: Any) -> Stats:
    row = con.execute(
        "SELECT count(*), min(t), max(t), count(reach), count(*) FILTER (WHERE topic IS NULL) FROM posts"
    ).fetchall()[0]
    stats = Stats(
        n=int(row[0]),
        t_min=math.inf if row[1] is None else float(row[1]),
        t_max=-math.inf if row[2] is None else float(row[2]),
        n_reach=int(row[3]),
        n_missing_topic=int(row[4]),
    )
    for topic, first, label in con.execute(
        "SELECT topic, min(ord), arg_min(topic_label, ord) FROM posts WHERE topic IS NOT NULL AND "
        "topic_label IS NOT NULL GROUP BY topic"
    ).fetchall():
        stats.labels[str(topic)] = (int(first), str(label))
    return stats


def merge_stats(parts: Iterable[Stats]) -> Stats:
    out = Stats()
    for s in parts:
        out.n += s.n
        out.t_min, out.t_max = min(out.t_min, s.t_min), max(out.t_max, s.t_max)
        out.n_reach += s.n_reach
        out.n_missing_topic += s.n_missing_topic
        for topic, (first, label) in s.labels.items():
            if topic not in out.labels or first < out.labels[topic][0]:
                out.labels[topic] = (first, label)
    return out


@dataclass(frozen=True)
class Windows:
    """How rows map to time windows: window k holds ``end - (k+1) * size < t <= end - k * size``."""

    end: float
    size: float
    n: int

    def sql(self) -> str:
        if self.n <= 0:
            return "-1"
        w = f"CAST(floor(({self.end!r} - t) / {self.size!r}) AS BIGINT)"
        return f"CASE WHEN t IS NULL THEN -1 WHEN {w} >= {self.n} THEN -1 ELSE {w} END"


@dataclass(frozen=True)
class Flags:
    """Which posts are complaints and problems (``RankConfig``'s rules), as SQL over ``intent``/``sentiment``."""

    complaint_intents: tuple[str, ...]
    excluded_intents: tuple[str, ...]
    count_negative: bool

    def complaint(self) -> str:
        return f"(intent IN {_in_list(self.complaint_intents)})"

    def problem(self) -> str:
        excluded = f"(intent IN {_in_list(self.excluded_intents)})"
        negative = "(sentiment = 'negative')"
        base = f"({self.complaint()} OR ({negative} AND NOT {excluded}))" if self.count_negative else self.complaint()
        return f"(coalesce({base}, false) AND NOT coalesce({excluded}, false))"


def _candidates(intents: Sequence[str]) -> str:
    return f"topic = 'other' AND intent IN {_in_list(intents)}"


def candidate_strata(con: Any, windows: Windows, intents: Sequence[str]) -> dict[tuple[str | None, int], int]:
    """Posts that discovery may cluster (``other`` posts of the discovery intents) per (brand, window)."""
    rows = con.execute(
        f"SELECT brand, {windows.sql()} AS w, count(*) FROM {SCORED} WHERE {_candidates(intents)} GROUP BY ALL"
    ).fetchall()
    return {(b, int(w)): int(n) for b, w, n in rows}


def merge_counts(parts: Iterable[dict[Any, int]]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for part in parts:
        for key, n in part.items():
            out[key] = out.get(key, 0) + n
    return out


def _stratum_order(key: tuple[str | None, int]) -> tuple[bool, str, int]:
    return (key[0] is None, key[0] or "", key[1])


def allocate(counts: dict[tuple[str | None, int], int], total: int) -> dict[tuple[str | None, int], int]:
    """Posts to sample per stratum: all of them when they fit in ``total``, else proportional allocation
    (largest remainders, ties in stratum order)."""
    n = sum(counts.values())
    if n <= total:
        return dict(counts)
    keys = sorted(counts, key=_stratum_order)
    exact = {k: total * counts[k] / n for k in keys}
    quota = {k: math.floor(exact[k]) for k in keys}
    left = total - sum(quota.values())
    for k in sorted(keys, key=lambda k: (-(exact[k] - quota[k]), _stratum_order(k)))[:left]:
        quota[k] += 1
    return {k: q for k, q in quota.items() if q > 0}


@dataclass
class SampleRow:
    brand: str | None
    window: int
    hash: int
    ord: int
    text: str


def discovery_sample(
    con: Any, windows: Windows, intents: Sequence[str], quotas: dict[tuple[str | None, int], int], seed: int
) -> list[SampleRow]:
    """Per stratum, the ``quota`` candidate posts with the smallest hash of (id, seed) (ties by ord)."""
    import pyarrow as pa

    if not quotas:
        return []
    keys = sorted(quotas, key=_stratum_order)
    table = pa.table(
        {
            "q_brand": pa.array([k[0] for k in keys], pa.string()),
            "q_w": pa.array([k[1] for k in keys], pa.int64()),
            "q_n": pa.array([quotas[k] for k in keys], pa.int64()),
        }
    )
    con.register("_voc_quota", table)
    try:
        rows = con.execute(
            f"SELECT brand, w, h, ord, text FROM (SELECT brand, {windows.sql()} AS w, "
            f"hash(id || {_lit(':' + str(seed))}) AS h, ord, text FROM {SCORED} WHERE {_candidates(intents)}) c "
            "JOIN _voc_quota q ON c.brand IS NOT DISTINCT FROM q.q_brand AND c.w = q.q_w "
            "QUALIFY row_number() OVER (PARTITION BY brand, w ORDER BY h, ord) <= q.q_n ORDER BY ord"
        ).fetchall()
    finally:
        con.unregister("_voc_quota")
    return [SampleRow(b, int(w), int(h), int(o), str(t)) for b, w, h, o, t in rows]


def merge_samples(parts: Iterable[list[SampleRow]], quotas: dict[tuple[str | None, int], int]) -> list[SampleRow]:
    by_stratum: dict[tuple[str | None, int], list[SampleRow]] = {}
    for part in parts:
        for row in part:
            by_stratum.setdefault((row.brand, row.window), []).append(row)
    out: list[SampleRow] = []
    for key, rows in by_stratum.items():
        rows.sort(key=lambda r: (r.hash, r.ord))
        out.extend(rows[: quotas.get(key, 0)])
    out.sort(key=lambda r: r.ord)
    return out


def _overlay(con: Any, relation: str) -> None:
    """Replace the overlay rows of the posts in ``relation`` (ord, topic, topic_score, topic_label, topics_more)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _voc_new AS {relation}")
    try:
        con.execute("DELETE FROM posts_overlay WHERE ord IN (SELECT ord FROM _voc_new)")
        con.execute("INSERT INTO posts_overlay SELECT ord, topic, topic_score, topic_label, topics_more FROM _voc_new")
    finally:
        con.execute("DROP TABLE _voc_new")


def assign_by_ord(
    con: Any, ords: Sequence[int], topics: Sequence[str], scores: Sequence[float], labels: Sequence[str] | None = None
) -> None:
    """Set the topic (and score, and label if given) of the posts at ``ords``."""
    import pyarrow as pa

    if not len(ords):
        return
    data = {
        "a_ord": pa.array(list(ords), pa.int64()),
        "a_topic": pa.array(list(topics), pa.string()),
        "a_score": pa.array(list(scores), pa.float64()),
        "a_label": pa.array(list(labels) if labels is not None else [None] * len(ords), pa.string()),
    }
    con.register("_voc_assigned", pa.table(data))
    try:
        _overlay(
            con,
            "SELECT p.ord, a.a_topic AS topic, a.a_score AS topic_score, "
            "coalesce(a.a_label, p.topic_label) AS topic_label, NULL::VARCHAR AS topics_more FROM posts p "
            "JOIN _voc_assigned a ON p.ord = a.a_ord",
        )
    finally:
        con.unregister("_voc_assigned")


class TextTopics(NamedTuple):
    """What a topic assigner gives for a batch of distinct texts (:func:`assign_by_text`), one entry per text."""

    topics: list[str]  # the primary topic; ``other`` leaves the post's own
    scores: list[float]
    labels: list[str] | None = None  # display labels; None keeps the posts' own
    # The text's other topics joined by TOPIC_SEPARATOR (None: none), as ``topics_more`` holds them for posts
    # that arrive with voc score's ``topics``: the ranking counts the post under each of them too.
    more: list[str | None] | None = None


TextAssigner = Callable[[list[str]], TextTopics]


def assign_by_text(
    con: Any,
    where: str,
    assign: TextAssigner,
    *,
    batch_size: int = 20_000,
    skip: Sequence[int] = (),
) -> int:
    """Assign the posts selected by ``where`` (over the ``posts`` view) one distinct text at a time.

    ``assign(texts)`` gives the topics per text (:class:`TextTopics`); texts whose topic is ``other`` keep
    theirs. ``skip``: ords to leave alone. Returns the number of distinct texts assigned. Memory: one batch.
    """
    import pyarrow as pa

    con.register("_voc_skip", pa.table({"s_ord": pa.array(list(skip), pa.int64())}))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _voc_todo AS SELECT text, row_number() OVER (ORDER BY text) AS k "
            f"FROM (SELECT DISTINCT text FROM posts WHERE {where} AND ord NOT IN (SELECT s_ord FROM "
            "_voc_skip))"
        )
        total = int(con.execute("SELECT count(*) FROM _voc_todo").fetchall()[0][0])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _voc_text_topic "
            "(k BIGINT, a_topic VARCHAR, a_score DOUBLE, a_label VARCHAR, a_more VARCHAR)"
        )
        for start in range(0, total, batch_size):
            texts = [
                r[0]
                for r in con.execute(
                    "SELECT text FROM _voc_todo WHERE k > ? AND k <= ? ORDER BY k", [start, start + batch_size]
                ).fetchall()
            ]
            assigned = assign(texts)
            keep = [i for i, t in enumerate(assigned.topics) if t != "other"]
            labels, more = assigned.labels, assigned.more
            table = pa.table(
                {
                    "k": pa.array([start + 1 + i for i in keep], pa.int64()),
                    "a_topic": pa.array([assigned.topics[i] for i in keep], pa.string()),
                    "a_score": pa.array([assigned.scores[i] for i in keep], pa.float64()),
                    "a_label": pa.array(
                        [labels[i] for i in keep] if labels is not None else [None] * len(keep), pa.string()
                    ),
                    "a_more": pa.array(
                        [more[i] for i in keep] if more is not None else [None] * len(keep), pa.string()
                    ),
                }
            )
            con.register("_voc_batch_topics", table)
            try:
                con.execute("INSERT INTO _voc_text_topic SELECT * FROM _voc_batch_topics")
            finally:
                con.unregister("_voc_batch_topics")
        _overlay(
            con,
            "SELECT p.ord, a.a_topic AS topic, a.a_score AS topic_score, "
            "coalesce(a.a_label, p.topic_label) AS topic_label, a.a_more AS topics_more FROM posts p "
            "JOIN (SELECT text, a_topic, a_score, a_label, a_more FROM _voc_todo JOIN _voc_text_topic USING (k)) a "
            f"ON p.text = a.text WHERE {where} AND p.ord NOT IN (SELECT s_ord FROM _voc_skip)",
        )
        con.execute("DROP TABLE _voc_todo")
        con.execute("DROP TABLE _voc_text_topic")
    finally:
        con.unregister("_voc_skip")
    return total


def candidate_filter(intents: Sequence[str]) -> str:
    """``WHERE`` clause over the ``posts`` view for the posts discovery clusters."""
    return f"coalesce(topic, 'other') = 'other' AND coalesce(nullif(intent, ''), 'other') IN {_in_list(intents)}"


# -- cells -----------------------------------------------------------------------------------------------

CELL_KEYS = ("brand", "topic", "w", "intent", "sentiment", "is_primary")


def cells(con: Any, windows: Windows, weighted: bool, where: str = "true") -> Any:
    """Counts and sums per (brand, topic, window, intent, sentiment, is_primary) cell of the posts ``where``
    selects, as an Arrow table (what a shard sends back; :func:`cell_arrays` makes numpy columns of it).

    Each post is one row under its primary topic (``is_primary``) and one more under each of its other topics
    (``topics_more``): topic counts include both, totals only the primary rows, so a post is counted once
    overall and under every topic it clearly belongs to."""
    weight = "CASE WHEN reach IS NOT NULL THEN 1 + ln(1 + reach) ELSE 1.0 END" if weighted else "1.0"
    sums = ", ".join(f"sum({p}) AS s_{j}, sum({p} * (1 - {p})) AS v_{j}" for j, p in enumerate(P_COLUMNS))
    keep = f"ord, brand, t, intent, sentiment, reach, {', '.join(P_COLUMNS)}"
    # One scan of the posts (a Parquet input is read again by every scan): the two unnests run in step.
    more = f"coalesce(string_split(topics_more, {_lit(TOPIC_SEPARATOR)}), [])"
    rows = (
        f"SELECT {keep}, unnest(list_prepend(topic, {more})) AS topic, "
        f"unnest(list_prepend(true, list_transform({more}, lambda x: false))) AS is_primary FROM {SCORED} WHERE {where}"
    )
    return query_arrow(
        con,
        f"SELECT brand, topic, w, intent, sentiment, is_primary, count(*) AS n, sum(wt) AS w_sum, "
        f"sum(wt * wt) AS w_sq, min(ord) AS first, {sums} FROM (SELECT *, {windows.sql()} AS w, "
        f"{weight} AS wt FROM ({rows})) GROUP BY ALL",
    )


def cell_arrays(table: Any) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table[name]
        if name in ("brand", "topic", "intent", "sentiment"):
            out[name] = np.array(column.to_pylist(), dtype=object)
        elif name == "is_primary":
            out[name] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=bool)
        elif name in ("n", "w", "first"):
            out[name] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            out[name] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def merge_cells(parts: Sequence[Any]) -> dict[str, np.ndarray]:
    """One cell table from Arrow cell tables of several shards (sums; the smallest first row)."""
    import duckdb
    import pyarrow as pa

    table = pa.concat_tables(parts)
    sums = ", ".join(f"sum(s_{j}) AS s_{j}, sum(v_{j}) AS v_{j}" for j in range(N_INTENTS))
    con = duckdb.connect()
    try:
        con.register("_voc_cells", table)
        merged = query_arrow(
            con,
            (
                "SELECT brand, topic, w, intent, sentiment, is_primary, sum(n)::BIGINT AS n, sum(w_sum) AS w_sum, "
                f"sum(w_sq) AS w_sq, min(first) AS first, {sums} FROM _voc_cells GROUP BY ALL ORDER BY first"
            ),
        )
    finally:
        con.close()
    return cell_arrays(merged)


# -- evidence --------------------------------------------------------------------------------------------


@dataclass
class Example:
    """A candidate example post: its place in the ranking's order and what the report shows of it."""

    priority: int
    score: float
    ord: int
    id: str
    text: str
    intent: str
    sentiment: str
    brand: str | None
    created_at: str | None
    group: Any = None  # the distinct-text key (with ``distinct``)

    def sort_key(self) -> tuple[int, float, int]:
        return (-self.priority, -self.score, self.ord)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "intent": self.intent,
            "sentiment": self.sentiment,
            "brand": self.brand,
            "created_at": self.created_at,
        }


Scope = str | None  # None: all posts; else a brand


# Grouping key for distinct example texts: the text itself (hashed), finer than pipeline.ranking.rank's (which also
# ignores case, punctuation, links and mentions), so grouping by it never merges two texts the ranking would
# show apart (but for a 64-bit hash collision: odds of ~1e-7 among a million texts, and then only an example
# would be skipped). Exact copies (the bulk of repeated posts) collapse; near copies are left to pipeline.ranking.rank.
_SQL_DEDUP = "hash(text)"


def evidence(
    con: Any,
    flags: Flags,
    by_brand: bool,
    depth: int,
    *,
    offset: int = 0,
    only: Sequence[tuple[Scope, str]] | None = None,
    distinct: bool = False,
    where: str = "true",
) -> dict[tuple[Scope, str], list[Example]]:
    """Per topic but ``other`` (and per brand and topic with ``by_brand``), the candidate examples ranked
    ``offset`` to ``offset + depth`` in the order examples are chosen: problem posts first (complaints
    before other problems), then topic score, then input order. ``only``: just these (scope, topic);
    ``distinct``: the best post of each distinct text instead; ``where``: of the posts it selects only."""
    import pyarrow as pa

    priority = f"(CAST({flags.complaint()} AS INTEGER) + CAST({flags.problem()} AS INTEGER))"
    brands = by_brand or (only is not None and any(scope is not None for scope, _ in only))
    rows = f"SELECT * FROM {SCORED} WHERE topic <> 'other' AND {where}"
    if only is not None:
        wanted = "(SELECT DISTINCT w_topic FROM _voc_wanted)"
        rows = f"SELECT * FROM {SCORED} WHERE topic IN {wanted} AND {where}"
    # Both scopes in one pass: all posts (grouped by topic) and each brand's (by brand and topic); the brand
    # groups of posts without a brand are no scope.
    key = "{'p': prio, 's': topic_score, 'o': -ord}"
    dk = f", {_SQL_DEDUP} AS dk" if distinct else ""
    keyed = f"SELECT *, {priority} AS prio{dk} FROM ({rows})"
    n = offset + depth
    g, groups = (
        ("grouping(brand)", "GROUP BY GROUPING SETS ((topic{0}), (brand, topic{0}))")
        if brands
        else ("1", "GROUP BY topic{0}")
    )
    if distinct:
        grouped = (
            f"SELECT g, brand, topic, max_by(-key.o, key, {n}) AS ords FROM (SELECT {g} AS g, "
            f"{'brand' if brands else 'NULL'} AS brand, topic, max({key}) AS key FROM ({keyed}) "
            f"{groups.format(', dk')}) GROUP BY g, brand, topic"
        )
    else:
        grouped = (
            f"SELECT {g} AS g, {'brand' if brands else 'NULL'} AS brand, topic, max_by(ord, {key}, {n}) "
            f"AS ords FROM ({keyed}) {groups.format('')}"
        )
    top = (
        f"SELECT CASE WHEN g = 1 THEN NULL ELSE brand END AS scope, topic, ords FROM ({grouped}) "
        "WHERE g = 1 OR brand IS NOT NULL"
    )
    if only is not None:
        top = (
            f"SELECT t.* FROM ({top}) t JOIN _voc_wanted w ON t.scope IS NOT DISTINCT FROM w.w_scope "
            "AND t.topic = w.w_topic"
        )
    out: dict[tuple[Scope, str], list[Example]] = {}
    if only is not None:
        if not only:
            return out
        con.register(
            "_voc_wanted",
            pa.table(
                {
                    "w_scope": pa.array([s for s, _ in only], pa.string()),
                    "w_topic": pa.array([t for _, t in only], pa.string()),
                }
            ),
        )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _voc_ev AS {top}")
        group = _SQL_DEDUP if distinct else "NULL"
        fetched = con.execute(
            f"SELECT ord, {priority} AS prio, topic_score, id, text, intent, sentiment, brand, created_at, {group} "
            f"FROM {SCORED} WHERE ord IN (SELECT unnest(ords) FROM _voc_ev)"
        ).fetchall()
        by_ord = {
            int(r[0]): Example(
                int(r[1]), float(r[2]), int(r[0]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), r[7], r[8], r[9]
            )
            for r in fetched
        }
        for scope, topic, ords in con.execute("SELECT scope, topic, ords FROM _voc_ev").fetchall():
            chosen = sorted((by_ord[int(o)] for o in ords), key=Example.sort_key)
            out[(scope, str(topic))] = chosen[offset:]
        con.execute("DROP TABLE _voc_ev")
    finally:
        if only is not None:
            con.unregister("_voc_wanted")
    return out


def merge_evidence(
    parts: Iterable[dict[tuple[Scope, str], list[Example]]], depth: int, distinct: bool = False
) -> dict[tuple[Scope, str], list[Example]]:
    """The best ``depth`` candidates of several shards' :func:`evidence` (with ``distinct``, the best post of
    each text group: a group's best overall is among its shard's best ``depth`` groups when it makes the
    overall best ``depth``, so merging the shards' lists is exact)."""
    out: dict[tuple[Scope, str], list[Example]] = {}
    for part in parts:
        for key, rows in part.items():
            out.setdefault(key, []).extend(rows)
    merged: dict[tuple[Scope, str], list[Example]] = {}
    for key, rows in out.items():
        rows.sort(key=Example.sort_key)
        if distinct:
            seen: set[Any] = set()
            kept = []
            for r in rows:
                if r.group not in seen:
                    seen.add(r.group)
                    kept.append(r)
            rows = kept
        merged[key] = rows[:depth]
    return merged
