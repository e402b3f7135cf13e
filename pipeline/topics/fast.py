"""The fast path of guided topic assignment for batch scoring: :meth:`TopicAssigner.score_matrix`, vectorised.

:class:`FastTopicScorer` computes the same lexical scores as the reference (seed phrase matches, word TF-IDF
cosine, character n-gram cosine; ``tests/test_fast_topics.py`` checks the two agree on real texts), but
instead of Python loops over every token of every post it keeps, per distinct token, everything the scores
need (its stem's ids, whether it is a content word, its seed-token id, its character n-gram row), so that a
batch becomes numpy gathers, packed integer keys looked up with ``searchsorted``, one ``np.unique`` per
block and three sparse products:

* **phrases**: the non-marker tokens of the batch as one array of seed-token ids (-1 for a token in no
  seed); the windows of each phrase length are packed into int64 keys and looked up among the phrases'
  keys. spaCy's ``PhraseMatcher`` returns every occurrence, overlapping ones included, exactly what this
  finds; the rare post with several matches then drops the ones inside a longer match, as the reference
  does;
* **words**: content stems and the bigrams of consecutive content stems, counted per post; distinct
  out-of-vocabulary features count in the norm as in the reference;
* **characters**: per-token rows of in-vocabulary character n-gram counts, gathered and summed per post.

Assigners with a sentence encoder fall back on the reference (embedding a post costs far more than all of
this). Per-token data lives in arrays indexed by the ids of the batch's :class:`~pipeline.models.fastpath.TokenTable`,
which the fast normaliser bounds (cleared when full), so memory stays flat however long the job.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from pipeline.models.fastpath import Growable, RaggedStore, TokenBatch, TokenTable, fastpath_enabled
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.static import StaticTopicEmbedder
from pipeline.topics.tokens import MARKERS, is_content, stem, stop_words, topic_token

_BIGRAM_BASE = 1 << 31  # stem ids stay below this (the stem table is cleared with the token cache)


def _segment_keys(values: np.ndarray, docs: np.ndarray, length: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and packed keys of every window of ``length`` values inside one post, all >= 0."""
    m = len(values) - length + 1
    if m <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    valid = docs[:m] == docs[length - 1 :]
    key = np.zeros(m, dtype=np.int64)
    for k in range(length):
        part = values[k : k + m]
        valid &= part >= 0
        key = key * base + part
    starts = np.flatnonzero(valid)
    return starts, key[starts]


