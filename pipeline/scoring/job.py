"""The batch job behind ``voc score`` and ``voc predict --input``.

Posts stream through in bounded batches: read -> normalise -> classify (-> topic) -> write, in input
order. With ``workers > 1`` the scoring runs in worker processes, each holding the bundle once; at most
``2 * workers`` batches are in flight, so memory stays flat however large the input.

Every batch becomes a shard in ``<output>.parts/`` recorded in a manifest (see :mod:`pipeline.scoring.manifest`),
so a job killed at any point continues with ``resume=True`` and ends with the same output as an
uninterrupted run. The output (and ``<output>.rejected.jsonl``) appear under their final names only when
every shard is done; then the parts are removed. ``<output>.lock`` keeps two jobs off the same output.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.data.io import (
    AtomicWriter,
    InputSpec,
    PostBatch,
    RawJsonlBatch,
    RecordWriter,
    input_files,
    output_kind,
    read_batches,
    rejected_path,
    sha256_file,
    write_json_atomic,
)
from pipeline.errors import InputError
from pipeline.scoring.manifest import (
    Manifest,
    OutputLock,
    ShardRecord,
    directory_hash,
    fingerprint_difference,
    input_fingerprint,
    parts_dir,
)

PREDICTION_FIELDS = ("id", "intent", "intent_scores", "sentiment", "sentiment_scores")
# Posts are grouped for class-mix estimation by this input column when rows have it, else form one feed.
DEFAULT_MIX_BY = "brand"


def mix_path(output: Path) -> Path:
    """Where a job writes its estimated class mixes: beside the output."""
    return output.with_name(output.name + ".mix.json")


def estimate_feed_mix(parts: Path, manifest: Manifest, predictor: Any) -> dict[str, Any]:
    """Each task's estimated class mix per group, from the shards' mix files (a bounded sample per group)."""
    import numpy as np

    from pipeline.scoring.adaptation import MixSample

    samples = {task: MixSample() for task in predictor.classifiers}
    for index in sorted(manifest.shards):
        if manifest.shards[index].mix_sha256 is None:
            continue
        with np.load(parts / _mix_part_name(index), allow_pickle=False) as arrays:
            groups = [str(g) for g in arrays["groups"]]
            for task, sample in samples.items():
                sample.add(groups, arrays["keys"], arrays[f"proba_{task}"])
    return mix_report(samples, predictor)


def mix_report(samples: dict[str, Any], predictor: Any) -> dict[str, Any]:
    """The ``.mix.json`` content: per task, the calibration mix and every group's estimate."""
    from pipeline.scoring.adaptation import calibration_mix, estimate_groups

    out: dict[str, Any] = {}
    for task, sample in samples.items():
        classes = list(predictor.classifiers[task].classes_)
        source = calibration_mix(predictor.bundle.metadata, task, classes)
        if source is None:
            out[task] = {
                "calibration_mix": None,
                "groups": [],
                "note": "the bundle does not record its calibration mix",
            }
            continue
        estimates = estimate_groups(sample, task, classes, source)
        out[task] = {
            "calibration_mix": {c: round(float(v), 4) for c, v in zip(classes, source)},
            "groups": [estimate.to_dict() for estimate in estimates.values()],
        }
    return out


@dataclass
class ScoreSummary:
    """Counts and timing of one job; ``rows_read == scored + rejected`` always holds."""

    rows_read: int = 0
    scored: int = 0
    rejected: int = 0
    truncated: int = 0
    seconds: float = 0.0
    output: Path | None = None
    rejected_path: Path | None = None
    workers: int = 1
    intent_counts: dict[str, int] = field(default_factory=dict)
    # Rows already done by the interrupted run a resumed job continues (not counted in its rate).
    resumed_rows: int = 0
    # Each group's estimated class mix per task (pipeline.scoring.adaptation), and the file it was written to.
    mix: dict[str, Any] | None = None
    mix_path: Path | None = None

    @property
    def posts_per_second(self) -> float:
        return (self.rows_read - self.resumed_rows) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "scored": self.scored,
            "rejected": self.rejected,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
            "posts_per_second": round(self.posts_per_second, 1),
            "workers": self.workers,
            "resumed_rows": self.resumed_rows,
            "output": str(self.output) if self.output else None,
            "rejected_file": str(self.rejected_path) if self.rejected_path else None,
            "intent_counts": self.intent_counts,
            "mix_file": str(self.mix_path) if self.mix_path else None,
        }


