"""Active learning: which unlabelled posts to label next (``voc suggest``).

Each post gets a priority = uncertainty x rarity:

* **uncertainty** of the calibrated probabilities of the task: ``margin`` (1 - (p1 - p2), default),
  ``entropy`` (normalised to [0, 1]) or ``least_confident`` (1 - p1);
* **rarity**: the expected inverse frequency of its class, ``sum_c p_c * (1 / f_c) ** rarity_power`` with
  ``f_c`` the mean predicted probability of class ``c`` over the pool, scaled to [0, 1], so that posts
  likely to belong to a rare class (favour-seeking) come first among equally uncertain ones.

Posts are then picked greedily by maximal marginal relevance: ``priority - diversity * max_sim``, where
``max_sim`` is the cosine similarity (TF-IDF n-grams of the bundle's featuriser) to the posts already picked;
a post more similar than ``duplicate_threshold`` to a picked one is skipped, so near-duplicates (retweets,
templated complaints) are not all picked. Everything is deterministic.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.errors import InputError

STRATEGIES = ("margin", "entropy", "least_confident")


def uncertainty(proba: np.ndarray, strategy: str = "margin") -> np.ndarray:
    """Per-row uncertainty in [0, 1] of an (n, k) probability matrix."""
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}: use {', '.join(STRATEGIES)}")
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    if strategy == "margin":
        top2 = np.sort(proba, axis=1)[:, -2:]
        result: np.ndarray = 1.0 - (top2[:, 1] - top2[:, 0])
        return result
    if strategy == "entropy":
        clipped = np.clip(proba, 1e-12, 1.0)
        entropy: np.ndarray = -(clipped * np.log(clipped)).sum(axis=1) / np.log(proba.shape[1])
        return entropy
    least: np.ndarray = 1.0 - proba.max(axis=1)
    return least


def rarity(proba: np.ndarray, power: float = 0.5) -> np.ndarray:
    """Expected inverse predicted frequency of each row's class, scaled so that the maximum is 1."""
    proba = np.asarray(proba, dtype=np.float64)
    if power == 0 or not len(proba):
        return np.ones(len(proba))
    frequency = np.clip(proba.mean(axis=0), 1e-6, None)
    weights = (1.0 / frequency) ** power
    scores: np.ndarray = proba @ weights
    return scores / scores.max()


