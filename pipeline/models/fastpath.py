"""The fast inference path of the default model (``tfidf_logreg.v1``/``v2`` classifiers on ``tweet_normaliser.v1``).

It computes exactly what :meth:`TweetNormaliser.normalise_many` and each classifier's ``predict_proba`` do,
with the same results (``tests/test_score.py`` checks both on real texts), but much faster:

* **Normalisation** is cached per whitespace-delimited chunk of the raw post. After the few rules that may
  reach across whitespace (:meth:`TweetNormaliser.clean_post`), every cleaning rule works inside a chunk
  (:meth:`TweetNormaliser.clean_chunk`), and spaCy's tokenizer splits the text on whitespace and tokenises
  each chunk on its own (prefixes, suffixes, infixes, special cases are all matched inside a chunk; the only
  special cases that contain whitespace are single whitespace characters, which cleaning has collapsed to
  the separating space), so a chunk's tokens do not depend on its neighbours. Chunk vocabularies are
  Zipfian: after a few thousand posts almost every chunk is a dictionary hit, and the regular expressions
  and spaCy (batched, with ``pipe``) only run on new ones.
* **Features** are computed once per post and shared by all classifiers: the word and character n-gram
  vocabularies of every classifier are merged into one id space; each distinct token's unigram and
  character n-gram ids are cached as an array, so a batch becomes a few numpy gathers; word bigrams and
  trigrams are looked up as integer keys (token ids packed into an int64) with ``searchsorted``. Counting
  is one ``np.unique`` over (post, feature) keys; each classifier then maps merged ids to its own columns,
  applies sublinear TF, IDF and per-block L2 normalisation in float32 and does one sparse product.
* **Static embeddings** (``tfidf_logreg.v2``): a post's static vector is a sum over its tokens' word pieces, so
  each distinct token's pieces are found once (cached as a few integers) and a batch is one sparse product.

Both caches are bounded (cleared when full), so memory stays flat however long the job runs. Set
``VOC_FASTPATH=0`` to use the reference implementation instead (for comparisons and debugging).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from pipeline.models.features import token_char_ngrams
from pipeline.text.normalise import TweetNormaliser
from pipeline.text.scope import ANSWER, CUE, MARKS, NOW, QUESTION, USED, trigger_bits

# Bounds on the caches: 250k chunks and 150k distinct tokens (~100 MB in all at most). Vocabularies are
# Zipfian, so the hit rate stays high well below the bound; when either is full both are cleared and refilled.
MAX_CHUNK_CACHE = 250_000
MAX_TOKEN_CACHE = 150_000


def fastpath_enabled() -> bool:
    """False when ``VOC_FASTPATH=0`` (read at use, not import, so tests can switch it)."""
    return os.environ.get("VOC_FASTPATH", "1") not in ("0", "false", "no")


class Growable:
    """A 1-d numpy array that grows by appending; ``array`` is a view of the filled part.

    Appends go to a Python list and reach the array (amortised doubling) when ``array`` is next read, so that
    filling caches one item at a time costs no numpy call per item.
    """

    def __init__(self, dtype: Any, capacity: int = 1024) -> None:
        self._data = np.zeros(capacity, dtype=dtype)
        self._filled = 0
        self._pending: list[Any] = []

    @property
    def size(self) -> int:
        return self._filled + len(self._pending)

    def append(self, value: Any) -> None:
        self._pending.append(value)

    def extend(self, values: Any) -> None:
        self._pending.extend(values)

    @property
    def array(self) -> np.ndarray:
        if self._pending:
            values = np.asarray(self._pending, dtype=self._data.dtype)
            needed = self._filled + len(values)
            if needed > len(self._data):
                grown = np.zeros(max(needed, 2 * len(self._data)), dtype=self._data.dtype)
                grown[: self._filled] = self._data[: self._filled]
                self._data = grown
            self._data[self._filled : needed] = values
            self._filled = needed
            self._pending = []
        return self._data[: self._filled]

    def clear(self) -> None:
        self._filled = 0
        self._pending = []


class RaggedStore:
    """Variable-length integer rows (one per id, appended in id order) stored flat, gathered without loops."""

    def __init__(self, dtype: Any = np.int64) -> None:
        self.flat = Growable(dtype)
        self.starts = Growable(np.int64)
        self.lengths = Growable(np.int64)

    def __len__(self) -> int:
        return self.lengths.size

    def append(self, row: Any) -> None:
        self.starts.append(self.flat.size)
        self.lengths.append(len(row))
        self.flat.extend(row)

    def clear(self) -> None:
        self.flat.clear()
        self.starts.clear()
        self.lengths.clear()

    def gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``ids`` concatenated, and each row's length."""
        lengths = self.lengths.array[ids]
        total = int(lengths.sum())
        out_starts = np.cumsum(lengths) - lengths
        index = np.repeat(self.starts.array[ids] - out_starts, lengths) + np.arange(total, dtype=np.int64)
        return self.flat.array[index], lengths