class BatchScorer:
    """Scores one batch of rows: predictions, optional topics, carried-through columns.

    Built once per process. ``taxonomy`` is a taxonomy file; ``None`` uses the bundle's default taxonomy;
    topics are skipped when ``with_topics`` is false (``voc predict``).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        taxonomy: str | Path | None = None,
        with_topics: bool = True,
        carry_columns: bool = True,
    ) -> None:
        from pipeline.models.predict import Predictor
        from pipeline.topics.fast import FastTopicScorer

        self.predictor = Predictor.from_path(model)
        self.carry_columns = carry_columns
        self.assigner: Any = None
        if with_topics:
            assigner = build_topic_assigner(self.predictor.bundle, taxonomy)
            self.assigner = FastTopicScorer.for_assigner(assigner) if assigner is not None else None

    def score(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.score_with_proba(rows)[0]

    def score_with_proba(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The scored rows and, per task, the (n, n_classes) probabilities behind them."""
        from pipeline.topics.taxonomy import PROBLEM_INTENTS

        if not rows:
            return [], {}
        texts = [row["text"] for row in rows]
        ids = [row["id"] for row in rows]
        # On the fast path, token ids straight from the chunk cache to both scorers: no second split.
        normalised = self.predictor.encode(texts)
        probabilities = self.predictor.proba(normalised)
        predictions = self.predictor.predict_from_proba(texts, ids, probabilities)
        if self.assigner is not None:
            # Complaints and questions are nearly always about something: a lower bar for their topic.
            problem = [p.get("intent") in PROBLEM_INTENTS for p in predictions]
            for prediction, (topic, label, score), topics in zip(
                predictions, *self.assigner.assign_many(texts, normalised=normalised, problem=problem)
            ):
                prediction["topic"] = topic
                prediction["topic_label"] = label
                prediction["topic_score"] = round(score, 4)
                prediction["topics"] = [{"topic": t, "score": v} for t, v in topics]
        if self.carry_columns:
            for prediction, row in zip(predictions, rows):
                for key, value in row.items():
                    if key not in prediction:
                        prediction[key] = value
        return predictions, probabilities


def build_topic_assigner(bundle: Any, taxonomy: str | Path | None) -> Any:
    """A fitted TopicAssigner for ``taxonomy`` (a file), else the bundle's own taxonomy, else None."""
    import yaml
    from pydantic import ValidationError

    from pipeline.errors import BundleError
    from pipeline.topics.static import topic_assigner_for
    from pipeline.topics.taxonomy import Taxonomy, load_taxonomy

    if taxonomy is not None:
        chosen = load_taxonomy(taxonomy)
    elif bundle.taxonomy_text:
        try:
            chosen = Taxonomy.model_validate(yaml.safe_load(bundle.taxonomy_text))
        except (yaml.YAMLError, ValidationError) as exc:
            raise BundleError(f"model bundle {bundle.path}: invalid taxonomy.yaml ({type(exc).__name__})") from None
    else:
        return None
    # The bundle's static word-piece table gives the assigner post vectors at scoring speed; voc rank builds
    # the same assigner (pipeline.topics.static.topic_assigner_for), so a post's topic is the same from both.
    return topic_assigner_for(chosen, bundle)


