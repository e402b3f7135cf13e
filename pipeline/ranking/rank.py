"""Rank topics for the quality programme: which problems to fix first, with the evidence.

Input: scored posts (``voc score`` output): ``intent``, ``sentiment``, ``topic``, ``topic_label``,
``topic_score``, optionally ``created_at``, ``brand`` and ``reach``.

Which posts count
-----------------
A post is a *problem post* when its intent is ``complaint``, or when its sentiment is ``negative`` and its
intent is not ``favour-seeking`` or ``praise`` (``RankConfig.complaint_intents``, ``count_negative``,
``excluded_intents``). Favour-seeking and praise posts never count, so a topic full of requests or thanks
cannot climb the ranking. When the input has a numeric ``reach`` column, each post weighs
``1 + ln(1 + reach)`` (``reach_weighting: log``; ``none`` switches it off); without it every post weighs 1.

Posts whose topic is ``other`` and whose intent is a complaint or a question are first clustered into
*discovered* topics (``discover``; see :class:`pipeline.topics.discover.TopicDiscoverer`), which are ranked with the
taxonomy topics. ``other`` itself is never ranked, but its posts stay in every total.

The score: leave-topic-out impact
---------------------------------
With ``r(S)`` the weighted problem rate of a set of posts ``S`` (problem weight / total weight), ``p(t)`` the
topic's problem weight and ``W`` the weight of all posts, the score is the drop of the overall problem rate
when the topic is left out. What "left out" means is ``score_formula``:

* ``resolved`` (default): the topic's problems are fixed, so its problem posts stop being problems while the
  customers who wrote them stay::

      score(t) = r(all) - r(all with t's problems resolved) = p(t) / W

  Within one scope (all posts, or one brand) this orders topics by problem volume, which is what the
  quality programme asks: fix first the problems that most customers complain about. Posts of the topic
  that are not problems (thanks, favour requests, neutral remarks) neither raise nor lower it;
* ``removed``: the topic's posts disappear altogether (the formula Thematic and Qualtrics publish)::

      score(t) = r(all) - r(all without t) = share(t) * (r(t) - r(rest)) = (p(t) - w(t) r(all)) / (W - w(t))

  This is the topic's *excess* of problems over the average. Where most posts are problems (an airline's
  mentions: 60-80 % negative), a topic that many customers complain about but that also collects praise,
  such as customer service, ranks below a small topic of pure complaints, and a topic's score can be
  negative while hundreds of customers complain about it. Measured on the airline tweets, this order
  correlates with the true order of complaint reasons by count far worse than ``resolved`` (see
  ``docs/topics.md``), so it is offered for comparison with those tools, not as the default.

Every entry carries both numbers: ``score`` (the configured formula, in rate units: 0.02 = two percentage
points of the overall problem rate) and ``impact_removed`` (the Thematic formula).

* **Confidence interval**: a bootstrap over posts (``n_bootstrap`` resamples, seeded by ``seed``): the
  statistic depends on the posts only through per-topic counts of problem and other posts, so each
  resample draws those counts from one multinomial, which is exactly resampling the posts, at a cost
  independent of the number of posts. With reach weights, each cell's weight total is drawn from its
  normal approximation. ``ci_low``/``ci_high`` are the ``(1 - confidence) / 2`` percentiles, widened if
  needed to contain the score.
* **Minimum support**: topics with fewer than ``min_support`` posts are not ranked.
* **Order**: by ``score`` (or by ``ci_low`` with ``rank_by: ci_low``, which favours well-supported topics).

Time: growth and emergence
--------------------------
Windows of ``window_days`` end at the newest post: window 0 is the latest ``window_days``, window 1 the
ones before, and so on (partial coverage of the oldest window is accounted for by rescaling its counts to
a full window). On the number of the topic's problem posts (counts, not reach weights: the z-score
assumes Poisson counts):

* ``growth = (x + a) / (b + a) - 1``: relative change of the latest window ``x`` against the mean ``b``
  of up to ``n_baseline_windows`` earlier windows, with pseudo-count ``a = growth_smoothing``;
* ``emergence = (x - l) / sqrt(l + a)``: a Poisson z-score of the latest window against the topic's own
  baseline ``l = b * v``, where ``v`` is the volume of all other posts in the latest window relative to
  the baseline windows (more traffic overall is not a burst, and one topic's burst does not lower the
  others' scores). A topic is flagged ``emerging``
  when ``emergence >= emergence_threshold`` and it has at least ``min_support`` problem posts in the
  latest window.

Without timestamps, growth and emergence are 0.

How it runs: from aggregates, in bounded memory
-----------------------------------------------
Nothing above needs the posts themselves, only counts and sums per (brand, topic, time window, intent,
sentiment) cell: the number of posts, the sum and sum of squares of their reach weights (the weighted
bootstrap's mean and variance per cell), and the sums of the intent probabilities and of p(1 - p) (the
expected counts and their intervals). So the posts go, only the columns needed, into DuckDB
(:mod:`pipeline.ranking.aggregate`), and the ranking reads back the cells and, per topic, a bounded list of candidate
examples in the order they are chosen. Discovery clusters at most ``discovery_sample`` of the ``other``
posts, stratified by brand and window (all of them when they fit, as on the demo and the airline tweets,
which then rank exactly as when every post was held in memory), and the other posts go to the nearest
cluster, one distinct text at a time. Memory does not grow with the input; ``voc rank --engine ray`` runs
the same passes on Parquet shards in parallel (:mod:`pipeline.scoring.ray_engine`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline import INTENT_LABELS, SENTIMENT_LABELS
from pipeline.data.io import write_text_atomic
from pipeline.errors import ConfigError, InputError, validation_message
from pipeline.ranking.aggregate import (
    Example,
    Flags,
    PostStore,
    Presence,
    SampleRow,
    Scope,
    Stats,
    TextAssigner,
    TextTopics,
    Windows,
    allocate,
    assign_by_ord,
    assign_by_text,
    candidate_filter,
    candidate_strata,
    cell_arrays,
    cells,
    discovery_sample,
    evidence,
    merge_cells,
    merge_evidence,
    parse_time,
    scan_stats,
    secondary_topics,
)
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.discover import TopicDiscoverer
from pipeline.topics.taxonomy import OTHER_ID, Taxonomy

if TYPE_CHECKING:
    from pipeline.topics.fast import FastTopicScorer

_DAY = 86_400.0


class RankConfig(BaseModel):
    """Parameters of the ranking (all documented in the module docstring); stored in the output."""

    model_config = ConfigDict(extra="forbid")

    min_support: int = Field(default=5, ge=1)
    n_bootstrap: int = Field(default=500, ge=0)
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    seed: int = 0
    rank_by: Literal["score", "ci_low"] = "score"
    score_formula: Literal["resolved", "removed"] = "resolved"
    complaint_intents: list[str] = Field(default_factory=lambda: ["complaint"])
    count_negative: bool = True
    excluded_intents: list[str] = Field(default_factory=lambda: ["favour-seeking", "praise"])
    reach_weighting: Literal["log", "none"] = "log"
    window_days: int = Field(default=7, ge=1)
    n_baseline_windows: int = Field(default=4, ge=1)
    max_windows: int = Field(default=26, ge=2)
    growth_smoothing: float = Field(default=1.0, ge=0.0)
    emergence_threshold: float = 2.0
    discover: bool = True
    discover_intents: list[str] = Field(default_factory=lambda: ["complaint", "question"])
    min_topic_size: int = Field(default=5, ge=2)
    max_topics: int = Field(default=30, ge=2)
    # How discovery picks k: "stability" (partitions of random halves agree best) or "silhouette".
    k_selection: Literal["stability", "silhouette"] = "stability"
    n_examples: int = Field(default=5, ge=0)
    n_keywords: int = Field(default=8, ge=0)
    # Sentence encoder for discovery: "auto" uses
    # all-MiniLM-L6-v2 when the topics-embed extra is installed, "none" never; or a model directory.
    encoder: str = "auto"
    embedding_cache: str | None = None
    # The model bundle whose normaliser and static word-piece vectors assign topics to posts that arrive
    # without one (as `voc score --taxonomy` does with its bundle); None: the default bundle.
    model: str | None = None
    # Encoding runs at ~100-150 posts/s on a small CPU: above this many posts, discovery clusters TF-IDF.
    max_embed_posts: int = Field(default=20_000, ge=0)
    # Discovery clusters at most this many posts (a sample stratified by brand and time window) and assigns
    # the others to the nearest cluster; posts without a topic are assigned over the corpus up to this many.
    discovery_sample: int = Field(default=10_000, ge=10)


# ---------------------------------------------------------------------------------------------------------
# Input columns
# ---------------------------------------------------------------------------------------------------------

_parse_time = parse_time


def ranking_topic_assigner(taxonomy: Taxonomy, config: RankConfig) -> FastTopicScorer | TopicAssigner:
    """The assigner ``voc score --taxonomy`` uses (:func:`pipeline.topics.static.topic_assigner_for`), for posts
    that arrive without a topic: the bundle ``config.model`` names (default: the default bundle) gives the
    normaliser and static word-piece vectors, so a post gets the same topic whichever command assigned it.
    Per post, one distinct text at a time: nothing depends on the rest of the corpus."""
    from pipeline.errors import BundleError
    from pipeline.models.bundle import ModelBundle
    from pipeline.topics.fast import FastTopicScorer
    from pipeline.topics.static import topic_assigner_for

    try:
        bundle: ModelBundle | None = ModelBundle.load(config.model)
    except BundleError as exc:
        print(f"warning: topics by lexical scores only (no model bundle for word vectors): {exc}", file=sys.stderr)
        bundle = None
    return FastTopicScorer.for_assigner(topic_assigner_for(taxonomy, bundle))


def assign_from_taxonomy(con: Any, assigner: FastTopicScorer | TopicAssigner) -> None:
    """Topics for the posts of ``con``'s ``posts`` view that have none, by ``assigner``
    (:func:`ranking_topic_assigner`, the one ``voc score --taxonomy`` uses): the primary topic and the others,
    one distinct text at a time (bounded memory). Both engines call it, the Ray engine once per shard."""
    from pipeline.topics.taxonomy import PROBLEM_INTENTS

    # Complaints and questions get voc score's lower no-topic bar: the two groups are assigned apart.
    problems = "(" + ", ".join(f"'{intent}'" for intent in sorted(PROBLEM_INTENTS)) + ")"
    for problem, where in (
        (True, f"topic IS NULL AND coalesce(intent, '') IN {problems}"),
        (False, f"topic IS NULL AND coalesce(intent, '') NOT IN {problems}"),
    ):

        def assign(texts: list[str], flag: bool = problem) -> TextTopics:
            primary, every = assigner.assign_many(texts, problem=[flag] * len(texts))
            return TextTopics(
                topics=[a[0] for a in primary],
                scores=[a[2] for a in primary],
                labels=[a[1] for a in primary],
                more=[secondary_topics([{"topic": t} for t, _ in topics], a[0]) for a, topics in zip(primary, every)],
            )

        assign_by_text(con, where, assign)


def choose_encoder(config: RankConfig, n_posts: int) -> str | None:
    """The topic encoder to use for ``n_posts`` posts under ``config`` (None: lexical / TF-IDF methods)."""
    from pipeline.models.encoders import minilm_installed
    from pipeline.topics.sentence_encoder import DEFAULT_MODEL, encoder_available

    if config.encoder == "none" or n_posts > config.max_embed_posts:
        return None
    if config.encoder == "auto":
        return DEFAULT_MODEL if encoder_available() and minilm_installed() else None
    return config.encoder


def _count(x: float) -> int:
    """A count summed in floating point, as an integer."""
    return int(np.rint(x))


def _r(x: float, nd: int = 6) -> float:
    """Round for output; never NaN or infinite (JSON)."""
    return round(float(x), nd) if math.isfinite(x) else 0.0


def expected_counts(proba: np.ndarray, labels: Sequence[str] = INTENT_LABELS) -> dict[str, dict[str, Any]]:
    """Each label's expected count (the sum of its probabilities) with a 95% interval.

    With calibrated probabilities the number of posts of a label is a sum of independent Bernoulli
    variables, whose variance is the sum of p(1 - p): the interval is the normal one around the sum.
    """
    proba = np.asarray(proba, dtype=np.float64).reshape(-1, len(labels))
    return _expected(proba.sum(axis=0), (proba * (1 - proba)).sum(axis=0), labels)


def _expected(
    sums: np.ndarray, variances: np.ndarray, labels: Sequence[str] = INTENT_LABELS
) -> dict[str, dict[str, Any]]:
    """:func:`expected_counts` from each label's sum of p and of p(1 - p)."""
    out: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(labels):
        expected = float(sums[j])
        half = 1.96 * math.sqrt(max(float(variances[j]), 0.0))
        out[label] = {"expected": _r(expected, 1), "ci": [_r(max(expected - half, 0.0), 1), _r(expected + half, 1)]}
    return out


