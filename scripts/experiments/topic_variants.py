#!/usr/bin/env python3
"""Label-free variants of guided topic assignment and counting, measured on the airline tweets (diagnostic).

Usage::

    nice -n 19 python scripts/experiments/topic_variants.py --data-dir ../shared/data \
        --taxonomy configs/taxonomy/airline.yaml [--only PREFIX]

Reproduces the "tried" rows of ``docs/topics.md`` for issue 4: each variant changes one step of
:meth:`TopicAssigner.corpus_scores` (seed-match weights, score normalisation, the embedding score, a prior
re-estimation) or the counting of the ranking (soft counts), and the script prints (a) the strict guided
accuracy (all halves by tweet-id parity) and (b) the mean per-airline Spearman of the ranking order, exactly
as ``scripts/bench/eval_topics.py`` computes them (``rank_posts(by_brand=True)``, crowd sentiment as intent). The
soft-count rows compare predicted and true counts directly (the ranking takes one topic per post); their
reference is the same comparison with hard counts. No variant reads the labels: only the printed metrics do.
None of these is in the pipeline; the first row is the pipeline as it is.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.stats import spearmanr

from pipeline.ranking.rank import RankConfig, rank_posts
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.reasons import CANT_TELL, find_csv, load_tweets, reason_map, records_for_ranking
from pipeline.topics.sentence_encoder import DEFAULT_MODEL, encoder_available
from pipeline.topics.taxonomy import load_taxonomy
from pipeline.topics.tokens import MARKERS, stem
from pipeline.topics.vectors import unit_rows


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _colz(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return np.asarray((x - x.mean(axis=0)) / sd)


def _rowz(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=1, keepdims=True)
    sd[sd == 0] = 1.0
    return np.asarray((x - x.mean(axis=1, keepdims=True)) / sd)


class Bench:
    """The corpus, the assigner's score components on it, and the two metrics."""

    def __init__(self, data_dir: Path, taxonomy_path: Path, cache: Path) -> None:
        self.taxonomy = load_taxonomy(taxonomy_path)
        self.rows = load_tweets(find_csv(data_dir))
        self.negatives = [
            r
            for r in self.rows
            if r["airline_sentiment"] == "negative" and r["negativereason"] and r["negativereason"] != CANT_TELL
        ]
        self.reasons = sorted({r["negativereason"] for r in self.negatives})
        self.mapping = reason_map(self.taxonomy, self.reasons, [])
        if not encoder_available():
            raise SystemExit("error: the variants need the topics-embed extra (MiniLM)")
        a = TopicAssigner(self.taxonomy, encoder=DEFAULT_MODEL, embedding_cache=str(cache)).fit()
        self.assigner = a
        self.ids = a.topic_ids_
        self.texts = [r["text"] for r in self.rows]
        self.normalised = a.normaliser_.normalise_many(self.texts)
        self.embeddings = a.embed(self.texts)
        assert self.embeddings is not None
        index = {r["tweet_id"]: i for i, r in enumerate(self.rows)}
        self.neg_idx = np.array([index[r["tweet_id"]] for r in self.negatives])
        self.truth = np.array([self.mapping[r["negativereason"]] for r in self.negatives])
        self.half = np.array([int(r["tweet_id"]) % 2 for r in self.negatives])
        self.airline = np.array([r["airline"] for r in self.rows])
        self.negative = np.array([r["airline_sentiment"] == "negative" for r in self.rows])
        # Components as in score_matrix / corpus_scores (embedding: the corpus-centred form).
        stem_lists = [[stem(t) for t in s.split() if t not in MARKERS] for s in self.normalised]
        self.hits = self._phrase_hits(stem_lists)
        self.match = a._match_scores(stem_lists)
        self.word = (
            TopicAssigner(self.taxonomy, weight_match=0, weight_char=0, weight_word=1.0)
            .fit()
            .score_matrix(self.texts, self.normalised)
        )
        self.char = (
            TopicAssigner(self.taxonomy, weight_match=0, weight_char=1.0, weight_word=0)
            .fit()
            .score_matrix(self.texts, self.normalised)
        )
        self.centre = np.asarray(self.embeddings, dtype=np.float64).mean(axis=0)
        self.emb = a.embedding_scores(self.embeddings, self.centre)
        scores, refined = a.corpus_scores(self.texts, self.normalised, self.embeddings)
        assert refined is not None
        if np.abs(self.combine() - scores).max() > 1e-9:
            raise SystemExit("error: components do not add up to corpus_scores")
        self.scores, self.refined = scores, refined

    def _phrase_hits(self, stem_lists: list[list[str]]) -> sparse.csr_matrix:
        """(post, phrase) matches after the longest-match rule, as TopicAssigner._match_scores finds them."""
        from spacy.tokens import Doc

        a = self.assigner
        rows: list[int] = []
        cols: list[int] = []
        for i, stems in enumerate(stem_lists):
            words = [s if s in a.seed_tokens_ else "_" for s in stems]
            if not words or all(w == "_" for w in words):
                continue
            spans = a.matcher_(Doc(a.vocab_, words=words))
            if len(spans) > 1:
                spans = a._longest(spans)
            for key, _start, _end in spans:
                rows.append(i)
                cols.append(a.match_key_[key])
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(stem_lists), len(a.phrases_)))

    def weighted_match(self, weights: np.ndarray) -> np.ndarray:
        """The match component with each phrase's evidence multiplied by ``weights`` (one per phrase)."""
        pt = sparse.csr_matrix(sparse.diags(weights) @ self.assigner.phrase_topic_)
        pt.data = -np.log1p(-np.minimum(pt.data, 0.999))
        return np.asarray(1.0 - np.exp(-np.asarray((self.hits @ pt).todense())))

    def combine(
        self, match: np.ndarray | None = None, word: np.ndarray | None = None, emb: np.ndarray | None = None
    ) -> np.ndarray:
        a = self.assigner
        return np.asarray(
            a.weight_match * (self.match if match is None else match)
            + a.weight_word * (self.word if word is None else word)
            + a.weight_char * self.char
            + a.weight_embedding * (self.emb if emb is None else emb)
        )

    def refine(self, scores: np.ndarray) -> np.ndarray:
        out = self.assigner.refine(scores, self.normalised, self.embeddings)
        assert out is not None
        return out

    def metrics(self, scores: np.ndarray, decide: np.ndarray) -> dict[str, float]:
        """(a) and (b) for topics decided by ``decide`` (``other`` from ``scores``, as TopicAssigner.decide)."""
        topics = self.assigner.decide(scores, decide)
        strict = np.array([topics[i][0] for i in self.neg_idx])
        hit = strict == self.truth
        records = records_for_ranking(self.rows, topics, None)
        ranking = rank_posts(
            records, RankConfig(discover=False, min_support=1, n_bootstrap=0), by_brand=True, taxonomy=self.taxonomy
        )
        rhos = []
        for airline, entries in sorted(ranking["brands"].items()):
            counts = Counter(r["negativereason"] for r in self.negatives if r["airline"] == airline)
            position = {e["topic"]: e["rank"] for e in entries}
            order = [-position.get(self.mapping[r], len(entries) + 1) for r in self.reasons]
            rhos.append(float(spearmanr(order, [counts.get(r, 0) for r in self.reasons]).statistic))
        return {
            "a": float(hit.mean()),
            "a_even": float(hit[self.half == 0].mean()),
            "a_odd": float(hit[self.half == 1].mean()),
            "b": float(np.mean(rhos)),
        }

    def count_spearman(self, probs: np.ndarray) -> float:
        """Mean per-airline Spearman of summed topic probabilities over negative posts against true counts."""
        rhos = []
        for airline in sorted(set(self.airline.tolist())):
            volume = probs[(self.airline == airline) & self.negative].sum(axis=0)
            counts = Counter(r["negativereason"] for r in self.negatives if r["airline"] == airline)
            rhos.append(
                float(
                    spearmanr(
                        [volume[self.ids.index(self.mapping[r])] for r in self.reasons],
                        [counts.get(r, 0) for r in self.reasons],
                    ).statistic
                )
            )
        return float(np.mean(rhos))


