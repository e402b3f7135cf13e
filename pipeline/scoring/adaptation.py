"""Label-shift adaptation: estimate a feed's class mix and adjust calibrated probabilities to it.

A classifier's calibrated probabilities carry the class mix of the posts it was calibrated on (an airline
support inbox is two-thirds complaints). A feed with another mix (a social-listening feed is about a third)
gets too many of the training mix's common labels. Under label shift, where p(text | class) stays the same
and only the mix moves, the feed's mix is the maximum-likelihood fixed point of Saerens, Latinne &
Decaestecker (2002): adjust each post's probabilities by ``mix / source_mix`` and renormalise, take the mean
adjusted probability as the new mix, repeat. It works on any calibrated probabilities (linear, transformer,
ensemble) and needs no labels from the feed. Alexandari et al. (2020) show it is accurate when the
probabilities are calibrated with a bias term, as every backend here is.

The estimate needs enough posts: below :data:`MIN_GROUP_POSTS` (measured by ``scripts/bench/bench_label_shift.py``)
a group is left as the model scored it. The interval is the estimate's sampling interval (observed Fisher
information of the mixture likelihood); it does not include the model's own calibration error, which the
benchmark measures.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Below this many posts a group's estimated mix is too noisy to report (scripts/bench/bench_label_shift.py: from
# 100 posts on, the error of the complaint share is that of the domain gap, not of the sample size).
MIN_GROUP_POSTS = 100
# At most this many posts per group enter the estimate (a deterministic, evenly spread sample): the standard
# error of a share from 50,000 posts is below 0.003, and memory and time stay bounded however large the feed.
SAMPLE_CAP = 50_000
# A feed whose estimated mix is this far (total variation) from the calibration mix is out of the model's
# experience: the job summary flags it.
FAR_FROM_TRAINING = 0.25
# Adjusted probabilities move a class's weight by at most this factor either way (adapt_feed): chosen on
# synthetic shifts of the support-post judge, where unbounded weights cost 0.03 macro-F1 and these gain 0.008.
MAX_RATIO = 2.0
# The group of posts without a value in the adapt-by column (and of every post without grouping).
WHOLE_FEED = ""


def estimate_mix(
    proba: np.ndarray, source_mix: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-7
) -> tuple[np.ndarray, int]:
    """The class mix of the posts behind ``proba`` (n, k), by EM from the calibration mix ``source_mix``.

    Returns the mix and the iterations taken. The iteration increases the likelihood of the feed at every
    step and stops when no share moves by more than ``tol``.
    """
    p = np.asarray(proba, dtype=np.float64)
    source = _checked_mix(source_mix, p.shape[1])
    likelihood = p / source  # proportional to p(text | class)
    mix = source.copy()
    for iteration in range(1, max_iter + 1):
        joint = likelihood * mix
        joint /= joint.sum(axis=1, keepdims=True)
        updated = joint.mean(axis=0)
        if np.max(np.abs(updated - mix)) < tol:
            return updated, iteration
        mix = updated
    return mix, max_iter


def adjust(proba: np.ndarray, source_mix: np.ndarray, target_mix: np.ndarray) -> np.ndarray:
    """Probabilities calibrated on ``source_mix`` re-weighted to ``target_mix`` (Bayes' rule), rows summing to 1."""
    p = np.asarray(proba, dtype=np.float64)
    ratio = np.asarray(target_mix, dtype=np.float64) / _checked_mix(source_mix, p.shape[1])
    adjusted = p * ratio
    total = adjusted.sum(axis=1, keepdims=True)
    total[total <= 0] = 1.0
    return np.asarray(adjusted / total)


def mix_interval(proba: np.ndarray, source_mix: np.ndarray, mix: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """A (k, 2) interval per share from the observed Fisher information of the mixture likelihood."""
    p = np.asarray(proba, dtype=np.float64)
    k = p.shape[1]
    likelihood = p / _checked_mix(source_mix, k)
    density = likelihood @ np.asarray(mix, dtype=np.float64)
    density[density <= 0] = np.finfo(np.float64).tiny
    # Free parameters: the first k-1 shares; the last is 1 minus their sum.
    gradient = (likelihood[:, :-1] - likelihood[:, -1:]) / density[:, None]
    information = gradient.T @ gradient
    covariance = np.linalg.pinv(information)
    variances = np.append(np.diag(covariance), covariance.sum())
    z = _normal_quantile(0.5 + confidence / 2)
    half = z * np.sqrt(np.clip(variances, 0.0, None))
    return np.clip(np.stack([mix - half, mix + half], axis=1), 0.0, 1.0)


def bounded_target(
    source_mix: Sequence[float] | np.ndarray, mix: Sequence[float] | np.ndarray, max_ratio: float | None = MAX_RATIO
) -> np.ndarray:
    """The mix to adjust probabilities to: ``mix``, with each class's weight ``mix / source_mix`` kept within
    ``[1 / max_ratio, max_ratio]`` (None: unbounded)."""
    source = np.asarray(source_mix, dtype=np.float64)
    ratio = np.asarray(mix, dtype=np.float64) / source
    if max_ratio is not None:
        ratio = np.clip(ratio, 1.0 / max_ratio, max_ratio)
    return np.asarray(source * ratio)


def total_variation(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Half the L1 distance between two class mixes (0: the same; 1: disjoint)."""
    return float(0.5 * np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).sum())


def _checked_mix(mix: Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    values = np.asarray(mix, dtype=np.float64)
    if values.shape != (k,) or not np.all(np.isfinite(values)) or (values <= 0).any():
        raise ValueError(f"a class mix needs {k} positive shares, got {values.tolist()}")
    return np.asarray(values / values.sum())


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


@dataclass
class MixEstimate:
    """One group's estimated class mix for one task, and whether its probabilities were adjusted to it."""

    task: str
    group: str
    classes: list[str]
    posts: int
    source_mix: list[float]
    mix: list[float] | None = None
    interval: list[list[float]] | None = None
    sampled: int = 0
    iterations: int = 0
    estimated: bool = False
    note: str | None = None

    @property
    def shift(self) -> float | None:
        """Total variation between the feed's estimated mix and the calibration mix."""
        return None if self.mix is None else total_variation(self.mix, self.source_mix)

    @property
    def far_from_training(self) -> bool:
        shift = self.shift
        return shift is not None and shift >= FAR_FROM_TRAINING

    def to_dict(self) -> dict[str, Any]:
        def shares(values: Sequence[float] | None) -> dict[str, float] | None:
            return None if values is None else {c: round(float(v), 4) for c, v in zip(self.classes, values)}

        return {
            "group": self.group,
            "posts": self.posts,
            "sampled": self.sampled,
            "estimated": self.estimated,
            "mix": shares(self.mix),
            "interval_95": None
            if self.interval is None
            else {c: [round(lo, 4), round(hi, 4)] for c, (lo, hi) in zip(self.classes, self.interval)},
            "calibration_mix": shares(self.source_mix),
            "shift": None if self.shift is None else round(self.shift, 4),
            "far_from_training": self.far_from_training,
            "iterations": self.iterations,
            "note": self.note,
        }


def _keep(key: bytes, rate: float) -> bool:
    """A deterministic keep-or-drop for sampling: the same post is kept at the same rate in every run."""
    if rate >= 1.0:
        return True
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") < rate * 2**64


@dataclass
class MixSample:
    """A bounded, deterministic sample of each group's probability rows, filled shard by shard.

    Every row is counted; at most ``cap`` rows per group are kept. When a group's sample is full, its
    keep-rate halves and the kept rows are thinned by the same rule, so the sample is an even spread of the
    whole feed (not its first rows) and does not depend on how the feed was cut into shards.
    """

    cap: int = SAMPLE_CAP
    counts: dict[str, int] = field(default_factory=dict)
    _rows: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _keys: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _rate: dict[str, float] = field(default_factory=dict)

    def add(self, groups: Sequence[str], keys: np.ndarray, proba: np.ndarray) -> None:
        """Add one shard: a group name, a 64-bit sampling key and a probability row per post."""
        if len(groups) == 0:
            return
        names = np.asarray(groups, dtype=object)
        for group in sorted(set(groups)):
            selected = names == group
            self.counts[group] = self.counts.get(group, 0) + int(selected.sum())
            rate = self._rate.setdefault(group, 1.0)
            group_keys = keys[selected]
            kept = group_keys < _threshold(rate)
            self._rows.setdefault(group, []).append(np.asarray(proba[selected][kept], dtype=np.float32))
            self._keys.setdefault(group, []).append(group_keys[kept])
            while sum(len(k) for k in self._keys[group]) > self.cap:
                rate /= 2
                limit = _threshold(rate)
                self._rows[group] = [r[k < limit] for r, k in zip(self._rows[group], self._keys[group])]
                self._keys[group] = [k[k < limit] for k in self._keys[group]]
            self._rate[group] = rate

    def groups(self) -> list[str]:
        return sorted(self.counts)

    def rows(self, group: str) -> np.ndarray:
        parts = self._rows.get(group, [])
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def _threshold(rate: float) -> np.uint64:
    return np.uint64(min(2**64 - 1, math.floor(rate * 2**64)))


def sampling_keys(ids: Sequence[str]) -> np.ndarray:
    """A 64-bit key per post id: a post is in a group's sample when its key is under the group's threshold."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big") for i in ids),
        dtype=np.uint64,
        count=len(ids),
    )


def estimate_groups(
    sample: MixSample,
    task: str,
    classes: Sequence[str],
    source_mix: Sequence[float] | np.ndarray,
    *,
    min_posts: int = MIN_GROUP_POSTS,
) -> dict[str, MixEstimate]:
    """Each group's estimated mix for ``task``; groups under ``min_posts`` posts get none (too noisy)."""
    source = _checked_mix(source_mix, len(classes))
    out: dict[str, MixEstimate] = {}
    for group in sample.groups():
        posts = sample.counts[group]
        estimate = MixEstimate(task, group, list(classes), posts, source.tolist())
        rows = sample.rows(group)
        estimate.sampled = len(rows)
        if posts < min_posts:
            estimate.note = f"{posts} posts: fewer than {min_posts}, too few to estimate the mix"
        else:
            mix, iterations = estimate_mix(rows, source)
            estimate.mix = mix.tolist()
            estimate.interval = mix_interval(rows, source, mix).tolist()
            estimate.iterations = iterations
            estimate.estimated = True
        out[group] = estimate
    return out


def group_value(row: Mapping[str, Any], column: str | None) -> str:
    """The adaptation group of an input row: its ``column`` value as text, or the whole feed."""
    if column is None:
        return WHOLE_FEED
    value = row.get(column)
    return WHOLE_FEED if value is None else str(value)


def calibration_mix(metadata: Mapping[str, Any], task: str, classes: Sequence[str]) -> np.ndarray | None:
    """The class mix a bundle's ``task`` model was calibrated on: its people-labelled training rows.

    Every backend calibrates on the rows people labelled (never on model-labelled sources), so the mix is
    the label counts of those sources, as the bundle's metadata records them. None when the metadata does
    not say (a bundle saved without ``training_data``), or a class never occurs: no mix is estimated then.
    """
    sources = (metadata.get("training_data") or {}).get(task) or []
    counts = dict.fromkeys(classes, 0.0)
    for source in sources:
        if source.get("model_labelled"):
            continue
        for label, n in (source.get("label_counts") or {}).items():
            if label in counts:
                counts[label] += float(n)
    values = np.asarray([counts[c] for c in classes], dtype=np.float64)
    if not len(values) or (values <= 0).any():
        return None
    return np.asarray(values / values.sum())


def adapt_feed(
    proba: np.ndarray,
    source_mix: np.ndarray,
    groups: Sequence[str] | None = None,
    *,
    task: str = "",
    classes: Sequence[str] | None = None,
    min_posts: int = MIN_GROUP_POSTS,
    max_ratio: float | None = MAX_RATIO,
) -> tuple[np.ndarray, dict[str, MixEstimate]]:
    """Adjust an in-memory feed's probabilities to each group's estimated mix.

    Returns the adjusted probabilities (rows of groups too small to estimate as they were) and each group's
    estimate. ``max_ratio`` bounds how far a class's weight moves (``mix / source_mix`` within
    ``[1 / max_ratio, max_ratio]``): an estimated share of 0 would otherwise remove a rare class from the
    labels for good. The estimate itself is not bounded.
    """
    p = np.asarray(proba, dtype=np.float64)
    names = [WHOLE_FEED] * len(p) if groups is None else [str(g) for g in groups]
    sample = MixSample(cap=max(len(p), 1))
    sample.add(names, np.zeros(len(p), dtype=np.uint64), p)
    labels = list(classes) if classes is not None else [str(i) for i in range(p.shape[1])]
    estimates = estimate_groups(sample, task, labels, source_mix, min_posts=min_posts)
    adjusted = p.copy()
    selected_by = np.asarray(names, dtype=object)
    for group, estimate in estimates.items():
        if estimate.estimated and estimate.mix is not None:
            rows = selected_by == group
            source = _checked_mix(source_mix, p.shape[1])
            adjusted[rows] = adjust(p[rows], source, bounded_target(source, estimate.mix, max_ratio))
    return adjusted, estimates


def format_mix_table(mix: Mapping[str, Any], task: str = "intent", limit: int = 20) -> str:
    """A plain-text table of each group's estimated ``task`` mix (largest groups first) for a terminal."""
    entry = mix.get(task) or {}
    calibration = entry.get("calibration_mix")
    if not calibration:
        return f"{task} mix: not estimated ({entry.get('note', 'no calibration mix')})"
    classes = list(calibration)
    width = max([len("group"), *(len(g["group"] or "(all)") for g in entry["groups"][:limit])])
    lines = [f"estimated {task} mix per group (share [95% interval]); '!' = far from the calibration mix"]
    lines.append(f"{'group':<{width}} {'posts':>9}  " + "  ".join(f"{c:>20}" for c in classes))
    lines.append(f"{'calibration':<{width}} {'':>9}  " + "  ".join(f"{calibration[c]:>20.3f}" for c in classes))
    groups = sorted(entry["groups"], key=lambda g: (-g["posts"], g["group"]))
    for group in groups[:limit]:
        name = group["group"] or "(all)"
        if not group["mix"]:
            lines.append(f"{name:<{width}} {group['posts']:>9,}  {group['note']}")
            continue
        cells = []
        for c in classes:
            low, high = group["interval_95"][c]
            cells.append(f"{group['mix'][c]:.3f} [{low:.3f},{high:.3f}]".rjust(20))
        flag = " !" if group["far_from_training"] else ""
        lines.append(f"{name:<{width}} {group['posts']:>9,}  " + "  ".join(cells) + flag)
    if len(groups) > limit:
        lines.append(f"... {len(groups) - limit} more groups in the JSON file")
    return "\n".join(lines)
