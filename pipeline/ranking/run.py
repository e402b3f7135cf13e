"""``voc rank`` on a file, a directory of shards or a glob: the engine chosen (local DuckDB or Ray), the ranking
written (:func:`pipeline.ranking.rank.write_ranking`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.ranking.aggregate import PostStore
from pipeline.ranking.rank import (
    LocalSource,
    RankConfig,
    attach_mix_estimates,
    check_fields,
    previous_topics,
    rank_source,
    write_ranking,
)
from pipeline.topics.taxonomy import Taxonomy


def rank_file(
    input_path: str | Path,
    output_dir: str | Path,
    *,
    config: RankConfig | None = None,
    taxonomy: str | Path | Taxonomy | None = None,
    by_brand: bool = False,
    text_field: str = "text",
    time_field: str = "created_at",
    brand_field: str = "brand",
    engine: str = "local",
    workers: int | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """``voc rank``: read scored posts, rank, and write ranking.json, ranking.csv and report.html.

    ``time_field`` and ``brand_field`` name the input's timestamp and brand columns when they are not
    ``created_at`` and ``brand`` (``voc score`` carries every column through, e.g. ``tweet_created``,
    ``airline``); a named field that no row has a value for is an error, not a silent ranking without it.

    Unusable rows go to ``<output_dir>.rejected.jsonl`` and are counted in ``result["input"]``. Posts
    without a ``topic`` field get one from ``taxonomy`` when it is given. An existing
    ``output_dir/ranking.json`` supplies the previous run's discovered topic ids (stable ids).

    ``engine``: ``local`` aggregates in DuckDB on this machine (:mod:`pipeline.ranking.aggregate`; it spills to a
    temporary directory beside the output, or in ``$VOC_TMPDIR``, beyond ``$VOC_DUCKDB_MEMORY``); ``ray``
    runs the same passes on every input file (the Parquet shards of ``voc score --engine ray``) as Ray
    tasks, ``workers`` at a time (:func:`pipeline.ranking.ray_rank.rank_source_ray`), with the same result.
    """
    from pipeline.data.io import RejectedWriter
    from pipeline.topics.taxonomy import load_taxonomy

    if engine not in ("local", "ray"):
        raise InputError(f"unknown --engine {engine!r}: use 'local' or 'ray'")
    cfg = config or RankConfig()
    tax = load_taxonomy(taxonomy) if isinstance(taxonomy, (str, Path)) else taxonomy
    out = Path(output_dir)
    previous: dict[str, list[str]] | None = None
    try:
        previous = previous_topics(json.loads((out / "ranking.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        previous = None  # no earlier run, or an unreadable one: ids come from keywords alone
    if engine == "ray":
        from pipeline.ranking.ray_rank import rank_source_ray

        result, examples, n_rejected, rejected_file = rank_source_ray(
            input_path,
            out,
            cfg,
            by_brand=by_brand,
            taxonomy=tax,
            previous=previous,
            text_field=text_field,
            time_field=time_field,
            brand_field=brand_field,
            workers=workers,
        )
    else:
        rejected = RejectedWriter(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with PostStore(directory=os.environ.get("VOC_TMPDIR") or out.parent) as store:
            failed = True
            try:
                store.add_input(
                    input_path,
                    text_field=text_field,
                    time_field=time_field,
                    brand_field=brand_field,
                    on_rejected=rejected.add,
                )
                failed = False
            finally:
                rejected_file = rejected.close(failed=failed)
            check_fields(input_path, store.count(), store.presence, time_field, brand_field)
            result, examples = rank_source(LocalSource(store), cfg, by_brand=by_brand, taxonomy=tax, previous=previous)
        n_rejected = rejected.count
    attach_mix_estimates(result, Path(f"{input_path}.mix.json"))
    result["input"] = {
        "path": str(input_path),
        "n_rejected": n_rejected,
        "rejected_file": str(rejected_file) if rejected_file else None,
    }
    return result, write_ranking(result, out, examples)