def saerens_em(probs: np.ndarray, iterations: int = 500) -> np.ndarray:
    """Class priors by the EM of Saerens et al. (2002), from equal training priors."""
    k = probs.shape[1]
    start = np.full(k, 1.0 / k)
    prior = start.copy()
    for _ in range(iterations):
        adjusted = probs * (prior / start)
        adjusted /= adjusted.sum(axis=1, keepdims=True)
        new = adjusted.mean(axis=0)
        if np.abs(new - prior).max() < 1e-9:
            return np.asarray(new)
        prior = new
    return prior


def dawid_skene(annotators: list[np.ndarray], k: int, iterations: int = 50) -> np.ndarray:
    """Per-post topic posteriors of Dawid & Skene's EM (1979), the argmaxes of score views as annotators."""
    n = len(annotators[0])
    post = np.zeros((n, k))
    for a in annotators:
        post[np.arange(n), a] += 1.0
    post /= post.sum(axis=1, keepdims=True)  # start: soft majority vote
    for _ in range(iterations):
        prior = post.mean(axis=0)
        log_post = np.tile(np.log(np.maximum(prior, 1e-12)), (n, 1))
        for a in annotators:
            confusion = np.full((k, k), 1.0 / k)  # [true, said], add-one smoothing spread over the row
            for j in range(k):
                confusion[:, j] += post[a == j].sum(axis=0)
            confusion /= confusion.sum(axis=1, keepdims=True)
            log_post += np.log(confusion[:, a].T)
        post = _softmax(log_post)
    return post