def quiet_garbage_collector() -> None:
    """Tune the cyclic garbage collector for a process that does nothing but score batches.

    A batch allocates tens of thousands of short-lived dicts and lists, which reference counting frees;
    with the default thresholds the cyclic collector still runs dozens of times per batch and its full
    passes walk the long-lived caches (~20% of the CPU time of a job, measured). Objects alive now (the
    model, the caches) are frozen out of collection, and collections become rare. In a forked worker this
    also keeps the collector from touching, and so copying, the pages inherited from the parent.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@contextmanager
def _garbage_collector_tuned() -> Iterator[None]:
    """:func:`quiet_garbage_collector` for the duration of a job in this process, then the settings back."""
    thresholds = gc.get_threshold()
    quiet_garbage_collector()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# -- worker-process plumbing -----------------------------------------------------------------------------
_WORKER: BatchScorer | None = None


def _init_worker(
    model: str | None,
    taxonomy: str | None,
    with_topics: bool,
    carry: bool,
    environment: dict[str, str] | None = None,
    blas_threads: int | None = None,
) -> None:
    global _WORKER
    if blas_threads is not None:
        # numpy's BLAS would start a thread per core in every worker: on small dense products (the static
        # embedding blocks, the topic vectors) the workers' threads then fight over the cores, measured ~10x
        # slower per call on 2 cores with 2 workers. Each worker keeps to its share.
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=blas_threads, user_api="blas")
    # Ctrl-C goes to the whole process group: the parent handles it (stops, keeps the finished shards);
    # workers ignoring it avoids a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(environment or {})  # before the model loads (spawned workers: the thread count)
    if _WORKER is None:  # with the "fork" start method the parent's loaded scorer is inherited as is
        _WORKER = BatchScorer(model, taxonomy=taxonomy, with_topics=with_topics, carry_columns=carry)
    quiet_garbage_collector()


@dataclass
class _ShardJob:
    """What every shard of one job shares: where part files go, their format and (Parquet) schema."""

    parts: Path
    kind: str
    text_field: str
    schema: Any = None
    # Class-mix estimation: the input column that groups posts (None: the whole feed), or no estimation.
    mix: bool = False
    mix_by: str | None = None


def _process(index: int, work: PostBatch | RawJsonlBatch, job: _ShardJob, scorer: BatchScorer) -> ShardRecord:
    """Parse (if raw), score and write one shard; its part files are complete when this returns."""
    batch = work.parse(job.text_field) if isinstance(work, RawJsonlBatch) else work
    scored, probabilities = scorer.score_with_proba(batch.rows)
    record, schema = _write_shard(job.parts, index, job.kind, batch, scored, job.schema)
    if job.schema is None:
        job.schema = schema
    if job.mix and scored:
        record.mix_sha256, record.mix_grouped = _write_mix_rows(job, index, batch.rows, scored, probabilities)
    return record


def _write_mix_rows(
    job: _ShardJob, index: int, rows: list[dict[str, Any]], scored: list[dict[str, Any]], probabilities: dict[str, Any]
) -> tuple[str, int]:
    """One shard's inputs to the class-mix estimate: each post's group, sampling key and probabilities
    (float32, a few bytes a post), so the estimate needs no second read of the scored rows."""
    import numpy as np

    from pipeline.scoring.adaptation import group_value, sampling_keys

    groups = [group_value(row, job.mix_by) for row in rows]
    grouped = sum(1 for row in rows if job.mix_by is not None and row.get(job.mix_by) is not None)
    arrays = {f"proba_{task}": np.asarray(proba, dtype=np.float32) for task, proba in probabilities.items()}
    path = job.parts / _mix_part_name(index)
    save_arrays: Any = np.savez  # numpy's stub types **kwargs as its own flags
    with AtomicWriter(path, "wb") as handle:
        save_arrays(
            handle,
            groups=np.asarray(groups, dtype=str),
            keys=sampling_keys([str(row["id"]) for row in scored]),
            **arrays,
        )
    return sha256_file(path), grouped


def _process_in_worker(index: int, work: PostBatch | RawJsonlBatch, job: _ShardJob) -> ShardRecord:
    assert _WORKER is not None, "worker not initialised"
    return _process(index, work, job, _WORKER)


Indexed = tuple[int, PostBatch | RawJsonlBatch]


def _worker_context() -> Any:
    """How worker processes start: ``fork`` (the loaded model is shared copy-on-write), unless torch is loaded.

    A model that runs on torch (a transformer bundle without onnxruntime, or ``VOC_TRANSFORMER_RUNTIME=torch``)
    has started GNU OpenMP's thread pool in this process during the warm-up, and that pool does not survive a
    fork: a forked worker waits forever at its first parallel operation. Then ``spawn``: each worker loads the
    model itself (more memory and start-up time, no hang).
    """
    return multiprocessing.get_context("spawn" if "torch" in sys.modules else "fork")


def _processed_shards(
    batches: Iterable[Indexed], workers: int, scorer: BatchScorer, init_args: tuple[Any, ...], job: _ShardJob
) -> Iterator[ShardRecord]:
    """Process every batch into a shard and yield the records in input order, in-process or in a bounded
    process pool. Workers parse, score and write their shards themselves: only raw lines go to them and only
    a small record comes back, so the parent process is not the bottleneck."""
    global _WORKER
    remaining = iter(batches)
    if workers > 1 and job.kind == "parquet" and job.schema is None:
        # The first shard with rows fixes the Parquet schema that all shards share: write it here first.
        for index, work in remaining:
            yield _process(index, work, job, scorer)
            if job.schema is not None:
                break
    if workers <= 1:
        for index, work in remaining:
            yield _process(index, work, job, scorer)
        return
    _WORKER = scorer  # inherited by forked workers: no second load, pages shared copy-on-write
    context = _worker_context()
    from pipeline.models.transformer import THREADS_ENV, threads_from_env

    # Each worker runs its models on its share of the cores, unless the user chose.
    share = threads_from_env() or max(1, (os.cpu_count() or 1) // workers)
    if context.get_start_method() == "spawn":
        init_args = (*init_args, {THREADS_ENV: str(share)}, share)  # each spawned worker loads the model with it
    else:
        init_args = (*init_args, None, share)
        # A forked worker inherits the parent's models, but an ONNX Runtime session made before the fork runs
        # on one thread in the child (its thread pool stays behind), and destroying it there hangs. So the
        # parent drops its sessions now, and each worker builds its own, with its share, on first use.
        scorer.predictor.set_inference_threads(share)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=init_args, mp_context=context)
    try:
        pending: deque[Future[ShardRecord]] = deque()
        for index, work in remaining:
            pending.append(pool.submit(_process_in_worker, index, work, job))
            if len(pending) >= 2 * workers:  # the bound on memory: never more batches in flight
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # On an error or Ctrl-C, drop queued batches instead of scoring them for nothing.
        pool.shutdown(wait=True, cancel_futures=True)
        _WORKER = None


# -- the sharded job -------------------------------------------------------------------------------------
def _part_name(index: int, kind: str) -> str:
    return f"part-{index:06d}.{'parquet' if kind == 'parquet' else 'jsonl'}"


def _rejected_part_name(index: int) -> str:
    return f"part-{index:06d}.rejected.jsonl"


def _mix_part_name(index: int) -> str:
    return f"part-{index:06d}.mix.npz"


def _valid_shards(manifest: Manifest, parts: Path, kind: str) -> Manifest | None:
    """Keep the shards whose files are present and unchanged; None when the schema shard is gone."""
    kept: dict[int, ShardRecord] = {}
    for index, shard in manifest.shards.items():
        ok = shard.sha256 is None or (
            (parts / _part_name(index, kind)).is_file() and sha256_file(parts / _part_name(index, kind)) == shard.sha256
        )
        rejected_file = parts / _rejected_part_name(index)
        ok = ok and (
            shard.rejected_sha256 is None
            or (rejected_file.is_file() and sha256_file(rejected_file) == shard.rejected_sha256)
        )
        mix_file = parts / _mix_part_name(index)
        ok = ok and (shard.mix_sha256 is None or (mix_file.is_file() and sha256_file(mix_file) == shard.mix_sha256))
        if ok:
            kept[index] = shard
    if manifest.schema_shard is not None and manifest.schema_shard not in kept:
        return None
    manifest.shards = kept
    return manifest


def _finalise(
    output: Path,
    parts: Path,
    manifest: Manifest,
    kind: str,
    schema: Any,
    adjustments: list[LabelAdjustment] | None = None,
    workers: int = 1,
) -> Path | None:
    """Concatenate the shards, in order, into the final files (atomically); returns the rejected file.

    With ``adjustments`` (``adapt_labels``), each shard's rows are rewritten on the way: a second pass over
    the written shards, one shard in memory at a time.
    """
    indexes = sorted(manifest.shards)
    target = rejected_path(output)
    written: Path | None = None
    if any(manifest.shards[i].rejected_sha256 for i in indexes):
        with AtomicWriter(target, "wb") as handle:
            for i in indexes:
                if manifest.shards[i].rejected_sha256:
                    with (parts / _rejected_part_name(i)).open("rb") as part:
                        shutil.copyfileobj(part, handle)
        written = target
    elif target.exists():
        target.unlink()  # a stale file from an earlier run would be taken for this run's
    with AtomicWriter(output, "wb") as handle:
        if adjustments:
            _write_adjusted(handle, parts, manifest, kind, adjustments, workers)
        elif kind == "jsonl":
            for i in indexes:
                if manifest.shards[i].sha256:
                    with (parts / _part_name(i, kind)).open("rb") as part:
                        _append_file(part, handle)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if schema is None:  # nothing scored: an empty table, as RecordWriter writes
                pq.write_table(pa.table({"id": pa.array([], pa.string())}), handle)
            else:
                with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
                    for i in indexes:
                        if manifest.shards[i].sha256:
                            part_file = pq.ParquetFile(parts / _part_name(i, kind))
                            for group in range(part_file.num_row_groups):
                                writer.write_table(part_file.read_row_group(group))
    shutil.rmtree(parts, ignore_errors=True)
    return written


@dataclass
class LabelAdjustment:
    """How one task's labels move to each group's estimated mix (``adapt_labels``)."""

    task: str
    classes: list[str]
    source_mix: Any  # np.ndarray: the calibration mix
    targets: dict[str, Any]  # group -> np.ndarray, the bounded mix to adjust to (groups not listed: unchanged)
    decide: Callable[[Any], list[str]]  # labels from probabilities, as the model decides them

    def apply(self, rows: list[dict[str, Any]], groups: list[str]) -> None:
        """Rewrite ``rows`` in place: adjusted label and scores; the model's own kept as ``*_unadapted``."""
        import numpy as np

        from pipeline.scoring.adaptation import adjust

        scores_key = f"{self.task}_scores"
        raw = np.asarray([[row[scores_key][c] for c in self.classes] for row in rows], dtype=np.float64)
        adjusted = raw.copy()
        names = np.asarray(groups, dtype=object)
        for group, target in self.targets.items():
            selected = names == group
            if selected.any():
                adjusted[selected] = adjust(raw[selected], self.source_mix, target)
        labels = self.decide(adjusted)
        for row, label, scores in zip(rows, labels, adjusted.tolist()):
            row[f"{self.task}_unadapted"] = row[self.task]
            row[f"{scores_key}_unadapted"] = row[scores_key]
            row[self.task] = label
            row[scores_key] = dict(zip(self.classes, scores))

    def apply_jsonl(self, lines: list[bytes], groups: list[str]) -> list[bytes]:
        """:meth:`apply` on JSON lines as ``voc score`` writes them, byte for byte the same result.

        Only the task's two fields are parsed and rewritten (the rest of a line is copied): a full parse and
        dump of every row would double the cost of the pass. A line the pattern does not fit is parsed whole.
        """
        import orjson

        pattern = _task_fields_pattern(self.task)
        found = [pattern.search(line) for line in lines]
        if not all(found):
            rows = [orjson.loads(line) for line in lines]
            self.apply(rows, groups)
            return [orjson.dumps(row) for row in rows]
        matches = [m for m in found if m is not None]
        parsed = [orjson.loads(m.group(2)) for m in matches]
        rows = [
            {self.task: orjson.loads(m.group(1)), f"{self.task}_scores": scores} for m, scores in zip(matches, parsed)
        ]
        self.apply(rows, groups)
        out = []
        scores_key = f"{self.task}_scores"
        for line, match, row in zip(lines, matches, rows):
            fields = b'"%s":%s,"%s":%s' % (
                self.task.encode(),
                orjson.dumps(row[self.task]),
                scores_key.encode(),
                orjson.dumps(row[scores_key]),
            )
            kept = b',"%s_unadapted":%s,"%s_unadapted":%s}' % (
                self.task.encode(),
                match.group(1),
                scores_key.encode(),
                match.group(2),
            )
            out.append(line[: match.start()] + fields + line[match.end() : -1] + kept)
        return out