def _lookup(table_keys: np.ndarray, table_ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Ids of ``keys`` in a sorted key table; -1 where absent."""
    if not len(table_keys) or not len(keys):
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.searchsorted(table_keys, keys)
    at[at >= len(table_keys)] = 0
    return np.where(table_keys[at] == keys, table_ids[at], -1)


class FastTopicScorer:
    """``assigner.score_matrix`` and ``assigner.assign`` for lexical assigners, vectorised over a batch."""

    @classmethod
    def for_assigner(cls, assigner: TopicAssigner) -> FastTopicScorer | TopicAssigner:
        """The fast scorer of ``assigner``, or ``assigner`` itself where the fast path does not apply: it embeds
        posts, its seed phrases are too long for packed keys, or ``VOC_FASTPATH=0``. Same scores either way."""
        if not hasattr(assigner, "topic_word_"):
            assigner.fit()
        if not fastpath_enabled() or assigner.encoder_ is not None:
            return assigner
        try:
            return cls(assigner)
        except ValueError:  # seed phrases too long for packed keys: the reference still works
            return assigner

    def __init__(self, assigner: TopicAssigner) -> None:
        if not hasattr(assigner, "topic_word_"):
            assigner.fit()
        if assigner.encoder_ is not None:
            raise ValueError("the fast topic path has no sentence encoder; this assigner uses one")
        self.assigner = assigner
        # Static post vectors (pipeline.topics.static): one vector per token id, summed per post.
        self.embedder = assigner.embedder_ if isinstance(assigner.embedder_, StaticTopicEmbedder) else None
        if assigner.embedder_ is not None and self.embedder is None:
            raise ValueError("the fast topic path reads static word-piece vectors only")
        # float16: ~115 MB at the token table's bound of 150k tokens instead of 230 (each batch converts its own)
        self._vectors = np.zeros((0, self.embedder.dim if self.embedder else 0), dtype=np.float16)
        self._n_vectors = 0
        self.stops = stop_words()
        self.n_topics = len(assigner.topic_ids_)
        # Phrases: seed-token ids, keys packed per phrase length.
        self.seed_ids = {token: i for i, token in enumerate(sorted(assigner.seed_tokens_))}
        self.seed_base = max(len(self.seed_ids), 1)
        by_length: dict[int, tuple[list[int], list[int]]] = {}
        for pi, phrase in enumerate(assigner.phrases_):
            key = 0
            for token in phrase:
                key = key * self.seed_base + self.seed_ids[token]
            keys, ids = by_length.setdefault(len(phrase), ([], []))
            keys.append(key)
            ids.append(pi)
        if self.seed_base ** max(by_length, default=1) >= 2**62:
            raise ValueError("seed phrases too long to pack into int64 keys")
        self.phrase_tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for length, (keys, ids) in by_length.items():
            key_arr = np.asarray(keys, dtype=np.int64)
            order = np.argsort(key_arr, kind="stable")
            self.phrase_tables[length] = (key_arr[order], np.asarray(ids, dtype=np.int64)[order])
        log_keep = assigner.phrase_topic_.copy()
        log_keep.data = -np.log1p(-np.minimum(log_keep.data, 0.999))
        self.log_keep = sp.csr_matrix(log_keep)
        # Words: a stem table whose first entries are the vocabulary's stems (fixed ids), then any stem seen.
        vocab: dict[str, int] = assigner.word_vocab_
        self.n_vocab = len(vocab)
        self._vocab_stems: dict[str, int] = {}
        for term in vocab:
            for part in term.split(" "):
                self._vocab_stems.setdefault(part, len(self._vocab_stems))
        self.unigram_vocab = np.full(len(self._vocab_stems), -1, dtype=np.int64)
        bigram_keys: list[int] = []
        bigram_ids: list[int] = []
        for term, j in vocab.items():
            parts = term.split(" ")
            if len(parts) == 1:
                self.unigram_vocab[self._vocab_stems[term]] = j
            elif len(parts) == 2:
                bigram_keys.append(self._vocab_stems[parts[0]] * _BIGRAM_BASE + self._vocab_stems[parts[1]])
                bigram_ids.append(j)
        key_arr = np.asarray(bigram_keys, dtype=np.int64)
        order = np.argsort(key_arr, kind="stable")
        self.bigram_keys = key_arr[order]
        self.bigram_ids = np.asarray(bigram_ids, dtype=np.int64)[order]
        self.word_idf = np.asarray(assigner.word_idf_, dtype=np.float64)
        self.topic_word_t = sp.csr_matrix(assigner.topic_word_.T)
        self.char_idf = np.asarray(assigner.char_idf_, dtype=np.float64)
        self.n_char = len(assigner.char_vocab_)
        self.topic_char_t = sp.csr_matrix(assigner.topic_char_.T)
        self._table: TokenTable | None = None
        self._generation = -1

    # -- per-token data, indexed by the token table's ids ------------------------------------------------------
    def _sync(self, table: TokenTable) -> None:
        if table is not self._table or table.generation != self._generation:
            self._table, self._generation = table, table.generation
            self._stems: dict[str, int] = dict(self._vocab_stems)
            self._marker = Growable(np.bool_)
            self._seed = Growable(np.int64)  # seed-token id of the token's stem, -1 if none (or a marker)
            self._content = Growable(np.bool_)
            self._stem = Growable(np.int64)  # stem-table id (content tokens; -1 otherwise)
            self._char_oov = Growable(np.float64)
            self._char_cols = RaggedStore()  # in-vocabulary character n-gram ids (content tokens)
            self._char_vals = RaggedStore(np.float64)  # and their counts
            self._n_vectors = 0
        if self.embedder is not None and self._n_vectors < len(table.tokens):
            new = table.tokens[self._n_vectors :]
            needed = self._n_vectors + len(new)
            if needed > len(self._vectors):
                grown = np.zeros((max(needed, 2 * len(self._vectors), 1024), self.embedder.dim), dtype=np.float16)
                grown[: self._n_vectors] = self._vectors[: self._n_vectors]
                self._vectors = grown
            for offset, token in enumerate(new):
                self._vectors[self._n_vectors + offset] = self.embedder.compute_vector(token)
            self._n_vectors = needed
        char_vocab = self.assigner.char_vocab_
        for raw in table.tokens[self._marker.size :]:
            token = topic_token(raw)
            marker = token in MARKERS
            token_stem = stem(token)
            content = is_content(token, self.stops)
            self._marker.append(marker)
            self._seed.append(-1 if marker else self.seed_ids.get(token_stem, -1))
            self._content.append(content)
            if content:
                stem_id = self._stems.get(token_stem)
                if stem_id is None:
                    stem_id = self._stems[token_stem] = len(self._stems)
                self._stem.append(stem_id)
                # As TopicAssigner._token_char_row, without filling its per-token dict cache (memory).
                cols: list[int] = []
                vals: list[float] = []
                oov = 0.0
                for gram, count in self.assigner._char_counts([token]).items():
                    j = char_vocab.get(gram)
                    if j is None:
                        oov += count
                    else:
                        cols.append(j)
                        vals.append(float(count))
                self._char_cols.append(cols)
                self._char_vals.append(vals)
                self._char_oov.append(oov)
            else:
                self._stem.append(-1)
                self._char_cols.append([])
                self._char_vals.append([])
                self._char_oov.append(0.0)

    # -- scores -----------------------------------------------------------------------------------------------
    def _match_scores(self, occurrences: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
        keep = ~self._marker.array[occurrences]
        seeds = self._seed.array[occurrences][keep]
        seed_docs = docs[keep]
        hit_docs: list[np.ndarray] = []
        hit_starts: list[np.ndarray] = []
        hit_lengths: list[np.ndarray] = []
        hit_phrases: list[np.ndarray] = []
        for length, (keys, ids) in self.phrase_tables.items():
            starts, window_keys = _segment_keys(seeds, seed_docs, length, self.seed_base)
            phrases = _lookup(keys, ids, window_keys)
            found = phrases >= 0
            hit_docs.append(seed_docs[starts[found]])
            hit_starts.append(starts[found])
            hit_lengths.append(np.full(int(found.sum()), length, dtype=np.int64))
            hit_phrases.append(phrases[found])
        if not hit_docs or not sum(len(d) for d in hit_docs):
            return np.zeros((n, self.n_topics))
        d = np.concatenate(hit_docs)
        s = np.concatenate(hit_starts)
        length_arr = np.concatenate(hit_lengths)
        p = np.concatenate(hit_phrases)
        order = np.lexsort((s, d))
        d, s, length_arr, p = d[order], s[order], length_arr[order], p[order]
        per_doc = np.bincount(d, minlength=n)
        rows: list[int] = []
        cols: list[int] = []
        single = per_doc[d] == 1
        rows.extend(d[single].tolist())
        cols.extend(p[single].tolist())
        several = np.flatnonzero(~single)
        if len(several):
            # Few posts match several phrases: drop the matches inside a longer one, post by post.
            groups: dict[int, list[tuple[int, int, int]]] = {}
            for i in several.tolist():
                groups.setdefault(int(d[i]), []).append((int(p[i]), int(s[i]), int(s[i] + length_arr[i])))
            for doc, spans in groups.items():
                for phrase, _start, _end in TopicAssigner._longest(spans):
                    rows.append(doc)
                    cols.append(phrase)
        hits = sp.csr_matrix(
            (np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(n, len(self.assigner.phrases_)),
        )
        evidence = np.asarray((hits @ self.log_keep).todense())
        return np.asarray(1.0 - np.exp(-evidence))

    def _word_scores(self, occurrences: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
        content = self._content.array[occurrences]
        stems = self._stem.array[occurrences][content]
        stem_docs = docs[content]
        n_stems = len(self._stems)
        # Unigrams: distinct (post, stem) pairs, with counts.
        uni_pair, uni_count = np.unique(stem_docs * n_stems + stems, return_counts=True)
        uni_doc = uni_pair // n_stems
        uni_stem = uni_pair % n_stems
        uni_vocab = np.full(len(uni_stem), -1, dtype=np.int64)
        known = uni_stem < len(self.unigram_vocab)
        uni_vocab[known] = self.unigram_vocab[uni_stem[known]]
        # Bigrams of consecutive content stems of a post.
        starts, keys = _segment_keys(stems, stem_docs, 2, _BIGRAM_BASE)
        bi_docs = stem_docs[starts]
        if len(keys):
            distinct, inverse = np.unique(keys, return_inverse=True)
            bi_pair, first, bi_count = np.unique(
                bi_docs * len(distinct) + inverse, return_index=True, return_counts=True
            )
            bi_doc = bi_pair // len(distinct)
            bi_vocab = _lookup(self.bigram_keys, self.bigram_ids, keys[first])
        else:
            bi_doc = bi_vocab = bi_count = np.zeros(0, dtype=np.int64)
        feat_doc = np.concatenate([uni_doc, bi_doc])
        feat_vocab = np.concatenate([uni_vocab, bi_vocab])
        feat_count = np.concatenate([uni_count, bi_count]).astype(np.float64)
        in_vocab = feat_vocab >= 0
        n_oov = np.bincount(feat_doc[~in_vocab], minlength=n).astype(np.float64)
        d, v = feat_doc[in_vocab], feat_vocab[in_vocab]
        values = (1.0 + np.log(feat_count[in_vocab])) * self.word_idf[v]
        sq = np.bincount(d, weights=values**2, minlength=n) + n_oov * self.assigner.word_oov_idf_**2
        norms = np.sqrt(sq)
        norms[norms == 0] = 1.0
        post = sp.csr_matrix((values / norms[d], (d, v)), shape=(n, self.n_vocab))
        return np.asarray((post @ self.topic_word_t).todense())

    def _char_scores(self, occurrences: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
        content = self._content.array[occurrences]
        occ = occurrences[content]
        occ_docs = docs[content]
        oov = np.bincount(occ_docs, weights=self._char_oov.array[occ], minlength=n)
        cols, sizes = self._char_cols.gather(occ)
        if len(cols):
            vals, _ = self._char_vals.gather(occ)
            cell_docs = np.repeat(occ_docs, sizes)
            pair, cell = np.unique(cell_docs * self.n_char + cols, return_inverse=True)
            counts = np.bincount(cell, weights=vals, minlength=len(pair))
            d, c = pair // self.n_char, pair % self.n_char
            values = (1.0 + np.log(counts)) * self.char_idf[c]
            values_sq: np.ndarray = np.bincount(d, weights=values**2, minlength=n)
            post = sp.csr_matrix((values, (d, c)), shape=(n, self.n_char))
        else:
            values_sq = np.zeros(n)
            post = sp.csr_matrix((n, self.n_char))
        norms = np.sqrt(values_sq + oov * self.assigner.char_oov_idf_**2)
        norms[norms == 0] = 1.0
        post = sp.csr_matrix(sp.diags(1.0 / norms) @ post)
        return np.asarray((post @ self.topic_char_t).todense())

    def score_matrix(self, normalised: Sequence[str] | TokenBatch) -> np.ndarray:
        """The (n_posts, n_topics) scores ``assigner.score_matrix`` gives for these normalised posts."""
        batch = normalised if isinstance(normalised, TokenBatch) else TokenBatch.from_texts(normalised, self._table)
        n = batch.n
        total = np.zeros((n, self.n_topics))
        if n == 0:
            return total
        self._sync(batch.table)
        occurrences, docs = batch.occurrences, batch.docs
        a = self.assigner
        if a.weight_match and a.phrases_:
            total += a.weight_match * self._match_scores(occurrences, docs, n)
        if a.weight_word:
            total += a.weight_word * self._word_scores(occurrences, docs, n)
        if a.weight_char:
            total += a.weight_char * self._char_scores(occurrences, docs, n)
        if self.embedder is not None:
            embeddings = self.embedder.embed_tokens(self._vectors[: self._n_vectors], occurrences, docs, n)
            total += a.embedding_total(embeddings)
        return total

    def assign(
        self, texts: Sequence[str], normalised: Sequence[str] | TokenBatch | None = None
    ) -> list[tuple[str, str, float]]:
        """As :meth:`TopicAssigner.assign`; ``normalised`` may also be a :class:`TokenBatch`."""
        if normalised is None:
            normalised = self.assigner.normaliser_.normalise_many(texts)
        return self.assigner.decide(self.score_matrix(normalised), None)

    def assign_many(
        self,
        texts: Sequence[str],
        normalised: Sequence[str] | TokenBatch | None = None,
        problem: Sequence[bool] | None = None,
    ) -> tuple[list[tuple[str, str, float]], list[list[tuple[str, float]]]]:
        """As :meth:`TopicAssigner.assign_many`."""
        if normalised is None:
            normalised = self.assigner.normaliser_.normalise_many(texts)
        scores = self.score_matrix(normalised)
        return self.assigner.decide(scores, None, problem), self.assigner.decide_many(scores, None, problem)
