"""The fast inference path of the default model (``tfidf_logreg.v1`` classifiers on ``tweet_normaliser.v1``).

It computes exactly what :meth:`TweetNormaliser.normalise_many` and each classifier's ``predict_proba`` do,
with the same results (``tests/test_score.py`` checks both on real texts), but much faster:

* **Normalisation** caches spaCy's tokenisation per whitespace-delimited chunk. spaCy's tokenizer splits
  the text on whitespace and tokenises each chunk on its own (prefixes, suffixes, infixes, special cases
  are all matched inside a chunk; the only special cases that contain whitespace are single whitespace
  characters, which :meth:`TweetNormaliser.clean` has already collapsed to the separating space), so the
  tokens of a chunk do not depend on its neighbours. Chunk vocabularies are Zipfian: after a few thousand
  posts almost every chunk is a dictionary hit, and spaCy only runs (batched, with ``pipe``) on new ones.
* **Features** are computed once per post and shared by all classifiers: the word and character n-gram
  vocabularies of every classifier are merged into one id space; each distinct token's unigram and
  character n-gram ids are cached as an array, so a batch becomes a few numpy gathers; word bigrams and
  trigrams are looked up as integer keys (token ids packed into an int64) with ``searchsorted``. Counting
  is one ``np.unique`` over (post, feature) keys; each classifier then maps merged ids to its own columns,
  applies sublinear TF, IDF and per-block L2 normalisation in float32 and does one sparse product.

Both caches are bounded (cleared when full), so memory stays flat however long the job runs. Set
``VOC_FASTPATH=0`` to use the reference implementation instead (for comparisons and debugging).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.normalise import TweetNormaliser

# Bounds on the caches: 100k short strings and 100k small arrays, ~30 MB each at most. Vocabularies are
# Zipfian, so the hit rate stays high well below the bound; a full cache is cleared and refilled.
MAX_CHUNK_CACHE = 100_000
MAX_TOKEN_CACHE = 100_000


def fastpath_enabled() -> bool:
    """False when ``VOC_FASTPATH=0`` (read at use, not import, so tests can switch it)."""
    return os.environ.get("VOC_FASTPATH", "1") not in ("0", "false", "no")


class CachedNormaliser:
    """``normaliser.normalise_many`` with spaCy's per-chunk work memoised (see the module docstring)."""

    def __init__(self, normaliser: TweetNormaliser, max_entries: int = MAX_CHUNK_CACHE) -> None:
        self.normaliser = normaliser
        self.max_entries = max_entries
        # chunk -> its normalised tokens joined by single spaces ("" if it yields none)
        self._chunks: dict[str, str] = {}

    def normalise_many(self, texts: Iterable[str]) -> list[str]:
        cleaned = [self.normaliser.clean(t) for t in texts]
        split = [c.split(" ") for c in cleaned]
        cache = self._chunks
        missing = {chunk for chunks in split for chunk in chunks if chunk not in cache}
        missing.discard("")
        if missing:
            if len(cache) + len(missing) > self.max_entries:
                cache.clear()  # flat memory beats a perfect hit rate; refilled from this batch on
            finish = self.normaliser._finish
            ordered = sorted(missing)  # deterministic order (sets of str are hash-randomised)
            for chunk, doc in zip(ordered, self.normaliser.tokenizer.pipe(ordered, batch_size=1000)):
                cache[chunk] = " ".join(finish(doc))
        get = cache.get
        out: list[str] = []
        for chunks in split:
            if len(chunks) == 1:
                out.append(get(chunks[0], ""))
            else:
                out.append(" ".join([p for p in (get(c, "") for c in chunks) if p]))
        return out


class _ClassifierView:
    """One classifier's columns, IDF and weights, indexed by the merged feature ids."""

    def __init__(self, clf: Any, colmap: np.ndarray, n_word: int, has_word: bool, has_char: bool) -> None:
        featuriser = clf.featuriser_
        self.clf = clf
        self.colmap = colmap  # merged id -> this classifier's column, -1 when it does not use the feature
        self.idf = np.concatenate([np.asarray(idf, dtype=np.float32) for _, _, idf in featuriser.blocks_])
        self.n_word = n_word if has_word else 0  # columns below this are the word block
        self.two_blocks = has_word and has_char
        self.char_weight = np.float32(featuriser.char_weight)
        self.n_features = int(featuriser.n_features_)
        self.coef_t = np.ascontiguousarray(np.asarray(clf.coef_, dtype=np.float32).T)
        self.intercept = np.asarray(clf.intercept_, dtype=np.float32)