@lru_cache(maxsize=8)
def _task_fields_pattern(task: str) -> re.Pattern[bytes]:
    """The first ``"task":LABEL,"task_scores":{...}`` of a scored JSON line (the prediction fields come first)."""
    name = re.escape(task.encode())
    return re.compile(rb'"' + name + rb'":("(?:[^"\\]|\\.)*"),"' + name + rb'_scores":(\{[^{}]*\})')


def label_adjustments(mix: dict[str, Any], predictor: Any, tasks: Sequence[str]) -> list[LabelAdjustment]:
    """One :class:`LabelAdjustment` per task of ``tasks`` whose mixes were estimated (see ``mix_report``)."""
    import numpy as np

    from pipeline.scoring.adaptation import bounded_target

    out = []
    for task in tasks:
        entry = mix.get(task) or {}
        calibration = entry.get("calibration_mix")
        if not calibration:
            continue
        classes = list(predictor.classifiers[task].classes_)
        source = np.asarray([calibration[c] for c in classes], dtype=np.float64)
        source = source / source.sum()
        targets = {
            str(group["group"]): bounded_target(source, [group["mix"][c] for c in classes])
            for group in entry["groups"]
            if group.get("mix")
        }

        def decide(proba: Any, task: str = task) -> list[str]:
            labels: list[str] = predictor.labels_from_proba(task, proba)
            return labels

        out.append(LabelAdjustment(task, classes, source, targets, decide))
    return out


