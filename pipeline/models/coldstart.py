"""The cold-start path of ``voc predict TEXT...``: a few posts labelled without importing numpy, scipy or spaCy.

A terminal user, a shell loop or a cron job that checks one post pays the start-up of a process each time. The batch
path (:class:`pipeline.models.predict.Predictor` and :mod:`pipeline.models.fastpath`) spends it on imports (numpy,
scipy, spaCy: ~0.8 s) and on tables that pay off over thousands of posts (~0.8 s). For a few posts this module
computes the same thing as the reference implementation, in plain Python:

* **tokens**: :class:`~pipeline.text.normalise.TweetNormaliser`'s cleaning rules, then spaCy's English tokenizer
  replayed from a snapshot of its rules (:mod:`pipeline.text.en_tokenizer`), piece by piece as the batch fast path
  does; then each classifier's identity masks and scope marks (``mask_identity``, ``mark_scope``:
  :mod:`pipeline.text.identity`, :mod:`pipeline.text.scope`, plain Python already);
* **features and logits**: each classifier's word and character n-grams (:mod:`pipeline.text.ngrams`), looked up by
  binary search in a sorted index of the vocabulary (``<task>/lookup.npz``, written with the bundle: character
  offsets of the terms inside ``vocabulary.json``), with sublinear TF, IDF, per-block L2 norms and the static
  word-piece block read in place from ``weights.npz`` (stored uncompressed since this path exists), one static sum
  per scope block when the bundle marks scopes;
* **probabilities and labels**: the classifier's calibration and abstention threshold.

Loading reads each file of the bundle once: the bytes that were hashed are the bytes used (:func:`open_bundle`), and
the NPZ members are parsed here without numpy (``.npy`` headers read with :func:`ast.literal_eval`, plain numeric
dtypes only, never pickles). Results equal the reference to float rounding (~1e-7; ``tests/test_coldstart.py``
checks labels and scores against the reference and the fast path on the demo posts and the behaviour tests).

Anything this path does not handle (another kind of model, a bundle saved before ``lookup.npz`` existed, a spaCy
version without a snapshot, more than :data:`COLDSTART_MAX_TEXTS` texts or :data:`COLDSTART_MAX_CHARS` characters,
``VOC_FASTPATH=0`` or ``VOC_COLDSTART=0``) goes to the batch path, with the files already verified.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import struct
import sys
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import BundleError
from pipeline.models.bundle import TASKS, VerifiedBundle, check_labels, open_bundle
from pipeline.models.lookup import LOOKUP_FILE, build_lookup, scanstring
from pipeline.text.identity import mask_tokens
from pipeline.text.ngrams import char_ngrams, word_ngrams
from pipeline.text.normalise import TweetNormaliser, normaliser_from_config
from pipeline.text.scope import NEGATED, SET_ASIDE, mark_tokens, split_mark

if TYPE_CHECKING:
    from pipeline.text.en_tokenizer import SnapshotTokenizer

# Up to this many texts (and characters in all), ``voc predict`` takes this path; more go to the batch path. Measured
# on 2 cores: this path costs ~2.5 ms a demo post (~30 us a character), the batch path ~1.3 s to start and then far
# less a post, so they cross near 500 posts; these bounds keep this path under half the batch path's time.
COLDSTART_MAX_TEXTS = 200
COLDSTART_MAX_CHARS = 20_000
_KEPT_NAMES = ("normaliser.json", "classifier.json", "vocabulary.json", "weights.npz", LOOKUP_FILE)
# numpy dtype strings this reader accepts, as struct formats (little-endian only: checked below).
_DTYPES = {"<f4": "f", "<f8": "d", "<f2": "e", "|i1": "b", "<i4": "i", "<i8": "q", "|u1": "B"}
_WS = re.compile(r"[ \t\n\r]*")
_CLASSIFIER_NAMES = ("tfidf_logreg.v1", "tfidf_logreg.v2")
# What TfidfLogisticClassifier / TfidfStaticLogisticClassifier.get_params and NgramFeaturiser.get_params write (a
# test checks that they still do): a spec with other keys would fail the batch loader, so it is left to that loader.
CLASSIFIER_PARAMS_V1 = frozenset(
    {
        "word_ngrams",
        "char_ngrams",
        "min_df",
        "max_word_features",
        "max_char_features",
        "char_weight",
        "C",
        "class_weight",
        "max_iter",
        "calibration_folds",
        "abstain_label",
        "name_swap",
        "mark_scope",
        "mask_identity",
        "seed",
        "n_jobs",
    }
)
CLASSIFIER_PARAMS_V2 = CLASSIFIER_PARAMS_V1 | {
    "static_table",
    "static_weight",
    "static_dims",
    "static_min_count",
    "static_sif_a",
    "static_storage",
}
NGRAM_PARAMS = frozenset(
    {"word_ngrams", "char_ngrams", "min_df", "max_word_features", "max_char_features", "char_weight"}
)
STATIC_PARAMS = frozenset({"table", "dims", "sif_a", "min_count", "scope_blocks"})


class Unsupported(Exception):
    """This bundle or request is not for the cold-start path (the batch path takes it)."""


def coldstart_enabled() -> bool:
    """False when ``VOC_COLDSTART=0`` or ``VOC_FASTPATH=0`` (the reference implementation was asked for)."""
    off = ("0", "false", "no")
    return os.environ.get("VOC_COLDSTART", "1") not in off and os.environ.get("VOC_FASTPATH", "1") not in off


# -- the vocabulary index -------------------------------------------------------------------------------------------
class SortedTerms:
    """Term -> column of one vocabulary kind, by binary search over the terms as they lie in ``vocabulary.json``."""

    def __init__(self, text: str, offsets: Sequence[int], columns: Sequence[int] | None) -> None:
        self.text = text
        self.offsets = offsets
        self.columns = columns
        self._probed: dict[int, str] = {}  # the upper levels of the search are the same for every term: cached

    def __len__(self) -> int:
        return len(self.offsets)

    def _term(self, rank: int) -> str:
        term = self._probed.get(rank)
        if term is None:
            offset = self.offsets[rank]
            if not 0 <= offset < len(self.text) or self.text[offset] != '"':
                raise Unsupported("vocabulary index does not match vocabulary.json")
            term = scanstring(self.text, offset + 1)[0]
            if len(self._probed) < 65_536:
                self._probed[rank] = term
        return term

    def get(self, term: str, default: int | None = None) -> int | None:
        lo, hi = 0, len(self.offsets)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._term(mid) < term:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.offsets) and self._term(lo) == term:
            return lo if self.columns is None else self.columns[lo]
        return default


# -- NPZ members without numpy ----------------------------------------------------------------------------------------
class Array:
    """A numeric ``.npy`` array as a flat memoryview (C order) and its shape."""

    def __init__(self, values: Any, shape: tuple[int, ...], dtype: str) -> None:
        self.values = values
        self.shape = shape
        self.dtype = dtype


def _parse_npy(member: memoryview) -> Array:
    if bytes(member[:6]) != b"\x93NUMPY" or len(member) < 10:
        raise Unsupported("not an .npy member")
    major = member[6]
    if major == 1:
        (header_len,) = struct.unpack_from("<H", member, 8)
        start = 10
    elif major in (2, 3):
        (header_len,) = struct.unpack_from("<I", member, 8)
        start = 12
    else:
        raise Unsupported(f".npy version {major}")
    try:
        header = ast.literal_eval(bytes(member[start : start + header_len]).decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise Unsupported(f".npy header ({exc})") from None
    if not isinstance(header, dict):
        raise Unsupported(".npy header is not a dict")
    descr, fortran, shape = header.get("descr"), header.get("fortran_order"), header.get("shape")
    if descr not in _DTYPES or not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise Unsupported(f".npy dtype {descr!r} or shape {shape!r}")
    if fortran and len(shape) > 1:
        raise Unsupported("Fortran-ordered .npy member")
    fmt = _DTYPES[descr]
    body = member[start + header_len :]
    count = math.prod(shape)
    if len(body) != count * struct.calcsize(fmt):
        raise Unsupported(".npy member size does not match its shape")
    # memoryview has no half floats: float16 members are unpacked (they are only ever small static tables).
    raw: Any = body  # memoryview.cast's stub wants a literal format
    values = list(struct.unpack(f"<{count}e", body)) if fmt == "e" else raw.cast(fmt)
    return Array(values, shape, str(descr))


def read_stored_npz(data: bytes) -> dict[str, Array]:
    """The arrays of an NPZ written by ``np.savez`` (members stored, not compressed), read in place."""
    if sys.byteorder != "little":
        raise Unsupported("big-endian machine")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unsupported(f"NPZ ({exc})") from None
    view = memoryview(data)
    arrays: dict[str, Array] = {}
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
            raise Unsupported("compressed NPZ (saved before the cold-start path existed)")
        start = info.header_offset
        if bytes(view[start : start + 4]) != b"PK\x03\x04":
            raise Unsupported("NPZ member header")
        name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
        begin = start + 30 + name_len + extra_len
        if begin + info.file_size > len(data):
            raise Unsupported("NPZ member out of range")
        arrays[info.filename[: -len(".npy")]] = _parse_npy(view[begin : begin + info.file_size])
    return arrays


# -- one linear classifier ---------------------------------------------------------------------------------------------
def _pair(value: Any) -> tuple[int, int] | None:
    if not value:
        return None
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise Unsupported(f"n-gram range {value!r}")
    return int(value[0]), int(value[1])


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unsupported(f"not a number: {value!r}")
    return float(value)


class _Block:
    """One n-gram block of a classifier: its terms, IDF, first column and weight."""

    def __init__(self, kind: str, ngrams: tuple[int, int], terms: SortedTerms, idf: Any, offset: int, weight: float):
        self.kind = kind
        self.ngrams = ngrams
        self.terms = terms
        self.idf = idf
        self.offset = offset
        self.weight = weight


class _Static:
    """The static word-piece block of a ``tfidf_logreg.v2`` classifier (:mod:`pipeline.models.static_embeddings`)."""

    def __init__(
        self, tokenizer: Any, rows: Any, vectors: Array, scales: Any, offset: int, weight: float, scope_blocks: bool
    ) -> None:
        self.tokenizer = tokenizer
        self.rows = rows
        self.vectors = vectors.values
        self.dims = vectors.shape[1]
        self.scales = scales  # None for float16 vectors
        self.offset = offset
        self.weight = weight
        # With scope blocks: the plain, negated and set-aside tokens' sums side by side (as static_embeddings does).
        self.blocks: tuple[str, ...] = ("", NEGATED, SET_ASIDE) if scope_blocks else ("",)
        self.width = len(self.blocks) * self.dims
        self._token_rows: dict[str, list[int]] = {}

    def token_rows(self, token: str) -> list[int]:
        from pipeline.text.wordpiece import token_view

        found = self._token_rows.get(token)
        if found is None:
            view = token_view(token)
            rows = self.rows
            found = [row for row in (rows[i] for i in self.tokenizer.encode(view)) if row >= 0] if view else []
            self._token_rows[token] = found
        return found

    def vector_sum(self, words: Sequence[str]) -> list[float] | None:
        """The sum of the post's pieces' vectors, one sum per scope block side by side (None when it has no piece
        with a vector)."""
        dims = self.dims
        sums: list[list[float] | None] = [None] * len(self.blocks)
        for token in words:
            block = self.blocks.index(split_mark(token)[0]) if len(self.blocks) > 1 else 0
            for row in self.token_rows(token):
                values = self.vectors[row * dims : (row + 1) * dims]
                if self.scales is not None:
                    scale = self.scales[row]
                    values = [v * scale for v in values.tolist()]
                total = sums[block]
                sums[block] = list(values) if total is None else [a + b for a, b in zip(total, values)]
        if all(total is None for total in sums):
            return None
        return [v for total in sums for v in (total if total is not None else [0.0] * dims)]


class LinearModel:
    """A ``tfidf_logreg.v1``/``v2`` classifier scored in plain Python (the module docstring)."""

    def __init__(self, spec: dict[str, Any], vocabulary: str, lookup: dict[str, Array], weights: dict[str, Array]):
        name = spec.get("name")
        params, featuriser = spec.get("params"), spec.get("featuriser")
        if name not in _CLASSIFIER_NAMES or not isinstance(params, dict) or not isinstance(featuriser, dict):
            raise Unsupported(f"classifier {name!r}")
        static_spec: dict[str, Any] | None = None
        if name == "tfidf_logreg.v2":
            if set(params) - CLASSIFIER_PARAMS_V2 or params.get("static_storage", "int8") not in ("int8", "float16"):
                raise Unsupported("classifier parameters")
            ngram_spec, static_spec = featuriser.get("ngrams"), featuriser.get("static")
            if set(featuriser) - {"ngrams", "static", "static_weight"} or not isinstance(static_spec, dict):
                raise Unsupported("featuriser parameters")
            if set(static_spec) - STATIC_PARAMS:
                raise Unsupported("static featuriser parameters")
            static_weight = _number(featuriser.get("static_weight"))
        else:
            if set(params) - CLASSIFIER_PARAMS_V1:
                raise Unsupported("classifier parameters")
            ngram_spec, static_weight = featuriser, 0.0
        if not isinstance(ngram_spec, dict) or set(ngram_spec) - NGRAM_PARAMS:
            raise Unsupported("featuriser parameters")
        classes = spec.get("classes")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or not classes:
            raise Unsupported("classes")
        self.classes: list[str] = classes
        self.temperature = _number(spec.get("temperature"))
        bias = spec.get("bias")
        if not isinstance(bias, list) or len(bias) != len(classes):
            raise Unsupported("calibration")
        self.bias = [_number(b) for b in bias]
        threshold = spec.get("abstain_threshold")
        self.threshold = None if threshold is None else _number(threshold)
        abstain = params.get("abstain_label")
        if abstain is not None and not isinstance(abstain, str):
            raise Unsupported("abstain_label")
        self.abstain_label: str = abstain or ""
        # Identity masks and scope marks (TfidfLogisticClassifier.prepare), applied to the normalised tokens.
        self.mask_identity = params.get("mask_identity", False)
        self.mark_scope = params.get("mark_scope", False)
        if not isinstance(self.mask_identity, bool) or not isinstance(self.mark_scope, bool):
            raise Unsupported("mask_identity / mark_scope")
        n_classes = len(classes)

        ranges = {"word": _pair(ngram_spec.get("word_ngrams")), "char": _pair(ngram_spec.get("char_ngrams"))}
        char_weight = _number(ngram_spec.get("char_weight", 1.0))
        self.blocks: list[_Block] = []
        offset = 0
        kinds = [k for k in ("word", "char") if f"offsets_{k}" in lookup]
        for kind in kinds:
            ngrams = ranges[kind]
            idf = weights.get(f"idf_{kind}")
            terms = _sorted_terms(vocabulary, lookup, kind)
            if ngrams is None or idf is None or idf.dtype != "<f4" or idf.shape != (len(terms),):
                raise Unsupported(f"{kind} block")
            self.blocks.append(_Block(kind, ngrams, terms, idf.values, offset, char_weight if kind == "char" else 1.0))
            offset += len(terms)
        self.n_ngram = offset
        self.static: _Static | None = None
        if static_spec is not None:
            from pipeline.text.wordpiece import WordPieceTokenizer

            pieces = _sorted_terms(vocabulary, lookup, "wordpiece")
            rows, vectors = weights.get("static_rows"), weights.get("static_vectors")
            if rows is None or vectors is None or rows.shape != (len(pieces),) or len(vectors.shape) != 2:
                raise Unsupported("static table")
            scales = None
            if vectors.dtype == "|i1":
                found = weights.get("static_scales")
                if found is None or found.dtype != "<f4" or found.shape != (vectors.shape[0],):
                    raise Unsupported("static table scales")
                scales = found.values
            elif vectors.dtype != "<f2":
                raise Unsupported("static table dtype")
            if len(rows.values) and max(rows.values) >= vectors.shape[0]:
                raise Unsupported("static table rows")
            try:
                tokenizer = WordPieceTokenizer.from_lookup(pieces)
            except ValueError as exc:
                raise Unsupported(str(exc)) from None
            scope_blocks = static_spec.get("scope_blocks", False)
            if not isinstance(scope_blocks, bool):
                raise Unsupported("static scope_blocks")
            self.static = _Static(tokenizer, rows.values, vectors, scales, offset, static_weight, scope_blocks)
            offset += self.static.width
        self.n_features = offset
        coef, intercept = weights.get("coef"), weights.get("intercept")
        if coef is None or intercept is None or coef.dtype != "<f4" or intercept.dtype != "<f4":
            raise Unsupported("weights")
        if coef.shape != (n_classes, self.n_features) or intercept.shape != (n_classes,):
            raise Unsupported("weights shape")
        self.coef = coef.values
        self.intercept = [float(v) for v in intercept.values]

    def prepare(self, words: Sequence[str]) -> list[str]:
        """A normalised post's tokens as the features read them: identity words masked, then scopes marked."""
        tokens = list(words)
        if self.mask_identity:
            tokens = mask_tokens(tokens)
        if self.mark_scope:
            tokens = mark_tokens(tokens)
        return tokens

    def logits(self, words: Sequence[str]) -> list[float]:
        """``decision_function`` of one normalised post (its tokens, before :meth:`prepare`)."""
        text = " ".join(self.prepare(words))
        z = list(self.intercept)
        coef, n_features = self.coef, self.n_features
        for block in self.blocks:
            low, high = block.ngrams
            grams = word_ngrams(text, low, high) if block.kind == "word" else char_ngrams(text, low, high)
            features: list[tuple[int, float]] = []
            squares = 0.0
            idf, get = block.idf, block.terms.get
            for gram, count in Counter(grams).items():
                j = get(gram)
                if j is not None:
                    x = (1.0 + math.log(count)) * idf[j]
                    features.append((block.offset + j, x))
                    squares += x * x
            if not features or squares == 0.0:  # a post without any of the block's terms: the block is zero
                continue
            scale = block.weight / math.sqrt(squares)
            for c in range(len(z)):
                base = c * n_features
                z[c] += scale * sum(x * coef[base + j] for j, x in features)
        static = self.static
        if static is not None:
            total = static.vector_sum(text.split())
            if total is not None:
                norm = math.sqrt(sum(v * v for v in total))
                if norm > 0:
                    scale = static.weight / norm
                    for c in range(len(z)):
                        base = c * n_features + static.offset
                        row = coef[base : base + static.width]
                        z[c] += scale * sum(v * w for v, w in zip(total, row.tolist()))
        return z

    def proba(self, logits: Sequence[float]) -> list[float]:
        """Calibrated probabilities (``softmax(logits / T + b)``)."""
        values = [z / self.temperature + b for z, b in zip(logits, self.bias)]
        top = max(values)
        exps = [math.exp(v - top) for v in values]
        total = sum(exps)
        return [e / total for e in exps]

    def label(self, proba: Sequence[float]) -> str:
        """The argmax (first on ties), or the abstention label below the threshold (pipeline.models.abstention)."""
        best = max(range(len(proba)), key=proba.__getitem__)
        if self.threshold is not None and self.abstain_label in self.classes and proba[best] < self.threshold:
            return self.abstain_label
        return self.classes[best]


