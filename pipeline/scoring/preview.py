"""How a taxonomy assigns a sample of a feed, before the batch job runs (``voc topics --input``).

The sample is scored by :class:`~pipeline.scoring.job.BatchScorer`, the object behind ``voc score``, so each post
gets the topic ``voc score`` would give it: a preview to iterate on a taxonomy in seconds instead of a full run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.data.io import InputSpec, read_posts
from pipeline.errors import InputError
from pipeline.scoring.job import BatchScorer
from pipeline.topics.taxonomy import OTHER_ID


@dataclass
class TopicPreview:
    """The primary topic of each post of the sample, counted, with the best-scoring posts of each topic."""

    n_posts: int
    n_rejected: int = 0  # rows read before the sample was full that could not be scored (no text...)
    counts: Counter[str] = field(default_factory=Counter)  # topic id -> posts; OTHER_ID is "no topic"
    examples: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # best first: (score, text)

    @property
    def no_topic_share(self) -> float:
        return self.counts[OTHER_ID] / self.n_posts if self.n_posts else 0.0


def preview_topics(
    input_path: InputSpec,
    taxonomy: str | Path,
    *,
    model: str | Path | None = None,
    text_field: str = "text",
    sample: int = 2000,
    n_examples: int = 2,
) -> TopicPreview:
    """Score the first ``sample`` usable posts of ``input_path`` with ``taxonomy`` as ``voc score`` does."""
    if sample < 1:
        raise InputError("the sample needs at least one post")
    rows: list[dict[str, object]] = []
    rejected = 0
    for batch in read_posts(input_path, text_field=text_field, batch_size=min(sample, 5000)):
        rows.extend(batch.rows[: sample - len(rows)])
        rejected += len(batch.rejected)
        if len(rows) >= sample:
            break
    if not rows:
        raise InputError(f"no usable posts in {input_path} (text field {text_field!r})")
    # The posts first: a wrong path fails before the bundle is loaded.
    scorer = BatchScorer(model, taxonomy=taxonomy, carry_columns=False)
    scored = scorer.score([{"id": row["id"], "text": row["text"]} for row in rows])
    preview = TopicPreview(n_posts=len(scored), n_rejected=rejected)
    candidates: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for post, row in zip(scored, rows):
        topic = str(post["topic"])
        preview.counts[topic] += 1
        candidates[topic].append((float(post["topic_score"]), str(row["text"])))
    for topic, posts in candidates.items():
        # Highest score first; ties by text, so the preview does not depend on the order of the input.
        preview.examples[topic] = sorted(posts, key=lambda p: (-p[0], p[1]))[:n_examples]
    return preview