_ADJUSTMENTS: list[LabelAdjustment] = []  # inherited by the forked processes that adjust JSONL shards


def _adjusted_jsonl(part: Path, mix_file: Path) -> bytes:
    """One JSONL shard with its labels adjusted (:data:`_ADJUSTMENTS`), as bytes to append in order."""
    import numpy as np

    with np.load(mix_file, allow_pickle=False) as arrays:
        groups = [str(g) for g in arrays["groups"]]
    lines = [line for line in part.read_bytes().splitlines() if line.strip()]
    if len(lines) != len(groups):
        raise InputError(f"{part}: {len(lines)} rows but {len(groups)} in its mix file; rerun without --resume")
    for adjustment in _ADJUSTMENTS:
        lines = adjustment.apply_jsonl(lines, groups)
    return b"\n".join(lines) + b"\n"


def _write_adjusted(
    handle: Any, parts: Path, manifest: Manifest, kind: str, adjustments: list[LabelAdjustment], workers: int = 1
) -> None:
    """Every shard's rows with their labels adjusted, in order, into ``handle`` (JSONL or Parquet).

    JSONL shards are adjusted by ``workers`` forked processes, at most ``2 * workers`` shards in flight; the
    parent only appends their bytes in order.
    """
    global _ADJUSTMENTS
    import numpy as np

    done = [i for i in sorted(manifest.shards) if manifest.shards[i].sha256]
    if kind == "jsonl":
        _ADJUSTMENTS = adjustments
        jobs = ((parts / _part_name(i, kind), parts / _mix_part_name(i)) for i in done)
        try:
            if workers <= 1 or "torch" in sys.modules:  # no fork once torch's thread pool runs (see _worker_context)
                for part, mix_file in jobs:
                    handle.write(_adjusted_jsonl(part, mix_file))
                return
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                pending: deque[Future[bytes]] = deque()
                for part, mix_file in jobs:
                    pending.append(pool.submit(_adjusted_jsonl, part, mix_file))
                    if len(pending) >= 2 * workers:
                        handle.write(pending.popleft().result())
                while pending:
                    handle.write(pending.popleft().result())
        finally:
            _ADJUSTMENTS = []
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    schema: Any = None
    for i in done:
        part = parts / _part_name(i, kind)
        with np.load(parts / _mix_part_name(i), allow_pickle=False) as arrays:
            groups = [str(g) for g in arrays["groups"]]
        rows = pq.read_table(part).to_pylist()
        if len(rows) != len(groups):
            raise InputError(f"{part}: {len(rows)} rows but {len(groups)} in its mix file; rerun without --resume")
        for adjustment in adjustments:
            adjustment.apply(rows, groups)
        table = pa.Table.from_pylist(rows, schema=schema)
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(handle, schema, compression="zstd")
        writer.write_table(table)
    if writer is None:  # nothing scored: an empty table, as RecordWriter writes
        pq.write_table(pa.table({"id": pa.array([], pa.string())}), handle)
    else:
        writer.close()


