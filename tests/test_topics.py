"""Taxonomy loading, guided topic assignment and topic discovery."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from pipeline.errors import ConfigError
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.discover import TopicDiscoverer
from pipeline.topics.taxonomy import OTHER_ID, Taxonomy, load_taxonomy
from pipeline.topics.tokens import stem

TAXONOMY_YAML = """
topics:
  - name: lost-luggage
    label: Lost luggage
    description: bags lost, delayed or not delivered
    seeds: [lost bag, luggage, baggage claim, bag never arrived, suitcase]
  - name: delays
    label: Delays
    description: flights that leave or arrive late
    seeds: [delayed, delay, late flight, sitting on the tarmac]
  - name: refunds
    label: Refunds
    description: money back not received
    seeds: [refund, money back, reimbursement]
"""


@pytest.fixture()
def taxonomy(tmp_path: Path) -> Taxonomy:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(TAXONOMY_YAML, encoding="utf-8")
    return load_taxonomy(path)


def test_load_taxonomy(taxonomy: Taxonomy) -> None:
    assert [t.name for t in taxonomy.topics] == ["lost-luggage", "delays", "refunds"]
    assert taxonomy.topics[0].seeds[0] == "lost bag"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("topics: [", "not valid YAML"),
        ("- just a list", "mapping"),
        ("topics: []", "at least one topic"),
        ("topics:\n  - name: a\n    label: A\n  - name: a\n    label: B\n", "duplicate topic name"),
        ("topics:\n  - name: Not Kebab\n    label: A\n", "kebab-case"),
        ("topics:\n  - name: other\n    label: A\n", "reserved"),
        ("topics:\n  - name: a\n", "label"),
        ("topics:\n  - name: a\n    label: A\n    colour: red\n", "colour"),
        ("topics:\n  - name: a\n    label: A\n    seeds: ['']\n", "seed"),
    ],
)
def test_load_taxonomy_errors_are_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message
    assert str(path) in message


def test_load_taxonomy_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_taxonomy(tmp_path / "nope.yaml")


def test_stem_is_consistent_across_forms() -> None:
    assert stem("cancelled") == stem("cancels") == stem("cancellation") == stem("cancel")
    assert stem("delayed") == stem("delays") == stem("delay")
    assert stem("bring") == "bring"


def test_a_noun_in_ing_is_not_its_verb() -> None:
    # "packaging" is not a "package", a phone "charging" not a bill's "charges".
    assert stem("packaging") == "packaging" != stem("package") == stem("packages")
    assert stem("charging") == "charging" != stem("charged")
    assert stem("settings") == stem("setting") == "setting"
    assert stem("shipping") == stem("ships")  # the same meaning: stemmed as before
    taxonomy = Taxonomy.model_validate(
        {
            "aspect_library": False,
            "topics": [
                {"name": "packaging", "label": "Packaging", "seeds": ["packaging", "box", "bubble wrap"]},
                {"name": "delivery", "label": "Delivery", "seeds": ["carrier", "courier", "delivered"]},
            ],
        }
    )
    assigner = TopicAssigner(taxonomy).fit()
    assert assigner.assign(["my package is held by the carrier"])[0][0] == "delivery"
    assert assigner.assign(["the packaging was ripped open"])[0][0] == "packaging"


def test_assign_obvious_posts(taxonomy: Taxonomy) -> None:
    assigner = TopicAssigner(taxonomy).fit()
    posts = [
        "@SkyAir my bag never arrived, 3 days now at baggage claim",
        "flight DELAYED again, sitting on the tarmac for two hours",
        "when do I get my refund?? still no money back",
        "what a lovely sunny morning",
        "my lugage is lost",  # a typo: only the character n-grams and 'lost' can find it
    ]
    out = assigner.assign(posts)
    assert [t for t, _, _ in out] == ["lost-luggage", "delays", "refunds", OTHER_ID, "lost-luggage"]
    assert out[0][1] == "Lost luggage"
    assert out[3][1] == "Other"
    assert all(isinstance(s, float) for _, _, s in out)
    assert out[0][2] > out[3][2]
    assert assigner.assign([]) == []


def test_longest_match_wins(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "topics:\n  - name: bags\n    label: Bags\n    seeds: [delayed bag]\n"
        "  - name: late\n    label: Late\n    seeds: [delayed]\n",
        encoding="utf-8",
    )
    assigner = TopicAssigner(load_taxonomy(path)).fit()
    assert assigner.assign(["my delayed bag is still missing"])[0][0] == "bags"
    assert assigner.assign(["the flight is delayed"])[0][0] == "late"


NAMES_ONLY_YAML = """
topics:
  - name: battery
    label: Battery life
  - name: screen
    label: Screen problems
    description: cracked or flickering displays
  - name: billing
    label: Billing issues