# ---------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------


def _impact(
    w_t: np.ndarray, p_t: np.ndarray, w_all: np.ndarray, p_all: np.ndarray, formula: str = "removed"
) -> np.ndarray:
    """r(all) - r(all without t), broadcasting over topics (last axis) and resamples (first axis).

    ``formula`` is ``RankConfig.score_formula``: ``removed`` drops the topic's posts, ``resolved`` turns its
    problem posts into non-problems (see the module docstring).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if formula == "resolved":
            return np.where(w_all > 0, p_t / w_all, 0.0)
        rate_all = p_all / w_all
        rest_w = w_all - w_t
        rate_rest = (p_all - p_t) / rest_w
        out = rate_all - rate_rest
    return np.where((rest_w > 1e-12) & (w_all > 0), out, 0.0)


def _bootstrap(
    counts: np.ndarray,
    w_sum: np.ndarray,
    w_sq: np.ndarray,
    n_topics: int,
    weighted: bool,
    config: RankConfig,
    rng: np.random.Generator,
    total_share: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the impact of every topic code from its (topic, is problem) cells: the number
    of posts ``counts`` (index ``topic * 2 + problem``) and, with reach weights, their weights' sums and sums
    of squares (see the module docstring). ``total_share``: the scope's totals as a share of the cells' sum
    (below 1 when posts are also counted under their other topics)."""
    total = float(counts.sum())
    if config.n_bootstrap == 0 or total == 0:
        return np.full(n_topics, np.nan), np.full(n_topics, np.nan)
    draws = rng.multinomial(_count(total), counts / total, size=config.n_bootstrap).astype(np.float64)
    if weighted:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(counts > 0, w_sum / counts, 0.0)
            var = np.where(counts > 0, w_sq / counts - mean**2, 0.0)
        noise = rng.standard_normal(draws.shape) * np.sqrt(np.maximum(var, 0.0) * draws)
        cell_w = np.maximum(draws * mean + noise, 0.0)
    else:
        cell_w = draws
    cell_w = cell_w.reshape(config.n_bootstrap, n_topics, 2)
    w_t = cell_w.sum(axis=2)
    p_t = cell_w[:, :, 1]
    imp = _impact(
        w_t,
        p_t,
        total_share * w_t.sum(axis=1, keepdims=True),
        total_share * p_t.sum(axis=1, keepdims=True),
        config.score_formula,
    )
    alpha = (1.0 - config.confidence) / 2.0
    return np.quantile(imp, alpha, axis=0), np.quantile(imp, 1.0 - alpha, axis=0)


