"""``voc rank --engine ray``: the local engine's aggregation passes, one Ray task per input file, merged exactly.

Each task loads one file (a Parquet shard of ``voc score --engine ray``) into its own in-memory DuckDB store
(:mod:`pipeline.ranking.aggregate`) and answers the same queries as the local engine; the driver merges the
partial results. Ray is an optional dependency (``pip install 'voc-pipeline[ray]'``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.data.io import AtomicWriter, input_files, rejected_path
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pipeline.ranking.rank import RankConfig
    from pipeline.topics.assign import TopicAssigner
    from pipeline.topics.fast import FastTopicScorer
    from pipeline.topics.taxonomy import Taxonomy


class _Shard:
    """One input file in a Ray task: loaded into its own in-memory DuckDB store, with the job's topic
    assignments applied, then queried with the local engine's code (:mod:`pipeline.ranking.aggregate`)."""

    def __init__(
        self, index: int, path: str, fields: tuple[str, str, str], discovery: Any = None, taxonomy: Any = None
    ) -> None:
        from pipeline.ranking.aggregate import PostStore

        self.rejected: list[dict[str, Any]] = []
        self.store = PostStore(in_memory=True)
        text_field, time_field, brand_field = fields
        self.store.add_input(
            path,
            text_field=text_field,
            time_field=time_field,
            brand_field=brand_field,
            on_rejected=lambda rows: self.rejected.extend(r.to_dict() for r in rows),
            files=[(index, Path(path))],
        )
        if taxonomy is not None:
            # Before discovery, as on the local engine: discovery clusters the posts the taxonomy left without a topic.
            from pipeline.ranking.rank import assign_from_taxonomy

            assign_from_taxonomy(self.store.con, _taxonomy_assigner(*taxonomy))
        if discovery is not None:
            from pipeline.ranking.aggregate import ORD_SHIFT
            from pipeline.ranking.rank import discovery_assigner, make_normaliser

            discoverer, sample, intents = discovery
            first, last = index << ORD_SHIFT, (index + 1) << ORD_SHIFT
            mine = [(o, t, s) for o, t, s in sample if first <= o < last]
            from pipeline.ranking.aggregate import assign_by_ord, assign_by_text, candidate_filter

            assign_by_ord(self.store.con, [m[0] for m in mine], [m[1] for m in mine], [m[2] for m in mine])
            assign_by_text(
                self.store.con,
                candidate_filter(intents),
                discovery_assigner(discoverer, make_normaliser()),
                skip=[o for o, _, _ in sample if first <= o < last],
            )

    def __enter__(self) -> _Shard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()


# The taxonomy assigner per worker process, built once and reused by every pass over every shard that process
# runs (loading the bundle's vectors costs more than assigning one shard's distinct texts).
_ASSIGNERS: dict[str, FastTopicScorer | TopicAssigner] = {}


def _taxonomy_assigner(taxonomy: Taxonomy, config: RankConfig) -> FastTopicScorer | TopicAssigner:
    from pipeline.ranking.rank import ranking_topic_assigner

    key = json.dumps([taxonomy.model_dump(mode="json"), config.model_dump(mode="json")], sort_keys=True, default=str)
    if key not in _ASSIGNERS:
        _ASSIGNERS.clear()
        _ASSIGNERS[key] = ranking_topic_assigner(taxonomy, config)
    return _ASSIGNERS[key]