def _append_file(source: Any, target: Any) -> None:
    """Copy ``source`` to the end of ``target`` in the kernel where it can (copy_file_range), else by reads."""
    target.flush()
    try:
        remaining = os.fstat(source.fileno()).st_size
        while remaining > 0:
            copied = os.copy_file_range(source.fileno(), target.fileno(), remaining)
            if copied == 0:
                break
            remaining -= copied
        if remaining == 0:
            return
    except (AttributeError, OSError):  # no copy_file_range here (other OS, some file systems)
        pass
    shutil.copyfileobj(source, target)


def _write_shard(
    parts: Path, index: int, kind: str, batch: PostBatch, scored: list[dict[str, Any]], schema: Any
) -> tuple[ShardRecord, Any]:
    """Write one batch's part files atomically; returns its record and the Parquet schema in use."""
    sha = None
    if scored:
        path = parts / _part_name(index, kind)
        with RecordWriter(path, schema=schema) as writer:
            writer.write(scored)
        schema = writer.schema
        sha = writer.sha256 or sha256_file(path)  # JSONL: hashed while written, not read back
    rejected_sha = None
    if batch.rejected:
        path = parts / _rejected_part_name(index)
        with AtomicWriter(path) as handle:
            for rejected in batch.rejected:
                handle.write(json.dumps(rejected.to_dict(), ensure_ascii=False, default=str) + "\n")
        rejected_sha = sha256_file(path)
    intents: dict[str, int] = {}
    truncated = 0
    for row in scored:
        truncated += bool(row.get("truncated"))
        intent = row.get("intent")
        if intent is not None:
            intents[intent] = intents.get(intent, 0) + 1
    record = ShardRecord(
        index=index,
        rows_read=batch.n_read,
        scored=len(scored),
        rejected=len(batch.rejected),
        truncated=truncated,
        intent_counts=intents,
        sha256=sha,
        rejected_sha256=rejected_sha,
    )
    return record, schema