def _sorted_terms(vocabulary: str, lookup: dict[str, Array], kind: str) -> SortedTerms:
    offsets, columns = lookup.get(f"offsets_{kind}"), lookup.get(f"columns_{kind}")
    if offsets is None or offsets.dtype != "<i4" or len(offsets.shape) != 1:
        raise Unsupported(f"no {kind} index")
    if columns is not None and (
        columns.dtype != "<i4"
        or columns.shape != offsets.shape
        or (len(columns.values) and not 0 <= min(columns.values) <= max(columns.values) < len(offsets.values))
    ):
        raise Unsupported(f"{kind} index columns")
    return SortedTerms(vocabulary, offsets.values, None if columns is None else columns.values)


# -- the predictor --------------------------------------------------------------------------------------------------
class ColdStartPredictor:
    """Prediction objects for a few texts, as :meth:`pipeline.models.predict.Predictor.predict` gives them."""

    def __init__(self, normaliser: TweetNormaliser, tokenizer: SnapshotTokenizer, models: dict[str, LinearModel]):
        self.normaliser = normaliser
        self.tokenizer = tokenizer
        self.models = models

    @classmethod
    def from_verified(cls, verified: VerifiedBundle) -> ColdStartPredictor:
        """Build from a bundle opened with :func:`open_for_coldstart`; raises :class:`Unsupported` when this path
        does not apply (the batch loader then takes the same verified files)."""
        from pipeline.models.predict import max_chars_override
        from pipeline.text.en_tokenizer import load_snapshot_tokenizer

        data, path = verified.data, verified.path
        try:
            normaliser = normaliser_from_config(json.loads(data["normaliser.json"]))
        except Exception as exc:  # the batch loader reports it
            raise Unsupported(f"normaliser ({exc})") from None
        if type(normaliser) is not TweetNormaliser:
            raise Unsupported("normaliser")
        override = max_chars_override()
        if override is not None:
            normaliser.max_chars = override
        tokenizer = load_snapshot_tokenizer()
        if tokenizer is None:
            raise Unsupported("no tokenizer snapshot for the installed spaCy")
        models: dict[str, LinearModel] = {}
        for task in TASKS:
            if not (path / task / "classifier.json").exists():
                continue
            needed = [f"{task}/{name}" for name in ("classifier.json", "vocabulary.json", "weights.npz", LOOKUP_FILE)]
            if not all(name in data for name in needed):
                raise Unsupported(f"{task} files")
            try:
                spec = json.loads(data[needed[0]])
                vocabulary = data[needed[1]].decode("utf-8")
            except (ValueError, RecursionError) as exc:
                raise Unsupported(f"{task} files ({exc})") from None
            if not isinstance(spec, dict):
                raise Unsupported(f"{task}/classifier.json")
            lookup = read_stored_npz(data[needed[3]])
            recorded = lookup.get("vocabulary_sha256")
            expected = str(verified.metadata["files"].get(needed[1], "")).removeprefix("sha256:")
            if recorded is None or bytes(recorded.values) != expected.encode("ascii"):
                raise Unsupported(f"{task}/{LOOKUP_FILE} was made for another vocabulary.json")
            models[task] = LinearModel(spec, vocabulary, lookup, read_stored_npz(data[needed[2]]))
            try:
                check_labels(path, verified.metadata, task, models[task].classes)
            except BundleError as exc:  # the batch loader refuses it, with the same message
                raise Unsupported(str(exc)) from None
        if not models:
            raise Unsupported("no classifier")
        return cls(normaliser, tokenizer, models)

    def tokens(self, text: str) -> list[str]:
        """The normalised tokens of one post (as :meth:`pipeline.models.fastpath.CachedNormaliser.encode` gives
        them)."""
        normaliser, tokenizer = self.normaliser, self.tokenizer
        specials, lowercase = tokenizer.specials, normaliser.lowercase
        chunks = normaliser.clean_post(text).split()
        tokens: list[str] = []
        for chunk in chunks:
            for piece in normaliser.clean_chunk(chunk).split(" "):
                if not piece:
                    continue
                if piece.isascii() and piece.isalpha() and piece not in specials:
                    tokens.append(piece.lower() if lowercase else piece)
                else:
                    tokens.extend(normaliser.finish_words([t for t in tokenizer(piece) if not t.isspace()]))
        if not tokens and chunks:  # nothing but links (TweetNormaliser.clean's placeholder)
            tokens = ["xxurl"]
        return tokens

    def predict(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One prediction object per text, in order (keys as :meth:`Predictor.predict_from_proba` writes them)."""
        if ids is None:
            ids = [str(i) for i in range(len(texts))]
        out: list[dict[str, Any]] = []
        max_chars = self.normaliser.max_chars
        for text, id_ in zip(texts, ids):
            words = " ".join(self.tokens(text)).split()
            prediction: dict[str, Any] = {"id": id_}
            for task, model in self.models.items():
                proba = model.proba(model.logits(words))
                prediction[task] = model.label(proba)
                prediction[f"{task}_scores"] = dict(zip(model.classes, proba))
            prediction["truncated"] = len(text) > max_chars
            out.append(prediction)
        return out


def open_for_coldstart(model: str | Path | None) -> VerifiedBundle:
    """Open and verify a bundle, keeping the bytes of the files the cold-start path reads."""
    return open_bundle(model, keep=lambda relative: relative.rsplit("/", 1)[-1] in _KEPT_NAMES)


def predict_texts(texts: Sequence[str], model: str | Path | None = None) -> list[dict[str, Any]]:
    """``voc predict TEXT...``: prediction objects with ids ``1..n``, by the cold-start path when it applies (few
    texts, a bundle it supports), else by the batch path (:class:`~pipeline.models.predict.Predictor`)."""
    ids = [str(i + 1) for i in range(len(texts))]
    small = len(texts) <= COLDSTART_MAX_TEXTS and sum(map(len, texts)) <= COLDSTART_MAX_CHARS
    if small and coldstart_enabled():
        verified = open_for_coldstart(model)
        try:
            return ColdStartPredictor.from_verified(verified).predict(texts, ids)
        except Unsupported:  # e.g. an index that does not match its vocabulary, found while predicting
            pass
        from pipeline.models.bundle import ModelBundle
        from pipeline.models.predict import Predictor

        predictor = Predictor(ModelBundle.from_verified(verified))
    else:
        from pipeline.models.predict import Predictor

        predictor = Predictor.from_path(model)
    return predictor.predict(texts, ids=ids)


# -- older bundles ---------------------------------------------------------------------------------------------------
def add_coldstart_files(directory: str | Path) -> list[str]:
    """Give a bundle saved before this path existed what it reads: ``lookup.npz`` next to each tfidf classifier's
    vocabulary, and ``weights.npz`` stored rather than compressed (the same arrays). metadata.json lists the new
    hashes; nothing else changes. The bundle is verified first and replaced atomically. Returns the files written."""
    import shutil
    import time

    import numpy as np

    from pipeline.models.bundle import _replace_directory, sha256_file

    verified = open_bundle(directory)
    path = verified.path
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    written: list[str] = []
    try:
        shutil.copytree(path, staging, symlinks=True)
        for task in TASKS:
            spec_file = staging / task / "classifier.json"
            if not spec_file.exists() or json.loads(spec_file.read_text(encoding="utf-8")).get("name") not in (
                _CLASSIFIER_NAMES
            ):
                continue
            weights = staging / task / "weights.npz"
            with zipfile.ZipFile(weights) as archive:
                compressed = any(info.compress_type != zipfile.ZIP_STORED for info in archive.infolist())
            if compressed:
                with np.load(weights, allow_pickle=False) as npz:
                    arrays = {key: npz[key] for key in npz.files}
                save_arrays: Any = np.savez
                with weights.open("wb") as handle:
                    save_arrays(handle, **arrays)
                written.append(f"{task}/weights.npz")
            vocabulary = staging / task / "vocabulary.json"
            lookup = build_lookup(vocabulary.read_text(encoding="utf-8"), sha256_file(vocabulary))
            if lookup is not None:
                with (staging / task / LOOKUP_FILE).open("wb") as handle:
                    save_arrays = np.savez
                    save_arrays(handle, **lookup)
                written.append(f"{task}/{LOOKUP_FILE}")
        metadata = dict(verified.metadata)
        files = dict(metadata["files"])
        for relative in written:
            files[relative] = sha256_file(staging / relative)
        metadata["files"] = dict(sorted(files.items()))
        (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        _replace_directory(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return written