class TokenTable:
    """Normalised token strings <-> dense integer ids, shared by every consumer of a :class:`TokenBatch`.

    Consumers keep per-token data in arrays indexed by these ids, extended as the table grows; when the
    table is cleared ``generation`` changes and they clear theirs.
    """

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.index: dict[str, int] = {}
        self.generation = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        found = self.index.get(token)
        if found is None:
            found = self.index[token] = len(self.tokens)
            self.tokens.append(token)
        return found

    def clear(self) -> None:
        self.tokens = []
        self.index = {}
        self.generation += 1


class TokenBatch(Sequence[str]):
    """A batch of normalised posts as token ids: ``occurrences[i]`` is a token of post ``docs[i]``, posts in
    order and each post's tokens in order (so both arrays are grouped by post).

    It is also the sequence of the normalised posts as strings (built on first use), so that code written for
    normalised strings takes it as they are; the fast scorers read the ids instead.
    """

    def __init__(self, table: TokenTable, occurrences: np.ndarray, docs: np.ndarray, n: int) -> None:
        self.table = table
        self.occurrences = occurrences
        self.docs = docs
        self.n = n
        self._texts: list[str] | None = None

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.texts()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts())

    @classmethod
    def from_texts(cls, normalised: Sequence[str], table: TokenTable | None = None) -> TokenBatch:
        """Normalised strings (tokens separated by spaces) as a batch, their tokens added to ``table`` (a new
        table when None)."""
        table = table if table is not None else TokenTable()
        token_lists = [text.split() for text in normalised]
        table_id = table.id
        occurrences = np.fromiter(
            (table_id(t) for tokens in token_lists for t in tokens),
            dtype=np.int64,
            count=sum(len(tokens) for tokens in token_lists),
        )
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        docs = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
        return cls(table, occurrences, docs, len(token_lists))

    def texts(self) -> list[str]:
        """The normalised posts as strings (tokens joined by single spaces)."""
        if self._texts is None:
            tokens = self.table.tokens
            words = [tokens[i] for i in self.occurrences.tolist()]
            bounds = np.searchsorted(self.docs, np.arange(self.n + 1)).tolist()
            self._texts = [" ".join(words[bounds[i] : bounds[i + 1]]) for i in range(self.n)]
        return self._texts


