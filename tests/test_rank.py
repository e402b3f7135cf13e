"""The topic ranking: impact score, intervals, growth and emergence, brands, outputs."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipeline.errors import ConfigError, InputError
from pipeline.ranking.rank import (
    RankConfig,
    load_rank_config,
    previous_topics,
    rank_posts,
    summary_markdown,
    write_ranking,
)
from pipeline.ranking.run import rank_file

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def post(i: int, topic: str, intent: str, sentiment: str, day: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"p{i}",
        "text": f"post {i} about {topic}",
        "intent": intent,
        "intent_scores": {intent: 1.0},
        "sentiment": sentiment,
        "sentiment_scores": {sentiment: 1.0},
        "topic": topic,
        "topic_label": topic.replace("-", " ").title(),
        "topic_score": 0.5,
        "created_at": (START + timedelta(days=day)).isoformat(),
        **extra,
    }


def base_records(seed: int = 0) -> list[dict[str, Any]]:
    """Complaints about luggage; requests and thanks about upgrades; neutral noise in 'other'."""
    rng = random.Random(seed)
    recs: list[dict[str, Any]] = []
    for _ in range(40):
        recs.append(post(len(recs), "lost-luggage", "complaint", "negative", rng.uniform(0, 28)))
    for _ in range(10):
        recs.append(post(len(recs), "lost-luggage", "question", "neutral", rng.uniform(0, 28)))
    for _ in range(60):  # many posts, none of which is a problem: negative favour-seeking must not count
        recs.append(post(len(recs), "upgrades", "favour-seeking", "negative", rng.uniform(0, 28)))
    for _ in range(40):
        recs.append(post(len(recs), "upgrades", "praise", "positive", rng.uniform(0, 28)))
    for _ in range(200):
        intent = rng.choice(["other", "question", "complaint"])
        recs.append(post(len(recs), "other", intent, "neutral", rng.uniform(0, 28)))
    return recs


NO_DISCOVERY = RankConfig(discover=False, n_bootstrap=200)


def test_complaints_outrank_favour_seeking_and_praise() -> None:
    result = rank_posts(base_records(), NO_DISCOVERY)
    order = [t["topic"] for t in result["topics"]]
    assert order == ["lost-luggage", "upgrades"]
    luggage, upgrades = result["topics"]
    assert luggage["score"] > 0 >= upgrades["score"]
    assert luggage["rank"] == 1 and upgrades["rank"] == 2
    assert upgrades["n_posts"] > luggage["n_posts"]
    assert luggage["n_complaints"] == 40
    assert upgrades["intents"] == {"favour-seeking": 60, "praise": 40}
    assert luggage["sentiments"] == {"negative": 40, "neutral": 10}
    assert "other" not in order  # never ranked


def test_score_is_leave_topic_out_impact() -> None:
    recs = base_records()
    removed = rank_posts(recs, NO_DISCOVERY.model_copy(update={"score_formula": "removed"}))
    problems = [r["intent"] == "complaint" for r in recs]
    rate_all = sum(problems) / len(recs)
    rest = [p for p, r in zip(problems, recs) if r["topic"] != "lost-luggage"]
    expected = rate_all - sum(rest) / len(rest)
    assert removed["topics"][0]["score"] == pytest.approx(expected, abs=1e-6)
    # Default: the topic's problems resolved (they stay as posts, no longer problems) -> p(t) / W.
    resolved = rank_posts(recs, NO_DISCOVERY)
    luggage = next(t for t in resolved["topics"] if t["topic"] == "lost-luggage")
    expected_resolved = rate_all - (sum(problems) - 40) / len(recs)
    assert luggage["score"] == pytest.approx(expected_resolved, abs=1e-6)
    assert luggage["impact_removed"] == pytest.approx(expected, abs=1e-6)


def test_resolved_formula_orders_by_problem_volume_not_excess() -> None:
    # A topic that many customers complain about but that also collects praise must outrank a small topic
    # of pure complaints; the Thematic formula ("removed") puts it below, or even under zero.
    recs: list[dict[str, Any]] = []
    for _ in range(300):
        recs.append(post(len(recs), "service", "complaint", "negative", 1))
    for _ in range(150):
        recs.append(post(len(recs), "service", "praise", "positive", 1))
    for _ in range(60):
        recs.append(post(len(recs), "wifi", "complaint", "negative", 1))
    for _ in range(100):
        recs.append(post(len(recs), "other", "complaint", "negative", 1))
    default = [t["topic"] for t in rank_posts(recs, NO_DISCOVERY)["topics"]]
    removed = rank_posts(recs, NO_DISCOVERY.model_copy(update={"score_formula": "removed"}))["topics"]
    assert default == ["service", "wifi"]
    assert [t["topic"] for t in removed] == ["wifi", "service"]


def test_confidence_interval_contains_score_and_is_seeded() -> None:
    recs = base_records()
    a = rank_posts(recs, NO_DISCOVERY)
    b = rank_posts(recs, NO_DISCOVERY)
    for t in a["topics"]:
        assert t["ci_low"] <= t["score"] <= t["ci_high"]
        if t["n_problems"]:  # a topic without problems scores exactly 0 in every resample
            assert t["ci_low"] < t["ci_high"]
    assert [(t["ci_low"], t["ci_high"]) for t in a["topics"]] == [(t["ci_low"], t["ci_high"]) for t in b["topics"]]


def test_min_support_drops_small_topics() -> None:
    recs = base_records() + [post(1000 + i, "tiny", "complaint", "negative", 3) for i in range(3)]
    topics = [t["topic"] for t in rank_posts(recs, NO_DISCOVERY)["topics"]]
    assert "tiny" not in topics
    topics = [t["topic"] for t in rank_posts(recs, NO_DISCOVERY.model_copy(update={"min_support": 3}))["topics"]]
    assert "tiny" in topics


def test_growth_and_emergence_for_a_rising_topic() -> None:
    rng = random.Random(1)
    recs = base_records()
    # 4 complaints a week for three weeks, then 40 in the last week.
    for week, n in enumerate([4, 4, 4, 40]):
        for _ in range(n):
            recs.append(post(len(recs), "app-crash", "complaint", "negative", week * 7 + rng.uniform(0.1, 6.9)))
    result = rank_posts(recs, NO_DISCOVERY)
    by_topic = {t["topic"]: t for t in result["topics"]}
    rising, steady = by_topic["app-crash"], by_topic["lost-luggage"]
    assert rising["growth"] > 3
    assert rising["emergence"] > 5 and rising["emerging"]
    assert abs(steady["emergence"]) < rising["emergence"]
    assert not steady["emerging"]
    assert len(result["windows"]) == 4
    assert rising["trend"][-1] == 40 and len(rising["trend"]) == 4


def test_no_timestamps_means_no_growth() -> None:
    recs = base_records()
    for r in recs:
        r["created_at"] = None
    result = rank_posts(recs, NO_DISCOVERY)
    assert result["windows"] == []
    assert all(t["growth"] == 0 and t["emergence"] == 0 for t in result["topics"])


def test_by_brand() -> None:
    recs = []
    for i in range(60):
        brand = "Alpha" if i % 2 else "Beta"
        topic = ("wifi" if i % 3 else "seats") if brand == "Alpha" else ("seats" if i % 3 else "wifi")
        recs.append(post(i, topic, "complaint", "negative", i % 20, brand=brand))
    for i in range(60, 160):
        recs.append(post(i, "other", "other", "neutral", i % 20, brand="Alpha" if i % 2 else "Beta"))
    result = rank_posts(recs, NO_DISCOVERY, by_brand=True)
    assert set(result["brands"]) == {"Alpha", "Beta"}
    assert result["brands"]["Alpha"][0]["topic"] == "wifi"
    assert result["brands"]["Beta"][0]["topic"] == "seats"
    for entries in result["brands"].values():
        assert [t["rank"] for t in entries] == list(range(1, len(entries) + 1))
        assert {"topic", "label", "score", "ci_low", "ci_high", "n_posts", "examples"} <= set(entries[0])
    assert result["brand_mix"]["Alpha"]["n_posts"] == 80
    assert "brands" not in rank_posts(recs, NO_DISCOVERY)


def test_reach_weighting() -> None:
    recs = base_records()
    for r in recs:
        r["reach"] = 10_000 if r["topic"] == "lost-luggage" else 1
    weighted = rank_posts(recs, NO_DISCOVERY)
    unweighted = rank_posts(recs, NO_DISCOVERY.model_copy(update={"reach_weighting": "none"}))
    assert weighted["parameters"]["reach_weighted"] is True
    assert unweighted["parameters"]["reach_weighted"] is False
    assert weighted["topics"][0]["score"] > unweighted["topics"][0]["score"]


def test_examples_are_complaints_by_topic_score() -> None:
    recs = base_records()
    recs[5]["topic_score"] = 0.99
    recs[45]["topic_score"] = 1.0  # a question: ranks after the complaints
    luggage = rank_posts(recs, NO_DISCOVERY)["topics"][0]
    assert luggage["examples"][0] == "p5"
    assert "p45" not in luggage["examples"]
    assert len(luggage["examples"]) == 5


def test_discovery_turns_other_complaints_into_topics() -> None:
    rng = random.Random(3)
    recs = base_records()
    vocab = {"wifi": ["wifi", "internet", "signal", "connection"], "meal": ["meal", "food", "cold", "sandwich"]}
    for _name, words in vocab.items():
        for _ in range(20):
            r = post(len(recs), "other", "complaint", "negative", rng.uniform(0, 28))
            r["text"] = " ".join(rng.sample(words, 3) + [rng.choice(["again", "today", "still"])])
            recs.append(r)
    result = rank_posts(recs, RankConfig(n_bootstrap=100, max_topics=6, encoder="none"))
    discovered = [t for t in result["topics"] if t["source"] == "discovered"]
    assert len(discovered) >= 2
    assert all(t["topic"].startswith("d-") and t["keywords"] for t in discovered)
    again = rank_posts(
        recs, RankConfig(n_bootstrap=100, max_topics=6, encoder="none"), previous=previous_topics(result)
    )
    assert {t["topic"] for t in again["topics"]} == {t["topic"] for t in result["topics"]}
    assert result["discovery"]["k_selection"] == "stability" and result["discovery"]["stability"] > 0
    by_silhouette = rank_posts(recs, RankConfig(n_bootstrap=0, max_topics=6, encoder="none", k_selection="silhouette"))
    assert by_silhouette["discovery"]["k_selection"] == "silhouette"
    assert len([t for t in by_silhouette["topics"] if t["source"] == "discovered"]) >= 2


def test_write_ranking_and_summary(tmp_path: Path) -> None:
    recs = base_records()
    for r in recs:
        r["brand"] = "Alpha"
    result = rank_posts(recs, NO_DISCOVERY, by_brand=True)
    paths = write_ranking(result, tmp_path / "out", recs)
    assert set(paths) == {"json", "csv", "html"}
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    for key in ("generated_at", "n_posts", "parameters", "windows", "topics", "brands"):
        assert key in data
    for t in data["topics"]:
        for key in (
            "topic",
            "label",
            "rank",
            "score",
            "ci_low",
            "ci_high",
            "n_posts",
            "n_complaints",
            "negative_share",
            "growth",
            "emergence",
            "source",
            "keywords",
            "examples",
        ):
            assert key in t
    rows = list(csv.DictReader(paths["csv"].open(encoding="utf-8")))
    assert rows[0]["topic"] == "lost-luggage" and rows[0]["brand"] == ""
    assert any(r["brand"] == "Alpha" for r in rows)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ranking.csv", "ranking.json", "report.html"]
    md = summary_markdown(result, top=1)
    assert "| Rank | Topic |" in md and "Lost Luggage" in md and "Upgrades" not in md


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        RankConfig(min_supprot=3)  # type: ignore[call-arg]


def test_rank_file_reads_scored_posts_and_reports_rejected_rows(tmp_path: Path) -> None:
    scored = tmp_path / "scored.jsonl"
    lines = [json.dumps(r) for r in base_records()] + ["{not json"]
    scored.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ranking"
    result, paths = rank_file(scored, out, config=NO_DISCOVERY)
    assert result["input"]["n_rejected"] == 1
    assert Path(f"{out}.rejected.jsonl").exists()
    assert result["topics"][0]["topic"] == "lost-luggage"
    assert all(p.exists() for p in paths.values())


def test_rank_file_takes_time_and_brand_from_named_fields(tmp_path: Path) -> None:
    """Scored exports keep the input's own column names (`tweet_created`, `airline`): --time-field/--brand-field."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    recs = base_records()
    for i, r in enumerate(recs):
        r["when"], r["created_at"] = r["created_at"], None  # the real timestamps live in `when` only
        r["company"] = "Alpha" if i % 2 else "Beta"
    scored = tmp_path / "scored.jsonl"
    scored.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    plain, _ = rank_file(scored, tmp_path / "plain", config=NO_DISCOVERY, by_brand=True)
    assert plain["windows"] == [] and "Alpha" not in plain.get("brands", {})
    named, _ = rank_file(
        scored, tmp_path / "named", config=NO_DISCOVERY, by_brand=True, time_field="when", brand_field="company"
    )
    assert len(named["windows"]) == 4 and set(named["brands"]) == {"Alpha", "Beta"}
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["rank", "-i", str(scored), "-o", str(tmp_path / "cli"), "--by", "brand", "--time-field", "when",
         "--brand-field", "company", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(json.loads((tmp_path / "cli" / "ranking.json").read_text())["brands"]) == {"Alpha", "Beta"}
    result = runner.invoke(app, ["rank", "-i", str(scored), "-o", str(tmp_path / "bad"), "--time-field", "nope"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {scored} has no 'nope' field (given as the created_at field)"


def test_rank_file_refuses_unscored_posts(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"id": "1", "text": "hello"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="voc score"):
        rank_file(raw, tmp_path / "out")


def test_load_rank_config(tmp_path: Path) -> None:
    assert load_rank_config(None) == RankConfig()
    good = tmp_path / "rank.yaml"
    good.write_text("rank:\n  min_support: 3\n  window_days: 14\n", encoding="utf-8")
    assert load_rank_config(good).window_days == 14
    bad = tmp_path / "bad.yaml"
    bad.write_text("min_supprot: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="min_supprot"):
        load_rank_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_rank_config(tmp_path / "missing.yaml")


def test_committed_rank_config_holds_the_defaults() -> None:
    path = Path(__file__).resolve().parents[1] / "configs" / "rank.yaml"
    assert load_rank_config(path) == RankConfig()


def test_encoder_setting_is_resolved_without_loading_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.ranking.rank import choose_encoder
    from pipeline.topics import sentence_encoder

    assert choose_encoder(RankConfig(encoder="none"), 10) is None
    assert choose_encoder(RankConfig(encoder="/models/mine"), 10) == "/models/mine"
    assert choose_encoder(RankConfig(encoder="/models/mine", max_embed_posts=5), 10) is None  # too many posts
    monkeypatch.setattr(sentence_encoder, "encoder_available", lambda: False)
    assert choose_encoder(RankConfig(), 10) is None  # auto, extra not installed: TF-IDF methods


def test_counts_are_also_expected_counts_from_the_probabilities() -> None:
    """Labels over-count a class the model over-predicts; the probabilities' sums (with intervals) do not."""
    recs = [post(i, "lost-luggage", "complaint", "negative", intent_scores={"complaint": 0.6, "other": 0.4})
            for i in range(50)]  # fmt: skip
    recs += [post(50 + i, "lost-luggage", "other", "neutral") for i in range(50)]
    result = rank_posts(recs, NO_DISCOVERY)
    assert result["intents"]["complaint"] == 50
    expected = result["intents_expected"]
    assert expected["complaint"]["expected"] == 30.0 and expected["other"]["expected"] == 70.0
    low, high = expected["complaint"]["ci"]
    assert low < 30.0 < high and high - low < 20
    topic = result["topics"][0]
    assert topic["n_complaints"] == 50 and topic["expected_complaints"] == 30.0
    assert topic["expected_complaints_ci"][0] < 30.0 < topic["expected_complaints_ci"][1]


def test_rank_file_shows_each_brands_estimated_mix_from_the_scoring_job(tmp_path: Path) -> None:
    scored = tmp_path / "scored.jsonl"
    recs = [dict(r, brand="Acme" if i % 2 else "Globex") for i, r in enumerate(base_records())]
    scored.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    group = {"mix": {"complaint": 0.2, "other": 0.8}, "interval_95": {"complaint": [0.1, 0.3], "other": [0.7, 0.9]}}
    mix = {"intent": {"calibration_mix": {"complaint": 0.6, "other": 0.4}, "groups": [
        {"group": "Acme", **group, "far_from_training": True},
        {"group": "Globex", "mix": None, "interval_95": None, "far_from_training": False},
    ]}}  # fmt: skip
    Path(f"{scored}.mix.json").write_text(json.dumps(mix), encoding="utf-8")
    result, paths = rank_file(scored, tmp_path / "ranking", config=NO_DISCOVERY)
    assert result["brand_mix"]["Acme"]["estimated_mix"]["mix"]["complaint"] == 0.2
    assert result["brand_mix"]["Acme"]["far_from_training"] is True
    assert "estimated_mix" not in result["brand_mix"]["Globex"]
    html = paths["html"].read_text(encoding="utf-8")
    assert "out of the model&#x27;s experience" in html or "out of the model's experience" in html
    Path(f"{scored}.mix.json").write_text("{broken", encoding="utf-8")  # unreadable: ranked without it
    again, _ = rank_file(scored, tmp_path / "ranking2", config=NO_DISCOVERY)
    assert "mix_estimates" not in again
