"""Discovery of the topics a taxonomy misses (:class:`TopicDiscoverer`).

It clusters the posts that fit no taxonomy topic. The space is LSA (TF-IDF of stemmed content words reduced
by truncated SVD), joined, when an encoder is configured, by the sentence embeddings centred and reduced by
PCA; each vector is then averaged with its nearest neighbours'. k-means runs with the number of clusters
chosen from the data: by default the k whose partitions of two random halves of the posts agree best
(clustering stability), or the smallest k whose silhouette is within one standard error of the best. Each
cluster is labelled by class-based TF-IDF (c-TF-IDF, as in BERTopic) over normalised, unstemmed n-grams. A
cluster's id is derived from its top keywords (``d-refund-voucher-waiting``), and when the keywords of a
previous run are given, a new cluster whose keywords overlap an old one enough takes the old id, so ids stay
stable across runs and retrains.

A fitted discoverer also assigns posts it was not fitted on (:meth:`TopicDiscoverer.predict`): each goes to
the nearest k-means centre in the same space (without the neighbour smoothing), and to ``other`` where that
cluster was too small to become a topic. ``voc rank`` fits on a bounded sample of the posts and assigns the
rest this way, so discovery costs the same on a million posts as on ten thousand.

Evaluation and parameters: ``docs/topics.md``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from pipeline.errors import ConfigError
from pipeline.text.normalise import TweetNormaliser
from pipeline.topics.taxonomy import OTHER_ID
from pipeline.topics.tokens import content_stem, content_stems, warn_once
from pipeline.topics.vectors import nearest_neighbours, parallel_map, stem_vectorizer

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def _topic_name(order: np.ndarray, weights: np.ndarray, terms: np.ndarray, shown: Any) -> str:
    """A name a person would write for a discovered topic: its most distinctive two-word phrase ("Number
    porting") when one weighs at least half as much as its top term, else the top term ("Refund"), in the
    posts' commonest surface form. The keywords stay beside it; ids still come from the keywords."""
    if not len(order) or weights[order[0]] <= 0:
        return ""
    top = float(weights[order[0]])
    chosen = str(terms[order[0]])
    unigrams = [str(terms[j]) for j in order[:10] if " " not in str(terms[j])][:2]
    index = {str(t): j for j, t in enumerate(terms)} if len(unigrams) == 2 else {}
    for j in order[:10]:
        if weights[j] < 0.5 * top:
            # No strong phrase: the two top words as they occur together ("hours delayed"), if they do.
            for pair in (f"{unigrams[0]} {unigrams[1]}", f"{unigrams[1]} {unigrams[0]}") if index else ():
                if pair in index and weights[index[pair]] >= 0.2 * top:
                    chosen = pair
                    break
            break
        if " " in str(terms[j]):
            chosen = str(terms[j])
            break
    name = str(shown(chosen))
    return name[:1].upper() + name[1:]


def _slug(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-")


class TopicDiscoverer:
    """Cluster posts into topics with data-chosen k and keyword labels (see the module docstring).

    After :meth:`fit`: ``labels_`` (topic id per input post, ``"other"`` for posts in clusters smaller than
    ``min_topic_size``), ``scores_`` (cosine of each post to its cluster centre), ``topics_`` (id ->
    ``{"label", "keywords", "size", "representative_indices"}``) and ``k_`` (the number of clusters chosen).
    :meth:`predict` assigns other posts to the fitted topics.
    """

    def __init__(
        self,
        *,
        min_topic_size: int = 5,
        max_topics: int = 30,
        min_topics: int = 2,
        random_state: int = 0,
        n_components: int = 100,
        max_fit_posts: int = 20_000,
        search_sample: int = 5000,
        silhouette_sample: int = 2000,
        n_keywords: int = 10,
        n_representatives: int = 5,
        previous: dict[str, list[str]] | None = None,
        match_threshold: float = 0.3,
        id_prefix: str = "d-",
        normaliser: TweetNormaliser | None = None,
        encoder: str | None = None,
        embedding_cache: str | None = None,
        embedding_components: int = 50,
        smooth_neighbours: int = 30,
        k_selection: str = "stability",
        stability_rounds: int = 5,
    ) -> None:
        self.min_topic_size = min_topic_size
        self.max_topics = max_topics
        self.min_topics = min_topics
        self.random_state = random_state
        self.n_components = n_components
        self.max_fit_posts = max_fit_posts
        self.search_sample = search_sample
        self.silhouette_sample = silhouette_sample
        self.n_keywords = n_keywords
        self.n_representatives = n_representatives
        self.previous = previous
        self.match_threshold = match_threshold
        self.id_prefix = id_prefix
        self.normaliser = normaliser
        # Sentence encoder for the clustering space (pipeline.topics.sentence_encoder); TF-IDF + SVD without it.
        self.encoder = encoder
        self.embedding_cache = embedding_cache
        self.embedding_components = embedding_components
        # Each post's vector is averaged with its nearest neighbours' before k-means, which denoises short
        # posts; capped at n / 100 (none below 200 posts) so that the neighbourhood stays smaller than a topic
        # of 1 % of the posts, and small inputs, where neighbours cross topics as often as not, are left as is.
        self.smooth_neighbours = smooth_neighbours
        # How k is chosen: "stability" (default), the k whose partitions of two random halves of the posts
        # agree best, or "silhouette", the smallest k within one standard error of the best silhouette.
        if k_selection not in ("stability", "silhouette"):
            raise ConfigError(f"k_selection must be 'stability' or 'silhouette', not {k_selection!r}")
        self.k_selection = k_selection
        self.stability_rounds = stability_rounds

    def fit(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None, embeddings: np.ndarray | None = None
    ) -> TopicDiscoverer:
        """Cluster ``texts``; ``normalised`` may pass the normaliser's output, and ``embeddings`` the
        encoder's vectors of ``texts``, when the caller already has them."""
        normaliser = self.normaliser or TweetNormaliser()
        if normalised is None:
            normalised = normaliser.normalise_many(texts)
        n = len(normalised)
        self.labels_: list[str] = [OTHER_ID] * n
        self.scores_: list[float] = [0.0] * n
        self.topics_: dict[str, dict[str, Any]] = {}
        self.k_ = 0
        # What predict() needs: the fitted space (vectorizer, SVD, sentence PCA), k-means and topic per cluster.
        self.vectorizer_: Any = None
        self.svd_: Any = None
        self.pca_: Any = None
        self.embedding_mean_: np.ndarray | None = None
        self.kmeans_: Any = None
        self.cluster_topics_: dict[int, str] = {}
        if n < max(2 * self.min_topic_size, 4):
            return self
        # Import the compiled scikit-learn modules first: threadpoolctl only limits libraries already loaded.
        import sklearn.cluster
        import sklearn.decomposition
        import sklearn.metrics  # noqa: F401
        from threadpoolctl import threadpool_limits

        if embeddings is None and self.encoder:
            embeddings = self._encode(texts)
        self.space_ = "tfidf-svd" if embeddings is None else "sentence-embedding"
        stemmed = [" ".join(content_stems(s)) for s in normalised]
        # One BLAS/OpenMP thread: these matrices are small, and a thread pool sized for the host's cores
        # inside a CPU-limited container made SVD and k-means ~100x slower in measurements.
        with threadpool_limits(limits=1):
            spaces = self._space(stemmed, embeddings)
            if spaces is None:
                return self
            embedding, judge = spaces
            rng = np.random.default_rng(self.random_state)
            cluster = self._cluster(embedding, rng, judge)
            self._describe(normalised, embedding, cluster)
        return self

    # -- steps -------------------------------------------------------------------------------------------

    def _encode(self, texts: Sequence[str]) -> np.ndarray | None:
        from pipeline.extras import MissingExtraError
        from pipeline.topics.sentence_encoder import SentenceEncoder

        try:
            return SentenceEncoder(str(self.encoder), cache_dir=self.embedding_cache).encode(list(texts))
        except MissingExtraError as exc:
            warn_once(f"topic discovery on TF-IDF instead of sentence embeddings: {exc}")
            return None

    def _space(self, stemmed: list[str], embeddings: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The clustering space and the space that judges k.

        LSA of the words, joined by the reduced sentence embeddings when there are any (each block
        unit-length, so each carries half of the cosine: the words say *what* a post is about, the encoder
        catches paraphrases); k-means runs on it after smoothing over nearest neighbours. The silhouette
        that chooses k is measured before smoothing: smoothing tightens any partition, more so the finer
        it is, so a silhouette measured after it would always ask for the largest k.
        """
        from sklearn.preprocessing import normalize

        lsa = self._embed(stemmed)
        space = lsa
        if embeddings is not None:
            sentence = self._reduce(embeddings)
            space = sentence if lsa is None else np.asarray(normalize(np.hstack([sentence, lsa])))
        if space is None:
            return None
        k = min(self.smooth_neighbours, space.shape[0] // 100)
        if k < 2:
            return space, space
        neighbours = nearest_neighbours(space.astype(np.float32), k)
        return np.asarray(normalize((space + space[neighbours].sum(axis=1)) / (k + 1))), space

    def _reduce(self, embeddings: np.ndarray) -> np.ndarray:
        """Centre, project on the leading principal components, re-normalise.

        Centring removes the direction every post of the corpus shares (all are complaints to an airline),
        which otherwise dominates the cosines; PCA keeps the directions along which posts differ, which is
        what clustering needs, and makes k-means cheaper.
        """
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import normalize

        x = np.asarray(embeddings, dtype=np.float64)
        self.embedding_mean_ = x.mean(axis=0, keepdims=True)
        x = x - self.embedding_mean_
        n_comp = min(self.embedding_components, x.shape[1], x.shape[0] - 1)
        if n_comp >= 2:
            self.pca_ = PCA(n_components=n_comp, random_state=self.random_state)
            x = self.pca_.fit_transform(x)
        return np.asarray(normalize(x))

    def _embed(self, stemmed: list[str]) -> np.ndarray | None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        n = len(stemmed)
        vectorizer = stem_vectorizer()
        try:
            x = vectorizer.fit_transform(stemmed)
        except ValueError:  # empty vocabulary: nothing in common between posts
            return None
        if x.shape[1] < 2:
            return None
        n_comp = min(self.n_components, x.shape[1] - 1, n - 1)
        if n_comp >= 2 and x.shape[1] > n_comp:
            svd = TruncatedSVD(n_components=n_comp, random_state=self.random_state)
            emb = svd.fit_transform(x)
            self.svd_ = svd
        else:
            emb = x.toarray()
        self.vectorizer_ = vectorizer
        return np.asarray(normalize(emb))

    def _cluster(self, emb: np.ndarray, rng: np.random.Generator, judge: np.ndarray | None = None) -> np.ndarray:
        """k-means with k chosen from the data over a range of candidate k: by clustering stability
        (``k_selection="stability"``, see :meth:`_stability`) or by the mean silhouette (cosine, in ``judge``,
        default ``emb``) with the one-standard-error rule."""
        from sklearn.cluster import KMeans
        from sklearn.metrics import pairwise_distances, silhouette_samples

        n = emb.shape[0]
        k_hi = max(self.min_topics, min(self.max_topics, n // max(self.min_topic_size, 1)))
        k_lo = min(self.min_topics, k_hi)
        # The search runs on a sample with one k-means start per k; the silhouette on a smaller sample
        # with the distance matrix computed once. Both keep discovery fast on large inputs.
        search_idx = rng.choice(n, self.search_sample, replace=False) if n > self.search_sample else np.arange(n)
        search = emb[search_idx]
        sil_pos = (
            rng.choice(len(search_idx), self.silhouette_sample, replace=False)
            if len(search_idx) > self.silhouette_sample
            else np.arange(len(search_idx))
        )
        judged = emb if judge is None else judge
        dist = pairwise_distances(judged[search_idx][sil_pos], metric="cosine")
        candidates = sorted({*range(k_lo, min(k_hi, 12) + 1), *range(12, k_hi + 1, 3), k_hi})
        candidates = [k for k in candidates if k_lo <= k <= k_hi and k < len(sil_pos)]
        self.silhouettes_: dict[int, float] = {}
        errors: dict[int, float] = {}

        def silhouette(k: int) -> None:
            model = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=self.random_state).fit(search)
            labels = model.labels_[sil_pos]
            if len(set(labels.tolist())) < 2:
                return
            per_post = silhouette_samples(dist, labels, metric="precomputed")
            self.silhouettes_[k] = round(float(per_post.mean()), 4)
            errors[k] = float(per_post.std() / math.sqrt(len(per_post)))

        self.stabilities_: dict[int, float] = {}
        if self.k_selection == "stability":
            self.stabilities_ = self._stability(search, candidates)
        if self.stabilities_:
            # The most reproducible k: see _stability. Ties go to the smaller k. Its silhouette is reported.
            best_k = max(self.stabilities_, key=lambda k: (self.stabilities_[k], -k))
            silhouette(best_k)
            best_sil = self.silhouettes_.get(best_k, -2.0)
        else:
            for k in candidates:
                silhouette(k)
            if self.silhouettes_:
                # One-standard-error rule: the smallest k whose silhouette is within one standard error of
                # the best. Silhouettes of posts are nearly flat over a wide range of k, and the maximum alone
                # wanders within that plateau; the simplest partition that is as good is the one to read.
                top = max(self.silhouettes_, key=lambda k: (self.silhouettes_[k], -k))
                bar = self.silhouettes_[top] - errors[top]
                best_k = min(k for k, v in self.silhouettes_.items() if v >= bar)
                best_sil = self.silhouettes_[best_k]
            else:
                best_k, best_sil = (candidates[0] if candidates else k_lo), -2.0
        self.k_ = best_k
        self.silhouette_ = best_sil
        fit_idx = rng.choice(n, self.max_fit_posts, replace=False) if n > self.max_fit_posts else np.arange(n)
        final = KMeans(n_clusters=best_k, n_init=10, random_state=self.random_state).fit(emb[fit_idx])
        self.kmeans_ = final
        self.centres_ = final.cluster_centers_
        return np.asarray(final.predict(emb)) if len(fit_idx) < n else np.asarray(final.labels_)

    def _stability(self, search: np.ndarray, candidates: list[int]) -> dict[int, float]:
        """Mean adjusted Rand index, per candidate k, between the k-means partitions of two disjoint random
        halves of ``search``, both extended to all of ``search`` by their nearest centre, over
        ``stability_rounds`` random splits (clustering stability: Ben-Hur et al. 2002, Lange et al. 2004).

        A k that matches structure in the data gives the same partition whichever half it is learnt from;
        a k that cuts a flat region in arbitrary places does not. k = 2 is left out when larger candidates
        exist: a bisection of any cloud of points is reproducible (it follows the cloud's main axis), which
        is the known bias of stability towards the smallest k, so it says nothing about topics.
        """
        from sklearn.cluster import KMeans
        from sklearn.metrics import adjusted_rand_score

        m = search.shape[0]
        ks = [k for k in candidates if k >= 3 and 2 * k <= m // 2] or [k for k in candidates if 2 * k <= m // 2]
        if not ks or self.stability_rounds < 1:
            return {}
        rng = np.random.default_rng([self.random_state, 7])
        splits = [rng.permutation(m) for _ in range(self.stability_rounds)]

        def partition(task: tuple[int, int, int]) -> np.ndarray:
            k, r, h = task
            idx = splits[r][: m // 2] if h == 0 else splits[r][m // 2 :]
            model = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=self.random_state + 2 * r + h)
            return np.asarray(model.fit(search[idx]).predict(search))

        tasks = [(k, r, h) for k in ks for r in range(len(splits)) for h in (0, 1)]
        labels = dict(zip(tasks, parallel_map(partition, tasks)))  # independent fits: threads, same result
        out: dict[int, float] = {}
        for k in ks:
            values = [adjusted_rand_score(labels[(k, r, 0)], labels[(k, r, 1)]) for r in range(len(splits))]
            out[k] = round(float(np.mean(values)), 4)
        return out

    def _describe(self, normalised: Sequence[str], emb: np.ndarray, cluster: np.ndarray) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        centres = self.centres_ / np.maximum(np.linalg.norm(self.centres_, axis=1, keepdims=True), 1e-12)
        sims = np.einsum("ij,ij->i", emb, centres[cluster])
        clusters = [c for c in range(self.k_) if int((cluster == c).sum()) >= self.min_topic_size]
        if not clusters:
            return
        # c-TF-IDF over stemmed content n-grams (so "delay", "delayed", "delays" are one term), each shown
        # in its most frequent surface form so that labels read naturally.
        surface: dict[str, Counter[str]] = {}
        stem_docs: list[str] = []
        for s_ in normalised:
            pairs = [(t, st) for t, st in zip(s_.split(), map(content_stem, s_.split())) if st is not None]
            for t, st in pairs:
                surface.setdefault(st, Counter())[t] += 1
            stem_docs.append(" ".join(st for _, st in pairs))
        cv = CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2), min_df=2)
        try:
            counts = cv.fit_transform(stem_docs)
        except ValueError:
            return

        def shown(term: str) -> str:
            return " ".join(surface[w].most_common(1)[0][0] if w in surface else w for w in term.split())

        terms = np.asarray(cv.get_feature_names_out())
        onehot = sparse.csr_matrix(
            (np.ones(len(cluster)), (cluster, np.arange(len(cluster)))), shape=(self.k_, len(cluster))
        )
        class_counts = np.asarray((onehot @ counts).todense())
        tf = class_counts / np.maximum(class_counts.sum(axis=1, keepdims=True), 1)
        avg_words = class_counts.sum() / max(len(clusters), 1)
        idf = np.log(1.0 + avg_words / np.maximum(class_counts.sum(axis=0), 1))
        ctfidf = tf * idf

        described: list[tuple[int, list[str]]] = []
        names: dict[int, str] = {}
        for c in clusters:
            order = np.argsort(-ctfidf[c], kind="stable")
            keywords: list[str] = []
            chosen: list[str] = []
            chosen_words: set[str] = set()
            for j in order:
                if ctfidf[c, j] <= 0 or len(chosen) >= self.n_keywords:
                    break
                term = str(terms[j])
                # Skip a term whose words are all among those chosen
                # ("login upgrade" after "upgrade login"), or a bigram around a chosen unigram, for variety.
                words = set(term.split())
                if words <= chosen_words or any(k in words for k in chosen):
                    continue
                chosen_words |= words
                chosen.append(term)
                keywords.append(shown(term))
            described.append((c, keywords))
            names[c] = _topic_name(order, ctfidf[c], terms, shown)

        ids = self._assign_ids(described)
        for (c, keywords), topic_id in zip(described, ids):
            members = np.flatnonzero(cluster == c)
            reps = members[np.argsort(-sims[members])][: self.n_representatives]
            self.topics_[topic_id] = {
                "label": names.get(c) or topic_id,
                "keywords": keywords,
                "size": len(members),
                "representative_indices": [int(i) for i in reps],
            }
            self.cluster_topics_[int(c)] = topic_id
            for i in members.tolist():
                self.labels_[i] = topic_id
                self.scores_[i] = round(float(sims[i]), 4)

    def predict(
        self,
        texts: Sequence[str] | None = None,
        normalised: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
    ) -> tuple[list[str], list[float]]:
        """Topic id (``"other"`` where none) and cosine to its centre for posts the discoverer was not fitted on.

        Each post goes to its nearest k-means centre in the fitted space (LSA of the fitted vocabulary, joined
        by the fitted PCA of ``embeddings`` when the fit had sentence embeddings, which then must be given).
        Posts are not averaged with neighbours as the fitted ones were: their scores run a little lower.
        """
        from sklearn.preprocessing import normalize

        if normalised is None:
            normalised = (self.normaliser or TweetNormaliser()).normalise_many(list(texts or []))
        n = len(normalised)
        if not self.cluster_topics_ or self.kmeans_ is None or n == 0:
            return [OTHER_ID] * n, [0.0] * n
        space: np.ndarray | None = None
        if self.vectorizer_ is not None:
            x = self.vectorizer_.transform([" ".join(content_stems(s)) for s in normalised])
            space = np.asarray(normalize(self.svd_.transform(x) if self.svd_ is not None else x.toarray()))
        if self.embedding_mean_ is not None:
            if embeddings is None:
                raise ValueError("this discoverer was fitted with sentence embeddings: give the posts' embeddings")
            e = np.asarray(embeddings, dtype=np.float64) - self.embedding_mean_
            sentence = np.asarray(normalize(self.pca_.transform(e) if self.pca_ is not None else e))
            space = sentence if space is None else np.asarray(normalize(np.hstack([sentence, space])))
        if space is None:
            return [OTHER_ID] * n, [0.0] * n
        cluster = np.asarray(self.kmeans_.predict(space))
        centres = self.centres_ / np.maximum(np.linalg.norm(self.centres_, axis=1, keepdims=True), 1e-12)
        sims = np.einsum("ij,ij->i", space, centres[cluster])
        labels = [self.cluster_topics_.get(int(c), OTHER_ID) for c in cluster.tolist()]
        scores = [round(float(s), 4) if label != OTHER_ID else 0.0 for s, label in zip(sims.tolist(), labels)]
        return labels, scores

    def _assign_ids(self, described: list[tuple[int, list[str]]]) -> list[str]:
        """Ids from keywords, re-using a previous run's id where the keyword sets overlap enough."""
        ids: list[str | None] = [None] * len(described)
        used: set[str] = set()
        if self.previous:
            pairs = []
            for i, (_c, kws) in enumerate(described):
                new = set(kws)
                for old_id, old_kws in self.previous.items():
                    old = set(old_kws)
                    union = new | old
                    jac = len(new & old) / len(union) if union else 0.0
                    if jac >= self.match_threshold:
                        pairs.append((jac, i, old_id))
            for _jac, i, old_id in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
                if ids[i] is None and old_id not in used:
                    ids[i] = old_id
                    used.add(old_id)
        for i, (c, kws) in enumerate(described):
            if ids[i] is not None:
                continue
            words: list[str] = []
            for k in kws:
                for w in _slug(k).split("-"):
                    if w and w not in words:
                        words.append(w)
                if len(words) >= 3:
                    break
            base = self.id_prefix + ("-".join(words[:3]) or f"cluster-{c}")
            candidate, suffix = base, 2
            while candidate in used or (self.previous and candidate in self.previous):
                candidate = f"{base}-{suffix}"
                suffix += 1
            ids[i] = candidate
            used.add(candidate)
        return [i for i in ids if i is not None]