class RaySource:
    """The passes of :func:`pipeline.ranking.rank.rank_source` as Ray Data jobs: each file of the input (the
    Parquet shards ``voc score --engine ray`` writes) is one task that runs the local engine's query on
    that file, and the partial results merge exactly (:mod:`pipeline.ranking.aggregate`), so the ranking is the
    local engine's. Only the rare deep search for examples (a topic whose best posts are copies of fewer
    texts than it shows) is not distributed: such a topic shows the examples found among its best."""

    def __init__(self, files: list[Path], fields: tuple[str, str, str], workers: int | None) -> None:
        self.files = files
        self.fields = fields
        self.workers = workers
        self.discovery: Any = None  # an object ref of (discoverer, sample assignments, intents)
        self.taxonomy: Any = None  # an object ref of (taxonomy, config) for posts that arrive without a topic
        self.rejected: list[dict[str, Any]] = []
        self.n_rows = 0
        self.presence: Any = None

    def _map(self, task: Callable[..., Any], *args: Any) -> list[Any]:
        """``task(shard, *args)`` on every file, one Ray task each; results in file order."""
        import pickle

        import ray.data

        fields, discovery, taxonomy = self.fields, self.discovery, self.taxonomy

        def run(batch: dict[str, Any]) -> dict[str, Any]:
            import ray

            payloads = []
            for index, path in zip(batch["index"], batch["path"]):
                state = ray.get(discovery) if discovery is not None else None
                assign = ray.get(taxonomy) if taxonomy is not None else None
                with _Shard(int(index), str(path), fields, state, assign) as shard:
                    payloads.append(pickle.dumps((int(index), task(shard, *args))))
            return {"payload": payloads}

        items = [{"index": i, "path": str(p)} for i, p in enumerate(self.files)]
        dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        options: dict[str, Any] = {"batch_size": 1, "num_cpus": 1}
        if self.workers:
            options["concurrency"] = self.workers
        rows = dataset.map_batches(run, **options).take_all()
        results = sorted((pickle.loads(row["payload"]) for row in rows), key=lambda r: r[0])
        return [r[1] for r in results]

    def stats(self) -> Any:
        from pipeline.ranking.aggregate import Presence, merge_stats, scan_stats

        parts = self._map(
            lambda shard: (scan_stats(shard.store.con), shard.store.presence, shard.store.count(), shard.rejected)
        )
        self.presence = Presence()
        for _stats, presence, n, rejected in parts:
            self.presence.add(presence)
            self.n_rows += n
            self.rejected.extend(rejected)
        self._stats = merge_stats(p[0] for p in parts)
        return self._stats

    def assign_missing(self, taxonomy: Any, config: Any) -> None:
        """Every later pass assigns each shard's posts without a topic as the local engine does
        (:func:`pipeline.ranking.rank.assign_from_taxonomy`), before discovery's assignments."""
        import ray

        self.taxonomy = ray.put((taxonomy, config))

    def strata(self, windows: Any, intents: Any) -> dict[tuple[str | None, int], int]:
        from pipeline.ranking.aggregate import candidate_strata, merge_counts

        return merge_counts(self._map(lambda shard: candidate_strata(shard.store.con, windows, intents)))

    def sample(self, windows: Any, intents: Any, quotas: dict[tuple[str | None, int], int], seed: int) -> list[Any]:
        from pipeline.ranking.aggregate import discovery_sample, merge_samples

        return merge_samples(
            self._map(lambda shard: discovery_sample(shard.store.con, windows, intents, quotas, seed)), quotas
        )

    def apply_discovery(self, discoverer: Any, sample_ords: list[int], intents: Any, normaliser: Any) -> None:
        import ray

        sample = [(o, t, s) for o, t, s in zip(sample_ords, discoverer.labels_, discoverer.scores_) if t != "other"]
        skipped = [(o, "other", 0.0) for o, t in zip(sample_ords, discoverer.labels_) if t == "other"]
        # Posts of the sample keep their own labels; "other" ones are listed too, so shards skip them.
        self.discovery = ray.put((discoverer, sample + skipped, list(intents)))

    def labels(self) -> dict[str, tuple[int, str]]:
        return dict(self._stats.labels)

    def aggregate(self, windows: Any, weighted: bool, flags: Any, by_brand: bool, depth: int) -> tuple[Any, Any]:
        from pipeline.ranking.aggregate import cells, evidence, merge_cells, merge_evidence

        parts = self._map(
            lambda shard: (cells(shard.store.con, windows, weighted), evidence(shard.store.con, flags, by_brand, depth))
        )
        return merge_cells([p[0] for p in parts]), merge_evidence((p[1] for p in parts), depth)

    def examples(
        self, pairs: list[tuple[str | None, str]], flags: Any, depth: int, *, distinct: bool, offset: int = 0
    ) -> dict[tuple[str | None, str], list[Any]]:
        from pipeline.ranking.aggregate import evidence, merge_evidence

        if offset:
            return {}  # the deep search reads one topic down its order: not worth a distributed pass
        parts = self._map(lambda shard: evidence(shard.store.con, flags, False, depth, only=pairs, distinct=distinct))
        return merge_evidence(parts, depth, distinct=distinct)


def rank_source_ray(
    input_spec: str | Path,
    output_dir: Path,
    config: Any,
    *,
    by_brand: bool = False,
    taxonomy: Any = None,
    previous: dict[str, list[str]] | None = None,
    text_field: str = "text",
    time_field: str = "created_at",
    brand_field: str = "brand",
    workers: int | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], int, Path | None]:
    """``voc rank --engine ray``: the ranking of :func:`pipeline.ranking.run.rank_file`, aggregated on Ray.

    Returns the result, the example posts' records, the number of rejected rows and the rejected file.
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'voc-pipeline[ray]'") from None
    from pipeline.ranking.rank import check_fields, rank_source

    if "://" in str(input_spec):
        raise InputError("voc rank --engine ray reads local or mounted shards; give a path, not a URI")
    files = input_files(input_spec)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING)  # joins $RAY_ADDRESS when set
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    source = RaySource(files, (text_field, time_field, brand_field), workers)
    source.stats()
    rejected_file = rejected_path(output_dir)
    if source.rejected:
        with AtomicWriter(rejected_file) as handle:
            for row in source.rejected:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    elif rejected_file.exists():
        rejected_file.unlink()
    check_fields(input_spec, source.n_rows, source.presence, time_field, brand_field)
    result, examples = rank_source(source, config, by_brand=by_brand, taxonomy=taxonomy, previous=previous)
    return result, examples, len(source.rejected), rejected_file if source.rejected else None