class SharedFeatureScorer:
    """Logits of several ``tfidf_logreg.v1`` classifiers from one shared n-gram pass (module docstring)."""

    def __init__(self, classifiers: dict[str, Any], max_tokens: int = MAX_TOKEN_CACHE) -> None:
        self.tasks = list(classifiers)
        self.max_tokens = max_tokens
        word_terms: dict[str, int] = {}
        char_terms: dict[str, int] = {}
        self.char_range = (10**9, 0)
        self.word_max_n = 1
        per_clf: list[tuple[Any, list[tuple[str, dict[str, int]]]]] = []
        for clf in classifiers.values():
            featuriser = clf.featuriser_
            blocks = [(kind, vocab) for kind, vocab, _ in featuriser.blocks_]
            per_clf.append((clf, blocks))
            for kind, vocab in blocks:
                if kind == "word":
                    low, high = featuriser.word_ngrams
                    self.word_max_n = max(self.word_max_n, high)
                    for term in vocab:
                        if low <= len(term.split(" ")) <= high:
                            word_terms.setdefault(term, len(word_terms))
                else:
                    low, high = featuriser.char_ngrams
                    self.char_range = (min(self.char_range[0], low), max(self.char_range[1], high))
                    for term in vocab:
                        if low <= len(term) <= high:
                            char_terms.setdefault(term, len(char_terms))
        self.n_word = len(word_terms)
        self.n_merged = self.n_word + len(char_terms)
        # Merged id space: word n-grams first, then character n-grams (offset by n_word).
        self.char_ids = {term: j + self.n_word for term, j in char_terms.items()}
        self.unigram_ids = {term: j for term, j in word_terms.items() if " " not in term}
        # Word n-grams (n >= 2) as packed integer keys of their tokens' ids in a small token table.
        self.ngram_tokens: dict[str, int] = {}
        for term in word_terms:
            if " " in term:
                for token in term.split(" "):
                    self.ngram_tokens.setdefault(token, len(self.ngram_tokens))
        self.base = max(len(self.ngram_tokens), 1)
        if self.base ** max(self.word_max_n, 1) >= 2**62:
            raise ValueError("word n-gram vocabulary too large to pack into int64 keys")
        keys_by_n: dict[int, tuple[list[int], list[int]]] = {}
        for term, j in word_terms.items():
            tokens = term.split(" ")
            if len(tokens) < 2:
                continue
            key = 0
            for token in tokens:
                key = key * self.base + self.ngram_tokens[token]
            keys, ids = keys_by_n.setdefault(len(tokens), ([], []))
            keys.append(key)
            ids.append(j)
        self.ngram_keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n, (keys, ids) in keys_by_n.items():
            key_arr = np.asarray(keys, dtype=np.int64)
            order = np.argsort(key_arr, kind="stable")
            self.ngram_keys[n] = (key_arr[order], np.asarray(ids, dtype=np.int64)[order])
        self.views: list[_ClassifierView] = []
        for clf, blocks in per_clf:
            colmap = np.full(self.n_merged, -1, dtype=np.int64)
            offset = 0
            n_word_cols = 0
            has_word = has_char = False
            for kind, vocab in blocks:
                if kind == "word":
                    has_word = True
                    n_word_cols = len(vocab)
                    for term, col in vocab.items():
                        word = word_terms.get(term)
                        if word is not None:
                            colmap[word] = offset + col
                else:
                    has_char = True
                    for term, col in vocab.items():
                        merged = self.char_ids.get(term)
                        if merged is not None:
                            colmap[merged] = offset + col
                offset += len(vocab)
            self.views.append(_ClassifierView(clf, colmap, n_word_cols, has_word, has_char))
        self._reset_token_cache()

    # -- per-token cache --------------------------------------------------------------------------------
    def _reset_token_cache(self) -> None:
        self._token_index: dict[str, int] = {}
        self._token_ids: list[np.ndarray] = []  # merged ids: unigram (if any) + every char n-gram occurrence
        self._token_ngram: list[int] = []  # id in the n-gram token table, -1 if in no n-gram

    def _add_token(self, token: str) -> int:
        ids: list[int] = []
        j = self.unigram_ids.get(token)
        if j is not None:
            ids.append(j)
        padded = f" {token} "
        length = len(padded)
        get = self.char_ids.get
        low, high = self.char_range
        for n in range(low, high + 1):
            if n > length:
                break
            for i in range(length - n + 1):
                c = get(padded[i : i + n])
                if c is not None:
                    ids.append(c)
        index = len(self._token_ids)
        self._token_index[token] = index
        self._token_ids.append(np.asarray(ids, dtype=np.int64))
        self._token_ngram.append(self.ngram_tokens.get(token, -1))
        return index

    # -- scoring ----------------------------------------------------------------------------------------
    def _merged_counts(self, normalised: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(post, merged id, count) triples of a batch, sorted by post then id."""
        token_lists = [text.split() for text in normalised]
        n_tokens = sum(len(tokens) for tokens in token_lists)
        if len(self._token_index) > self.max_tokens:
            self._reset_token_cache()  # bounded: at most max_tokens plus one batch's new tokens
        index = self._token_index
        add = self._add_token
        occurrences = np.fromiter(
            (index[t] if t in index else add(t) for tokens in token_lists for t in tokens),
            dtype=np.int64,
            count=n_tokens,
        )
        doc_lengths = np.fromiter((len(tokens) for tokens in token_lists), dtype=np.int64, count=len(token_lists))
        occ_doc = np.repeat(np.arange(len(token_lists), dtype=np.int64), doc_lengths)
        # Unigram + character n-gram ids: gather each occurrence's cached array without a Python loop.
        unique, inverse = np.unique(occurrences, return_inverse=True)
        arrays = [self._token_ids[u] for u in unique.tolist()]
        sizes = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
        flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if len(sizes) else sizes
        occ_sizes = sizes[inverse] if len(sizes) else np.zeros(0, dtype=np.int64)
        occ_starts = starts[inverse] if len(sizes) else np.zeros(0, dtype=np.int64)
        total = int(occ_sizes.sum())
        out_starts = np.cumsum(occ_sizes) - occ_sizes
        gather = np.repeat(occ_starts - out_starts, occ_sizes) + np.arange(total, dtype=np.int64)
        ids_parts = [flat[gather]]
        doc_parts = [np.repeat(occ_doc, occ_sizes)]
        # Word n-grams, n >= 2: consecutive tokens of the same post, packed into int64 keys.
        ngram_of = np.asarray(self._token_ngram, dtype=np.int64)[occurrences] if n_tokens else occurrences
        for n in range(2, self.word_max_n + 1):
            table = self.ngram_keys.get(n)
            if table is None or n_tokens < n:
                continue
            m = n_tokens - n + 1
            valid = occ_doc[:m] == occ_doc[n - 1 :]
            key = np.zeros(m, dtype=np.int64)
            for k in range(n):
                part = ngram_of[k : k + m]
                valid &= part >= 0
                key = key * self.base + part
            positions = np.flatnonzero(valid)
            if not len(positions):
                continue
            key = key[positions]
            keys, ids = table
            at = np.searchsorted(keys, key)
            at[at >= len(keys)] = 0
            hit = keys[at] == key
            ids_parts.append(ids[at[hit]])
            doc_parts.append(occ_doc[positions[hit]])
        merged = np.concatenate(ids_parts)
        docs = np.concatenate(doc_parts)
        pair, counts = np.unique(docs * self.n_merged + merged, return_counts=True)
        return pair // self.n_merged, pair % self.n_merged, counts

    def logits(self, normalised: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, the (n, n_classes) float32 logits the classifier's ``decision_function`` gives."""
        n = len(normalised)
        docs, merged, counts = self._merged_counts(normalised)
        tf = np.log(counts.astype(np.float32)) + np.float32(1.0)  # sublinear tf: 1 + log(count)
        out: dict[str, np.ndarray] = {}
        for task, view in zip(self.tasks, self.views):
            cols = view.colmap[merged]
            keep = cols >= 0
            d, c = docs[keep], cols[keep]
            values = tf[keep] * view.idf[c]
            # Each block (word, char) is L2-normalised on its own, as in NgramFeaturiser.
            block = (c >= view.n_word).astype(np.int64) if view.two_blocks else np.zeros(len(c), dtype=np.int64)
            slot = d * 2 + block
            sq = np.bincount(slot, weights=values.astype(np.float64) ** 2, minlength=2 * n)
            norms = np.sqrt(sq).astype(np.float32)
            norms[norms == 0] = 1.0
            values = values * (np.float32(1.0) / norms)[slot]
            if view.char_weight != 1.0:
                is_char = block == 1 if view.two_blocks else np.full(len(c), view.n_word == 0)
                values[is_char] *= view.char_weight
            # Entries are already grouped by post: build the CSR arrays directly (no COO sort).
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(d, minlength=n), out=indptr[1:])
            matrix = sp.csr_matrix((values, c, indptr), shape=(n, view.n_features))
            out[task] = np.asarray(matrix @ view.coef_t) + view.intercept
        return out