def _add_shard(summary: ScoreSummary, shard: ShardRecord) -> None:
    summary.rows_read += shard.rows_read
    summary.scored += shard.scored
    summary.rejected += shard.rejected
    summary.truncated += shard.truncated
    for intent, n in shard.intent_counts.items():
        summary.intent_counts[intent] = summary.intent_counts.get(intent, 0) + n


def job_fingerprint(
    input_spec: InputSpec,
    scorer: BatchScorer,
    *,
    taxonomy: str | Path | None,
    kind: str,
    batch_size: int,
    text_field: str,
    with_topics: bool,
    carry_columns: bool,
    mix_by: str | None = None,
) -> dict[str, Any]:
    """Everything the shards' bytes depend on: a resumed job must match it exactly."""
    from pipeline import __version__
    from pipeline.models.fastpath import fastpath_enabled

    bundle = scorer.predictor.bundle
    return {
        "inputs": input_fingerprint(input_spec),
        "model": directory_hash(Path(bundle.path)) if bundle.path else None,
        "taxonomy": sha256_file(Path(taxonomy)) if taxonomy is not None else None,
        "output_kind": kind,
        "batch_size": batch_size,
        "text_field": text_field,
        "with_topics": with_topics,
        "carry_columns": carry_columns,
        "max_chars": scorer.predictor.normaliser.max_chars,
        "fastpath": fastpath_enabled(),  # the two paths agree to ~1e-6, not to the last printed digit
        "voc_pipeline": __version__,
        "mix_by": mix_by,
    }