"""


def test_a_taxonomy_of_topic_names_alone_matches_their_words(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    path.write_text(NAMES_ONLY_YAML, encoding="utf-8")
    names_only = load_taxonomy(path)
    unfitted = TopicAssigner(names_only).seeds_of(names_only.topics[0], borrow=False)
    assert unfitted == ["battery life", "battery", "life"]
    assigner = TopicAssigner(names_only).fit()
    # The label and the content words of label and description become seeds; words that name a kind of topic
    # ("problems", "issues") do not. (The aspect library's seeds follow them: tests/test_aspect_library.py.)
    assert assigner.seeds_of(names_only.topics[0], borrow=False) == ["battery life", "battery", "life"]
    assert assigner.seeds_of(names_only.topics[1], borrow=False) == [
        "screen problems",
        "screen",
        "cracked",
        "flickering",
        "displays",
    ]
    assert assigner.seeds_of(names_only.topics[2], borrow=False) == ["billing issues", "billing"]
    for topic in names_only.topics:
        assert assigner.seeds_of(topic)[: len(assigner.seeds_of(topic, borrow=False))] == assigner.seeds_of(
            topic, borrow=False
        )
    posts = ["my battery is dead by noon every day", "the screen is cracked", "billing sent me the wrong amount"]
    assert [t for t, _, _ in assigner.assign(posts)] == ["battery", "screen", "billing"]
    # Without them the seed matcher has nothing to match, and a plain problem post falls under the no-topic bar.
    without = TopicAssigner(names_only, implicit_seeds_below=0, library_seed_weight=0).fit()
    assert without.phrases_ == []
    assert [t for t, _, _ in without.assign(posts)].count(OTHER_ID) >= 1
    assert TopicAssigner.from_config(assigner.get_config()).fit().assign(posts) == assigner.assign(posts)


def test_a_judging_word_in_a_label_is_no_seed(tmp_path: Path) -> None:
    path = tmp_path / "judging.yaml"
    path.write_text(
        "topics:\n  - name: bad-service\n    label: Bad customer service\n  - name: delivery\n    label: Delivery\n",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy(path)
    assigner = TopicAssigner(taxonomy).fit()
    assert assigner.seeds_of(taxonomy.topics[0], borrow=False) == ["bad customer service", "customer", "service"]
    # "bad" says how the author judges something, not what: it must not pull a post into the problem-named topic.
    topics = [t for t, _, _ in assigner.assign(["my parcel never came, bad", "bad delivery again"])]
    assert topics[0] != "bad-service" and topics[1] == "delivery"  # the parcel: delivery, by the aspect library
    alone = TopicAssigner(taxonomy, library_seed_weight=0).fit()
    assert [t for t, _, _ in alone.assign(["my parcel never came, bad"])] == [OTHER_ID]


def test_description_words_weigh_less_than_label_words(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    path.write_text(NAMES_ONLY_YAML, encoding="utf-8")
    names_only = load_taxonomy(path)
    evidence = {}
    for weight in (0.25, 1.0):
        assigner = TopicAssigner(names_only, implicit_description_weight=weight).fit()
        # Seed-match evidence of a post saying only "screen", and of one saying only "cracked", for the screen topic.
        evidence[weight] = assigner._match_scores([["screen"], ["crack"]])[:, 1]
    # "screen" (label) keeps a full seed's evidence, "cracked" (description only) takes the weight.
    assert evidence[0.25][0] == pytest.approx(evidence[1.0][0]) == pytest.approx(0.5)
    assert evidence[0.25][1] == pytest.approx(0.125) and evidence[1.0][1] == pytest.approx(0.5)


def test_taxonomy_without_seeds_and_descriptions(taxonomy: Taxonomy) -> None:
    names_only = taxonomy.without("seeds", "description")
    assert [(t.name, t.label, t.seeds, t.description) for t in names_only.topics] == [
        (t.name, t.label, [], "") for t in taxonomy.topics
    ]
    assert taxonomy.topics[0].seeds  # the original is untouched
    with pytest.raises(ConfigError, match="cannot cut label"):
        taxonomy.without("label")


def test_written_seeds_are_used_as_written(taxonomy: Taxonomy) -> None:
    assigner = TopicAssigner(taxonomy).fit()
    assert assigner.seeds_ == [t.seeds for t in taxonomy.topics]


def test_config_round_trip_gives_identical_scores(taxonomy: Taxonomy) -> None:
    assigner = TopicAssigner(taxonomy, min_score=0.1).fit(["texts are accepted and ignored"])
    config = json.loads(json.dumps(assigner.get_config()))
    rebuilt = TopicAssigner.from_config(config).fit()
    posts = ["lost my suitcase", "delay delay delay", "hello"]
    assert rebuilt.assign(posts) == assigner.assign(posts)
    assert rebuilt.min_score == 0.1


def test_normalised_input_is_accepted(taxonomy: Taxonomy) -> None:
    assigner = TopicAssigner(taxonomy).fit()
    texts = ["lost my suitcase", "refund please"]
    normalised = assigner.normaliser_.normalise_many(texts)
    assert assigner.assign(texts, normalised=normalised) == assigner.assign(texts)


PLANTED = {
    "refund": ["refund", "voucher", "money", "credit", "reimbursement", "card"],
    "wifi": ["wifi", "internet", "connection", "signal", "router", "slow"],
    "food": ["meal", "food", "cold", "sandwich", "vegetarian", "snack"],
}
FILLER = ["today", "again", "really", "still", "why", "please", "week"]


def _planted_posts(seed: int, per_topic: int = 30) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, truth = [], []
    for name, words in PLANTED.items():
        for _ in range(per_topic):
            picked = rng.sample(words, 4) + rng.sample(FILLER, 2)
            rng.shuffle(picked)
            texts.append("@brand " + " ".join(picked))
            truth.append(name)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [truth[i] for i in order]


def test_discovery_finds_planted_clusters_with_k_from_data() -> None:
    texts, truth = _planted_posts(0)
    disc = TopicDiscoverer(min_topic_size=5, max_topics=8, random_state=0).fit(texts)
    assert disc.k_ == 3  # chosen by stability out of 3..8
    assert normalized_mutual_info_score(truth, disc.labels_) > 0.9
    assert len(disc.topics_) == 3
    for topic_id, info in disc.topics_.items():
        assert topic_id.startswith("d-")
        assert info["size"] == 30
        assert len(info["representative_indices"]) == 5
        planted = {truth[i] for i in info["representative_indices"]}
        assert len(planted) == 1
        words = set(PLANTED[planted.pop()])
        assert set(info["keywords"][:3]) <= words
        # A name, not a keyword list: one or two of the topic's own words, capitalised.
        name = info["label"]
        assert "," not in name and name[0].isupper() and set(name.lower().split()) <= words
    assert all(len(disc.labels_) == len(texts) for _ in [0])


def test_topic_name_prefers_a_strong_phrase() -> None:
    from pipeline.topics.discover import _topic_name

    terms = np.array(["number", "number porting", "porting", "sim"])
    order = np.array([0, 1, 2, 3])
    assert _topic_name(order, np.array([1.0, 0.6, 0.5, 0.1]), terms, str) == "Number porting"
    assert _topic_name(order, np.array([1.0, 0.3, 0.5, 0.1]), terms, str) == "Number porting"  # the top two words
    assert _topic_name(np.array([0, 3]), np.array([1.0, 0.0, 0.0, 0.4]), terms, str) == "Number"
    assert _topic_name(order, np.zeros(4), terms, str) == ""


def test_discovery_ids_are_stable_across_runs() -> None:
    texts, _ = _planted_posts(0)
    first = TopicDiscoverer(max_topics=8).fit(texts)
    again = TopicDiscoverer(max_topics=8).fit(texts)
    assert first.labels_ == again.labels_
    # Different posts of the same topics: ids come back through keyword matching with the first run.
    other_texts, other_truth = _planted_posts(1, per_topic=25)
    previous = {tid: info["keywords"] for tid, info in first.topics_.items()}
    rerun = TopicDiscoverer(max_topics=8, previous=previous).fit(other_texts)
    assert set(rerun.topics_) == set(first.topics_)
    first_map = {truth: tid for tid, truth in zip(first.labels_, _planted_posts(0)[1])}
    for tid, truth in zip(rerun.labels_, other_truth):
        assert first_map[truth] == tid


def test_discovery_on_too_few_posts_is_all_other() -> None:
    disc = TopicDiscoverer(min_topic_size=5).fit(["one post", "two posts"])
    assert disc.labels_ == [OTHER_ID, OTHER_ID]
    assert disc.topics_ == {}


# ---------------------------------------------------------------------------------------------------------
# Sentence embeddings: a tiny random-init BERT built in tmp (never a hub download)
# ---------------------------------------------------------------------------------------------------------

TINY_WORDS = [
    "bag",
    "lost",
    "luggage",
    "delay",
    "delayed",
    "late",
    "refund",
    "money",
    "flight",
    "my",
    "the",
    "is",
    "again",
    "suitcase",
    "back",
    "hours",
    "tarmac",
    "claim",
    "baggage",
    "never",
    "arrived",
]


@pytest.fixture(scope="module")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch", reason="torch not installed (extra topics-embed)")
    transformers = pytest.importorskip("transformers", reason="transformers not installed (extra topics-embed)")
    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", "?", "!", *TINY_WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(path))
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(str(path))
    return path


def test_sentence_encoder_unit_vectors_and_cache(
    tiny_encoder_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.topics.sentence_encoder import SentenceEncoder, encoder_text

    cleaned = encoder_text("@united my bag is Cancelled Flightled http://t.co/x #LostBag")
    assert cleaned == "my bag is cancelled Lost Bag"
    texts = ["my bag is lost", "flight delayed again", "my bag is lost"]
    enc = SentenceEncoder(str(tiny_encoder_dir), cache_dir=tmp_path / "cache")
    vectors = enc.encode(texts)
    assert vectors.shape == (3, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2])
    # A fresh encoder reads every vector from the cache without running the model.
    again = SentenceEncoder(str(tiny_encoder_dir), cache_dir=tmp_path / "cache")
    monkeypatch.setattr(again, "_encode_raw", lambda _texts: pytest.fail("cache miss"))
    assert np.allclose(again.encode(texts), vectors)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # PCA of a random tiny model's flat vectors
def test_assigner_and_discoverer_with_encoder(taxonomy: Taxonomy, tiny_encoder_dir: Path) -> None:
    lexical = TopicAssigner(taxonomy).fit()
    assigner = TopicAssigner(taxonomy, encoder=str(tiny_encoder_dir), weight_embedding=0.05).fit()
    posts = [
        "my bag never arrived at baggage claim",
        "flight delayed again, hours on the tarmac",
        "refund money back please",
    ]
    emb = assigner.embed(posts)
    assert emb is not None and emb.shape == (3, 16)
    scores = assigner.score_matrix(posts, embeddings=emb)
    # Centred embedding scores add zero on average over topics; a small weight keeps the lexical order.
    assert np.allclose(scores.sum(axis=1), lexical.score_matrix(posts).sum(axis=1))
    assert [t for t, _, _ in assigner.assign(posts)] == ["lost-luggage", "delays", "refunds"]
    texts, _truth = _planted_posts(0)
    disc = TopicDiscoverer(max_topics=6, encoder=str(tiny_encoder_dir)).fit(texts)
    assert disc.space_ == "sentence-embedding"
    assert len(disc.labels_) == len(texts) and disc.k_ >= 2


def test_missing_extra_falls_back_with_a_message(
    taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipeline.topics.tokens as topic_tokens
    from pipeline.extras import MissingExtraError
    from pipeline.topics import sentence_encoder

    def missing(module: str, extra: str, feature: str) -> None:
        raise MissingExtraError(f"{feature} needs the '{module}' package: pip install 'voc-pipeline[{extra}]'")

    monkeypatch.setattr(sentence_encoder, "require", missing)
    monkeypatch.setattr(topic_tokens, "_WARNED", set())
    assigner = TopicAssigner(taxonomy, encoder="all-MiniLM-L6-v2").fit()
    assert assigner.encoder_ is None
    assert assigner.assign(["lost my suitcase"])[0][0] == "lost-luggage"
    texts, _ = _planted_posts(0)
    disc = TopicDiscoverer(max_topics=6, encoder="all-MiniLM-L6-v2").fit(texts)
    assert disc.space_ == "tfidf-svd"
    err = capsys.readouterr().err
    assert "voc-pipeline[topics-embed]" in err and err.count("warning:") == 2


def test_refine_spreads_topics_over_the_neighbour_graph(taxonomy: Taxonomy) -> None:
    # Two groups of posts, close in embedding space within a group. Most posts of group A lean to topic 0,
    # a minority leans weakly to topic 1 (noise): refinement gives them the topic of their neighbours.
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 16))
    group = np.repeat([0, 1], 150)
    emb = centres[group] + 0.3 * rng.normal(size=(300, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = np.zeros((300, 3))
    scores[np.arange(300), group] = 0.5
    noisy = rng.choice(300, 60, replace=False)
    scores[noisy, group[noisy]] = 0.2
    scores[noisy, 1 - group[noisy]] = 0.3
    assigner = TopicAssigner(taxonomy, min_refine_posts=50).fit()
    refined = assigner.refine(scores, [""] * 300, emb)
    assert refined is not None
    assert (refined.argmax(axis=1) == group).mean() > 0.95
    assert (scores.argmax(axis=1) == group).mean() == pytest.approx(0.8)
    # Too few posts, or refinement switched off: nothing to refine.
    assert assigner.refine(scores[:20], [""] * 20, emb[:20]) is None
    assert TopicAssigner(taxonomy, refine_iterations=0).fit().refine(scores, [""] * 300, emb) is None


def test_assign_corpus_keeps_posts_without_evidence_in_other(taxonomy: Taxonomy) -> None:
    texts = ["my suitcase never arrived at baggage claim"] * 150 + ["what a lovely morning"] * 60
    assigner = TopicAssigner(taxonomy, min_refine_posts=50).fit()
    out = assigner.assign_corpus(texts)
    assert {t for t, _, _ in out[:150]} == {"lost-luggage"}
    assert {t for t, _, _ in out[150:]} == {OTHER_ID}


def _vector_assigner(taxonomy: Taxonomy) -> TopicAssigner:
    """An assigner whose topic and seed vectors are set by hand: topic k = shared direction + e_k."""
    assigner = TopicAssigner(
        taxonomy, weight_match=0.0, weight_word=0.0, weight_char=0.0, min_refine_posts=50, refine_iterations=0
    ).fit()
    dim = 16
    shared = np.zeros(dim)
    shared[5] = 2.0
    vectors = np.stack([shared + np.eye(dim)[k] for k in range(3)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assigner.encoder_ = object()  # marks the encoder as in use; embeddings are passed in
    assigner.topic_vectors_ = vectors
    assigner.seed_vectors_ = vectors.copy()
    assigner.seed_owner_ = np.arange(3)
    assigner.post_centre_ = vectors.mean(axis=0)  # as fit() sets it: the topics' mean
    return assigner


def test_corpus_centring_removes_what_all_posts_share(taxonomy: Taxonomy) -> None:
    # Every post leans to topic 0 (the corpus mean does); half of them carry a little more of topic 1's
    # own direction than the rest. Per post they all look like topic 0; against the corpus, half are topic 1.
    assigner = _vector_assigner(taxonomy)
    rng = np.random.default_rng(0)
    n = 200
    common = np.zeros(16)
    common[0], common[7] = 0.5, 1.0
    group = np.repeat([0, 1], n // 2)
    emb = common + 0.4 * np.eye(16)[group] + 0.01 * rng.normal(size=(n, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    plain = assigner.embedding_scores(emb)
    assert (plain.argmax(axis=1) == 0).all()
    centred = assigner.embedding_scores(emb, emb.mean(axis=0))
    assert (centred.argmax(axis=1) == group).all()
    assert np.allclose(centred.sum(axis=1), 0.0)
    # corpus_scores uses the centred scores from min_refine_posts posts up, the per-post ones below it.
    scores, refined = assigner.corpus_scores([""] * n, [""] * n, emb)
    w = assigner.weight_embedding
    assert refined is None and np.allclose(scores, w * centred)
    small, _ = assigner.corpus_scores([""] * 20, [""] * 20, emb[:20])
    assert np.allclose(small, w * plain[:20])


def test_discovery_k_selection_options() -> None:
    texts, truth = _planted_posts(0)
    by_silhouette = TopicDiscoverer(max_topics=8, k_selection="silhouette").fit(texts)
    assert by_silhouette.k_ == 3 and by_silhouette.stabilities_ == {} and len(by_silhouette.silhouettes_) > 3
    by_stability = TopicDiscoverer(max_topics=8).fit(texts)
    # Planted topics: every half of the posts gives the same partition at the true k.
    assert by_stability.stabilities_[3] == max(by_stability.stabilities_.values())
    assert 2 not in by_stability.stabilities_ and list(by_stability.silhouettes_) == [3]
    assert normalized_mutual_info_score(truth, by_stability.labels_) > 0.9
    with pytest.raises(ConfigError, match="k_selection"):
        TopicDiscoverer(k_selection="elbow")