class CachedNormaliser:
    """``normaliser.normalise_many`` with the per-chunk work memoised (see the module docstring).

    :meth:`encode` gives token ids directly (what the scorers consume); :meth:`normalise_many` the strings.
    """

    def __init__(
        self, normaliser: TweetNormaliser, max_entries: int = MAX_CHUNK_CACHE, max_tokens: int = MAX_TOKEN_CACHE
    ) -> None:
        self.normaliser = normaliser
        self.max_entries = max_entries
        self.max_tokens = max_tokens
        self.table = TokenTable()
        self._special_cases: frozenset[str] | None = None  # the spaCy tokenizer's special-case strings
        self._reset()

    def _reset(self) -> None:
        if self.table.generation > 0:
            # Also drop spaCy's tokenizer: its vocabulary keeps every string it has seen. Rebuilt on next use.
            self.normaliser._tokenizer = None
        self.table.clear()
        self._chunks: dict[str, int] = {}  # raw chunk (of clean_post output) -> chunk id
        self._chunk_tokens = RaggedStore()  # chunk id -> its token ids
        # A post whose every chunk is a link becomes this pseudo-chunk (TweetNormaliser.clean's placeholder).
        self._links_only = len(self._chunk_tokens)
        self._chunk_tokens.append([self.table.id("xxurl")])

    def _fill(self, missing: set[str]) -> None:
        normaliser = self.normaliser
        tokenizer = normaliser.tokenizer
        if self._special_cases is None:
            self._special_cases = frozenset(tokenizer.rules)
        special = self._special_cases
        lowercase = normaliser.lowercase
        finish = normaliser._finish
        table_id = self.table.id
        ordered = sorted(missing)  # deterministic ids (sets of str are hash-randomised)
        pieces_of = [normaliser.clean_chunk(chunk).split(" ") for chunk in ordered]
        # A piece of ASCII letters that is no special case ("dont", "gonna") is one token whatever spaCy's
        # affix rules (they split punctuation, symbols, digits and apostrophes): most pieces, no spaCy call.
        # Every other piece gets its own Doc: spaCy's special cases are matched over a whole Doc, and a long
        # text of many pieces tokenises some emoticon runs (":****", "(((:") differently from the post itself.
        complex_pieces = sorted(
            {p for pieces in pieces_of for p in pieces if p and not (p.isascii() and p.isalpha() and p not in special)}
        )
        spacy_tokens = {
            piece: finish(doc) for piece, doc in zip(complex_pieces, tokenizer.pipe(complex_pieces, batch_size=1000))
        }
        for chunk, pieces in zip(ordered, pieces_of):
            ids: list[int] = []
            for piece in pieces:
                if not piece:
                    continue
                tokens = spacy_tokens.get(piece)
                if tokens is None:
                    ids.append(table_id(piece.lower() if lowercase else piece))
                else:
                    ids.extend(table_id(t) for t in tokens)
            self._chunks[chunk] = len(self._chunk_tokens)
            self._chunk_tokens.append(ids)

    def encode(self, texts: Sequence[str]) -> TokenBatch:
        """The normalised token ids of ``texts``."""
        clean_post = self.normaliser.clean_post
        split = [clean_post(t).split() for t in texts]
        n = len(split)
        n_chunks = np.fromiter(map(len, split), dtype=np.int64, count=n)
        flat = list(chain.from_iterable(split))
        # Dictionary lookups at C speed; -1 marks a chunk not seen yet (only those take Python-level work).
        chunk_ids = np.array(list(map(self._chunks.get, flat, repeat(-1))), dtype=np.int64)
        new_at = np.flatnonzero(chunk_ids < 0)
        if len(new_at):
            missing = {flat[i] for i in new_at.tolist()}
            if len(self._chunks) + len(missing) > self.max_entries or len(self.table) > self.max_tokens:
                self._reset()  # flat memory beats a perfect hit rate: start again from this batch's chunks
                missing = set(flat)
                new_at = np.arange(len(flat))
            self._fill(missing)
            get = self._chunks.__getitem__
            chunk_ids[new_at] = [get(flat[i]) for i in new_at.tolist()]
        chunk_docs = np.repeat(np.arange(n, dtype=np.int64), n_chunks)
        lengths = self._chunk_tokens.lengths.array[chunk_ids]
        per_doc = np.bincount(chunk_docs, weights=lengths, minlength=n)
        links_only = np.flatnonzero((per_doc == 0) & (n_chunks > 0))
        if len(links_only):
            first_chunk = (np.cumsum(n_chunks) - n_chunks)[links_only]
            chunk_ids[first_chunk] = self._links_only
        occurrences, lengths = self._chunk_tokens.gather(chunk_ids)
        return TokenBatch(self.table, occurrences, np.repeat(chunk_docs, lengths), n)

    def normalise_many(self, texts: Sequence[str]) -> list[str]:
        return self.encode(list(texts)).texts()