def score_posts(
    input_spec: InputSpec,
    output: str | Path,
    *,
    model: str | Path | None = None,
    taxonomy: str | Path | None = None,
    with_topics: bool = True,
    carry_columns: bool = True,
    workers: int = 1,
    batch_size: int = 5000,
    text_field: str = "text",
    on_progress: Callable[[ScoreSummary], None] | None = None,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
    estimate_mix: bool = True,
    mix_by: str | None = None,
    adapt_labels: Sequence[str] = (),
) -> ScoreSummary:
    """Score every post of ``input_spec`` into ``output`` (.jsonl or .parquet); rejected rows go beside it.

    ``input_spec`` is a file, directory or glob, or the list of files :func:`~pipeline.data.io.input_files`
    made of one; it is resolved once, and that list is what the job fingerprints and reads.

    ``estimate_mix`` estimates the class mix of every task per group of posts (``mix_by``, an input column;
    default ``brand`` where rows have it, else the whole feed) from the probabilities, with a 95% interval,
    into ``<output>.mix.json`` (:mod:`pipeline.scoring.adaptation`). A ``mix_by`` column that no row of the first
    batch has is an :class:`~pipeline.errors.InputError`. ``adapt_labels`` names the tasks whose labels and
    scores are adjusted to their group's estimated mix (the model's own kept as ``<task>_unadapted`` and
    ``<task>_scores_unadapted``); groups too small to estimate keep the model's.

    ``resume`` continues an interrupted job on the same input, model and settings (else
    :class:`~pipeline.errors.InputError`); without it, leftovers of an earlier run are discarded.
    ``log`` receives one-line notices (starting over, resuming).
    """
    started = time.perf_counter()
    say = log or (lambda _message: None)
    if adapt_labels and not estimate_mix:
        raise InputError("adapting labels needs the class-mix estimate: drop --no-mix")
    summary = ScoreSummary(workers=workers)
    output = Path(output)
    kind = output_kind(output)
    model_arg = str(model) if model is not None else None
    taxonomy_arg = str(taxonomy) if taxonomy is not None else None
    inputs = input_files(input_spec)  # a missing or unreadable input fails before the lock file is made
    resolved_output = output.resolve()
    for path in inputs:
        if path.resolve() in (resolved_output, Path(f"{resolved_output}.rejected.jsonl")):
            raise InputError(f"output {output} is also an input file: choose another --output")
    with OutputLock(output):
        # Load the model first even with workers: a bad bundle or taxonomy fails before any work starts.
        scorer = BatchScorer(model, taxonomy=taxonomy, with_topics=with_topics, carry_columns=carry_columns)
        unknown = sorted(set(adapt_labels) - set(scorer.predictor.classifiers))
        if unknown:
            raise InputError(f"cannot adapt the labels of {', '.join(unknown)}: the model has no such task")
        scorer.score([{"id": "warm-up", "text": "warm up"}])  # builds tokenizer and caches before a fork
        fingerprint = job_fingerprint(
            inputs,
            scorer,
            taxonomy=taxonomy,
            kind=kind,
            batch_size=batch_size,
            text_field=text_field,
            with_topics=with_topics,
            carry_columns=carry_columns,
            mix_by=(mix_by or DEFAULT_MIX_BY) if estimate_mix else None,
        )
        parts = parts_dir(output)
        manifest: Manifest | None = None
        if parts.exists():
            saved = Manifest.load(parts)
            if not resume:
                say(f"note: discarding the unfinished earlier run in {parts} and starting over (--resume continues it)")
            elif saved is None:
                say(f"note: {parts} has no readable manifest; starting over")
            else:
                difference = fingerprint_difference(saved.fingerprint, fingerprint)
                if difference:
                    raise InputError(
                        f"cannot resume {output}: {difference} since the interrupted run; "
                        "rerun without --resume to start over"
                    )
                manifest = _valid_shards(saved, parts, kind)
                if manifest is None:
                    say(f"note: the shards in {parts} do not match their manifest; starting over")
            if manifest is None:
                shutil.rmtree(parts)
        elif resume:
            say(f"note: nothing to resume for {output}; starting")
        if manifest is None:
            manifest = Manifest(fingerprint=fingerprint)
            parts.mkdir(parents=True)
            manifest.save(parts)
        elif manifest.shards:
            say(f"resuming: {len(manifest.shards)} shard(s) already done in {parts}")
        for shard in manifest.shards.values():
            _add_shard(summary, shard)
        summary.resumed_rows = summary.rows_read
        schema: Any = None
        if kind == "parquet" and manifest.schema_shard is not None:
            import pyarrow.parquet as pq

            schema = pq.read_schema(parts / _part_name(manifest.schema_shard, kind))
        done = set(manifest.shards)
        batches = (
            (index, batch)
            for index, batch in enumerate(read_batches(inputs, text_field=text_field, batch_size=batch_size))
            if index not in done
        )
        init_args = (model_arg, taxonomy_arg, with_topics, carry_columns)
        job = _ShardJob(
            parts=parts,
            kind=kind,
            text_field=text_field,
            schema=schema,
            mix=estimate_mix,
            mix_by=mix_by or DEFAULT_MIX_BY,
        )
        checked_mix_by = mix_by is None or any(shard.mix_grouped for shard in manifest.shards.values())
        try:
            with _garbage_collector_tuned():  # forked workers inherit the frozen model and caches
                for shard in _processed_shards(batches, workers, scorer, init_args, job):
                    index = shard.index
                    if manifest.schema_shard is None and shard.sha256 is not None:
                        manifest.schema_shard = index
                    if estimate_mix and not checked_mix_by and shard.scored:
                        if not shard.mix_grouped:
                            raise InputError(
                                f"--mix-by {mix_by}: no row of the first batch has a '{mix_by}' field; "
                                "name a column the input has, or leave it out to use 'brand' or the whole feed"
                            )
                        checked_mix_by = True
                    manifest.shards[index] = shard
                    manifest.save(parts)  # after the part files: a shard is done only once recorded
                    _add_shard(summary, shard)
                    if on_progress is not None:
                        summary.seconds = time.perf_counter() - started
                        on_progress(summary)
        except KeyboardInterrupt:
            say(f"interrupted: {len(manifest.shards)} shard(s) kept in {parts}; rerun with --resume to continue")
            raise
        adjustments: list[LabelAdjustment] = []
        if estimate_mix:
            summary.mix = estimate_feed_mix(parts, manifest, scorer.predictor)
            summary.mix_path = mix_path(output)
            write_json_atomic(summary.mix_path, summary.mix)
            adjustments = label_adjustments(summary.mix, scorer.predictor, adapt_labels)
        summary.rejected_path = _finalise(output, parts, manifest, kind, job.schema, adjustments, workers)
    summary.output = output
    summary.seconds = time.perf_counter() - started
    return summary
