"""Guided assignment of posts to the topics of a taxonomy.

Guided assignment (:class:`TopicAssigner`)
------------------------------------------
Every post is compared with every taxonomy topic (its label, description and seed phrases) in three ways,
all on the output of :class:`~pipeline.text.normalise.TweetNormaliser` passed through a small suffix stripper
(:func:`stem`; spaCy's blank English pipeline has no lemma tables, and a crude stemmer that is applied the
same way to seeds and posts is all that matching needs: *cancelled*, *cancellation* and *cancels* all
become ``cancel``):

* **seed phrases**: a spaCy ``PhraseMatcher`` finds the seeds in the post. Overlapping matches keep the
  longest one (``delayed bag`` is luggage, not a late flight). Each match adds evidence
  ``s = 1 - (1 - p) ** (number of tokens)`` (longer phrases are more specific), and the evidence of the
  matches for one topic combine as independent signals, ``match = 1 - prod(1 - s)``;
* **word TF-IDF**: the post's content words (unigrams and bigrams; sublinear TF-IDF, L2-normalised) against
  each topic's membership weights ``p(topic | word)`` (the word's share of its occurrences across the
  topic documents: a word only one topic uses belongs wholly to it, ``flight`` in every topic counts
  little). Words of the post that no topic uses still count in the post's norm (computed without building
  the full vocabulary), so one relevant word among ``n`` gives about ``1/sqrt(n)``;
* **character n-grams** (3 to 5 characters inside words): the same cosine on character n-grams, which
  catches spelling variants and typos (``lugage``). Computed per distinct token and summed through a
  sparse product, because a word-bounded character n-gram vector of a post is exactly the sum of those
  of its words.

* **sentence embeddings** (optional, ``encoder``; see :mod:`pipeline.topics.sentence_encoder`): the mean of the
  post's cosine to the topic's ``label: description`` and its best cosine to one of the topic's seeds,
  centred on the post's mean over the topics (what every topic shares cancels out).

``score = w_match * match + w_word * word_cosine + w_char * char_cosine + w_emb * embedding`` (weights in
the assigner's settings); the best topic wins, and a post whose best score is below ``min_score`` gets
``other``. Everything after tokenisation is sparse matrix algebra over the batch. Without the encoder's
extra installed, a configured encoder is dropped with one line on stderr naming ``topics-embed``.

:meth:`TopicAssigner.assign_corpus` uses the whole corpus, without labels: the embedding scores are taken on
vectors centred on the corpus (posts) and on the taxonomy (topic texts), and the scores are smoothed by label
spreading over the nearest-neighbour graph of the posts (``refine_*`` settings; see
:meth:`TopicAssigner.corpus_scores` and :meth:`TopicAssigner.refine`).

Taxonomy files: :mod:`pipeline.topics.taxonomy`; discovery of the topics a taxonomy misses:
:mod:`pipeline.topics.discover`. Evaluation and parameters: ``docs/topics.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError
from scipy import sparse

from pipeline.errors import ConfigError
from pipeline.text.normalise import TweetNormaliser, normaliser_from_config
from pipeline.text.spacy_import import import_spacy
from pipeline.topics.library import AspectMatch, default_library
from pipeline.topics.taxonomy import OTHER_ID, OTHER_LABEL, Taxonomy, TaxonomyTopic
from pipeline.topics.tokens import MARKERS, content_stems, is_content, stem, stop_words, topic_token, warn_once
from pipeline.topics.vectors import centred_unit, l2_rows, lsa_space, nearest_neighbours, unit_rows


class TopicEmbedder(Protocol):
    """Post vectors without a sentence encoder (:class:`pipeline.topics.static.StaticTopicEmbedder`)."""

    name: str

    def embed_normalised(self, normalised: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 unit rows of normalised texts."""
        ...


# Words that name a kind of topic rather than its subject ("Billing issues", "Other problems") or judge it rather
# than name it ("Bad flight experience", "Great staff"): never implicit seeds. A judging word would pull every post
# that uses it into the topic, praise into a problem-named one included.
KIND_WORDS = frozenset(
    {"issue", "issues", "problem", "problems", "complaint", "complaints", "question", "questions", "other", "general"}
    | {"experience"}
)
# A topic without a description has its vector read from its label, the borrowed aspects' names and this many of
# each aspect's first seeds (TopicAssigner.topic_text; chosen on the topic judge's dev half, docs/topics.md).
BORROWED_DESCRIPTION_SEEDS = 6
JUDGING_WORDS = frozenset(
    {"bad", "poor", "terrible", "awful", "horrible", "worst", "good", "great", "excellent", "best"}
)


class LabelKey:
    """A label or alias as the stems of its content words (kind and judging words left out), cached: how the
    assigner compares a topic's label with the aspect library's aliases. A class, not a closure, so that a fitted
    assigner still pickles."""

    def __init__(self, normaliser: TweetNormaliser) -> None:
        self.normaliser = normaliser
        self.stops = stop_words() | KIND_WORDS | JUDGING_WORDS
        self._cache: dict[str, frozenset[str]] = {}

    def __call__(self, text: str) -> frozenset[str]:
        key = self._cache.get(text)
        if key is None:
            words = self.normaliser(text).split()
            key = frozenset(stem(w) for w in words if len(w) > 1 and is_content(w, self.stops))
            if len(self._cache) < 20_000:
                self._cache[text] = key
        return key


