"""Vector helpers shared by topic assignment and discovery: row norms, the LSA space of stemmed words, nearest
neighbours on threads."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse


def l2_rows(matrix: sparse.csr_matrix, extra_sq: np.ndarray | None = None) -> sparse.csr_matrix:
    """Divide each row by its norm; ``extra_sq`` adds squared mass of dimensions kept out of the matrix."""
    sq = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    if extra_sq is not None:
        sq = sq + extra_sq
    norms = np.sqrt(sq)
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    return np.asarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def centred_unit(x: np.ndarray) -> np.ndarray:
    """Rows minus the corpus mean, L2-normalised: cosines then measure how posts differ, not what all share."""
    c = np.asarray(x, dtype=np.float32) - np.asarray(x, dtype=np.float32).mean(axis=0, keepdims=True)
    return np.asarray(c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12))


def stem_vectorizer() -> Any:
    """The TF-IDF of stemmed unigrams and bigrams that the LSA spaces of refinement and discovery share."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        tokenizer=str.split,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.5,
        sublinear_tf=True,
        max_features=20_000,
    )


def lsa_space(stemmed: list[str], n_components: int = 100, random_state: int = 0) -> np.ndarray | None:
    """Unit LSA vectors (TF-IDF of stemmed unigrams and bigrams, truncated SVD); None without vocabulary."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    vectorizer = stem_vectorizer()
    try:
        x = vectorizer.fit_transform(stemmed)
    except ValueError:  # empty vocabulary: nothing in common between posts
        return None
    n_comp = min(n_components, x.shape[1] - 1, x.shape[0] - 1)
    if n_comp < 2:
        return None
    emb = TruncatedSVD(n_components=n_comp, random_state=random_state).fit_transform(x)
    return np.asarray(normalize(emb), dtype=np.float32)


def available_cpus() -> int:
    """CPUs this process may use: ``VOC_THREADS`` if set, else its CPU affinity, lowered to a cgroup CPU
    quota where there is one (a container's share of a large host), at most 8."""

    env = os.environ.get("VOC_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, min(cpus, 8))


def parallel_map(fn: Any, items: Sequence[Any]) -> list[Any]:
    """``[fn(item) for item in items]`` on up to :func:`available_cpus` threads, each call with one BLAS and
    OpenMP thread, so every result is the one of a sequential run (numpy, BLAS and scikit-learn's k-means
    release the GIL)."""
    from threadpoolctl import threadpool_limits

    workers = min(available_cpus(), len(items))
    if workers <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    def run(item: Any) -> Any:
        with threadpool_limits(limits=1):
            return fn(item)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def nearest_neighbours(x: np.ndarray, k: int, chunk: int | None = None) -> np.ndarray:
    """(n, k) indices of each row's ``k`` most cosine-similar other rows (rows are unit vectors).

    Exact, in chunks of ``chunk`` rows so that memory stays at ``chunk * n`` floats per thread (by default
    chunks of at most 2,048 rows and 2^23 similarities, ~130 MB with the partition's indices), the chunks
    on :func:`available_cpus` threads: O(n^2 d) time, which is seconds for the tens of thousands of posts
    that discovery and refinement see. Callers bound ``n`` (``voc rank`` discovers topics on a bounded
    sample); the result does not depend on the number of threads.
    """
    n = x.shape[0]
    k = max(1, min(k, n - 1))
    if chunk is None:
        chunk = max(64, min(2048, (1 << 23) // max(n, 1)))
    out = np.zeros((n, k), dtype=np.int64)

    def one(start: int) -> None:
        sims = x[start : start + chunk] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        out[start : start + chunk] = np.argpartition(-sims, k - 1, axis=1)[:, :k]

    parallel_map(one, list(range(0, n, chunk)))
    return out