class _Timeline:
    """The windows (0 = latest) that the posts' time range spans, and the coverage of each in days."""

    def __init__(self, start: float, end: float, config: RankConfig) -> None:
        self.available = math.isfinite(start) and math.isfinite(end)
        self.window_s = config.window_days * _DAY
        if not self.available:
            self.n_windows = 0
            self.coverage = np.zeros(0)
            self.end = math.nan
            return
        self.end = float(end)
        span = self.end - float(start)
        self.n_windows = int(min(config.max_windows, max(1, math.floor(span / self.window_s) + 1)))
        # Days of each window that the data covers (the oldest one may be partial).
        upper = self.end - np.arange(self.n_windows) * self.window_s
        lower = np.maximum(upper - self.window_s, float(start))
        self.coverage = np.clip((upper - lower) / self.window_s, 0.0, 1.0)
        self.coverage[0] = 1.0

    def spec(self) -> Windows:
        """How a post's window index is computed (in SQL): ``floor((end - t) / window)``, -1 outside."""
        return Windows(end=self.end if self.available else 0.0, size=self.window_s, n=self.n_windows)

    def windows(self) -> list[dict[str, Any]]:
        out = []
        for k in reversed(range(self.n_windows)):  # oldest first, as charts read
            hi = self.end - k * self.window_s
            out.append(
                {
                    "index": k,
                    "start": datetime.fromtimestamp(hi - self.window_s, tz=timezone.utc).isoformat(),
                    "end": datetime.fromtimestamp(hi, tz=timezone.utc).isoformat(),
                    "coverage": _r(self.coverage[k], 3),
                }
            )
        return out


