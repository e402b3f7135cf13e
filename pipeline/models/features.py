"""Word and character n-gram TF-IDF features over normalised text.

:class:`NgramFeaturiser` follows the scikit-learn estimator API. Fitting uses scikit-learn's
``TfidfVectorizer`` (document frequencies, ``max_features``, ``min_df``); transforming is done here with
the same analyzers, so that inference imports neither scikit-learn nor pickled objects: the fitted state is
a vocabulary (JSON) and IDF weights (NPZ), and ``voc predict`` starts fast. A test checks that the two
transforms agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.text.ngrams import char_ngrams, token_char_ngrams, word_ngrams

__all__ = ["NgramFeaturiser", "char_ngrams", "token_char_ngrams", "word_ngrams"]


class _WordAnalyzer:
    def __init__(self, n_min: int, n_max: int) -> None:
        self.n_min, self.n_max = n_min, n_max

    def __call__(self, text: str) -> list[str]:
        return word_ngrams(text, self.n_min, self.n_max)


class _CharAnalyzer:
    def __init__(self, n_min: int, n_max: int) -> None:
        self.n_min, self.n_max = n_min, n_max

    def __call__(self, text: str) -> list[str]:
        return char_ngrams(text, self.n_min, self.n_max)


class NgramFeaturiser:
    """Sublinear TF-IDF of word and character n-grams, each block L2-normalised, then stacked.

    Parameters
    ----------
    word_ngrams, char_ngrams:
        Inclusive n ranges; ``None`` switches a block off.
    min_df:
        Minimum number of training documents an n-gram must occur in.
    max_word_features, max_char_features:
        Keep the most frequent n-grams only (bounds the bundle size).
    char_weight:
        Weight of the character block relative to the word block.
    """

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        min_df: int = 2,
        max_word_features: int | None = 100_000,
        max_char_features: int | None = 150_000,
        char_weight: float = 1.0,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.char_weight = char_weight

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str]) -> NgramFeaturiser:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.blocks_: list[tuple[str, dict[str, int], np.ndarray]] = []
        for kind, ngram_range, max_features in (
            ("word", self.word_ngrams, self.max_word_features),
            ("char", self.char_ngrams, self.max_char_features),
        ):
            if ngram_range is None:
                continue
            analyzer = _WordAnalyzer(*ngram_range) if kind == "word" else _CharAnalyzer(*ngram_range)
            vectorizer = TfidfVectorizer(
                analyzer=analyzer,
                lowercase=False,
                min_df=min(self.min_df, max(1, len(texts))),
                max_features=max_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
            vectorizer.fit(texts)
            self.blocks_.append((kind, dict(vectorizer.vocabulary_), vectorizer.idf_.astype(np.float32)))
        if not self.blocks_:
            raise ValueError("NgramFeaturiser needs word_ngrams, char_ngrams or both")
        self.n_features_ = sum(len(vocab) for _, vocab, _ in self.blocks_)
        return self

    # -- transforming ------------------------------------------------------------------------------
    def _analyzer(self, kind: str) -> _WordAnalyzer | _CharAnalyzer:
        if kind == "word":
            assert self.word_ngrams is not None
            return _WordAnalyzer(*self.word_ngrams)
        assert self.char_ngrams is not None
        return _CharAnalyzer(*self.char_ngrams)

    def _block(self, texts: Sequence[str], vocab: dict[str, int], idf: np.ndarray, analyze: Any) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        get = vocab.get
        for text in texts:
            row: dict[int, int] = {}
            for gram in analyze(text):
                j = get(gram)
                if j is not None:
                    row[j] = row.get(j, 0) + 1
            indices.extend(row.keys())
            counts.extend(row.values())
            indptr.append(len(indices))
        data = np.asarray(counts, dtype=np.float32)
        np.log(data, out=data)
        data += 1.0  # sublinear tf: 1 + log(count)
        matrix = sp.csr_matrix(
            (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(texts), len(vocab)),
        )
        matrix = matrix @ sp.diags(idf.astype(np.float32), format="csr")
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float32).ravel())
        norms[norms == 0] = 1.0
        scaled: sp.csr_matrix = sp.diags(1.0 / norms, format="csr") @ matrix
        return scaled

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        parts = []
        for kind, vocab, idf in self.blocks_:
            block = self._block(texts, vocab, idf, self._analyzer(kind))
            if kind == "char" and self.char_weight != 1.0:
                block = block * np.float32(self.char_weight)
            parts.append(block)
        stacked: sp.csr_matrix = sp.hstack(parts, format="csr", dtype=np.float32)
        return stacked

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)

    # -- persistence (no pickle) -------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams) if self.word_ngrams else None,
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "min_df": self.min_df,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "char_weight": self.char_weight,
        }

    def get_state(self) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
        """Vocabularies (term lists in column order) and IDF arrays, ready for JSON and NPZ."""
        vocabularies: dict[str, list[str]] = {}
        arrays: dict[str, np.ndarray] = {}
        for kind, vocab, idf in self.blocks_:
            terms = [""] * len(vocab)
            for term, j in vocab.items():
                terms[j] = term
            vocabularies[kind] = terms
            arrays[f"idf_{kind}"] = idf
        return vocabularies, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], vocabularies: dict[str, list[str]], arrays: dict[str, np.ndarray]
    ) -> NgramFeaturiser:
        settings = dict(params)
        for key in ("word_ngrams", "char_ngrams"):
            if settings.get(key) is not None:
                settings[key] = tuple(settings[key])
        featuriser = cls(**settings)
        featuriser.blocks_ = []
        for kind in ("word", "char"):
            if kind not in vocabularies:
                continue
            terms = vocabularies[kind]
            idf = np.asarray(arrays[f"idf_{kind}"], dtype=np.float32)
            if len(terms) != len(idf):
                raise ValueError(f"{kind} vocabulary has {len(terms)} terms but {len(idf)} idf weights")
            featuriser.blocks_.append((kind, {t: j for j, t in enumerate(terms)}, idf))
        featuriser.n_features_ = sum(len(v) for _, v, _ in featuriser.blocks_)
        return featuriser