def _is_default_kind(bundle: Any) -> bool:
    from pipeline.classifiers import TfidfLogisticClassifier
    from pipeline.features import NgramFeaturiser

    if not isinstance(bundle.normaliser, TweetNormaliser) or not bundle.classifiers:
        return False
    return all(
        type(clf) is TfidfLogisticClassifier and type(getattr(clf, "featuriser_", None)) is NgramFeaturiser
        for clf in bundle.classifiers.values()
    )


class FastPredictor:
    """``Predictor.predict_proba`` for bundles of ``tfidf_logreg.v1`` classifiers, via the fast path."""

    def __init__(self, bundle: Any) -> None:
        self.normaliser = CachedNormaliser(bundle.normaliser)
        self.classifiers = bundle.classifiers
        self.scorer = SharedFeatureScorer(bundle.classifiers)

    @classmethod
    def for_bundle(cls, bundle: Any) -> FastPredictor | None:
        """A fast predictor, or None when the bundle has another kind of model or the path is switched off."""
        if not fastpath_enabled() or not _is_default_kind(bundle):
            return None
        try:
            return cls(bundle)
        except ValueError:  # vocabulary too large for packed keys: the reference path still works
            return None

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray]]:
        normalised = self.normaliser.normalise_many(texts)
        if not normalised:
            return normalised, {task: np.zeros((0, len(clf.classes_))) for task, clf in self.classifiers.items()}
        logits = self.scorer.logits(normalised)
        return normalised, {task: self.classifiers[task]._calibrate(z) for task, z in logits.items()}
