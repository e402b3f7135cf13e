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
*discovered* topics (``discover``; see :class:`pipeline.topics.assign.TopicDiscoverer`), which are ranked with the
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
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline import INTENT_LABELS, SENTIMENT_LABELS
from pipeline.data.io import write_text_atomic
from pipeline.errors import ConfigError, InputError
from pipeline.topics.assign import OTHER_ID, Taxonomy, TopicDiscoverer

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
    # Sentence encoder for discovery (and for assigning posts that arrive without a topic): "auto" uses
    # all-MiniLM-L6-v2 when the topics-embed extra is installed, "none" never; or a model directory.
    encoder: str = "auto"
    embedding_cache: str | None = None
    # Encoding runs at ~100-150 posts/s on a small CPU: above this many posts, discovery clusters TF-IDF.
    max_embed_posts: int = Field(default=20_000, ge=0)


# ---------------------------------------------------------------------------------------------------------
# Input columns
# ---------------------------------------------------------------------------------------------------------


def _parse_time(value: Any) -> float:
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


def _reach(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    v = float(value)
    return v if math.isfinite(v) and v >= 0 else math.nan


def choose_encoder(config: RankConfig, n_posts: int) -> str | None:
    """The topic encoder to use for ``n_posts`` posts under ``config`` (None: lexical / TF-IDF methods)."""
    from pipeline.models.encoders import minilm_installed
    from pipeline.topics.sentence_encoder import DEFAULT_MODEL, encoder_available

    if config.encoder == "none" or n_posts > config.max_embed_posts:
        return None
    if config.encoder == "auto":
        return DEFAULT_MODEL if encoder_available() and minilm_installed() else None
    return config.encoder


def _codes(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(index)


def _r(x: float, nd: int = 6) -> float:
    """Round for output; never NaN or infinite (JSON)."""
    return round(float(x), nd) if math.isfinite(x) else 0.0


class _Posts:
    """Column arrays of the records that the ranking needs."""

    def __init__(self, records: list[dict[str, Any]], config: RankConfig) -> None:
        n = len(records)
        self.n = n
        self.ids = [str(r.get("id", i)) for i, r in enumerate(records)]
        self.texts: list[str] = [str(r["text"]) if isinstance(r.get("text"), str) else "" for r in records]
        self.intent = [str(r.get("intent") or "other") for r in records]
        self.sentiment = [str(r.get("sentiment") or "neutral") for r in records]
        self.topic = [str(r.get("topic") or OTHER_ID) for r in records]
        self.topic_label: dict[str, str] = {}
        for r in records:
            t = str(r.get("topic") or OTHER_ID)
            if t not in self.topic_label and r.get("topic_label"):
                self.topic_label[t] = str(r["topic_label"])
        self.topic_score = np.array([float(r.get("topic_score") or 0.0) for r in records], dtype=np.float64)
        self.time = np.array([_parse_time(r.get("created_at")) for r in records], dtype=np.float64)
        brands = [r.get("brand") for r in records]
        self.brand = [str(b) if b not in (None, "") else None for b in brands]
        reach = np.array([_reach(r.get("reach")) for r in records], dtype=np.float64)
        self.weighted = config.reach_weighting == "log" and bool(np.isfinite(reach).any())
        self.weight = np.where(np.isfinite(reach), 1.0 + np.log1p(np.nan_to_num(reach)), 1.0) \
            if self.weighted else np.ones(n)
        intents = np.array(self.intent, dtype=object)
        complaint = np.isin(intents, config.complaint_intents)
        excluded = np.isin(intents, config.excluded_intents)
        negative = np.array(self.sentiment, dtype=object) == "negative"
        self.problem = complaint | (negative & ~excluded) if config.count_negative else complaint
        self.problem &= ~excluded  # an excluded intent never counts, even if listed as a complaint intent
        self.complaint = complaint
        self.negative = negative
        # Each post's intent probabilities (``intent_scores``), or its label as certain where there are none:
        # summed, they are expected counts, which stay right where the labels' counts are biased (quantification).
        self.intent_proba = _intent_probabilities(records, self.intent)
        self.complaint_proba = self.intent_proba[:, INTENT_LABELS.index("complaint")]


def _intent_probabilities(records: list[dict[str, Any]], labels: list[str]) -> np.ndarray:
    out = np.zeros((len(records), len(INTENT_LABELS)))
    index = {label: j for j, label in enumerate(INTENT_LABELS)}
    for i, (record, label) in enumerate(zip(records, labels)):
        scores = record.get("intent_scores")
        if isinstance(scores, dict) and scores:
            for name, value in scores.items():
                if name in index and isinstance(value, (int, float)) and math.isfinite(value):
                    out[i, index[name]] = float(value)
            total = out[i].sum()
            if total > 0:
                out[i] /= total
                continue
        if label in index:
            out[i, index[label]] = 1.0
    return out


def expected_counts(proba: np.ndarray, labels: Sequence[str] = INTENT_LABELS) -> dict[str, dict[str, Any]]:
    """Each label's expected count (the sum of its probabilities) with a 95% interval.

    With calibrated probabilities the number of posts of a label is a sum of independent Bernoulli
    variables, whose variance is the sum of p(1 - p): the interval is the normal one around the sum.
    """
    out: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(labels):
        column = proba[:, j] if len(proba) else np.zeros(0)
        expected = float(column.sum())
        half = 1.96 * math.sqrt(float((column * (1 - column)).sum()))
        out[label] = {"expected": _r(expected, 1), "ci": [_r(max(expected - half, 0.0), 1), _r(expected + half, 1)]}
    return out

# ---------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------


def _impact(w_t: np.ndarray, p_t: np.ndarray, w_all: np.ndarray, p_all: np.ndarray,
            formula: str = "removed") -> np.ndarray:
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


def _bootstrap(topic: np.ndarray, problem: np.ndarray, weight: np.ndarray, n_topics: int, weighted: bool,
               config: RankConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the impact of every topic code (see the module docstring)."""
    if config.n_bootstrap == 0 or len(topic) == 0:
        return np.full(n_topics, np.nan), np.full(n_topics, np.nan)
    cell = topic * 2 + problem.astype(np.int64)  # (topic, is problem) cells
    n_cells = n_topics * 2
    counts = np.bincount(cell, minlength=n_cells).astype(np.float64)
    draws = rng.multinomial(len(topic), counts / counts.sum(), size=config.n_bootstrap).astype(np.float64)
    if weighted:
        w_sum = np.bincount(cell, weights=weight, minlength=n_cells)
        w_sq = np.bincount(cell, weights=weight * weight, minlength=n_cells)
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
    imp = _impact(w_t, p_t, w_t.sum(axis=1, keepdims=True), p_t.sum(axis=1, keepdims=True), config.score_formula)
    alpha = (1.0 - config.confidence) / 2.0
    return np.quantile(imp, alpha, axis=0), np.quantile(imp, 1.0 - alpha, axis=0)


class _Timeline:
    """Window index of every post (0 = latest window) and the coverage of each window in days."""

    def __init__(self, times: np.ndarray, config: RankConfig) -> None:
        ok = np.isfinite(times)
        self.available = bool(ok.any())
        self.window_s = config.window_days * _DAY
        if not self.available:
            self.index = np.full(len(times), -1)
            self.n_windows = 0
            self.coverage = np.zeros(0)
            self.end = math.nan
            return
        self.end = float(times[ok].max())
        start = float(times[ok].min())
        span = self.end - start
        self.n_windows = int(min(config.max_windows, max(1, math.floor(span / self.window_s) + 1)))
        idx = np.full(len(times), -1)
        idx[ok] = np.floor((self.end - times[ok]) / self.window_s).astype(np.int64)
        idx[idx >= self.n_windows] = -1  # older than the windows kept
        self.index = idx
        # Days of each window that the data covers (the oldest one may be partial).
        upper = self.end - np.arange(self.n_windows) * self.window_s
        lower = np.maximum(upper - self.window_s, start)
        self.coverage = np.clip((upper - lower) / self.window_s, 0.0, 1.0)
        self.coverage[0] = 1.0

    def windows(self) -> list[dict[str, Any]]:
        out = []
        for k in reversed(range(self.n_windows)):  # oldest first, as charts read
            hi = self.end - k * self.window_s
            out.append({
                "index": k,
                "start": datetime.fromtimestamp(hi - self.window_s, tz=timezone.utc).isoformat(),
                "end": datetime.fromtimestamp(hi, tz=timezone.utc).isoformat(),
                "coverage": _r(self.coverage[k], 3),
            })
        return out


def _growth_emergence(per_topic: np.ndarray, topic_volume: np.ndarray, totals: np.ndarray,
                      timeline: _Timeline, config: RankConfig) -> tuple[np.ndarray, np.ndarray]:
    """Growth and emergence per topic from (topic, window) problem weights; column 0 is the latest."""
    n_topics = per_topic.shape[0]
    base_k = min(config.n_baseline_windows, timeline.n_windows - 1)
    if base_k < 1:
        return np.zeros(n_topics), np.zeros(n_topics)
    cov = timeline.coverage[1: base_k + 1].sum()
    a = config.growth_smoothing
    latest = per_topic[:, 0]
    # Mean per full window over the baseline windows, rescaling partial coverage.
    baseline = per_topic[:, 1: base_k + 1].sum(axis=1) / cov
    growth = (latest + a) / (baseline + a) - 1.0
    # Traffic of everything outside the topic, latest window against baseline: a burst of one topic must
    # not raise the expectation (and lower the z-score) of the others.
    rest_latest = totals[0] - topic_volume[:, 0]
    rest_base = (totals[1: base_k + 1].sum() - topic_volume[:, 1: base_k + 1].sum(axis=1)) / cov
    volume = (rest_latest + a) / (rest_base + a)
    expected = baseline * volume
    emergence = (latest - expected) / np.sqrt(expected + max(a, 1e-9))
    return growth, emergence


# ---------------------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------------------


_DEDUP_RE = re.compile(r"@\w+|https?://\S+|[\W_]+")


def _distinct_examples(posts: _Posts, sel: np.ndarray, ordered: np.ndarray, n: int) -> list[str]:
    """The first ``n`` posts in ``ordered`` whose texts differ (retweets and copies shown once)."""
    out: list[str] = []
    seen: set[str] = set()
    for j in ordered.tolist():
        if len(out) >= n:
            break
        i = int(sel[j])
        key = _DEDUP_RE.sub("", posts.texts[i].lower())
        if key in seen:
            continue
        seen.add(key)
        out.append(posts.ids[i])
    return out


def _rank_subset(posts: _Posts, mask: np.ndarray, topic_codes: np.ndarray, topic_names: list[str],
                 meta: dict[str, dict[str, Any]], timeline: _Timeline, config: RankConfig,
                 rng: np.random.Generator) -> list[dict[str, Any]]:
    """Ranked topic entries for the posts selected by ``mask``."""
    sel = np.flatnonzero(mask)
    n_codes = len(topic_names)
    if len(sel) == 0:
        return []
    codes = topic_codes[sel]
    w = posts.weight[sel]
    prob = posts.problem[sel]
    pw = w * prob
    n_posts = np.bincount(codes, minlength=n_codes)
    w_t = np.bincount(codes, weights=w, minlength=n_codes)
    p_t = np.bincount(codes, weights=pw, minlength=n_codes)
    n_compl = np.bincount(codes, weights=posts.complaint[sel].astype(float), minlength=n_codes)
    complaint_p = posts.complaint_proba[sel]
    expected_compl = np.bincount(codes, weights=complaint_p, minlength=n_codes)
    expected_compl_var = np.bincount(codes, weights=complaint_p * (1 - complaint_p), minlength=n_codes)
    n_neg = np.bincount(codes, weights=posts.negative[sel].astype(float), minlength=n_codes)
    score = _impact(w_t, p_t, np.array(w_t.sum()), np.array(p_t.sum()), config.score_formula)
    removed = _impact(w_t, p_t, np.array(w_t.sum()), np.array(p_t.sum()), "removed")
    ci_low, ci_high = _bootstrap(codes, prob, w, n_codes, posts.weighted, config, rng)

    intent_codes, intent_names = _codes([posts.intent[i] for i in sel])
    sent_codes, sent_names = _codes([posts.sentiment[i] for i in sel])
    intent_counts = np.bincount(codes * len(intent_names) + intent_codes,
                                minlength=n_codes * len(intent_names)).reshape(n_codes, -1)
    sent_counts = np.bincount(codes * len(sent_names) + sent_codes,
                              minlength=n_codes * len(sent_names)).reshape(n_codes, -1)

    sub_timeline_index = timeline.index[sel]
    trend: np.ndarray = np.zeros((n_codes, timeline.n_windows))
    trend_posts: np.ndarray = np.zeros((n_codes, timeline.n_windows))
    growth = np.zeros(n_codes)
    emergence = np.zeros(n_codes)
    if timeline.n_windows:
        ok = sub_timeline_index >= 0
        flat = codes[ok] * timeline.n_windows + sub_timeline_index[ok]
        size = n_codes * timeline.n_windows
        # Counts, not reach weights: the Poisson z-score needs counts, and people read "posts".
        trend = np.bincount(flat, weights=prob[ok].astype(float), minlength=size).reshape(n_codes, -1)
        trend_posts = np.bincount(flat, minlength=size).reshape(n_codes, -1).astype(np.float64)
        volume = trend_posts
        totals = volume.sum(axis=0)
        growth, emergence = _growth_emergence(trend, volume, totals, timeline, config)

    # Examples: problem posts first (complaints before other problems), then by topic score.
    priority = posts.complaint[sel].astype(int) + prob.astype(int)
    order = np.lexsort((-posts.topic_score[sel], -priority, codes))
    first = np.searchsorted(codes[order], np.arange(n_codes))

    entries = []
    for c, name in enumerate(topic_names):
        if name == OTHER_ID or n_posts[c] < config.min_support:
            continue
        lo = score[c] if math.isnan(ci_low[c]) else min(ci_low[c], score[c])
        hi = score[c] if math.isnan(ci_high[c]) else max(ci_high[c], score[c])
        examples = _distinct_examples(posts, sel, order[first[c]: first[c] + n_posts[c]], config.n_examples)
        latest_problems = trend[c, 0] if timeline.n_windows else 0.0
        info = meta.get(name, {})
        entries.append({
            "topic": name,
            "label": info.get("label", name),
            "source": info.get("source", "taxonomy"),
            "score": _r(score[c]),
            "impact_removed": _r(removed[c]),
            "ci_low": _r(lo),
            "ci_high": _r(hi),
            "n_posts": int(n_posts[c]),
            "n_complaints": int(n_compl[c]),
            "expected_complaints": _r(expected_compl[c], 1),
            "expected_complaints_ci": [
                _r(max(expected_compl[c] - 1.96 * math.sqrt(expected_compl_var[c]), 0.0), 1),
                _r(expected_compl[c] + 1.96 * math.sqrt(expected_compl_var[c]), 1),
            ],
            "n_problems": _r(p_t[c], 3),
            "negative_share": _r(n_neg[c] / n_posts[c], 4),
            "problem_rate": _r(p_t[c] / w_t[c] if w_t[c] else 0.0, 4),
            "complaint_rate": _r(n_compl[c] / n_posts[c], 4),
            "share": _r(w_t[c] / w_t.sum(), 4),
            "growth": _r(growth[c], 4),
            "emergence": _r(emergence[c], 3),
            "emerging": bool(emergence[c] >= config.emergence_threshold and latest_problems >= config.min_support),
            "intents": {intent_names[j]: int(intent_counts[c, j]) for j in range(len(intent_names))
                        if intent_counts[c, j]},
            "sentiments": {sent_names[j]: int(sent_counts[c, j]) for j in range(len(sent_names))
                           if sent_counts[c, j]},
            "trend": [int(x) for x in trend[c, ::-1]],  # problem posts per window, oldest first
            "trend_posts": [int(x) for x in trend_posts[c, ::-1]],
            "keywords": list(info.get("keywords", []))[: config.n_keywords],
            "examples": examples,
        })
    key = "score" if config.rank_by == "score" else "ci_low"
    entries.sort(key=lambda e: (-e[key], -e["score"], -e["n_problems"], e["topic"]))
    for rank, e in enumerate(entries, start=1):
        e["rank"] = rank
    # Put `rank` first for readability of the JSON.
    return [{"topic": e["topic"], "label": e["label"], "rank": e["rank"],
             **{k: v for k, v in e.items() if k not in ("topic", "label", "rank")}} for e in entries]


def _mix(values: list[str], labels: Sequence[str]) -> dict[str, int]:
    out = {label: 0 for label in labels}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def rank_posts(records: list[dict[str, Any]], config: RankConfig | None = None, *, by_brand: bool = False,
               taxonomy: Taxonomy | None = None, previous: dict[str, list[str]] | None = None
               ) -> dict[str, Any]:
    """Rank the topics of scored posts (see the module docstring for the formula).

    ``previous`` maps discovered topic ids of an earlier run to their keywords (see
    :func:`previous_topics`), so that discovered topics keep their ids across runs.
    """
    cfg = config or RankConfig()
    posts = _Posts(records, cfg)
    topics = list(posts.topic)
    meta: dict[str, dict[str, Any]] = {}
    if taxonomy is not None:
        for tt in taxonomy.topics:
            meta[tt.name] = {"label": tt.label, "source": "taxonomy", "keywords": list(tt.seeds)}
    for name, label in posts.topic_label.items():
        meta.setdefault(name, {"label": label, "source": "taxonomy", "keywords": []})

    discovery: dict[str, Any] = {"enabled": cfg.discover, "n_posts": 0, "k": 0, "n_topics": 0}
    if cfg.discover:
        cand = [i for i in range(posts.n) if topics[i] == OTHER_ID and posts.intent[i] in cfg.discover_intents]
        discovery["n_posts"] = len(cand)
        if len(cand) >= 2 * cfg.min_topic_size:
            encoder = choose_encoder(cfg, len(cand))
            disc = TopicDiscoverer(min_topic_size=cfg.min_topic_size, max_topics=cfg.max_topics,
                                   random_state=cfg.seed, previous=previous, encoder=encoder,
                                   embedding_cache=cfg.embedding_cache, k_selection=cfg.k_selection
                                   ).fit([posts.texts[i] for i in cand])
            for j, i in enumerate(cand):
                if disc.labels_[j] != OTHER_ID:
                    topics[i] = disc.labels_[j]
                    posts.topic_score[i] = disc.scores_[j]
            for tid, info in disc.topics_.items():
                meta[tid] = {"label": info["label"], "source": "discovered", "keywords": info["keywords"]}
            discovery.update(k=disc.k_, n_topics=len(disc.topics_), space=getattr(disc, "space_", None),
                             k_selection=cfg.k_selection, silhouette=_r(getattr(disc, "silhouette_", 0.0), 4),
                             stability=_r(getattr(disc, "stabilities_", {}).get(disc.k_, 0.0), 4))

    topic_codes, topic_names = _codes(topics)
    timeline = _Timeline(posts.time, cfg)
    rng = np.random.default_rng(cfg.seed)
    all_mask = np.ones(posts.n, dtype=bool)
    ranked = _rank_subset(posts, all_mask, topic_codes, topic_names, meta, timeline, cfg, rng)

    windows = timeline.windows()
    if timeline.n_windows:
        ok = timeline.index >= 0
        per_window_posts = np.bincount(timeline.index[ok], minlength=timeline.n_windows)
        per_window_probs = np.bincount(timeline.index[ok], weights=posts.problem[ok].astype(float),
                                       minlength=timeline.n_windows)
        for wdict in windows:
            wdict["n_posts"] = int(per_window_posts[wdict["index"]])
            wdict["n_problems"] = int(per_window_probs[wdict["index"]])

    total_w = float(posts.weight.sum())
    result: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "n_posts": posts.n,
        "n_problems": int(posts.problem.sum()),
        "problem_rate": _r(float((posts.weight * posts.problem).sum()) / total_w if total_w else 0.0, 4),
        "n_other": int(sum(1 for t in topics if t == OTHER_ID)),
        "n_topics_ranked": len(ranked),
        "parameters": {**cfg.model_dump(), "by_brand": by_brand, "reach_weighted": posts.weighted},
        "windows": windows,
        "discovery": discovery,
        "intents": _mix(posts.intent, INTENT_LABELS),
        "intents_expected": expected_counts(posts.intent_proba),
        "sentiments": _mix(posts.sentiment, SENTIMENT_LABELS),
        "topics": ranked,
    }
    brand_names = sorted({b for b in posts.brand if b is not None})
    if brand_names:
        brand_arr = np.array([b if b is not None else "" for b in posts.brand], dtype=object)
        result["brand_mix"] = {}
        for b in brand_names:
            idx = np.flatnonzero(brand_arr == b)
            result["brand_mix"][b] = {
                "n_posts": len(idx),
                "intents": _mix([posts.intent[i] for i in idx], INTENT_LABELS),
                "intents_expected": expected_counts(posts.intent_proba[idx]),
                "sentiments": _mix([posts.sentiment[i] for i in idx], SENTIMENT_LABELS),
            }
        if by_brand:
            result["brands"] = {}
            for bi, b in enumerate(brand_names):
                brng = np.random.default_rng([cfg.seed, bi + 1])
                result["brands"][b] = _rank_subset(posts, brand_arr == b, topic_codes, topic_names, meta,
                                                   timeline, cfg, brng)
    elif by_brand:
        result["brands"] = {}
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
        result["mix_estimates"]["feed"] = {"mix": whole["mix"], "interval_95": whole["interval_95"],
                                           "far_from_training": bool(whole.get("far_from_training"))}


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
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "file"
        raise ConfigError(f"invalid ranking config {p}: {loc}: {first['msg']}") from None


def rank_file(input_path: str | Path, output_dir: str | Path, *, config: RankConfig | None = None,
              taxonomy: str | Path | Taxonomy | None = None, by_brand: bool = False, text_field: str = "text",
              time_field: str = "created_at", brand_field: str = "brand",
              ) -> tuple[dict[str, Any], dict[str, Path]]:
    """``voc rank``: read scored posts, rank, and write ranking.json, ranking.csv and report.html.

    ``time_field`` and ``brand_field`` name the input's timestamp and brand columns when they are not
    ``created_at`` and ``brand`` (``voc score`` carries every column through, e.g. ``tweet_created``,
    ``airline``); a named field that no row has is an error, not a silent ranking without it.

    Unusable rows go to ``<output_dir>.rejected.jsonl`` and are counted in ``result["input"]``. Posts
    without a ``topic`` field get one from ``taxonomy`` when it is given. An existing
    ``output_dir/ranking.json`` supplies the previous run's discovered topic ids (stable ids).
    """
    from pipeline.data.io import RejectedWriter, read_posts
    from pipeline.topics.assign import TopicAssigner, load_taxonomy

    cfg = config or RankConfig()
    tax = load_taxonomy(taxonomy) if isinstance(taxonomy, (str, Path)) else taxonomy
    out = Path(output_dir)
    records: list[dict[str, Any]] = []
    rejected = RejectedWriter(out)
    failed = True
    try:
        for batch in read_posts(input_path, text_field=text_field):
            records.extend(batch.rows)
            rejected.add(batch.rejected)
        failed = False
    finally:
        rejected_file = rejected.close(failed=failed)
    if records and not any("intent" in r for r in records):
        raise InputError(f"{input_path} has no 'intent' field: rank the output of `voc score`, not raw posts")
    if text_field != "text":
        for r in records:
            r.setdefault("text", r.get(text_field))
    for field_name, core in ((time_field, "created_at"), (brand_field, "brand")):
        if field_name == core:
            continue
        if records and not any(field_name in r for r in records):
            raise InputError(f"{input_path} has no '{field_name}' field (given as the {core} field)")
        for r in records:
            r[core] = r.get(field_name)
    missing = [i for i, r in enumerate(records) if not r.get("topic")]
    if missing and tax is not None:
        # All at once: assign_corpus refines the topics on the corpus itself (self-training), see topics.py.
        assigner = TopicAssigner(tax, encoder=choose_encoder(cfg, len(missing)),
                                 embedding_cache=cfg.embedding_cache).fit()
        texts = [str(records[i].get("text") or "") for i in missing]
        for i, (topic, label, score) in zip(missing, assigner.assign_corpus(texts)):
            records[i].update(topic=topic, topic_label=label, topic_score=score)
    previous: dict[str, list[str]] | None = None
    try:
        previous = previous_topics(json.loads((out / "ranking.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        previous = None  # no earlier run, or an unreadable one: ids come from keywords alone
    result = rank_posts(records, cfg, by_brand=by_brand, taxonomy=tax, previous=previous)
    attach_mix_estimates(result, Path(f"{input_path}.mix.json"))
    result["input"] = {"path": str(input_path), "n_rejected": rejected.count,
                       "rejected_file": str(rejected_file) if rejected_file else None}
    return result, write_ranking(result, out, records)


# ---------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "brand", "rank", "topic", "label", "source", "score", "ci_low", "ci_high", "impact_removed", "n_posts",
    "n_complaints", "negative_share", "problem_rate", "share", "growth", "emergence", "emerging", "keywords",
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
            writer.writerow({**e, "brand": brand, "keywords": "; ".join(e.get("keywords", [])),
                             "examples": " ".join(e.get("examples", []))})
    return buf.getvalue()


def write_ranking(result: dict[str, Any], output_dir: Path, records: list[dict[str, Any]] | None = None
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
            f"{e.get('source', '')} |")
    if not topics:
        lines.append("| – | no topic reaches the minimum support | | | | | | |")
    return "\n".join(lines) + "\n"