class TopicAssigner:
    """Assign each post to its best taxonomy topic with a score (see the module docstring).

    sklearn-style: ``__init__`` stores settings only; :meth:`fit` builds the matchers and topic vectors
    from the taxonomy (it needs no posts), and fitted state ends in ``_``. :meth:`get_config` returns
    JSON-serialisable settings from which :meth:`from_config` rebuilds an identical assigner, e.g. in a
    worker process.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        *,
        min_score: float = 0.15,
        min_score_problem: float = 0.1,
        weight_match: float = 0.6,
        weight_word: float = 0.3,
        weight_char: float = 0.1,
        token_evidence: float = 0.5,
        char_ngrams: tuple[int, int] = (3, 5),
        normaliser: TweetNormaliser | None = None,
        encoder: str | None = None,
        weight_embedding: float = 0.5,
        embedding_cache: str | None = None,
        refine_neighbours: int = 10,
        refine_alpha: float = 0.5,
        refine_iterations: int = 10,
        min_refine_posts: int = 200,
        embedder: TopicEmbedder | None = None,
        weight_examples: float = 0.3,
        secondary_ratio: float = 0.8,
        max_topics: int = 3,
        implicit_seeds_below: int = 3,
        implicit_description_weight: float = 0.25,
        library_seed_weight: float = 0.5,
    ) -> None:
        self.taxonomy = taxonomy
        # No topic below min_score; for posts the caller marks as problems (complaints and questions, which
        # nearly always are about something) below min_score_problem. Chosen on the dev half of the topic
        # judge (docs/topics.md).
        self.min_score = min_score
        self.min_score_problem = min_score_problem
        self.weight_match = weight_match
        self.weight_word = weight_word
        self.weight_char = weight_char
        self.token_evidence = token_evidence
        self.char_ngrams = tuple(char_ngrams)
        self.normaliser = normaliser
        # Optional sentence encoder (pipeline.topics.sentence_encoder): a model directory or "all-MiniLM-L6-v2".
        self.encoder = encoder
        self.weight_embedding = weight_embedding
        self.embedding_cache = embedding_cache
        # Corpus-level refinement (assign_corpus only): neighbours per post, weight of the neighbours' scores
        # against the post's own, rounds of propagation; below min_refine_posts there is no refinement.
        self.refine_neighbours = refine_neighbours
        self.refine_alpha = refine_alpha
        self.refine_iterations = refine_iterations
        self.min_refine_posts = min_refine_posts
        # Post vectors without torch (pipeline.topics.static: a bundle's static word-piece table); used when no
        # sentence encoder is configured or its extra is missing. An object, not a setting: get_config records
        # only that one was used, and whoever rebuilds the assigner passes the same bundle's table again.
        self.embedder = embedder
        # Few-shot head on the topics' example posts (none without examples).
        self.weight_examples = weight_examples
        # Multi-label: a post also belongs to every topic whose score reaches secondary_ratio x its best
        # score (and min_score), at most max_topics in all.
        self.secondary_ratio = secondary_ratio
        self.max_topics = max_topics
        # A topic that lists fewer seeds than this also takes its label, and the content words of its label and
        # description, as seeds (:meth:`seeds_of`): a taxonomy of topic names alone still matches words. 0: off.
        self.implicit_seeds_below = implicit_seeds_below
        # The evidence of a seed taken from a description's words, against 1 for written and label seeds: a
        # description also names things every topic of the brand shares ("burritos", "bowls").
        self.implicit_description_weight = implicit_description_weight
        # The evidence of a seed borrowed from the aspect library (pipeline.topics.library), against 1 for a
        # written seed; 0: no borrowing.
        self.library_seed_weight = library_seed_weight

    # -- configuration -----------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable settings, taxonomy included, that rebuild this assigner."""
        normaliser = self.normaliser or TweetNormaliser()
        return {
            "name": "guided_topics.v3",
            "taxonomy": self.taxonomy.model_dump(),
            "min_score": self.min_score,
            "min_score_problem": self.min_score_problem,
            "weight_match": self.weight_match,
            "weight_word": self.weight_word,
            "weight_char": self.weight_char,
            "token_evidence": self.token_evidence,
            "char_ngrams": list(self.char_ngrams),
            "normaliser": normaliser.get_config(),
            "encoder": self.encoder,
            "weight_embedding": self.weight_embedding,
            "embedding_cache": self.embedding_cache,
            "refine_neighbours": self.refine_neighbours,
            "refine_alpha": self.refine_alpha,
            "refine_iterations": self.refine_iterations,
            "min_refine_posts": self.min_refine_posts,
            "weight_examples": self.weight_examples,
            "secondary_ratio": self.secondary_ratio,
            "max_topics": self.max_topics,
            "implicit_seeds_below": self.implicit_seeds_below,
            "implicit_description_weight": self.implicit_description_weight,
            "library_seed_weight": self.library_seed_weight,
            "embedder": self.embedder.name if self.embedder is not None else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], embedder: TopicEmbedder | None = None) -> TopicAssigner:
        """Rebuild (unfitted) from :meth:`get_config` output; ``embedder`` is the object the config names."""
        settings = dict(config)
        settings.pop("name", None)
        settings.pop("embedder", None)
        settings["embedder"] = embedder
        try:
            taxonomy = Taxonomy.model_validate(settings.pop("taxonomy"))
        except (KeyError, ValidationError) as exc:
            raise ConfigError(f"invalid topic assigner config: {exc}".splitlines()[0]) from None
        normaliser = normaliser_from_config(settings.pop("normaliser", {"name": TweetNormaliser.name}))
        char_ngrams = settings.pop("char_ngrams", (3, 5))
        return cls(taxonomy, normaliser=normaliser, char_ngrams=(int(char_ngrams[0]), int(char_ngrams[1])), **settings)

    # -- fitting -----------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str] | None = None) -> TopicAssigner:
        """Build seed matchers and topic vectors from the taxonomy.

        ``texts`` is accepted for the sklearn protocol and ignored: the model depends on the taxonomy only,
        so an assigner rebuilt from :meth:`get_config` in another process gives identical scores.
        """
        import_spacy()
        from spacy.matcher import PhraseMatcher
        from spacy.tokens import Doc
        from spacy.vocab import Vocab

        self.normaliser_ = self._reader
        topics = self.taxonomy.topics
        self.topic_ids_ = [t.name for t in topics]
        self.topic_labels_ = [t.label for t in topics]
        weighted_seeds = [self._weighted_seeds(t) for t in topics]
        self.seeds_ = [[seed for seed, _ in seeds] for seeds in weighted_seeds]
        n_topics = len(topics)

        # Seed phrases, stemmed; a phrase listed by several topics splits its evidence between them.
        self.vocab_ = Vocab()
        self.matcher_ = PhraseMatcher(self.vocab_, attr="ORTH")
        phrase_topics: dict[tuple[str, ...], dict[int, float]] = {}
        stops = stop_words()
        for ti, seeds in enumerate(weighted_seeds):
            for seed, weight in seeds:
                toks = self.seed_key(seed)
                if not toks or (len(toks) == 1 and not is_content(toks[0], stops)):
                    continue  # a lone stop word or punctuation would match everywhere
                owners = phrase_topics.setdefault(toks, {})
                owners[ti] = max(owners.get(ti, 0.0), weight)
        self.phrases_ = sorted(phrase_topics)
        self.seed_tokens_ = frozenset(t for p in self.phrases_ for t in p)
        rows, cols, vals = [], [], []
        for pi, phrase in enumerate(self.phrases_):
            evidence = 1.0 - (1.0 - self.token_evidence) ** len(phrase)
            weights = phrase_topics[phrase]
            for ti in sorted(weights):
                rows.append(pi)
                cols.append(ti)
                vals.append(evidence * weights[ti] / len(weights))
            self.matcher_.add(str(pi), [Doc(self.vocab_, words=list(phrase))])
        self.phrase_topic_ = sparse.csr_matrix((vals, (rows, cols)), shape=(len(self.phrases_), n_topics))
        self.phrase_len_ = np.array([len(p) for p in self.phrases_], dtype=np.int64)
        self.match_key_ = {self.vocab_.strings[str(pi)]: pi for pi in range(len(self.phrases_))}

        # Topic documents: label + description + seeds, normalised and stemmed like the posts.
        topic_docs = [
            self.normaliser_(" . ".join([t.label, t.description, *seeds])) for t, seeds in zip(topics, self.seeds_)
        ]
        word_docs = [self._word_features(content_stems(d)) for d in topic_docs]
        self.word_vocab_ = {f: i for i, f in enumerate(sorted({f for d in word_docs for f in d}))}
        df = np.zeros(len(self.word_vocab_))
        for d in word_docs:
            for f in set(d):
                df[self.word_vocab_[f]] += 1
        # Smoothed IDF over the topic documents: discriminates between topics. A word no topic uses would
        # get the largest IDF, which is what the out-of-vocabulary norm term below uses.
        self.word_idf_ = np.log((1.0 + n_topics) / (1.0 + df)) + 1.0
        self.word_oov_idf_ = math.log(1.0 + n_topics) + 1.0
        # How much each feature points to each topic: its share of the feature's (sublinear) counts over
        # the topics, so a word that only one topic uses belongs wholly to it.
        tw = self._weighted(self._count_rows(word_docs, self.word_vocab_), np.ones(len(self.word_vocab_)))
        col = np.asarray(tw.sum(axis=0)).ravel()
        col[col == 0] = 1.0
        self.topic_word_ = sparse.csr_matrix(tw @ sparse.diags(1.0 / col))

        char_docs = [self._char_counts(d.split()) for d in topic_docs]
        self.char_vocab_ = {g: i for i, g in enumerate(sorted({g for d in char_docs for g in d}))}
        cdf = np.zeros(len(self.char_vocab_))
        for d in char_docs:
            for g in d:
                cdf[self.char_vocab_[g]] += 1
        self.char_idf_ = np.log((1.0 + n_topics) / (1.0 + cdf)) + 1.0
        self.char_oov_idf_ = math.log(1.0 + n_topics) + 1.0
        mat = self._count_rows([list(d.elements()) for d in char_docs], self.char_vocab_)
        self.topic_char_ = l2_rows(self._weighted(mat, self.char_idf_))
        # Per-token character rows are cached across batches: tweets reuse a small working vocabulary.
        self._token_char_cache: dict[str, tuple[dict[int, float], float]] = {}
        self._fit_encoder()
        return self

    def _fit_encoder(self) -> None:
        """Embed each topic's label + description, seeds and examples, with the sentence encoder when one is
        configured and its extra installed, else with the static ``embedder``; else lexical scores only."""
        self.encoder_: Any = None
        self.embedder_: TopicEmbedder | None = None
        self.head_: Any = None
        self._prototype_cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        if not self.weight_embedding:
            return
        topics = self.taxonomy.topics
        texts = [self.topic_text(t) for t in topics]
        owners = list(range(len(topics)))
        kinds = [0] * len(topics)  # 0 description, 1 seed, 2 example
        for ti, (t, seeds) in enumerate(zip(topics, self.seeds_)):
            texts.extend(seeds)
            owners.extend([ti] * len(seeds))
            kinds.extend([1] * len(seeds))
            texts.extend(t.examples)
            owners.extend([ti] * len(t.examples))
            kinds.extend([2] * len(t.examples))
        vectors = None
        if self.encoder:
            from pipeline.extras import MissingExtraError
            from pipeline.topics.sentence_encoder import SentenceEncoder

            encoder = SentenceEncoder(self.encoder, cache_dir=self.embedding_cache)
            try:
                # Labels and seeds as written; example posts cleaned like any post.
                vectors = np.vstack(
                    [
                        encoder.encode([x for x, k in zip(texts, kinds) if k < 2], clean=False),
                        *([encoder.encode([x for x, k in zip(texts, kinds) if k == 2])] if 2 in kinds else []),
                    ]
                )
                order = [i for i, k in enumerate(kinds) if k < 2] + [i for i, k in enumerate(kinds) if k == 2]
                vectors = vectors[np.argsort(order)]
                self.encoder_ = encoder
            except MissingExtraError as exc:
                fallback = "static word-piece vectors" if self.embedder is not None else "lexical topic scores only"
                warn_once(f"topic sentence embeddings off, {fallback}: {exc}")
                vectors = None
        if vectors is None and self.embedder is not None:
            vectors = self.embedder.embed_normalised(self.normaliser_.normalise_many(texts))
            self.embedder_ = self.embedder
        if vectors is None:
            return
        n_topics = len(topics)
        vectors = np.asarray(vectors, dtype=np.float32)
        owner = np.asarray(owners[n_topics:], dtype=np.int64)
        self.topic_vectors_ = vectors[:n_topics]
        self.seed_vectors_ = vectors[n_topics:]
        self.seed_owner_ = owner
        # Posts are taken relative to the mean of the topics' descriptions (what every topic of this
        # taxonomy shares), which removes the domain all posts share before the cosines; per post, so a
        # post's scores never depend on the other posts.
        self.post_centre_ = self.topic_vectors_.mean(axis=0)
        example_rows = np.flatnonzero(np.asarray(kinds[n_topics:]) == 2)
        if len(example_rows) and self.weight_examples and n_topics > 1:
            self.head_ = self._fit_head(vectors[n_topics:], owner, example_rows)

    def _fit_head(self, vectors: np.ndarray, owner: np.ndarray, example_rows: np.ndarray) -> Any:
        """A multinomial logistic regression on the (centred) vectors of the example posts, seeds and
        descriptions (SetFit's head without the fine-tuning): the topics' own phrasing in the feed, learnt in
        milliseconds. Topics without examples still take part through their description and seeds."""
        from sklearn.linear_model import LogisticRegression

        x = np.vstack([vectors, self.topic_vectors_])
        y = np.concatenate([owner, np.arange(len(self.topic_vectors_))])
        weight = np.ones(len(y))
        weight[example_rows] = 2.0  # real posts say more about the feed than the taxonomy's phrases
        head = LogisticRegression(C=4.0, max_iter=2000)
        head.fit(unit_rows(x - self.post_centre_), y, sample_weight=weight)
        return head

    def seeds_of(self, topic: TaxonomyTopic, *, borrow: bool = True) -> list[str]:
        """The seed phrases the assigner uses for ``topic``: its own, and where it lists fewer than
        ``implicit_seeds_below``, its label and the content words of its label and description, then (``borrow``)
        the seeds of the library aspects its label names (:meth:`borrowed_aspects`).

        A taxonomy written from topic names alone ("Lost luggage", "Late flight") otherwise gives the seed
        matcher, most of a post's score, nothing to match (docs/topics.md measures what they add). A topic with
        its own seeds keeps exactly those: generic label words ("service", "app") added to written seeds cost the
        topic judge 2 points, and the library's phrases gained little and diluted the topic's document.
        """
        return [seed for seed, _ in self._weighted_seeds(topic, borrow=borrow)]

    def borrowed_aspects(self, topic: TaxonomyTopic) -> list[AspectMatch]:
        """The aspects of the library (:mod:`pipeline.topics.library`) whose seeds ``topic`` borrows: the ones its
        label names; none when it lists ``implicit_seeds_below`` seeds or more (the user's seeds are used as
        written), when borrowing is off (``library_seed_weight`` 0) or when the taxonomy turns the library off
        (``aspect_library: false``)."""
        if not self.library_seed_weight or not self.taxonomy.aspect_library:
            return []
        return self._borrowing.get(topic.name, [])

    @cached_property
    def _borrowing(self) -> dict[str, list[AspectMatch]]:
        """The borrowed aspects of each topic with fewer than ``implicit_seeds_below`` seeds: the aspects its label
        names, less those that another such topic's label names too (their seeds would not tell the two apart: "Bad
        customer support" and "Great customer support" both name customer service)."""
        library, key = default_library(), self._label_key
        topics = self.taxonomy.topics
        industries = library.industries_of([t.label for t in topics], key)
        thin = [t for t in topics if len(t.seeds) < self.implicit_seeds_below]
        labels = {t.name: key(t.label) for t in topics}

        def names_the_domain(topic: str, match: AspectMatch) -> bool:
            # A word several other labels share names what the whole taxonomy is about ("flight" in an airline's
            # "Late flight", "Cancelled flight", "Flight booking"), not one topic.
            words = key(match.alias)
            return sum(words <= label for name, label in labels.items() if name != topic) >= 2

        matches = {
            t.name: [m for m in library.match(t.label, key, industries) if not names_the_domain(t.name, m)]
            for t in thin
        }
        claims = Counter(m.aspect.name for found in matches.values() for m in found)
        return {name: [m for m in found if claims[m.aspect.name] == 1] for name, found in matches.items()}

    def topic_text(self, topic: TaxonomyTopic) -> str:
        """What the topic's vector is read from: ``label: description``; without a description, the label and what
        it borrowed from the aspect library (the aspects' names and first seeds), else the label alone. A label of
        two words is a weak vector: "Late flight: flight delay, delayed flight, ..., hours late" says what it means.
        """
        if topic.description:
            return f"{topic.label}: {topic.description}"
        words = [
            phrase
            for match in self.borrowed_aspects(topic)
            for phrase in (*match.aspect.aliases, *match.aspect.seeds[:BORROWED_DESCRIPTION_SEEDS])
        ]
        return f"{topic.label}: {', '.join(words)}" if words else topic.label

    @cached_property
    def _label_key(self) -> LabelKey:
        """How :meth:`borrowed_aspects` reads labels and the library's aliases; one per assigner (the library keeps
        the aliases it read with the last one)."""
        return LabelKey(self._reader)

    def borrowed_seeds(self, topic: TaxonomyTopic) -> list[str]:
        """The seed phrases of :meth:`borrowed_aspects`, each once, less those another topic claims first.

        A phrase another topic has of its own (written, or a word of its label or description) stays that topic's;
        a phrase two topics borrow goes to the one whose label named its aspect more precisely ("Late flight" by
        the alias "late flight", not "Bad flight experience" by "flight"), or to both when they tie.
        """
        if not self.borrowed_aspects(topic):
            return []
        return self._borrowed_phrases.get(topic.name, [])

    @cached_property
    def _borrowed_phrases(self) -> dict[str, list[str]]:
        """:meth:`borrowed_seeds` of every borrowing topic."""
        key = self._label_key
        owned: dict[tuple[str, ...], set[str]] = {}
        for t in self.taxonomy.topics:
            for seed in self.seeds_of(t, borrow=False):
                owned.setdefault(self.seed_key(seed), set()).add(t.name)
        claims: dict[tuple[str, ...], dict[str, int]] = {}
        candidates: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for name, matches in self._borrowing.items():
            for match in matches:
                precision = len(key(match.alias))
                for seed in match.aspect.seeds:
                    seed_key = self.seed_key(seed)
                    by_topic = claims.setdefault(seed_key, {})
                    by_topic[name] = max(by_topic.get(name, 0), precision)
                    candidates.setdefault(name, []).append((seed, seed_key))
        out: dict[str, list[str]] = {}
        for name, phrases in candidates.items():
            kept = []
            for seed, seed_key in phrases:
                if owned.get(seed_key, set()) - {name}:
                    continue  # another topic's own phrase
                by_topic = claims[seed_key]
                if by_topic[name] < max(by_topic.values()):
                    continue  # named more precisely by another topic's label
                kept.append(seed)
            out[name] = list(dict.fromkeys(kept))
        return out

    @cached_property
    def _reader(self) -> TweetNormaliser:
        """What the assigner reads posts and seeds with, before and after :meth:`fit`: the given normaliser, else one
        default normaliser per assigner (building one loads a tokenizer: a tenth of a second)."""
        return self.normaliser or TweetNormaliser()

    def seed_key(self, seed: str) -> tuple[str, ...]:
        """A seed phrase as the matcher looks for it: normalised, stemmed, markers dropped. Two seeds with one key
        are one phrase (its evidence split between the topics that list it)."""
        normaliser = self._reader
        return tuple(stem(t) for t in normaliser(seed).split() if t not in MARKERS)

    def _weighted_seeds(self, topic: TaxonomyTopic, *, borrow: bool = True) -> list[tuple[str, float]]:
        """:meth:`seeds_of` with each seed's weight: 1, ``implicit_description_weight`` for a word that only the
        description gives, ``library_seed_weight`` for a borrowed seed."""
        seeds = [(seed, 1.0) for seed in topic.seeds]
        implicit: list[tuple[str, float]] = []
        if len(seeds) < self.implicit_seeds_below:
            stops = stop_words() | KIND_WORDS | JUDGING_WORDS
            normaliser = self._reader

            def content_words(text: str) -> list[str]:
                return [w for w in normaliser(text).split() if len(w) > 2 and is_content(w, stops)]

            label_words = content_words(topic.label)
            implicit += [(topic.label.lower(), 1.0), *((w, 1.0) for w in label_words)]
            implicit += [(w, self.implicit_description_weight) for w in content_words(topic.description)]
        if borrow:
            implicit += [(seed, self.library_seed_weight) for seed in self.borrowed_seeds(topic)]
        seen = {s.lower() for s in topic.seeds}
        for phrase, weight in implicit:
            if phrase not in seen:
                seen.add(phrase)
                seeds.append((phrase, weight))
        return seeds

    # -- feature helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _word_features(tokens: list[str]) -> list[str]:
        return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]

    def _char_counts(self, tokens: list[str]) -> Any:
        from collections import Counter

        lo, hi = self.char_ngrams
        stops = stop_words()
        counts: Counter[str] = Counter()
        for tok in tokens:
            if not is_content(tok, stops):
                continue
            padded = f" {tok} "
            for n in range(lo, hi + 1):
                for i in range(len(padded) - n + 1):
                    counts[padded[i : i + n]] += 1
        return counts

    @staticmethod
    def _count_rows(docs: list[list[str]], vocab: dict[str, int]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        for d in docs:
            indices.extend(vocab[f] for f in d if f in vocab)
            indptr.append(len(indices))
        data = np.ones(len(indices))
        mat = sparse.csr_matrix(
            (data, np.array(indices, dtype=np.int64), np.array(indptr)), shape=(len(docs), len(vocab))
        )
        mat.sum_duplicates()
        return mat

    @staticmethod
    def _weighted(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
        out = counts.copy().astype(np.float64)
        out.data = 1.0 + np.log(out.data)  # sublinear tf
        return sparse.csr_matrix(out @ sparse.diags(idf))

    def _token_char_row(self, token: str) -> tuple[dict[int, float], float]:
        """In-vocabulary character n-gram counts of one token, and its out-of-vocabulary n-gram count."""
        cached = self._token_char_cache.get(token)
        if cached is None:
            counts = self._char_counts([token])
            row: dict[int, float] = {}
            oov = 0.0
            for g, c in counts.items():
                j = self.char_vocab_.get(g)
                if j is None:
                    oov += c
                else:
                    row[j] = float(c)
            cached = (row, oov)
            if len(self._token_char_cache) < 500_000:
                self._token_char_cache[token] = cached
        return cached

    # -- scoring -----------------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], normalised: Sequence[str] | None = None) -> np.ndarray | None:
        """Post vectors (unit rows) from the sentence encoder or the static embedder, or None without either."""
        if not hasattr(self, "topic_word_"):
            self.fit()
        if self.encoder_ is not None:
            return np.asarray(self.encoder_.encode(list(texts)))
        if self.embedder_ is not None:
            if normalised is None:
                normalised = self.normaliser_.normalise_many(texts)
            return self.embedder_.embed_normalised(normalised)
        return None

    @property
    def embeds(self) -> bool:
        """Whether scores include post vectors (encoder or static embedder)."""
        return self.encoder_ is not None or self.embedder_ is not None

    def embedding_scores(self, embeddings: np.ndarray, centre: np.ndarray | None = None) -> np.ndarray:
        """Per post and topic: the mean of the cosine to the topic's label + description and the best cosine
        to one of its seeds, centred on the post's mean over topics.

        Centring removes what all topics share (every airline complaint is close to every complaint topic),
        so the score says which topic a post is closer to, on the scale of the lexical scores.

        ``centre`` (a corpus's mean embedding, see :meth:`corpus_scores`) also removes what all *posts* share
        and what all *topic texts* share before the cosines: the posts are taken relative to ``centre``, the
        descriptions relative to their mean over the topics and the seeds relative to theirs (each
        re-normalised), as discovery centres its space. The cosines then compare how a post differs from the
        corpus with how a topic differs from the other topics.
        """
        topic_vectors, seed_vectors, starts, seeded = self._prototypes()
        if centre is None:
            centre = self.post_centre_
        posts = np.asarray(embeddings, dtype=np.float32)
        if centre is not None:
            posts = posts - np.asarray(centre, dtype=np.float32)
            posts /= np.maximum(np.linalg.norm(posts, axis=1, keepdims=True), np.float32(1e-12))
        desc = posts @ topic_vectors.T
        best_seed = desc.copy()  # a topic without seeds falls back on its description
        if len(starts):
            # Seeds (and examples) are stored topic by topic, so each topic's best is one reduceat.
            best_seed[:, seeded] = np.maximum.reduceat(posts @ seed_vectors.T, starts, axis=1)
        sims = ((desc + best_seed) / 2.0).astype(np.float64)
        return np.asarray(sims - sims.mean(axis=1, keepdims=True))

    def _prototypes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The topic and seed vectors as :meth:`embedding_scores` compares posts with them (float32; each
        relative to its mean over the taxonomy and re-normalised when posts are centred), the first column of
        each seeded topic's seeds, and those topics; computed on first use after :meth:`fit`."""
        cached = self._prototype_cache
        if cached is not None:
            return cached
        topic_vectors = np.asarray(self.topic_vectors_, dtype=np.float64)
        seed_vectors = np.asarray(self.seed_vectors_, dtype=np.float64)
        owner = np.asarray(self.seed_owner_, dtype=np.int64)
        order = np.argsort(owner, kind="stable")
        seed_vectors, owner = seed_vectors[order], owner[order]
        if self.post_centre_ is not None:
            if len(topic_vectors) > 1:
                topic_vectors = unit_rows(topic_vectors - topic_vectors.mean(axis=0, keepdims=True))
            if len(seed_vectors) > 1:
                seed_vectors = unit_rows(seed_vectors - seed_vectors.mean(axis=0, keepdims=True))
        seeded, starts = np.unique(owner, return_index=True)
        prototypes = (topic_vectors.astype(np.float32), seed_vectors.astype(np.float32), starts, seeded)
        self._prototype_cache = prototypes
        return prototypes

    def head_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """The few-shot head's probabilities, centred on the post's mean over topics (zeros without a head)."""
        if self.head_ is None:
            return np.zeros((len(embeddings), len(self.topic_ids_)))
        proba = self.head_.predict_proba(unit_rows(np.asarray(embeddings) - self.post_centre_))
        return np.asarray(proba - proba.mean(axis=1, keepdims=True))

    def score_matrix(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Dense (n_posts, n_topics) matrix of combined scores.

        With an encoder, ``embeddings`` (from :meth:`embed`) may be passed when the caller already has them.
        """
        if not hasattr(self, "topic_word_"):
            self.fit()
        if normalised is None:
            normalised = self.normaliser_.normalise_many(texts)
        n = len(normalised)
        n_topics = len(self.topic_ids_)
        if n == 0:
            return np.zeros((0, n_topics))
        stops = stop_words()
        token_lists = [[topic_token(t) for t in s.split()] for s in normalised]
        # Markers of shouting and hashtags would break phrases ("where is my xxcaps bag"): not matched.
        stem_lists = [[stem(t) for t in toks if t not in MARKERS] for toks in token_lists]
        total = np.zeros((n, n_topics))

        if self.weight_match and self.phrases_:
            total += self.weight_match * self._match_scores(stem_lists)

        if self.weight_word:
            # From the tokens, not stem_lists: those lack the markers, so zipping the two would misalign.
            content = [[stem(t) for t in toks if is_content(t, stops)] for toks in token_lists]
            feats = [self._word_features(c) for c in content]
            counts = self._count_rows(feats, self.word_vocab_)
            in_vocab = np.diff(counts.indptr)  # distinct in-vocabulary features per post
            n_oov = np.array([len(set(f)) for f in feats], dtype=np.float64) - in_vocab
            weighted = self._weighted(counts, self.word_idf_)
            post = l2_rows(weighted, np.maximum(n_oov, 0.0) * self.word_oov_idf_**2)
            # Cosine-like: the normalised post against each topic's membership weights p(topic | word),
            # so one word that belongs wholly to a topic in a post of n equally weighted words gives
            # 1/sqrt(n).
            total += self.weight_word * np.asarray((post @ self.topic_word_.T).todense())

        if self.weight_char:
            total += self.weight_char * self._char_scores(token_lists)

        if self.embeds:
            if embeddings is None:
                embeddings = self.embed(texts, normalised)
            if embeddings is not None:
                total += self.embedding_total(embeddings)
        return total

    def embedding_total(self, embeddings: np.ndarray) -> np.ndarray:
        """What the post vectors add to the lexical scores: the weighted embedding and few-shot head scores."""
        total = self.weight_embedding * self.embedding_scores(embeddings)
        if self.head_ is not None:
            total += self.weight_examples * self.head_scores(embeddings)
        return np.asarray(total)

    def _match_scores(self, stem_lists: list[list[str]]) -> np.ndarray:
        from spacy.tokens import Doc

        seed_tokens = self.seed_tokens_
        rows: list[int] = []
        cols: list[int] = []
        for i, stems in enumerate(stem_lists):
            # Tokens that occur in no seed become one placeholder: fewer strings to hash, bounded vocab.
            words = [s if s in seed_tokens else "_" for s in stems]
            if not words or all(w == "_" for w in words):
                continue
            spans = self.matcher_(Doc(self.vocab_, words=words))
            if not spans:
                continue
            if len(spans) > 1:
                spans = self._longest(spans)
            for key, _start, _end in spans:
                rows.append(i)
                cols.append(self.match_key_[key])
        n = len(stem_lists)
        hits = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(self.phrases_)))
        # 1 - prod(1 - s) over the matches of a topic, via logs so that it stays a sparse product.
        log_keep = self.phrase_topic_.copy()
        log_keep.data = -np.log1p(-np.minimum(log_keep.data, 0.999))
        evidence = np.asarray((hits @ log_keep).todense())
        return 1.0 - np.exp(-evidence)

    @staticmethod
    def _longest(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Drop matches contained in a longer match (as ``spacy.util.filter_spans`` does for spans)."""
        ordered = sorted(spans, key=lambda m: (m[1] - m[2], m[1]))
        taken: list[tuple[int, int, int]] = []
        for m in ordered:
            if not any(t[1] <= m[1] and m[2] <= t[2] for t in taken):
                taken.append(m)
        return taken

    def _char_scores(self, token_lists: list[list[str]]) -> np.ndarray:
        n = len(token_lists)
        # Distinct tokens of the batch -> (post x token) counts @ (token x char n-gram) counts.
        tok_index: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        for toks in token_lists:
            for t in toks:
                j = tok_index.get(t)
                if j is None:
                    j = tok_index[t] = len(tok_index)
                indices.append(j)
            indptr.append(len(indices))
        post_tok = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, len(tok_index)))
        post_tok.sum_duplicates()
        t_rows: list[int] = []
        t_cols: list[int] = []
        t_vals: list[float] = []
        tok_oov = np.zeros(len(tok_index))
        for t, j in tok_index.items():
            row, oov = self._token_char_row(t)
            tok_oov[j] = oov
            for c, v in row.items():
                t_rows.append(j)
                t_cols.append(c)
                t_vals.append(v)
        tok_char = sparse.csr_matrix((t_vals, (t_rows, t_cols)), shape=(len(tok_index), len(self.char_vocab_)))
        counts = sparse.csr_matrix(post_tok @ tok_char)
        oov_counts = post_tok @ tok_oov
        weighted = self._weighted(counts, self.char_idf_)
        # Out-of-vocabulary n-grams approximated as distinct dimensions of weight oov_idf (tf 1 each).
        post = l2_rows(weighted, oov_counts * self.char_oov_idf_**2)
        return np.asarray((post @ self.topic_char_.T).todense())

    def assign(self, texts: Sequence[str], normalised: Sequence[str] | None = None) -> list[tuple[str, str, float]]:
        """(topic id, topic label, score) per post; ``("other", "Other", score)`` below ``min_score``.

        ``normalised`` may pass the normaliser's output for ``texts`` when the caller already has it.
        """
        return self.decide(self.score_matrix(texts, normalised), None)

    def assign_many(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None, problem: Sequence[bool] | None = None
    ) -> tuple[list[tuple[str, str, float]], list[list[tuple[str, float]]]]:
        """:meth:`assign` and :meth:`decide_many` from one scoring pass: the primary topic and all topics.
        ``problem``: per post, whether it is a complaint or question (a lower no-topic threshold)."""
        scores = self.score_matrix(texts, normalised)
        return self.decide(scores, None, problem), self.decide_many(scores, None, problem)

    def assign_corpus(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None, embeddings: np.ndarray | None = None
    ) -> list[tuple[str, str, float]]:
        """Like :meth:`assign`, over a whole corpus at once (see :meth:`corpus_scores`); the result for a post
        depends on the other posts, so this is for ranking and evaluation over a data set, not for scoring
        posts one batch at a time."""
        scores, refined = self.corpus_scores(texts, normalised, embeddings)
        return self.decide(scores, refined)

    def corpus_scores(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None, embeddings: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores, refined scores) of a whole corpus; refined is None below ``min_refine_posts`` posts.

        From ``min_refine_posts`` posts up, two corpus-level steps use the unlabelled corpus, no labels:

        * the embedding scores are computed on centred vectors (:meth:`embedding_scores` with the corpus's
          mean embedding as ``centre``), replacing the per-post ones of :meth:`score_matrix`;
        * the scores are smoothed over the corpus's nearest-neighbour graph (:meth:`refine`).
        """
        if not hasattr(self, "topic_word_"):
            self.fit()
        if normalised is None:
            normalised = self.normaliser_.normalise_many(texts)
        if embeddings is None and self.embeds:
            embeddings = self.embed(texts, normalised)
        scores = self.score_matrix(texts, normalised, embeddings)
        if (
            self.embeds
            and embeddings is not None
            and len(embeddings) >= self.min_refine_posts
            and self.weight_embedding
        ):
            centre = np.asarray(embeddings, dtype=np.float64).mean(axis=0)
            scores = scores + self.weight_embedding * (
                self.embedding_scores(embeddings, centre) - self.embedding_scores(embeddings)
            )
        return scores, self.refine(scores, normalised, embeddings)

    def refine(
        self, scores: np.ndarray, normalised: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Scores smoothed over the corpus's nearest-neighbour graph, or None when the corpus is too small.

        Guided clustering without labels, as label spreading (Zhou et al., 2004): posts that are close in
        meaning share topics, so each post's scores are pulled towards those of its ``refine_neighbours``
        nearest posts, ``F <- (1 - alpha) * S + alpha * mean(F[neighbours])``, for ``refine_iterations``
        rounds. A post with weak or ambiguous taxonomy evidence takes the topic of the posts that read like
        it, which is how the corpus's own phrasing for a topic (beyond the seeds) is learnt. Neighbours are
        by cosine of the centred sentence embeddings, else of the LSA vectors of the stemmed words.
        """
        n, n_topics = scores.shape
        if self.refine_iterations <= 0 or self.refine_alpha <= 0 or n < self.min_refine_posts or n_topics < 2:
            return None
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            space = (
                centred_unit(embeddings)
                if embeddings is not None
                else lsa_space([" ".join(content_stems(t)) for t in normalised])
            )
            if space is None:
                return None
            neighbours = nearest_neighbours(space, min(self.refine_neighbours, n - 1))
        refined = scores.copy()
        for _ in range(self.refine_iterations):
            refined = (1.0 - self.refine_alpha) * scores + self.refine_alpha * refined[neighbours].mean(axis=1)
        return refined

    def thresholds(self, n: int, problem: Sequence[bool] | None) -> np.ndarray:
        """Each post's no-topic threshold: ``min_score_problem`` where ``problem`` is true, else ``min_score``."""
        if problem is None:
            return np.full(n, self.min_score)
        return np.where(np.asarray(problem, dtype=bool), self.min_score_problem, self.min_score)

    def decide(
        self, scores: np.ndarray, probs: np.ndarray | None, problem: Sequence[bool] | None = None
    ) -> list[tuple[str, str, float]]:
        """Best topic per post: by ``probs`` (refined scores) when given, else by ``scores``.

        A post goes to ``other`` when its own taxonomy evidence (``scores``) stays below ``min_score``:
        refinement re-orders the topics of posts that have some evidence; it does not pull in posts that have
        none, which go to discovery.
        """
        if scores.shape[0] == 0:
            return []
        decided = probs if probs is not None else scores
        best = decided.argmax(axis=1)
        best_score = decided[np.arange(len(best)), best]
        evidence = scores.max(axis=1)
        other = evidence < self.thresholds(len(evidence), problem)
        # Vectorised (batch scoring calls this for every post): "other" is the extra last entry.
        choice = np.where(other, len(self.topic_ids_), best)
        ids = np.array([*self.topic_ids_, OTHER_ID], dtype=object)[choice].tolist()
        labels = np.array([*self.topic_labels_, OTHER_LABEL], dtype=object)[choice].tolist()
        shown = np.round(np.where(other, evidence, best_score), 4).tolist()
        return list(zip(ids, labels, shown))

    def decide_many(
        self, scores: np.ndarray, probs: np.ndarray | None = None, problem: Sequence[bool] | None = None
    ) -> list[list[tuple[str, float]]]:
        """Every topic a post clearly belongs to, best first, as (topic id, score); ``[]`` for no topic.

        The first is :meth:`decide`'s topic. Others follow where their score reaches ``secondary_ratio``
        times the best one (and ``min_score``), at most ``max_topics`` in all: "the app crashed and I was
        charged twice" is about both, "the app is slow" about one.
        """
        n = scores.shape[0]
        if n == 0:
            return []
        decided = probs if probs is not None else scores
        k = max(1, min(self.max_topics, decided.shape[1]))
        order = np.argsort(-decided, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(decided, order, axis=1)
        best = top[:, :1]
        floor = self.thresholds(n, problem)[:, None]
        keep = (top >= np.maximum(floor, self.secondary_ratio * best)) & (best >= floor)
        keep[:, 0] = scores.max(axis=1) >= floor[:, 0]  # the primary topic follows decide()
        keep &= keep[:, :1]
        ids = self.topic_ids_
        out: list[list[tuple[str, float]]] = []
        for row, values, kept in zip(order.tolist(), np.round(top, 4).tolist(), keep.tolist()):
            out.append([(ids[j], v) for j, v, flag in zip(row, values, kept) if flag])
        return out