def _growth_emergence(
    per_topic: np.ndarray, topic_volume: np.ndarray, totals: np.ndarray, timeline: _Timeline, config: RankConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Growth and emergence per topic from (topic, window) problem weights; column 0 is the latest."""
    n_topics = per_topic.shape[0]
    base_k = min(config.n_baseline_windows, timeline.n_windows - 1)
    if base_k < 1:
        return np.zeros(n_topics), np.zeros(n_topics)
    cov = timeline.coverage[1 : base_k + 1].sum()
    a = config.growth_smoothing
    latest = per_topic[:, 0]
    # Mean per full window over the baseline windows, rescaling partial coverage.
    baseline = per_topic[:, 1 : base_k + 1].sum(axis=1) / cov
    growth = (latest + a) / (baseline + a) - 1.0
    # Traffic of everything outside the topic, latest window against baseline: a burst of one topic must
    # not raise the expectation (and lower the z-score) of the others.
    rest_latest = totals[0] - topic_volume[:, 0]
    rest_base = (totals[1 : base_k + 1].sum() - topic_volume[:, 1 : base_k + 1].sum(axis=1)) / cov
    volume = (rest_latest + a) / (rest_base + a)
    expected = baseline * volume
    emergence = (latest - expected) / np.sqrt(expected + max(a, 1e-9))
    return growth, emergence


# ---------------------------------------------------------------------------------------------------------
# Where the aggregates come from
# ---------------------------------------------------------------------------------------------------------


class Source(Protocol):
    """The passes of a ranking over the scored posts, each returning a bounded result (see
    :mod:`pipeline.ranking.aggregate`): :class:`LocalSource` runs them on one DuckDB store, ``RaySource``
    (:mod:`pipeline.scoring.ray_engine`) on shards in parallel."""

    def stats(self) -> Stats: ...

    def assign_missing(self, taxonomy: Taxonomy, config: RankConfig) -> None: ...

    def strata(self, windows: Windows, intents: Sequence[str]) -> dict[tuple[str | None, int], int]: ...

    def sample(
        self, windows: Windows, intents: Sequence[str], quotas: dict[tuple[str | None, int], int], seed: int
    ) -> list[SampleRow]: ...

    def apply_discovery(
        self, discoverer: TopicDiscoverer, sample_ords: list[int], intents: Sequence[str], normaliser: Any
    ) -> None: ...

    def labels(self) -> dict[str, tuple[int, str]]: ...

    def aggregate(
        self, windows: Windows, weighted: bool, flags: Flags, by_brand: bool, depth: int
    ) -> tuple[dict[str, np.ndarray], dict[tuple[Scope, str], list[Example]]]: ...

    def examples(
        self, pairs: list[tuple[Scope, str]], flags: Flags, depth: int, *, distinct: bool, offset: int = 0
    ) -> dict[tuple[Scope, str], list[Example]]: ...


class LocalSource:
    """The passes on one :class:`~pipeline.ranking.aggregate.PostStore` (DuckDB, this machine)."""

    def __init__(self, store: PostStore) -> None:
        self.con = store.con
        self._settled: Future[tuple[Any, dict[tuple[Scope, str], list[Example]]]] | None = None

    def stats(self) -> Stats:
        return scan_stats(self.con)

    def assign_missing(self, taxonomy: Taxonomy, config: RankConfig) -> None:
        """Topics from ``taxonomy`` for posts without one (:func:`assign_from_taxonomy`). The caller has counted
        them already (``Stats.n_missing_topic``), so no second scan here."""
        assign_from_taxonomy(self.con, ranking_topic_assigner(taxonomy, config))

    def strata(self, windows: Windows, intents: Sequence[str]) -> dict[tuple[str | None, int], int]:
        return candidate_strata(self.con, windows, intents)

    def sample(
        self, windows: Windows, intents: Sequence[str], quotas: dict[tuple[str | None, int], int], seed: int
    ) -> list[SampleRow]:
        return discovery_sample(self.con, windows, intents, quotas, seed)

    def apply_discovery(
        self, discoverer: TopicDiscoverer, sample_ords: list[int], intents: Sequence[str], normaliser: Any
    ) -> None:
        keep = [j for j, label in enumerate(discoverer.labels_) if label != OTHER_ID]
        assign_by_ord(
            self.con,
            [sample_ords[j] for j in keep],
            [discoverer.labels_[j] for j in keep],
            [discoverer.scores_[j] for j in keep],
        )
        assign_by_text(
            self.con, candidate_filter(intents), discovery_assigner(discoverer, normaliser), skip=sample_ords
        )

    def labels(self) -> dict[str, tuple[int, str]]:
        return scan_stats(self.con).labels

    def start_aggregate(
        self, windows: Windows, weighted: bool, flags: Flags, by_brand: bool, depth: int, intents: Sequence[str]
    ) -> None:
        """Aggregate the posts discovery will not touch on another connection, while discovery runs."""
        from concurrent.futures import ThreadPoolExecutor

        self.con.execute(
            f"CREATE OR REPLACE TABLE _voc_candidates AS SELECT ord FROM posts WHERE {candidate_filter(intents)}"
        )
        cursor = self.con.cursor()
        settled = "ord NOT IN (SELECT ord FROM _voc_candidates)"

        def run() -> tuple[Any, dict[tuple[Scope, str], list[Example]]]:
            try:
                return (
                    cells(cursor, windows, weighted, settled),
                    evidence(cursor, flags, by_brand, depth, where=settled),
                )
            finally:
                cursor.close()

        pool = ThreadPoolExecutor(1)
        self._settled = pool.submit(run)
        pool.shutdown(wait=False)  # the thread ends with run()

    def wait(self) -> None:
        """Let a background aggregation end (before the store closes, whatever happened meanwhile)."""
        if self._settled is not None:
            self._settled.exception()

    def aggregate(
        self, windows: Windows, weighted: bool, flags: Flags, by_brand: bool, depth: int
    ) -> tuple[dict[str, np.ndarray], dict[tuple[Scope, str], list[Example]]]:
        settled, self._settled = self._settled, None
        if settled is None:
            return cell_arrays(cells(self.con, windows, weighted)), evidence(self.con, flags, by_brand, depth)
        moved = "ord IN (SELECT ord FROM _voc_candidates)"
        parts = [(cells(self.con, windows, weighted, moved), evidence(self.con, flags, by_brand, depth, where=moved))]
        parts.append(settled.result())
        return merge_cells([p[0] for p in parts]), merge_evidence((p[1] for p in parts), depth)

    def examples(
        self, pairs: list[tuple[Scope, str]], flags: Flags, depth: int, *, distinct: bool, offset: int = 0
    ) -> dict[tuple[Scope, str], list[Example]]:
        return evidence(self.con, flags, False, depth, offset=offset, only=pairs, distinct=distinct)


def discovery_assigner(discoverer: TopicDiscoverer, normaliser: Any) -> TextAssigner:
    """Nearest fitted topic per text (for :func:`pipeline.ranking.aggregate.assign_by_text`)."""

    def assign(texts: list[str]) -> TextTopics:
        topics, scores = discoverer.predict(normalised=normaliser.normalise_many(texts))
        return TextTopics(topics=topics, scores=scores)

    return assign


def make_normaliser() -> Any:
    """The discovery normaliser: the fast path's cached one (the same output), unless ``VOC_FASTPATH=0``."""
    from pipeline.models.fastpath import CachedNormaliser, fastpath_enabled
    from pipeline.text.normalise import TweetNormaliser

    return CachedNormaliser(TweetNormaliser()) if fastpath_enabled() else TweetNormaliser()


# ---------------------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------------------


_DEDUP_RE = re.compile(r"@\w+|https?://\S+|[\W_]+")


class _Cells:
    """The (brand, topic, window, intent, sentiment) cells with the flags of the ranking's rules."""

    def __init__(self, arrays: dict[str, np.ndarray], config: RankConfig) -> None:
        self.a = arrays
        n_cells = len(arrays.get("n", []))
        empty = np.zeros(0, dtype=object)
        self.brand = arrays.get("brand", empty)
        self.topic = arrays.get("topic", empty)
        self.intent = arrays.get("intent", empty)
        self.sentiment = arrays.get("sentiment", empty)
        self.n = arrays.get("n", np.zeros(0, dtype=np.int64)).astype(np.float64)
        self.first = arrays.get("first", np.zeros(0, dtype=np.int64))
        self.w = arrays.get("w", np.zeros(0, dtype=np.int64))
        self.w_sum = arrays.get("w_sum", np.zeros(0))
        self.w_sq = arrays.get("w_sq", np.zeros(0))
        self.p_sum = (
            np.stack([arrays.get(f"s_{j}", np.zeros(n_cells)) for j in range(len(INTENT_LABELS))], axis=1)
            if n_cells
            else np.zeros((0, len(INTENT_LABELS)))
        )
        self.p_var = (
            np.stack([arrays.get(f"v_{j}", np.zeros(n_cells)) for j in range(len(INTENT_LABELS))], axis=1)
            if n_cells
            else np.zeros((0, len(INTENT_LABELS)))
        )
        complaint = np.isin(self.intent, config.complaint_intents)
        excluded = np.isin(self.intent, config.excluded_intents)
        self.negative = self.sentiment == "negative"
        problem = complaint | (self.negative & ~excluded) if config.count_negative else complaint
        self.problem = problem & ~excluded  # an excluded intent never counts, even if listed as a complaint intent
        self.complaint = complaint
        self.size = n_cells
        # False for the cells of posts counted under one of their other topics: they count for topics only.
        self.primary = np.asarray(arrays.get("is_primary", np.ones(n_cells, dtype=bool)), dtype=bool)


def _first_order(values: np.ndarray, first: np.ndarray, mask: np.ndarray | None = None) -> list[Any]:
    """The distinct ``values`` (of the cells in ``mask``) in order of their first row."""
    best: dict[Any, int] = {}
    sel = np.flatnonzero(mask) if mask is not None else range(len(values))
    for i in sel:
        v = values[i]
        f = int(first[i])
        if v not in best or f < best[v]:
            best[v] = f
    return sorted(best, key=best.__getitem__)


def _mix(c: _Cells, values: np.ndarray, mask: np.ndarray, labels: Sequence[str]) -> dict[str, int]:
    out = {label: 0 for label in labels}
    counts: dict[Any, float] = {}
    for i in np.flatnonzero(mask):
        counts[values[i]] = counts.get(values[i], 0.0) + c.n[i]
    for v in _first_order(values, c.first, mask):
        out[str(v)] = out.get(str(v), 0) + int(counts[v])
    return out


class _Examples:
    """The example posts of every ranked (scope, topic), chosen from the evidence candidates.

    The first candidates are the best ``depth`` posts of each topic. Where they hold fewer than ``n``
    distinct texts (a post copied many times), the best post of each distinct text is asked for instead,
    and, where even that is short, further down the order; the examples are those of a walk through every
    post of the topic (tested), at the cost of one more query for the topics that need it.
    """

    def __init__(
        self, source: Source, rows: dict[tuple[Scope, str], list[Example]], flags: Flags, n: int, depth: int
    ) -> None:
        self.source, self.rows, self.flags, self.n, self.depth = source, rows, flags, n, depth
        self.chosen: dict[tuple[Scope, str], list[str]] = {}
        self._seen: dict[tuple[Scope, str], set[str]] = {}
        self.records: dict[str, dict[str, Any]] = {}

    def prepare(self, sizes: dict[tuple[Scope, str], int]) -> None:
        """Choose the examples of these (scope, topic) pairs, which have ``sizes`` posts."""
        short = []
        for pair in sizes:
            rows = self.rows.get(pair, [])
            self._choose(pair, rows)
            if len(self.chosen[pair]) < self.n and len(rows) < sizes[pair] and len(rows) >= self.depth:
                short.append(pair)
        if not short:
            return
        distinct = self.source.examples(short, self.flags, self.depth, distinct=True)
        for pair in short:
            rows = distinct.get(pair, [])
            self._choose(pair, rows)
            offset = len(rows)
            while len(self.chosen[pair]) < self.n and len(rows) >= self.depth:
                rows = self.source.examples([pair], self.flags, 4 * self.depth, distinct=True, offset=offset).get(
                    pair, []
                )
                offset += len(rows)
                self._choose(pair, rows, keep=True)

    def _choose(self, pair: tuple[Scope, str], rows: Sequence[Example], keep: bool = False) -> None:
        if not keep or pair not in self.chosen:
            self.chosen[pair] = []
            self._seen[pair] = set()
        out, seen = self.chosen[pair], self._seen[pair]
        for row in rows:
            if len(out) >= self.n:
                break
            key = _DEDUP_RE.sub("", row.text.lower())
            if key in seen:
                continue
            seen.add(key)
            out.append(row.id)
            self.records.setdefault(row.id, row.record())

    def __call__(self, scope: Scope, topic: str) -> list[str]:
        return self.chosen.get((scope, topic), [])


def _rank_scope(
    c: _Cells,
    mask: np.ndarray,
    topic_codes: np.ndarray,
    topic_names: list[str],
    meta: dict[str, dict[str, Any]],
    timeline: _Timeline,
    weighted: bool,
    config: RankConfig,
    rng: np.random.Generator,
    examples: Callable[[str], list[str]],
) -> list[dict[str, Any]]:
    """Ranked topic entries for the cells selected by ``mask`` (all posts, or one brand's)."""
    sel = np.flatnonzero(mask)
    n_codes = len(topic_names)
    if len(sel) == 0 or c.n[sel].sum() == 0:
        return []
    codes = topic_codes[sel]
    n = c.n[sel]
    w_sum = c.w_sum[sel]
    prob = c.problem[sel]
    complaint_j = INTENT_LABELS.index("complaint")
    n_posts = np.rint(np.bincount(codes, weights=n, minlength=n_codes)).astype(np.int64)
    w_t = np.bincount(codes, weights=w_sum, minlength=n_codes)
    p_t = np.bincount(codes, weights=w_sum * prob, minlength=n_codes)
    n_compl = np.bincount(codes, weights=n * c.complaint[sel], minlength=n_codes)
    expected_compl = np.bincount(codes, weights=c.p_sum[sel, complaint_j], minlength=n_codes)
    expected_compl_var = np.bincount(codes, weights=c.p_var[sel, complaint_j], minlength=n_codes)
    n_neg = np.bincount(codes, weights=n * c.negative[sel], minlength=n_codes)
    # Totals of the scope count each post once (its primary cell); topics also count posts under their other topics.
    primary = c.primary[sel]
    w_all, p_all = float(w_sum[primary].sum()), float((w_sum * prob)[primary].sum())
    score = _impact(w_t, p_t, np.array(w_all), np.array(p_all), config.score_formula)
    removed = _impact(w_t, p_t, np.array(w_all), np.array(p_all), "removed")
    boot = codes * 2 + prob.astype(np.int64)
    ci_low, ci_high = _bootstrap(
        np.bincount(boot, weights=n, minlength=2 * n_codes),
        np.bincount(boot, weights=w_sum, minlength=2 * n_codes),
        np.bincount(boot, weights=c.w_sq[sel], minlength=2 * n_codes),
        n_codes,
        weighted,
        config,
        rng,
        w_all / float(w_sum.sum()) if float(w_sum.sum()) else 1.0,
    )

    intent_names = _first_order(c.intent, c.first, mask)
    sent_names = _first_order(c.sentiment, c.first, mask)
    intent_index = {v: j for j, v in enumerate(intent_names)}
    sent_index = {v: j for j, v in enumerate(sent_names)}
    intent_codes = np.array([intent_index[v] for v in c.intent[sel]], dtype=np.int64)
    sent_codes = np.array([sent_index[v] for v in c.sentiment[sel]], dtype=np.int64)
    intent_counts = np.rint(
        np.bincount(codes * len(intent_names) + intent_codes, weights=n, minlength=n_codes * len(intent_names))
    ).reshape(n_codes, -1)
    sent_counts = np.rint(
        np.bincount(codes * len(sent_names) + sent_codes, weights=n, minlength=n_codes * len(sent_names))
    ).reshape(n_codes, -1)

    trend: np.ndarray = np.zeros((n_codes, timeline.n_windows))
    trend_posts: np.ndarray = np.zeros((n_codes, timeline.n_windows))
    growth = np.zeros(n_codes)
    emergence = np.zeros(n_codes)
    if timeline.n_windows:
        w = c.w[sel]
        ok = w >= 0
        flat = codes[ok] * timeline.n_windows + w[ok]
        size = n_codes * timeline.n_windows
        # Counts, not reach weights: the Poisson z-score needs counts, and people read "posts".
        trend = np.rint(np.bincount(flat, weights=(n * prob)[ok], minlength=size)).reshape(n_codes, -1)
        trend_posts = np.rint(np.bincount(flat, weights=n[ok], minlength=size)).reshape(n_codes, -1)
        totals = np.rint(np.bincount(w[ok], weights=(n * primary)[ok], minlength=timeline.n_windows))
        growth, emergence = _growth_emergence(trend, trend_posts, totals, timeline, config)

    entries = []
    for code, name in enumerate(topic_names):
        if name == OTHER_ID or n_posts[code] < config.min_support:
            continue
        lo = score[code] if math.isnan(ci_low[code]) else min(ci_low[code], score[code])
        hi = score[code] if math.isnan(ci_high[code]) else max(ci_high[code], score[code])
        latest_problems = trend[code, 0] if timeline.n_windows else 0.0
        info = meta.get(name, {})
        half = 1.96 * math.sqrt(max(expected_compl_var[code], 0.0))
        entries.append(
            {
                "topic": name,
                "label": info.get("label", name),
                "source": info.get("source", "taxonomy"),
                "score": _r(score[code]),
                "impact_removed": _r(removed[code]),
                "ci_low": _r(lo),
                "ci_high": _r(hi),
                "n_posts": int(n_posts[code]),
                "n_complaints": _count(n_compl[code]),
                "expected_complaints": _r(expected_compl[code], 1),
                "expected_complaints_ci": [
                    _r(max(expected_compl[code] - half, 0.0), 1),
                    _r(expected_compl[code] + half, 1),
                ],
                "n_problems": _r(p_t[code], 3),
                "negative_share": _r(n_neg[code] / n_posts[code], 4),
                "problem_rate": _r(p_t[code] / w_t[code] if w_t[code] else 0.0, 4),
                "complaint_rate": _r(n_compl[code] / n_posts[code], 4),
                "share": _r(w_t[code] / w_all if w_all else 0.0, 4),
                "growth": _r(growth[code], 4),
                "emergence": _r(emergence[code], 3),
                "emerging": bool(
                    emergence[code] >= config.emergence_threshold and latest_problems >= config.min_support
                ),
                "intents": {
                    str(intent_names[j]): int(intent_counts[code, j])
                    for j in range(len(intent_names))
                    if intent_counts[code, j]
                },
                "sentiments": {
                    str(sent_names[j]): int(sent_counts[code, j])
                    for j in range(len(sent_names))
                    if sent_counts[code, j]
                },
                "trend": [int(x) for x in trend[code, ::-1]],  # problem posts per window, oldest first
                "trend_posts": [int(x) for x in trend_posts[code, ::-1]],
                "keywords": list(info.get("keywords", []))[: config.n_keywords],
                "examples": examples(name),
            }
        )
    key = "score" if config.rank_by == "score" else "ci_low"
    entries.sort(key=lambda e: (-e[key], -e["score"], -e["n_problems"], e["topic"]))
    for rank, e in enumerate(entries, start=1):
        e["rank"] = rank
    # Put `rank` first for readability of the JSON.
    return [
        {
            "topic": e["topic"],
            "label": e["label"],
            "rank": e["rank"],
            **{k: v for k, v in e.items() if k not in ("topic", "label", "rank")},
        }
        for e in entries
    ]


def _ranked_sizes(c: _Cells, by_brand: bool, min_support: int) -> dict[tuple[Scope, str], int]:
    """The number of posts of every (scope, topic) that will be ranked (scope None: all posts)."""
    sizes: dict[tuple[Scope, str], float] = {}
    for i in range(c.size):
        topic = str(c.topic[i])
        if topic == OTHER_ID:
            continue
        sizes[(None, topic)] = sizes.get((None, topic), 0.0) + c.n[i]
        if by_brand and c.brand[i] is not None:
            key = (str(c.brand[i]), topic)
            sizes[key] = sizes.get(key, 0.0) + c.n[i]
    return {key: _count(n) for key, n in sizes.items() if n >= min_support}


def _discover(
    source: Source,
    windows: Windows,
    cfg: RankConfig,
    previous: dict[str, list[str]] | None,
    meta: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Cluster the ``other`` complaints and questions (a bounded sample), assign the rest, describe."""
    discovery: dict[str, Any] = {"enabled": cfg.discover, "n_posts": 0, "k": 0, "n_topics": 0}
    if not cfg.discover:
        return discovery
    counts = source.strata(windows, cfg.discover_intents)
    n_candidates = sum(counts.values())
    discovery["n_posts"] = n_candidates
    if n_candidates < 2 * cfg.min_topic_size:
        return discovery
    sample = source.sample(windows, cfg.discover_intents, allocate(counts, cfg.discovery_sample), cfg.seed)
    # Sentence embeddings only where every candidate is in the sample: the rest would need encoding too.
    encoder = choose_encoder(cfg, n_candidates) if len(sample) == n_candidates else None
    normaliser = make_normaliser()
    texts = [row.text for row in sample]
    disc = TopicDiscoverer(
        min_topic_size=cfg.min_topic_size,
        max_topics=cfg.max_topics,
        random_state=cfg.seed,
        previous=previous,
        encoder=encoder,
        embedding_cache=cfg.embedding_cache,
        k_selection=cfg.k_selection,
    ).fit(texts, normalised=normaliser.normalise_many(texts))
    source.apply_discovery(disc, [row.ord for row in sample], cfg.discover_intents, normaliser)
    for tid, info in disc.topics_.items():
        meta[tid] = {"label": info["label"], "source": "discovered", "keywords": info["keywords"]}
    discovery.update(
        k=disc.k_,
        n_topics=len(disc.topics_),
        space=getattr(disc, "space_", None),
        k_selection=cfg.k_selection,
        silhouette=_r(getattr(disc, "silhouette_", 0.0), 4),
        stability=_r(getattr(disc, "stabilities_", {}).get(disc.k_, 0.0), 4),
        n_sampled=len(sample),
    )
    return discovery


def rank_source(
    source: Source,
    config: RankConfig | None = None,
    *,
    by_brand: bool = False,
    taxonomy: Taxonomy | None = None,
    previous: dict[str, list[str]] | None = None,
    assign_missing: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rank from the aggregates of ``source``; returns the result and the example posts' records.

    ``assign_missing``: posts without a topic get one from ``taxonomy`` (when given) before discovery.
    """
    cfg = config or RankConfig()
    stats = source.stats()
    if assign_missing and stats.n_missing_topic and taxonomy is not None:
        source.assign_missing(taxonomy, cfg)
    meta: dict[str, dict[str, Any]] = {}
    if taxonomy is not None:
        for tt in taxonomy.topics:
            meta[tt.name] = {"label": tt.label, "source": "taxonomy", "keywords": list(tt.seeds)}
    timeline = _Timeline(stats.t_min, stats.t_max, cfg)
    windows = timeline.spec()
    weighted = cfg.reach_weighting == "log" and stats.n_reach > 0
    flags = Flags(tuple(cfg.complaint_intents), tuple(cfg.excluded_intents), cfg.count_negative)
    depth = max(50, 10 * cfg.n_examples)
    start = getattr(source, "start_aggregate", None)
    if start is not None and cfg.discover:
        start(windows, weighted, flags, by_brand, depth, cfg.discover_intents)
    try:
        discovery = _discover(source, windows, cfg, previous, meta)
    except BaseException:
        getattr(source, "wait", lambda: None)()
        raise
    for name, (_first, label) in sorted(source.labels().items(), key=lambda kv: kv[1][0]):
        meta.setdefault(name, {"label": label, "source": "taxonomy", "keywords": []})

    arrays, evidence_rows = source.aggregate(windows, weighted, flags, by_brand, depth)
    c = _Cells(arrays, cfg)
    examples = _Examples(source, evidence_rows, flags, cfg.n_examples, depth)
    examples.prepare(_ranked_sizes(c, by_brand, cfg.min_support))
    topic_names = _first_order(c.topic, c.first)
    topic_index = {name: i for i, name in enumerate(topic_names)}
    topic_codes = np.array([topic_index[t] for t in c.topic], dtype=np.int64)
    rng = np.random.default_rng(cfg.seed)
    everything = np.ones(c.size, dtype=bool)
    ranked = _rank_scope(
        c, everything, topic_codes, topic_names, meta, timeline, weighted, cfg, rng, lambda topic: examples(None, topic)
    )

    windows_out = timeline.windows()
    once = c.primary  # totals count each post once, under its primary topic
    if timeline.n_windows:
        ok = (c.w >= 0) & once
        per_window_posts = np.rint(np.bincount(c.w[ok], weights=c.n[ok], minlength=timeline.n_windows))
        per_window_probs = np.rint(np.bincount(c.w[ok], weights=(c.n * c.problem)[ok], minlength=timeline.n_windows))
        for wdict in windows_out:
            wdict["n_posts"] = int(per_window_posts[wdict["index"]])
            wdict["n_problems"] = int(per_window_probs[wdict["index"]])

    total_w = float(c.w_sum[once].sum())
    n_posts = _count(c.n[once].sum())
    result: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "n_posts": n_posts,
        "n_problems": _count((c.n * c.problem)[once].sum()),
        "problem_rate": _r(float((c.w_sum * c.problem)[once].sum()) / total_w if total_w else 0.0, 4),
        "n_other": _count(c.n[(c.topic == OTHER_ID) & once].sum()),
        "n_topics_ranked": len(ranked),
        "parameters": {**cfg.model_dump(), "by_brand": by_brand, "reach_weighted": weighted},
        "windows": windows_out,
        "discovery": discovery,
        "intents": _mix(c, c.intent, once, INTENT_LABELS),
        "intents_expected": _expected(c.p_sum[once].sum(axis=0), c.p_var[once].sum(axis=0)),
        "sentiments": _mix(c, c.sentiment, once, SENTIMENT_LABELS),
        "topics": ranked,
    }
    brand_names = sorted({str(b) for b in c.brand if b is not None})
    if brand_names:
        result["brand_mix"] = {}
        masks = {b: c.brand == b for b in brand_names}
        for b in brand_names:
            m = masks[b] & once
            result["brand_mix"][b] = {
                "n_posts": _count(c.n[m].sum()),
                "intents": _mix(c, c.intent, m, INTENT_LABELS),
                "intents_expected": _expected(c.p_sum[m].sum(axis=0), c.p_var[m].sum(axis=0)),
                "sentiments": _mix(c, c.sentiment, m, SENTIMENT_LABELS),
            }
        if by_brand:
            result["brands"] = {}
            for bi, b in enumerate(brand_names):
                brng = np.random.default_rng([cfg.seed, bi + 1])
                result["brands"][b] = _rank_scope(
                    c,
                    masks[b],
                    topic_codes,
                    topic_names,
                    meta,
                    timeline,
                    weighted,
                    cfg,
                    brng,
                    lambda topic, b=b: examples(b, topic),  # type: ignore[misc]
                )
    elif by_brand:
        result["brands"] = {}
    return result, list(examples.records.values())


def rank_posts(
    records: list[dict[str, Any]],
    config: RankConfig | None = None,
    *,
    by_brand: bool = False,
    taxonomy: Taxonomy | None = None,
    previous: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Rank the topics of scored posts (see the module docstring for the formula).

    ``previous`` maps discovered topic ids of an earlier run to their keywords (see
    :func:`previous_topics`), so that discovered topics keep their ids across runs. The posts go through
    the same aggregation as :func:`pipeline.ranking.run.rank_file` (an in-memory DuckDB table).
    """
    with PostStore(in_memory=True) as store:
        store.add_records(records)
        result, _ = rank_source(
            LocalSource(store), config, by_brand=by_brand, taxonomy=taxonomy, previous=previous, assign_missing=False
        )
    return result


def attach_mix_estimates(result: dict[str, Any], mix_file: Path) -> None:
    """Add the scoring job's estimated intent mix per brand (``voc score``'s ``OUTPUT.mix.json``), if there.

    Each brand of ``brand_mix`` gains ``estimated_mix`` (shares with 95% intervals) and ``far_from_training``:
    a mix far from the one the model was calibrated on is outside the model's experience, and the report
    says so. Nothing is added when the file is missing or unreadable (a ranking does not need it).
    """
    try:
        intent = json.loads(mix_file.read_text(encoding="utf-8"))["intent"]
        groups = {str(g["group"]): g for g in intent["groups"]}
        calibration = dict(intent["calibration_mix"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    result["mix_estimates"] = {"file": str(mix_file), "calibration_mix": calibration}
    for brand, entry in (result.get("brand_mix") or {}).items():
        estimate = groups.get(brand)
        if estimate and estimate.get("mix"):
            entry["estimated_mix"] = {"mix": estimate["mix"], "interval_95": estimate["interval_95"]}
            entry["far_from_training"] = bool(estimate.get("far_from_training"))
    whole = groups.get("")
    if whole and whole.get("mix"):
        result["mix_estimates"]["feed"] = {
            "mix": whole["mix"],
            "interval_95": whole["interval_95"],
            "far_from_training": bool(whole.get("far_from_training")),
        }


def previous_topics(ranking: dict[str, Any]) -> dict[str, list[str]]:
    """Discovered topic ids and keywords of an earlier ``ranking.json``, for :func:`rank_posts`."""
    out: dict[str, list[str]] = {}
    lists = [ranking.get("topics", [])] + list((ranking.get("brands") or {}).values())
    for entries in lists:
        for e in entries:
            if e.get("source") == "discovered" and e.get("keywords"):
                out.setdefault(str(e["topic"]), [str(k) for k in e["keywords"]])
    return out


def load_rank_config(path: str | Path | None) -> RankConfig:
    """Ranking parameters from a YAML (or JSON) file: the fields of :class:`RankConfig`, at the top level or
    under a ``rank:`` key. ``None`` gives the defaults. Problems become one-line :class:`ConfigError`."""
    if path is None:
        return RankConfig()
    import yaml
    from pydantic import ValidationError

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"ranking config not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read ranking config {p}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"ranking config {p} is not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = {}
    if isinstance(data, dict) and isinstance(data.get("rank"), dict):
        data = data["rank"]
    if not isinstance(data, dict):
        raise ConfigError(f"ranking config {p} must be a mapping of parameters")
    try:
        return RankConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message("ranking config", p, exc)) from None


def check_fields(input_path: str | Path, n_rows: int, presence: Presence, time_field: str, brand_field: str) -> None:
    """One error line when the input is not scored posts, or a named time or brand field has no value."""
    if not n_rows:
        return
    if not presence.intent:
        raise InputError(f"{input_path} has no 'intent' field: rank the output of `voc score`, not raw posts")
    for field_name, core, count in ((time_field, "created_at", presence.time), (brand_field, "brand", presence.brand)):
        if field_name != core and not count:
            raise InputError(f"{input_path} has no '{field_name}' field (given as the {core} field)")


# ---------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "brand",
    "rank",
    "topic",
    "label",
    "source",
    "score",
    "ci_low",
    "ci_high",
    "impact_removed",
    "n_posts",
    "n_complaints",
    "negative_share",
    "problem_rate",
    "share",
    "growth",
    "emergence",
    "emerging",
    "keywords",
    "examples",
)


def ranking_csv(result: dict[str, Any]) -> str:
    """The ranking as CSV: the overall ranking (empty ``brand``), then each brand's."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    scopes: list[tuple[str, list[dict[str, Any]]]] = [("", result.get("topics", []))]
    scopes += sorted((result.get("brands") or {}).items())
    for brand, entries in scopes:
        for e in entries:
            writer.writerow(
                {
                    **e,
                    "brand": brand,
                    "keywords": "; ".join(e.get("keywords", [])),
                    "examples": " ".join(e.get("examples", [])),
                }
            )
    return buf.getvalue()


def write_ranking(
    result: dict[str, Any], output_dir: Path, records: list[dict[str, Any]] | None = None
) -> dict[str, Path]:
    """Write ``ranking.json``, ``ranking.csv`` and ``report.html`` into ``output_dir``, each atomically.

    ``records`` (the scored posts) give the report its example texts; without them the report shows ids.
    """
    from pipeline.ranking.report import render_report

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "ranking.json", "csv": out / "ranking.csv", "html": out / "report.html"}
    write_text_atomic(paths["json"], json.dumps(result, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    write_text_atomic(paths["csv"], ranking_csv(result))
    write_text_atomic(paths["html"], render_report(result, records or []))
    return paths


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _formula_words(result: dict[str, Any]) -> str:
    """What the score means, in words, for the formula the result was ranked with."""
    if result.get("parameters", {}).get("score_formula", "resolved") == "removed":
        return "drop in the problem rate without the topic's posts"
    return "drop in the problem rate if the topic's problems were resolved"


def summary_markdown(result: dict[str, Any], top: int = 10) -> str:
    """The Markdown table printed at the end of ``voc rank``: the top topics with their evidence."""
    topics = result.get("topics", [])[:top]
    conf = 100 * float(result.get("parameters", {}).get("confidence", 0.95))
    lines = [
        f"**Top {len(topics)} of {result.get('n_topics_ranked', len(result.get('topics', [])))} topics** "
        f"({result.get('n_posts', 0):,} posts, problem rate {_pct(result.get('problem_rate', 0.0))}; "
        f"score = {_formula_words(result)}, in percentage points)",
        "",
        f"| Rank | Topic | Score (pp) [{conf:.0f}% CI] | Posts | Complaints | Negative | Growth | Source |",
        "|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for e in topics:
        ci = f"{e['score'] * 100:+.2f} [{e['ci_low'] * 100:+.2f}, {e['ci_high'] * 100:+.2f}]"
        flag = " ↑ emerging" if e.get("emerging") else ""
        lines.append(
            f"| {e['rank']} | {_md(e['label'])} (`{_md(e['topic'])}`) | {ci} | {e['n_posts']:,} | "
            f"{e['n_complaints']:,} | {_pct(e['negative_share'])} | {e['growth'] * 100:+.0f}%{flag} | "
            f"{e.get('source', '')} |"
        )
    if not topics:
        lines.append("| – | no topic reaches the minimum support | | | | | | |")
    return "\n".join(lines) + "\n"
