"""Taxonomy loading, guided topic assignment and topic discovery."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sklearn.metrics import normalized_mutual_info_score

from pipeline.errors import ConfigError
from pipeline.topics import OTHER_ID, Taxonomy, TopicAssigner, TopicDiscoverer, load_taxonomy, stem

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
    path.write_text("topics:\n  - name: bags\n    label: Bags\n    seeds: [delayed bag]\n"
                    "  - name: late\n    label: Late\n    seeds: [delayed]\n", encoding="utf-8")
    assigner = TopicAssigner(load_taxonomy(path)).fit()
    assert assigner.assign(["my delayed bag is still missing"])[0][0] == "bags"
    assert assigner.assign(["the flight is delayed"])[0][0] == "late"


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
    assert disc.k_ == 3  # chosen by silhouette out of 2..8
    assert normalized_mutual_info_score(truth, disc.labels_) > 0.9
    assert len(disc.topics_) == 3
    for topic_id, info in disc.topics_.items():
        assert topic_id.startswith("d-")
        assert info["size"] == 30
        assert len(info["representative_indices"]) == 5
        planted = {truth[i] for i in info["representative_indices"]}
        assert len(planted) == 1
        assert set(info["keywords"][:3]) <= set(PLANTED[planted.pop()])
    assert all(len(disc.labels_) == len(texts) for _ in [0])


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
