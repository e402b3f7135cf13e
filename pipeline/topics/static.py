"""Topic embeddings without torch: post vectors from the static word-piece table a bundle already carries.

The default sentiment model (``tfidf_logreg.v2``) holds a table of all-MiniLM-L6-v2's word pieces, each
piece's vector distilled from the encoder and weighted by SIF (:mod:`pipeline.models.static_embeddings`). A
post's vector is the normalised sum of its tokens' vectors: numpy only, cached per token, so the topic
assigner can read what a post *means* (``my package is held by the carrier`` near ``delivery``) at the speed
of batch scoring, where the full encoder would cost ~100 posts a second on a small CPU. On the airline
reasons it recovers most of what the encoder adds to the lexical scores (``docs/topics.md``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.models.bundle import ModelBundle
from pipeline.models.linear import TfidfStaticLogisticClassifier
from pipeline.models.static_embeddings import NgramStaticFeaturiser, StaticEmbeddingFeaturiser
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.taxonomy import Taxonomy
from pipeline.topics.tokens import topic_token

_CACHE_LIMIT = 200_000


class StaticTopicEmbedder:
    """Unit vectors of normalised posts from a fitted :class:`StaticEmbeddingFeaturiser` (all scope blocks
    summed into one: topics do not care whether a word was negated)."""

    name = "static"

    def __init__(self, featuriser: StaticEmbeddingFeaturiser) -> None:
        self.featuriser = featuriser
        self.dim = int(featuriser.vectors_.shape[1])
        self._cache: dict[str, np.ndarray] = {}

    def compute_vector(self, token: str) -> np.ndarray:
        """One normalised token's (unnormalised) vector, not cached (the fast path keeps its own per-token
        array). Rounded to float16, as the fast path stores it, so both paths give the same scores."""
        vector = np.asarray(self.featuriser.token_vector(topic_token(token)), dtype=np.float16)
        return vector.astype(np.float32)

    def token_vector(self, token: str) -> np.ndarray:
        """:meth:`compute_vector`, cached."""
        vector = self._cache.get(token)
        if vector is None:
            vector = self.compute_vector(token)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[token] = vector
        return vector

    def embed_normalised(self, normalised: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 unit rows (a post without known pieces is a zero row)."""
        out = np.zeros((len(normalised), self.dim), dtype=np.float32)
        for i, text in enumerate(normalised):
            for token in text.split():
                out[i] += self.token_vector(token)
        return unit_float32(out)

    def embed_tokens(self, token_vectors: np.ndarray, occurrences: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
        """The same rows from a batch of token ids: ``token_vectors[occurrences]`` summed per post ``docs``."""
        if not len(occurrences):
            return np.zeros((n, self.dim), dtype=np.float32)
        # (post x distinct token) counts @ (distinct token x dim) vectors: a sparse product, ~50x faster than
        # gathering a row per occurrence and summing. Only the batch's own tokens are converted to float32
        # (the per-token store may be float16, half the memory).
        distinct, column = np.unique(occurrences, return_inverse=True)
        counts = sp.csr_matrix(
            (np.ones(len(occurrences), dtype=np.float32), (docs, column.ravel())), shape=(n, len(distinct))
        )
        return unit_float32(np.asarray(counts @ np.asarray(token_vectors[distinct], dtype=np.float32)))


def unit_float32(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(x / norms, dtype=np.float32)


def bundle_static_embedder(bundle: ModelBundle) -> StaticTopicEmbedder | None:
    """The topic embedder of the first classifier in ``bundle`` that carries a static table, else None."""
    for classifier in bundle.classifiers.values():
        if isinstance(classifier, TfidfStaticLogisticClassifier):
            featuriser = classifier.featuriser_
            if isinstance(featuriser, NgramStaticFeaturiser):
                return StaticTopicEmbedder(featuriser.static)
    return None


# Set to 0 for lexical topic scores only (the assigner without post vectors): for comparisons, as
# scripts/bench/bench_score.py's voc-lexical-topics backend does.
VECTORS_ENV = "VOC_TOPIC_VECTORS"


# The assigner's settings with a sentence encoder (the taxonomy's ``encoder:``), beside its defaults for the
# static vectors (weight 0.5, no topic below 0.15, problem posts below 0.10).
ENCODER_SETTINGS: dict[str, float] = {"weight_embedding": 0.8, "min_score": 0.2, "min_score_problem": 0.15}


def topic_assigner_for(taxonomy: Taxonomy, bundle: ModelBundle | None, **settings: Any) -> TopicAssigner:
    """The fitted topic assigner ``voc score`` and ``voc rank`` both use for ``taxonomy``: the bundle's
    normaliser and static word-piece vectors (when it carries them), or the sentence encoder the taxonomy
    names (``encoder:``), the default weights otherwise."""
    vectors = os.environ.get(VECTORS_ENV, "1") != "0"
    embedder = bundle_static_embedder(bundle) if bundle is not None and vectors else None
    normaliser = bundle.normaliser if bundle is not None else None
    # The word pieces' (or the encoder's) vectors carry spelling variants, which the character n-grams were for:
    # without them the topic judge's dev half scored as well or better (docs/topics.md), at less cost per post.
    without_chars = {"weight_char": 0.0}
    encoder = taxonomy.encoder if vectors else None
    if encoder is not None:
        # A sentence encoder's cosines spread wider than the static vectors': its weight and no-topic bars,
        # chosen on the topic judge's dev half (docs/topics.md).
        assigner = TopicAssigner(
            taxonomy,
            normaliser=normaliser,
            encoder=encoder,
            embedder=embedder,  # unused while the encoder loads; named so the fallback warning names it
            **(without_chars | ENCODER_SETTINGS | settings),
        ).fit()
        if assigner.encoder_ is not None:
            return assigner
        # Its extra is missing (one warning line said so): the static vectors, with their own settings.
    if embedder is not None:
        settings = without_chars | settings
    return TopicAssigner(taxonomy, normaliser=normaliser, embedder=embedder, **settings).fit()
