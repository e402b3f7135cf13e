"""The batch job behind ``voc score`` and ``voc predict --input``.

Posts stream through in bounded batches: read -> normalise -> classify (-> topic) -> write, in input
order. With ``workers > 1`` the scoring runs in worker processes, each loading the bundle once; at most
``2 * workers`` batches are in flight, so memory stays flat however large the input. The output appears
under its final name only when the job completes (see :class:`pipeline.io.RecordWriter`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.io import PostBatch, RecordWriter, RejectedWriter, read_posts

PREDICTION_FIELDS = ("id", "intent", "intent_scores", "sentiment", "sentiment_scores")
TOPIC_FIELDS = ("topic", "topic_label", "topic_score")


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

    @property
    def posts_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "scored": self.scored,
            "rejected": self.rejected,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
            "posts_per_second": round(self.posts_per_second, 1),
            "workers": self.workers,
            "output": str(self.output) if self.output else None,
            "rejected_file": str(self.rejected_path) if self.rejected_path else None,
            "intent_counts": self.intent_counts,
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
        from pipeline.predict import Predictor

        self.predictor = Predictor.from_path(model)
        self.carry_columns = carry_columns
        self.assigner: Any = None
        if with_topics:
            self.assigner = build_topic_assigner(self.predictor.bundle, taxonomy)

    def score(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        texts = [row["text"] for row in rows]
        ids = [row["id"] for row in rows]
        normalised, probabilities = self.predictor.predict_proba(texts)
        predictions = self.predictor.predict_from_proba(texts, ids, probabilities)
        if self.assigner is not None:
            for prediction, (topic, label, score) in zip(
                predictions, self.assigner.assign(texts, normalised=normalised)
            ):
                prediction["topic"] = topic
                prediction["topic_label"] = label
                prediction["topic_score"] = round(float(score), 4)
        if self.carry_columns:
            for prediction, row in zip(predictions, rows):
                for key, value in row.items():
                    if key not in prediction:
                        prediction[key] = value
        return predictions


def build_topic_assigner(bundle: Any, taxonomy: str | Path | None) -> Any:
    """A fitted TopicAssigner for ``taxonomy`` (a file), else the bundle's own taxonomy, else None."""
    import yaml
    from pydantic import ValidationError

    from pipeline.errors import BundleError
    from pipeline.topics import Taxonomy, TopicAssigner, load_taxonomy

    if taxonomy is not None:
        chosen = load_taxonomy(taxonomy)
    elif bundle.taxonomy_text:
        try:
            chosen = Taxonomy.model_validate(yaml.safe_load(bundle.taxonomy_text))
        except (yaml.YAMLError, ValidationError) as exc:
            raise BundleError(f"model bundle {bundle.path}: invalid taxonomy.yaml ({type(exc).__name__})") from None
    else:
        return None
    return TopicAssigner(chosen, normaliser=bundle.normaliser).fit()


# -- worker-process plumbing -----------------------------------------------------------------------------
_WORKER: BatchScorer | None = None


def _init_worker(model: str | None, taxonomy: str | None, with_topics: bool, carry: bool) -> None:
    global _WORKER
    _WORKER = BatchScorer(model, taxonomy=taxonomy, with_topics=with_topics, carry_columns=carry)


def _score_in_worker(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.score(rows)


def _scored_batches(
    batches: Iterator[PostBatch], workers: int, make_scorer: Callable[[], BatchScorer], init_args: tuple[Any, ...]
) -> Iterator[tuple[PostBatch, list[dict[str, Any]]]]:
    """Yield (batch, scored rows) in input order, scoring in-process or in a bounded process pool."""
    if workers <= 1:
        scorer = make_scorer()
        for batch in batches:
            yield batch, scorer.score(batch.rows)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=init_args) as pool:
        pending: deque[tuple[PostBatch, Future[list[dict[str, Any]]]]] = deque()
        for batch in batches:
            pending.append((batch, pool.submit(_score_in_worker, batch.rows)))
            if len(pending) >= 2 * workers:
                done_batch, future = pending.popleft()
                yield done_batch, future.result()
        while pending:
            done_batch, future = pending.popleft()
            yield done_batch, future.result()


def score_posts(
    input_spec: str | Path,
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
) -> ScoreSummary:
    """Score every post of ``input_spec`` into ``output`` (.jsonl or .parquet); rejected rows go beside it."""
    started = time.perf_counter()
    summary = ScoreSummary(workers=workers)
    output = Path(output)
    model_arg = str(model) if model is not None else None
    taxonomy_arg = str(taxonomy) if taxonomy is not None else None
    # Load the model here first even with workers: a bad bundle or taxonomy fails before any work starts.
    local = BatchScorer(model, taxonomy=taxonomy, with_topics=with_topics, carry_columns=carry_columns)
    rejected_writer = RejectedWriter(output)
    batches = read_posts(input_spec, text_field=text_field, batch_size=batch_size)
    failed = True
    try:
        with RecordWriter(output) as writer:
            init_args = (model_arg, taxonomy_arg, with_topics, carry_columns)
            for batch, scored in _scored_batches(batches, workers, lambda: local, init_args):
                writer.write(scored)
                rejected_writer.add(batch.rejected)
                summary.rows_read += batch.n_read
                summary.scored += len(scored)
                summary.rejected += len(batch.rejected)
                for row in scored:
                    summary.truncated += bool(row.get("truncated"))
                    intent = row.get("intent")
                    if intent is not None:
                        summary.intent_counts[intent] = summary.intent_counts.get(intent, 0) + 1
                if on_progress is not None:
                    summary.seconds = time.perf_counter() - started
                    on_progress(summary)
        failed = False
    finally:
        summary.rejected_path = rejected_writer.close(failed=failed)
    summary.output = output
    summary.seconds = time.perf_counter() - started
    return summary