def variants(b: Bench) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """(name, thunk) per variant; a thunk returns the metrics."""
    out: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    s = b.scores

    def assign(scores: np.ndarray, decide: np.ndarray | None = None) -> dict[str, Any]:
        return b.metrics(scores, b.refine(scores) if decide is None else decide)

    out.append(("pipeline now (corpus_scores + refine)", lambda: b.metrics(s, b.refined)))

    # (1) seed specificity over the corpus: IDF of each phrase among the corpus's posts.
    n = len(b.texts)
    binary = b.hits.copy()
    binary.data[:] = 1.0
    df = np.asarray(binary.sum(axis=0)).ravel()
    idf = np.log(n / np.maximum(df, 1.0))
    matched = df > 0
    forms = {
        "idf / max idf": idf / idf.max(),
        "idf / log N": idf / np.log(n),
        "min(1, idf / median idf of matched seeds)": np.minimum(1.0, idf / np.median(idf[matched])),
        "min(1, idf / match-weighted mean idf)": np.minimum(
            1.0, idf / (idf[matched] * df[matched]).sum() * df[matched].sum()
        ),
        "min(1, idf / log K) (no seed above 1/K of posts here)": np.minimum(1.0, idf / np.log(len(b.ids))),
    }
    for name, w in forms.items():
        out.append((f"1 seed specificity: {name}", lambda w=w: assign(b.combine(match=b.weighted_match(w)))))
    # Specificity as agreement: share of a seed's posts whose embedding (or non-seed) argmax is the seed's topic.
    owner = np.asarray(b.assigner.phrase_topic_.argmax(axis=1)).ravel()
    for name, other in (("embedding", b.emb), ("word + char + embedding", b.combine(match=np.zeros_like(b.match)))):
        best = other.argmax(axis=1)
        agree = np.array(
            [(best[binary[:, p].nonzero()[0]] == owner[p]).mean() if df[p] else 1.0 for p in range(len(df))]
        )
        out.append(
            (
                f"1 seed weight = agreement of its posts with the {name} argmax",
                lambda agree=agree: assign(b.combine(match=b.weighted_match(agree))),
            )
        )
    # Corpus IDF in the word TF-IDF (posts' word features weighted by their corpus rarity), same spread as now.
    from pipeline.topics.tokens import content_stems
    from pipeline.topics.vectors import l2_rows

    wa = TopicAssigner(b.taxonomy, weight_match=0, weight_char=0, weight_word=1.0).fit()
    feats = [wa._word_features(content_stems(t)) for t in b.normalised]
    counts = wa._count_rows(feats, wa.word_vocab_)
    n_oov = np.maximum(np.array([len(set(f)) for f in feats], dtype=np.float64) - np.diff(counts.indptr), 0.0)
    dfw = np.asarray((counts > 0).sum(axis=0)).ravel()
    corpus_idf = np.log((1.0 + n) / (1.0 + dfw)) + 1.0
    post = l2_rows(wa._weighted(counts, corpus_idf), n_oov * (math.log(1.0 + n) + 1.0) ** 2)
    word = np.asarray((post @ wa.topic_word_.T).todense())
    for scale_name, scale in (
        ("raw", 1.0),
        ("rescaled to the current spread", b.word.max(axis=1).mean() / word.max(axis=1).mean()),
    ):
        out.append(
            (f"1 corpus IDF in the word cosine, {scale_name}", lambda scale=scale: assign(b.combine(word=word * scale)))
        )

    # (2) prior re-estimation (Saerens EM on softmax(refined / tau)), decision shifted by tau * log(prior * K).
    k = len(b.ids)
    for tau in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2):

        def em(tau: float = tau) -> dict[str, Any]:
            prior = saerens_em(_softmax(b.refined / tau))
            res = b.metrics(s, b.refined + tau * np.log(np.maximum(prior * k, 1e-12)))
            res["prior"] = " ".join(f"{p:.3f}" for p in prior)
            return res

        out.append((f"2 Saerens EM, tau {tau}", em))

    # (3) soft counts: per airline, summed probabilities over negative posts vs the true counts.
    out.append(
        (
            "3 reference: hard counts (argmax of refined scores)",
            lambda: {"b_counts": b.count_spearman(np.eye(k)[b.refined.argmax(axis=1)])},
        )
    )
    for tau in (0.01, 0.02, 0.05, 0.1, 0.2):
        out.append(
            (
                f"3 soft counts softmax(refined / {tau})",
                lambda tau=tau: {"b_counts": b.count_spearman(_softmax(b.refined / tau))},
            )
        )

    # (4) normalisation when combining lexical and embedding scores.
    lex = b.combine(emb=np.zeros_like(b.emb))
    am = b.assigner
    out.append(("4 z-score each topic's combined score over the corpus", lambda: assign(s, b.refine(_colz(s)))))
    out.append(
        ("4 centre each topic's combined score over the corpus", lambda: assign(s, b.refine(s - s.mean(axis=0))))
    )
    out.append(
        (
            "4 z-score each component per topic, then weight",
            lambda: assign(
                s,
                b.refine(
                    am.weight_match * _colz(b.match)
                    + am.weight_word * _colz(b.word)
                    + am.weight_char * _colz(b.char)
                    + am.weight_embedding * _colz(b.emb)
                ),
            ),
        )
    )
    out.append(
        (
            "4 z-score the lexical sum per topic (rescaled), embedding as is",
            lambda: assign(s, b.refine(_colz(lex) * lex.std() + b.emb)),
        )
    )
    out.append(("4 z-score the refined scores per topic", lambda: assign(s, _colz(b.refined))))
    out.append(
        (
            "4 z-score lexical and embedding within each post, equal weight",
            lambda: assign(s, b.refine(_rowz(lex) + _rowz(b.emb))),
        )
    )
    out.append(
        (
            "4 z-score each component within each post, then weight",
            lambda: assign(
                s,
                b.refine(
                    am.weight_match * _rowz(b.match)
                    + am.weight_word * _rowz(b.word)
                    + am.weight_char * _rowz(b.char)
                    + am.weight_embedding * _rowz(b.emb)
                ),
            ),
        )
    )

    # Prior and posteriors from Dawid-Skene EM over views of the scores (each view's argmax an "annotator").
    views = {
        "lexical, embedding, refined": [lex.argmax(axis=1), b.emb.argmax(axis=1), b.refined.argmax(axis=1)],
        "lexical, embedding": [lex.argmax(axis=1), b.emb.argmax(axis=1)],
    }
    for name, ann in views.items():
        out.append((f"Dawid-Skene EM, annotators: {name}", lambda ann=ann: b.metrics(s, dawid_skene(ann, k))))

    # Embedding score: how a topic's seeds are aggregated (now: best seed, averaged with the description).
    x = unit_rows(np.asarray(b.embeddings) - b.centre)
    tv = unit_rows(am.topic_vectors_ - am.topic_vectors_.mean(axis=0, keepdims=True))
    sv = unit_rows(am.seed_vectors_ - am.seed_vectors_.mean(axis=0, keepdims=True))
    desc, seeds = x @ tv.T, x @ sv.T

    def per_topic(f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        return np.column_stack([f(seeds[:, am.seed_owner_ == t]) for t in range(k)])

    def centred(sims: np.ndarray) -> np.ndarray:
        return np.asarray(sims - sims.mean(axis=1, keepdims=True))

    emb_forms = {
        "description only": desc,
        "description + mean seed cosine": (desc + per_topic(lambda m: m.mean(axis=1))) / 2,
        "description + log-mean-exp of seed cosines (T 0.05)": (
            desc + per_topic(lambda m: 0.05 * np.log(np.exp(m / 0.05).mean(axis=1)))
        )
        / 2,
        "description + best seed minus its corpus mean": (
            desc + per_topic(lambda m: m.max(axis=1) - m.max(axis=1).mean())
        )
        / 2,
    }
    for name, sims in emb_forms.items():
        out.append((f"embedding: {name}", lambda sims=sims: assign(b.combine(emb=centred(sims)))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--taxonomy", type=Path, default=Path("configs/taxonomy/airline.yaml"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "voc-pipeline" / "embeddings")
    parser.add_argument("--only", default="", help="run only the variants whose name starts with this")
    args = parser.parse_args(argv)
    bench = Bench(args.data_dir, args.taxonomy, args.cache_dir)
    print("| variant | (a) | (a) even / odd ids | (b) ranking order | (b) counts | prior |")
    print("|---|---:|---:|---:|---:|---|")
    for name, thunk in variants(bench):
        if not name.startswith(args.only):
            continue
        m = thunk()
        a = f"{m['a']:.3f}" if "a" in m else ""
        halves = f"{m['a_even']:.3f} / {m['a_odd']:.3f}" if "a" in m else ""
        rho = f"{m['b']:.3f}" if "b" in m else ""
        counts = f"{m['b_counts']:.3f}" if "b_counts" in m else ""
        print(f"| {name} | {a} | {halves} | {rho} | {counts} | {m.get('prior', '')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
