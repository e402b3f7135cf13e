"""``voc score --engine ray``: the same scorer, distributed with Ray Data.

The input (a file, directory or glob of Parquet/JSONL/CSV, or a URI Ray can read such as ``s3://...``)
is read with ``ray.data.read_*``; ``map_batches`` runs :class:`RayBatchScorer`, a class-based UDF, on an
actor pool, so every actor builds one :class:`~pipeline.scoring.job.BatchScorer` (the bundle and taxonomy
loaded once) and scores batch after batch with exactly the code the local engine uses. The scored rows
are written as a directory of Parquet shards; rows that cannot be used go to ``<output>.rejected.jsonl``
beside it, as for the local engine.

``ray.init()`` joins the cluster named by ``RAY_ADDRESS`` (as set by ``ray job submit``), else starts a
local instance. Ray is an optional dependency (``pip install 'voc-pipeline[ray]'``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.data.io import SUPPORTED_SUFFIXES, AtomicWriter, input_files, rejected_path, write_json_atomic
from pipeline.errors import InputError
from pipeline.scoring.job import ScoreSummary

REJECTED_COLUMN = "_voc_rejected"


def _rejection(row: dict[str, Any], text_field: str) -> str | None:
    """Why a row cannot be scored (the local reader's rules for a parsed record), or None."""
    if text_field not in row:
        return f"no '{text_field}' field"
    text = row[text_field]
    if text is None:
        return f"'{text_field}' is null"
    if not isinstance(text, str):
        return f"'{text_field}' must be a string, got {type(text).__name__}"
    if not text.strip():
        return "text is empty or whitespace only"
    return None


def actor_threads() -> int | None:
    """Inference threads for this actor: the CPUs Ray assigned it (a saved training-time count would
    oversubscribe a node that runs one actor per CPU). None where the user set ``VOC_MODEL_THREADS``, which
    the bundle already read at load, or outside an actor."""
    from pipeline.models.transformer import threads_from_env

    if threads_from_env() is not None:
        return None
    try:
        import ray

        if not ray.is_initialized():  # asking for the runtime context would start a local Ray
            return None
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # not in a Ray worker, or an older Ray without the call: keep the bundle's setting
        return None
    return max(1, int(cpus)) if cpus else None


class RayBatchScorer:
    """Ray Data UDF: one ``BatchScorer`` per actor, Arrow tables in and out."""

    def __init__(self, model: str | None, taxonomy: str | None, text_field: str) -> None:
        from pipeline.scoring.job import BatchScorer, quiet_garbage_collector

        self.scorer = BatchScorer(model, taxonomy=taxonomy, with_topics=True, carry_columns=True)
        self.text_field = text_field
        threads = actor_threads()
        if threads is not None:
            self.scorer.predictor.set_inference_threads(threads)
        quiet_garbage_collector()  # an actor process only scores batches

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        from pipeline.data.io import _parquet_value, derived_id

        good: list[dict[str, Any]] = []
        out: list[dict[str, Any]] = []
        for row in table.to_pylist():
            source = str(row.pop("path", "") or "")
            reason = _rejection(row, self.text_field)
            if reason is not None:
                raw = json.dumps(row, ensure_ascii=False, default=str)
                out.append({REJECTED_COLUMN: json.dumps({"source": source, "reason": reason, "raw": raw})})
                continue
            if self.text_field != "text":
                row["text"] = row.pop(self.text_field)
            if row.get("id") in (None, ""):
                # No row number in a distributed read: the id comes from the file and the content only.
                row["id"] = derived_id(row["text"], source, 0)
            elif not isinstance(row["id"], str):
                row["id"] = str(row["id"])
            good.append(row)
        scored = self.scorer.score(good)
        out = [{k: _parquet_value(v) for k, v in r.items()} | {REJECTED_COLUMN: None} for r in scored] + out
        return pa.Table.from_pylist(out)


def _mix_samples(output: Path, scorer: Any, mix_by: str, named: bool) -> dict[str, Any]:
    """Each task's class-mix sample from the written shards: ids, the grouping column and the score columns."""
    import numpy as np
    import pyarrow.parquet as pq

    from pipeline.scoring.adaptation import WHOLE_FEED, MixSample, sampling_keys

    samples = {task: MixSample() for task in scorer.predictor.classifiers}
    grouped = 0
    for shard in sorted(output.glob("*.parquet")):
        table = pq.read_table(shard)
        if not table.num_rows:
            continue
        groups = [WHOLE_FEED] * table.num_rows
        if mix_by in table.column_names:
            values = table[mix_by].to_pylist()
            grouped += sum(v is not None for v in values)
            groups = [WHOLE_FEED if v is None else str(v) for v in values]
        keys = sampling_keys([str(i) for i in table["id"].to_pylist()])
        for task, sample in samples.items():
            scores = table[f"{task}_scores"].combine_chunks()
            classes = list(scorer.predictor.classifiers[task].classes_)
            proba = np.column_stack([scores.field(c).to_numpy(zero_copy_only=False) for c in classes])
            sample.add(groups, keys, proba.astype(np.float32))
    if named and not grouped:
        raise InputError(f"--mix-by {mix_by}: no scored row has a '{mix_by}' field")
    return samples


def _adjust_shards(directory: Path, column: str, adjustments: list[Any]) -> None:
    """Rewrite every Parquet shard of ``directory`` with its labels adjusted (one shard in memory at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.scoring.adaptation import WHOLE_FEED

    for shard in sorted(directory.glob("*.parquet")):
        rows = pq.read_table(shard).to_pylist()
        if not rows:
            continue
        groups = [WHOLE_FEED if row.get(column) is None else str(row[column]) for row in rows]
        for adjustment in adjustments:
            adjustment.apply(rows, groups)
        with AtomicWriter(shard, "wb") as handle:
            pq.write_table(pa.Table.from_pylist(rows), handle, compression="zstd")


def _read(spec: str, text_field: str) -> Any:
    import ray.data

    if "://" in spec:  # a remote URI: Ray lists it itself
        paths = [spec]
        kinds = {SUPPORTED_SUFFIXES.get(Path(spec.rstrip("/")).suffix.lower(), "parquet")}
    else:
        files = input_files(spec)
        paths = [str(p) for p in files]
        kinds = {SUPPORTED_SUFFIXES[p.suffix.lower()] for p in files}
    if len(kinds) > 1:
        raise InputError(f"--engine ray needs one input format, got {', '.join(sorted(kinds))}")
    kind = kinds.pop()
    if kind == "parquet":
        return ray.data.read_parquet(paths, include_paths=True, num_cpus=0.25)
    if kind == "csv":
        return ray.data.read_csv(paths, include_paths=True, num_cpus=0.25)
    return ray.data.read_json(paths, lines=True, include_paths=True, num_cpus=0.25)


def score_posts_ray(
    input_spec: str | Path,
    output: str | Path,
    *,
    model: str | Path | None = None,
    taxonomy: str | Path | None = None,
    workers: int = 1,
    batch_size: int = 5000,
    text_field: str = "text",
    log: Callable[[str], None] | None = None,
    estimate_mix: bool = True,
    mix_by: str | None = None,
    adapt_labels: Sequence[str] = (),
) -> ScoreSummary:
    """Score ``input_spec`` on Ray into the directory ``output`` (Parquet shards, in input order).

    ``estimate_mix``, ``mix_by`` and ``adapt_labels`` as for :func:`pipeline.scoring.job.score_posts`; the sample
    is read back from the scored rows (their score columns and the grouping column), so it is the local
    engine's sample, and adapted labels rewrite the shards before the directory gets its final name.
    """
    try:
        import pyarrow.compute as pc
        import ray
        import ray.data
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'voc-pipeline[ray]'") from None

    started = time.perf_counter()
    output = Path(output)
    if output.suffix.lower() in (".jsonl", ".json", ".csv"):
        raise InputError(f"--engine ray writes a directory of Parquet files; give a directory, not {output}")
    model_arg = str(model) if model is not None else None
    taxonomy_arg = str(taxonomy) if taxonomy is not None else None
    # Fail on a bad bundle or taxonomy here, before any cluster work.
    from pipeline.scoring.job import BatchScorer

    checker = BatchScorer(model, taxonomy=taxonomy, with_topics=True, carry_columns=False)
    unknown = sorted(set(adapt_labels) - set(checker.predictor.classifiers))
    if unknown:
        raise InputError(f"cannot adapt the labels of {', '.join(unknown)}: the model has no such task")
    if adapt_labels and not estimate_mix:
        raise InputError("adapting labels needs the class-mix estimate: drop --no-mix")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING)  # joins $RAY_ADDRESS when set
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards come out in input order
    context.enable_progress_bars = False
    dataset = _read(str(input_spec), text_field)
    scored = dataset.map_batches(
        RayBatchScorer,
        fn_constructor_args=(model_arg, taxonomy_arg, text_field),
        batch_size=batch_size,
        batch_format="pyarrow",
        # Starts with one actor and grows to `workers`: a fixed pool holding every CPU would starve the
        # read tasks (they need a CPU too) and the job would wait forever.
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, workers)),
    ).materialize()  # scored once, then split into the output and the rejected rows

    def ok_rows(table: Any) -> Any:
        return table.filter(pc.is_null(table[REJECTED_COLUMN])).drop_columns([REJECTED_COLUMN])

    def bad_rows(table: Any) -> Any:
        return table.filter(pc.is_valid(table[REJECTED_COLUMN])).select([REJECTED_COLUMN])

    tmp = output.with_name(f".{output.name}.tmp-ray")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    scored.map_batches(ok_rows, batch_format="pyarrow").write_parquet(str(tmp))
    summary = ScoreSummary(workers=workers)
    rejected_file = rejected_path(output)
    n_rejected = 0
    with AtomicWriter(rejected_file) as handle:
        for row in scored.map_batches(bad_rows, batch_format="pyarrow").iter_rows():
            handle.write(json.dumps(json.loads(row[REJECTED_COLUMN]), ensure_ascii=False) + "\n")
            n_rejected += 1
    if not n_rejected:
        rejected_file.unlink()
    if estimate_mix:
        from pipeline.scoring.job import DEFAULT_MIX_BY, label_adjustments, mix_path, mix_report

        column = mix_by or DEFAULT_MIX_BY
        summary.mix = mix_report(_mix_samples(tmp, checker, column, mix_by is not None), checker.predictor)
        summary.mix_path = mix_path(output)
        write_json_atomic(summary.mix_path, summary.mix)
        adjustments = label_adjustments(summary.mix, checker.predictor, adapt_labels)
        if adjustments:
            _adjust_shards(tmp, column, adjustments)
    if output.exists():
        import shutil

        shutil.rmtree(output)
    tmp.rename(output)  # the directory appears under its final name only when complete
    summary.scored = scored.count() - n_rejected
    summary.rejected = n_rejected
    summary.rows_read = summary.scored + n_rejected
    summary.output = output
    summary.rejected_path = rejected_file if n_rejected else None
    summary.seconds = time.perf_counter() - started
    if log is not None:
        log(f"ray: {len(list(output.glob('*.parquet')))} Parquet shard(s) in {output}")
    return summary