class TokenPreparer:
    """A classifier's ``prepare`` (identity masks, then scope marks: :func:`pipeline.models.linear.prepare_texts`) on
    a :class:`TokenBatch`, with the same tokens as the string version gives.

    Most of it is array work on data cached per distinct token (its masked form, whether it belongs to an identity
    phrase, whether it is punctuation, its :func:`~pipeline.text.scope.trigger_bits`): masking is a gather, and only
    the posts that hold a whole identity phrase (rare), or the words some scope rule needs (about three posts in
    ten; :func:`~pipeline.text.scope.needs_marking`), go through the Python rules. Those return the positions they
    mark (:func:`~pipeline.text.scope.scope_marks`); every other token keeps its id. Marked tokens (``¬good``) join
    the batch's token table, so their features are computed once per distinct token too.
    """

    def __init__(self, *, mark_scope: bool, mask_identity: bool) -> None:
        from pipeline.text.identity import IDENTITY_PHRASES

        self.mark_scope = mark_scope
        self.mask_identity = mask_identity
        # Identity phrases as packed keys of their tokens' ids in a small table, by length (as word n-grams are).
        self.phrase_tokens: dict[str, int] = {}
        for phrase in IDENTITY_PHRASES:
            for token in phrase:
                self.phrase_tokens.setdefault(token, len(self.phrase_tokens))
        self.phrase_base = len(self.phrase_tokens) + 1
        by_length: dict[int, list[int]] = {}
        for phrase in IDENTITY_PHRASES:
            key = 0
            for token in phrase:
                key = key * self.phrase_base + self.phrase_tokens[token]
            by_length.setdefault(len(phrase), []).append(key)
        self.phrase_keys = {n: np.unique(np.asarray(keys, dtype=np.int64)) for n, keys in by_length.items()}
        self._marked: dict[tuple[str, int], int] = {}  # (marker, token id) -> the marked token's id
        self._table: TokenTable | None = None
        self._generation = -1

    def _sync(self, table: TokenTable) -> None:
        from pipeline.text.identity import IDENTITY_WORDS
        from pipeline.text.scope import is_punctuation

        if table is not self._table or table.generation != self._generation:
            self._table, self._generation = table, table.generation
            self._masked = Growable(np.int64)  # token id -> the id of its masked form (its own id if none)
            self._phrase = Growable(np.int64)  # token id -> its id among the phrase tokens, -1 if in no phrase
            self._bits = Growable(np.int64)  # token id -> trigger_bits
            self._punct = Growable(bool)  # token id -> is_punctuation
            self._marked = {}
        # Masking adds placeholders to the table: loop until every token, placeholders included, has its row.
        while self._masked.size < len(table):
            for i, token in enumerate(table.tokens[self._masked.size :], self._masked.size):
                placeholder = IDENTITY_WORDS.get(token) if self.mask_identity else None
                self._masked.append(table.id(placeholder) if placeholder is not None else i)
                self._phrase.append(self.phrase_tokens.get(token, -1))
                self._bits.append(trigger_bits(token))
                self._punct.append(is_punctuation(token))

    def _phrase_docs(self, occurrences: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """The posts that hold a whole identity phrase (their masks are not token by token)."""
        part_of = self._phrase.array[occurrences]
        found: list[np.ndarray] = []
        total = len(occurrences)
        for n, keys in self.phrase_keys.items():
            if total < n:
                continue
            m = total - n + 1
            valid = (docs[:m] == docs[n - 1 :]) & (part_of[:m] >= 0)
            key = part_of[:m].copy()
            for k in range(1, n):
                part = part_of[k : k + m]
                valid &= part >= 0
                key = key * self.phrase_base + part
            at = np.flatnonzero(valid)
            if len(at):
                found.append(docs[at[np.isin(key[at], keys)]])
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def _mask(self, batch: TokenBatch) -> tuple[np.ndarray, np.ndarray]:
        """Occurrences and their posts with identity words masked: a gather, and :func:`mask_tokens` for the posts
        with a phrase (which become shorter)."""
        from pipeline.text.identity import mask_tokens

        occurrences, docs, n = batch.occurrences, batch.docs, batch.n
        masked = self._masked.array[occurrences]
        redo = self._phrase_docs(occurrences, docs)
        if not len(redo):
            return masked, docs
        table, tokens = batch.table, batch.table.tokens
        bounds = np.searchsorted(docs, np.arange(n + 1))
        lengths = np.diff(bounds)
        new_ids: list[int] = []
        for d in redo.tolist():
            words = mask_tokens([tokens[i] for i in occurrences[bounds[d] : bounds[d + 1]].tolist()])
            new_ids.extend(map(table.id, words))
            lengths[d] = len(words)
        self._sync(table)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        out = np.empty(int(starts[-1]), dtype=np.int64)
        changed = np.zeros(n, dtype=bool)
        changed[redo] = True
        kept = np.flatnonzero(~changed[docs])
        out[starts[docs[kept]] + kept - bounds[docs[kept]]] = masked[kept]
        redo_lengths = lengths[redo]
        first = np.repeat(starts[redo] - np.cumsum(redo_lengths) + redo_lengths, redo_lengths)
        out[first + np.arange(len(first))] = np.asarray(new_ids, dtype=np.int64)
        return out, np.repeat(np.arange(n, dtype=np.int64), lengths)

    def _mark(self, table: TokenTable, occurrences: np.ndarray, docs: np.ndarray, n: int) -> TokenBatch:
        """The batch with scopes marked: the Python rules on the posts that have words they need."""
        from pipeline.text.scope import scope_marks

        bits = self._bits.array[occurrences]
        cued = np.flatnonzero(bits)
        doc_bits = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(doc_bits, docs[cued], bits[cued])
        needed = np.flatnonzero(
            (doc_bits & CUE).astype(bool)
            | (doc_bits & (QUESTION | ANSWER) == QUESTION | ANSWER)
            | (doc_bits & (USED | NOW) == USED | NOW)
        )
        if not len(needed):
            return TokenBatch(table, occurrences, docs, n)
        bounds = np.searchsorted(docs, np.arange(n + 1))
        starts, ends = bounds[needed], bounds[needed + 1]
        # The needed posts' tokens and punctuation flags as flat Python lists, sliced per post.
        take = np.repeat(starts - np.cumsum(ends - starts) + (ends - starts), ends - starts)
        take += np.arange(len(take))
        ids = occurrences[take].tolist()
        tokens = table.tokens
        words = [tokens[i] for i in ids]
        punct = self._punct.array[occurrences[take]].tolist()
        positions: list[int] = []
        marked_ids: list[int] = []
        dropped: list[int] = []
        cache, table_id = self._marked, table.id
        offset = 0
        for start, length in zip(starts.tolist(), (ends - starts).tolist()):
            marks, drop = scope_marks(words[offset : offset + length], punct[offset : offset + length])
            for j, mark in marks:
                key = (mark, ids[offset + j])
                found = cache.get(key)
                if found is None:
                    found = cache[key] = table_id(mark + words[offset + j])
                positions.append(start + j)
                marked_ids.append(found)
            if drop:
                dropped.extend(start + j for j in drop)
            offset += length
        out = occurrences.copy()
        if positions:
            out[positions] = marked_ids
        if dropped:
            out, docs = np.delete(out, dropped), np.delete(docs, dropped)
        return TokenBatch(table, out, docs, n)

    def prepare(self, batch: TokenBatch) -> TokenBatch:
        """The batch as the classifier's features read it: masked, then marked."""
        table = batch.table
        self._sync(table)
        occurrences, docs = self._mask(batch) if self.mask_identity else (batch.occurrences, batch.docs)
        if not self.mark_scope:
            return TokenBatch(table, occurrences, docs, batch.n)
        return self._mark(table, occurrences, docs, batch.n)


class _StaticTokenVectors:
    """The static-embedding logits of one ``tfidf_logreg.v2`` classifier (:mod:`pipeline.models.static_embeddings`).

    Each distinct token's word-piece rows are cached (a few integers, indexed by the token table's ids). A post's
    logits are ``coef @ (s / |s|)`` with ``s`` the sum of its pieces' vectors, so a batch is two sparse
    (post x piece) products: with the table, for the norms, and with the table already multiplied by the
    coefficients, for the logits. No dense BLAS product runs per batch: its threads would spin after each call
    and take CPU from the other workers.
    """

    def __init__(self, static: Any, coef_t: np.ndarray) -> None:
        self.static = static
        self.table32 = np.asarray(static.vectors_, dtype=np.float32)
        width = self.table32.shape[1]
        # With scope blocks (pipeline.text.scope), each block (plain, negated, set aside) has its own coefficients.
        self.n_blocks = int(getattr(static, "n_blocks", 1))
        self.piece_logits = [
            np.ascontiguousarray(self.table32 @ coef_t[b * width : (b + 1) * width], dtype=np.float32)
            for b in range(self.n_blocks)
        ]
        self._pieces = RaggedStore()
        self._blocks = Growable(np.int64)  # token id -> its scope block
        self._table: TokenTable | None = None
        self._generation = -1

    def _sync(self, table: TokenTable) -> None:
        if table is not self._table or table.generation != self._generation:
            self._table, self._generation = table, table.generation
            self._pieces = RaggedStore()
            self._blocks = Growable(np.int64)
        from pipeline.models.static_embeddings import scope_block

        for token in table.tokens[len(self._pieces) :]:
            self._pieces.append(self.static.token_rows(token))
            self._blocks.append(scope_block(token) if self.n_blocks > 1 else 0)

    def logits(self, batch: TokenBatch) -> np.ndarray:
        """(n, n_classes) contribution of the static block to a batch's logits (zero for a post without pieces)."""
        self._sync(batch.table)
        n = batch.n
        squared = np.zeros(n, dtype=np.float32)
        out = np.zeros((n, self.piece_logits[0].shape[1]), dtype=np.float32)
        if self.n_blocks == 1:
            parts = [(batch.occurrences, batch.docs)]
        else:
            blocks = self._blocks.array[batch.occurrences]
            parts = [(batch.occurrences[blocks == b], batch.docs[blocks == b]) for b in range(self.n_blocks)]
        for b, (occurrences, docs) in enumerate(parts):
            if not len(occurrences):
                continue
            # The posts with tokens in this block (all of them for plain tokens; few hold negated or set-aside
            # ones): the dense sums are computed for those rows only.
            new_post = np.empty(len(docs), dtype=bool)
            new_post[0] = True
            np.not_equal(docs[1:], docs[:-1], out=new_post[1:])
            posts = docs[new_post]
            rows, sizes = self._pieces.gather(occurrences)
            # Occurrences are grouped by post, so the rows are already in CSR order (repeated columns add up).
            indptr = np.zeros(len(posts) + 1, dtype=np.int64)
            np.cumsum(
                np.bincount(np.cumsum(new_post) - 1, weights=sizes, minlength=len(posts)).astype(np.int64),
                out=indptr[1:],
            )
            counts = sp.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), rows, indptr), shape=(len(posts), len(self.table32))
            )
            sums = np.asarray(counts @ self.table32, dtype=np.float32)
            squared[posts] += np.einsum("ij,ij->i", sums, sums)
            out[posts] += np.asarray(counts @ self.piece_logits[b], dtype=np.float32)
        norms = np.sqrt(squared)[:, None]
        norms[norms == 0] = 1.0
        return out / norms