def _unit_rows(features: Any) -> sp.csr_matrix:
    matrix = sp.csr_matrix(features, dtype=np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    scaled: sp.csr_matrix = sp.diags(1.0 / norms) @ matrix
    return scaled.tocsr()


def select_batch(
    proba: np.ndarray,
    features: Any,
    n: int,
    *,
    strategy: str = "margin",
    diversity: float = 0.5,
    rarity_power: float = 0.5,
    duplicate_threshold: float = 0.9,
    max_candidates: int | None = None,
) -> tuple[list[int], dict[str, np.ndarray]]:
    """Indices of the ``n`` rows to label, in picking order, and the per-row scores behind the choice.

    ``features`` is an (n_rows, n_features) matrix (sparse or dense) used for cosine similarity. Only the
    ``max_candidates`` rows of highest priority (default ``max(10 n, 2000)``) are considered, which bounds
    the cost to O(n * max_candidates).
    """
    proba = np.asarray(proba, dtype=np.float64)
    total = len(proba)
    if n <= 0 or total == 0:
        return [], {"uncertainty": np.zeros(total), "rarity": np.zeros(total), "priority": np.zeros(total)}
    unc = uncertainty(proba, strategy)
    rare = rarity(proba, rarity_power)
    priority = unc * rare
    top = priority.max()
    if top > 0:
        priority = priority / top
    limit = min(total, max_candidates or max(10 * n, 2000))
    # Stable sort: ties keep the input order, so the result is deterministic.
    candidates = np.argsort(-priority, kind="stable")[:limit]
    matrix = _unit_rows(features)[candidates]
    max_sim = np.zeros(limit, dtype=np.float64)
    available = np.ones(limit, dtype=bool)
    chosen: list[int] = []
    for _ in range(min(n, total)):
        value = priority[candidates] - diversity * max_sim
        value[~available] = -np.inf
        not_duplicate = available & (max_sim < duplicate_threshold)
        if not_duplicate.any():
            value[~not_duplicate] = -np.inf
        if not np.isfinite(value).any():
            break
        best = int(np.argmax(value))
        available[best] = False
        chosen.append(int(candidates[best]))
        similarity = np.asarray((matrix @ matrix[best].T).todense()).ravel()
        np.maximum(max_sim, similarity, out=max_sim)
    if len(chosen) < n and limit < total:  # every candidate used up: fill with the next by priority
        rest = [int(i) for i in np.argsort(-priority, kind="stable")[limit:]]
        chosen.extend(rest[: n - len(chosen)])
    return chosen, {"uncertainty": unc, "rarity": rare, "priority": priority}


def suggest(
    input_path: str,
    output: Path,
    n: int,
    *,
    model: str | Path | None = None,
    task: str = "intent",
    text_field: str = "text",
    strategy: str = "margin",
    diversity: float = 0.5,
    rarity_power: float = 0.5,
    duplicate_threshold: float = 0.9,
) -> dict[str, Any]:
    """Pick ``n`` posts of ``input_path`` to label and write them, ready for annotation, to ``output``.

    Output (``.jsonl``, ``.csv`` or ``.parquet``): ``rank``, ``id``, ``text``, an empty ``<task>`` column to
    fill, the current predictions and scores, ``uncertainty``, ``rarity``, ``priority``, and the input's
    other columns. Rows that already have a ``<task>`` label are not suggested again.
    """
    from pipeline.data.io import RecordWriter, RejectedWriter, read_posts
    from pipeline.models.linear import TfidfLogisticClassifier
    from pipeline.models.predict import Predictor

    if n < 1:
        raise InputError("--n must be at least 1")
    if task not in ("intent", "sentiment"):
        raise InputError(f"unknown --task {task!r}: use intent or sentiment")
    suffix = output.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv", ".parquet"):
        raise InputError(f"unsupported output format {suffix or '(none)'!r} for {output}: use .jsonl, .csv or .parquet")
    if not 0.0 <= duplicate_threshold <= 1.0:
        raise InputError("--duplicate-threshold must be between 0 and 1")
    predictor = Predictor.from_path(model)
    if task not in predictor.classifiers:
        raise InputError(f"the model has no {task} classifier")
    rows: list[dict[str, Any]] = []
    labelled = 0
    rejected = RejectedWriter(output)
    try:
        for batch in read_posts(input_path, text_field=text_field):
            rejected.add(batch.rejected)
            for row in batch.rows:
                if str(row.get(task) or "").strip():
                    labelled += 1
                else:
                    rows.append(row)
    except BaseException:
        rejected.close(failed=True)
        raise
    rejected_file = rejected.close()
    if not rows:
        raise InputError(f"{input_path} has no unlabelled posts to suggest")
    texts = [row["text"] for row in rows]
    normalised, probabilities = predictor.predict_proba(texts)
    classifier = predictor.classifiers[task]
    if isinstance(classifier, TfidfLogisticClassifier):  # the model's own n-gram features
        features = classifier.featuriser_.transform(normalised)
    else:  # a backend without n-gram features: TF-IDF of the pool itself
        from pipeline.models.features import NgramFeaturiser

        features = NgramFeaturiser(min_df=1).fit_transform(normalised)
    proba = probabilities[task]
    chosen, scores = select_batch(
        proba,
        features,
        n,
        strategy=strategy,
        diversity=diversity,
        rarity_power=rarity_power,
        duplicate_threshold=duplicate_threshold,
    )
    classes = list(classifier.classes_)
    records = []
    for rank, i in enumerate(chosen, start=1):
        row = rows[i]
        record: dict[str, Any] = {"rank": rank, "id": row["id"], "text": row["text"], task: ""}
        for name, task_proba in probabilities.items():
            names = list(predictor.classifiers[name].classes_)
            record[f"predicted_{name}"] = names[int(task_proba[i].argmax())]
            record[f"{name}_scores"] = {c: round(float(p), 4) for c, p in zip(names, task_proba[i])}
        record["uncertainty"] = round(float(scores["uncertainty"][i]), 4)
        record["rarity"] = round(float(scores["rarity"][i]), 4)
        record["priority"] = round(float(scores["priority"][i]), 4)
        for key, value in row.items():
            if key not in record and key not in ("intent", "sentiment"):
                record[key] = value
        records.append(record)
    if suffix == ".csv":
        write_records_csv(output, records)
    else:
        with RecordWriter(output) as writer:
            writer.write(records)
    return {
        "output": str(output),
        "pool": len(rows),
        "already_labelled": labelled,
        "rejected": rejected.count,
        "rejected_file": str(rejected_file) if rejected_file else None,
        "selected": len(records),
        "predicted_in_pool": dict(Counter(classes[int(j)] for j in proba.argmax(axis=1)).most_common()),
        "predicted_in_selection": dict(Counter(str(r[f"predicted_{task}"]) for r in records).most_common()),
        "mean_uncertainty": {
            "pool": round(float(scores["uncertainty"].mean()), 4),
            "selection": round(float(np.mean([r["uncertainty"] for r in records])), 4) if records else 0.0,
        },
    }


def write_records_csv(output: Path, records: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Write records as CSV atomically; nested values (score objects) become JSON strings."""
    import json

    from pipeline.data.io import AtomicWriter

    columns = list(columns or dict.fromkeys(key for record in records for key in record))
    with AtomicWriter(output) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    key: json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
                    for key, value in record.items()
                }
            )