class _ClassifierView:
    """One classifier's columns, IDF and weights, indexed by the merged feature ids."""

    def __init__(self, clf: Any, colmap: np.ndarray) -> None:
        featuriser = clf.featuriser_
        self.clf = clf
        self.colmap = colmap  # merged id -> this classifier's column, -1 when it does not use the feature
        self.idf = np.concatenate([np.asarray(idf, dtype=np.float32) for _, _, idf in featuriser.blocks_])
        self.char_weight = np.float32(featuriser.char_weight)
        # tfidf_logreg.v2: n-gram columns first, then the static-embedding block (times its weight).
        self.n_features = int(getattr(featuriser, "n_ngram_features_", featuriser.n_features_))
        coef = np.asarray(clf.coef_, dtype=np.float32)
        self.coef_t = np.ascontiguousarray(coef[:, : self.n_features].T)
        self.intercept = np.asarray(clf.intercept_, dtype=np.float32)
        static = getattr(featuriser, "static", None)
        self.static: _StaticTokenVectors | None = None
        if static is not None:
            weight = np.float32(featuriser.static_weight)
            self.static = _StaticTokenVectors(static, coef[:, self.n_features :].T * weight)


class SharedFeatureScorer:
    """Logits of several ``tfidf_logreg.v1``/``v2`` classifiers from one shared n-gram pass (module docstring)."""

    def __init__(self, classifiers: dict[str, Any]) -> None:
        self.tasks = list(classifiers)
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
                        if low <= len(term) <= high + 1:  # + 1: a scope marker (pipeline.text.scope) before an n-gram
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
            for kind, vocab in blocks:
                if kind == "word":
                    for term, col in vocab.items():
                        word = word_terms.get(term)
                        if word is not None:
                            colmap[word] = offset + col
                else:
                    for term, col in vocab.items():
                        merged = self.char_ids.get(term)
                        if merged is not None:
                            colmap[merged] = offset + col
                offset += len(vocab)
            self.views.append(_ClassifierView(clf, colmap))
        # All classifiers' weights in the merged id space, IDF folded in: block @ weights gives every task's
        # unnormalised logits in one sparse product; squared IDF per task gives the blocks' squared norms.
        widths = [view.coef_t.shape[1] for view in self.views]
        self.task_columns = np.cumsum([0, *widths]).tolist()
        weights = np.zeros((self.n_merged, sum(widths)), dtype=np.float32)
        idf_sq = np.zeros((self.n_merged, len(self.views)), dtype=np.float32)
        for vi, view in enumerate(self.views):
            used = np.flatnonzero(view.colmap >= 0)
            cols = view.colmap[used]
            idf = view.idf[cols]
            weights[used, self.task_columns[vi] : self.task_columns[vi + 1]] = idf[:, None] * view.coef_t[cols]
            idf_sq[used, vi] = idf * idf
        self.block_weights = (weights[: self.n_word], weights[self.n_word :])
        self.block_idf_sq = (idf_sq[: self.n_word], idf_sq[self.n_word :])
        # Keys (post * n_merged + feature) fit in int32 for batches up to this many posts: half the sort work.
        self.int32_posts = max(1, (2**31 - 1) // max(self.n_merged, 1))
        self._generation = -1
        self._table: TokenTable | None = None

    # -- per-token data, indexed by the token table's ids -------------------------------------------------
    def _sync(self, table: TokenTable) -> None:
        if table is not self._table or table.generation != self._generation:
            self._table, self._generation = table, table.generation
            self._features = RaggedStore()  # token id -> merged ids: unigram (if any) + each char n-gram
            self._ngram = Growable(np.int64)  # token id -> id in the n-gram token table, -1 if in no n-gram
        get_char = self.char_ids.get
        low, high = self.char_range
        for token in table.tokens[len(self._features) :]:
            ids: list[int] = []
            j = self.unigram_ids.get(token)
            if j is not None:
                ids.append(j)
            if token[:1] in MARKS and len(token) > 1:  # a scope-marked token: its n-grams carry the marker
                ids.extend(c for c in map(get_char, token_char_ngrams(token, low, high)) if c is not None)
            else:
                padded = f" {token} "
                length = len(padded)
                for n in range(low, high + 1):
                    if n > length:
                        break
                    for i in range(length - n + 1):
                        c = get_char(padded[i : i + n])
                        if c is not None:
                            ids.append(c)
            self._features.append(ids)
            self._ngram.append(self.ngram_tokens.get(token, -1))

    # -- scoring ----------------------------------------------------------------------------------------
    def _merged_counts(self, batch: TokenBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(post, merged id, count) triples of a batch, sorted by post then id (int32 ids for most batches)."""
        self._sync(batch.table)
        occurrences, occ_doc = batch.occurrences, batch.docs
        n_tokens = len(occurrences)
        # Unigram + character n-gram ids: every occurrence's cached row, gathered without a Python loop.
        flat, sizes = self._features.gather(occurrences)
        ids_parts = [flat]
        doc_parts = [np.repeat(occ_doc, sizes)]
        # Word n-grams, n >= 2: consecutive tokens of the same post, packed into int64 keys.
        ngram_of = self._ngram.array[occurrences]
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
            # Sorted needles walk the table in order (cache-friendly): several times faster than random ones.
            order = np.argsort(key)
            at = np.empty_like(order)
            at[order] = np.searchsorted(keys, key[order])
            at[at >= len(keys)] = 0
            hit = keys[at] == key
            ids_parts.append(ids[at[hit]])
            doc_parts.append(occ_doc[positions[hit]])
        merged = np.concatenate(ids_parts)
        docs = np.concatenate(doc_parts)
        dtype: Any = np.int32 if batch.n <= self.int32_posts else np.int64
        cells: np.ndarray = docs.astype(dtype) * self.n_merged + merged.astype(dtype)
        cells.sort()
        if not len(cells):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        new_cell = np.empty(len(cells), dtype=bool)
        new_cell[0] = True
        np.not_equal(cells[1:], cells[:-1], out=new_cell[1:])
        starts = np.flatnonzero(new_cell)
        counts = np.empty(len(starts), dtype=np.int64)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1] = len(cells) - starts[-1]
        pair = cells[starts]
        post = pair // self.n_merged
        return post, pair - post * self.n_merged, counts

    def logits(self, normalised: Sequence[str] | TokenBatch) -> dict[str, np.ndarray]:
        """Per task, the (n, n_classes) float32 logits the classifier's ``decision_function`` gives."""
        batch = normalised if isinstance(normalised, TokenBatch) else TokenBatch.from_texts(normalised, self._table)
        n = batch.n
        docs, merged, counts = self._merged_counts(batch)
        tf = np.log(counts.astype(np.float32)) + np.float32(1.0)  # sublinear tf: 1 + log(count)
        # NgramFeaturiser L2-normalises the word and the character block of a post each on its own, so
        # logits = (X_word @ W) / |x_word| + char_weight * (X_char @ W) / |x_char| + b, with X the TF-IDF: each
        # block is a sparse product of the raw TF with IDF-scaled weights (all tasks at once), then scaled per
        # post. Merged ids put words first, and the entries are grouped by post (CSR without a sort).
        is_word = merged < self.n_word
        products = []
        for mask, offset, weights, idf_sq in zip(
            (is_word, ~is_word), (0, self.n_word), self.block_weights, self.block_idf_sq
        ):
            d, t = docs[mask], tf[mask]
            m = merged[mask] - offset
            indptr = np.zeros(n + 1, dtype=m.dtype)
            np.cumsum(np.bincount(d, minlength=n), out=indptr[1:])
            shape = (n, weights.shape[0])
            raw = np.asarray(sp.csr_matrix((t, m, indptr), shape=shape) @ weights)
            norms = np.sqrt(np.asarray(sp.csr_matrix((t * t, m, indptr), shape=shape) @ idf_sq))
            norms[norms == 0] = 1.0
            products.append((raw, norms))
        (word, word_norms), (char, char_norms) = products
        out: dict[str, np.ndarray] = {}
        for vi, (task, view) in enumerate(zip(self.tasks, self.views)):
            cols = slice(self.task_columns[vi], self.task_columns[vi + 1])
            out[task] = (
                word[:, cols] / word_norms[:, vi : vi + 1]
                + word.dtype.type(view.char_weight) * char[:, cols] / char_norms[:, vi : vi + 1]
                + view.intercept
            )
            if view.static is not None:
                out[task] += view.static.logits(batch)
        return out


def _is_default_kind(bundle: Any) -> bool:
    from pipeline.models.features import NgramFeaturiser
    from pipeline.models.linear import TfidfLogisticClassifier, TfidfStaticLogisticClassifier
    from pipeline.models.static_embeddings import NgramStaticFeaturiser

    if not isinstance(bundle.normaliser, TweetNormaliser) or not bundle.classifiers:
        return False
    kinds = {TfidfLogisticClassifier: NgramFeaturiser, TfidfStaticLogisticClassifier: NgramStaticFeaturiser}
    return all(
        type(clf) in kinds and type(getattr(clf, "featuriser_", None)) is kinds[type(clf)]
        for clf in bundle.classifiers.values()
    )


class FastPredictor:
    """``Predictor.predict_proba`` for bundles of ``tfidf_logreg.v1`` or ``v2`` classifiers, via the fast path."""

    def __init__(self, bundle: Any) -> None:
        self.normaliser = CachedNormaliser(bundle.normaliser)
        self.classifiers = bundle.classifiers
        self.scorer = SharedFeatureScorer(bundle.classifiers)
        # Tasks grouped by how their classifiers prepare texts (identity masks, scope marks: classifiers.prepare);
        # each group is scored on its own prepared batch.
        self.preparations: dict[tuple[bool, bool], list[str]] = {}
        for task, clf in bundle.classifiers.items():
            key = (bool(getattr(clf, "mark_scope", False)), bool(getattr(clf, "mask_identity", False)))
            self.preparations.setdefault(key, []).append(task)
        self.preparers = {
            key: TokenPreparer(mark_scope=key[0], mask_identity=key[1]) for key in self.preparations if any(key)
        }

    @classmethod
    def for_bundle(cls, bundle: Any) -> FastPredictor | None:
        """A fast predictor, or None when the bundle has another kind of model or the path is switched off."""
        if not fastpath_enabled() or not _is_default_kind(bundle):
            return None
        try:
            return cls(bundle)
        except ValueError:  # vocabulary too large for packed keys: the reference path still works
            return None

    def encode(self, texts: Sequence[str]) -> TokenBatch:
        """Normalised token ids of ``texts`` (for :meth:`proba` and the fast topic scorer)."""
        return self.normaliser.encode(texts)

    def logits(self, normalised: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, the logits of each classifier's ``decision_function`` on normalised posts (a batch from
        :meth:`encode`, or strings), each classifier's identity masks and scope marks applied as its ``prepare``
        does."""
        batch = normalised
        if not isinstance(batch, TokenBatch):
            batch = TokenBatch.from_texts(normalised, self.normaliser.table)
        logits: dict[str, np.ndarray] = {}
        for key, tasks in self.preparations.items():
            preparer = self.preparers.get(key)
            found = self.scorer.logits(batch if preparer is None else preparer.prepare(batch))
            logits.update((task, found[task]) for task in tasks)
        return {task: logits[task] for task in self.classifiers}

    def proba(self, normalised: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, calibrated probabilities of normalised posts: a batch from :meth:`encode`, or strings."""
        if len(normalised) == 0:
            return {task: np.zeros((0, len(clf.classes_))) for task, clf in self.classifiers.items()}
        return {task: self.classifiers[task]._calibrate(z) for task, z in self.logits(normalised).items()}

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray]]:
        batch = self.encode(texts)
        return batch.texts(), self.proba(batch)
