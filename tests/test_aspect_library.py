"""The aspect library (pipeline.topics.library): which aspects a topic label names, and what a taxonomy of topic
names gains from their seeds."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import ConfigError
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.library import AspectLibrary, default_library
from pipeline.topics.taxonomy import OTHER_ID, Taxonomy

runner = CliRunner()


def _names_only(*labels: str, **extra: object) -> Taxonomy:
    topics = [{"name": f"t{i}", "label": label} for i, label in enumerate(labels)]
    return Taxonomy.model_validate({"topics": topics, **extra})


def _borrowed(taxonomy: Taxonomy) -> dict[str, list[str]]:
    assigner = TopicAssigner(taxonomy)
    return {t.label: [m.aspect.name for m in assigner.borrowed_aspects(t)] for t in taxonomy.topics}


def test_the_shipped_library_is_valid_and_every_alias_finds_its_own_aspect() -> None:
    library = default_library()
    assert len(library.aspects) >= 200
    assigner = TopicAssigner(_names_only("x"))
    key = assigner._label_key
    for aspect in library.aspects:
        assert len(aspect.seeds) >= 5, aspect.name
        for alias in aspect.aliases:
            if not key(alias):
                continue  # an alias of stop words only names nothing
            found = [m.aspect.name for m in library.match(alias, key)]
            assert aspect.name in found, (alias, found)


def test_a_label_borrows_the_aspects_it_names_part_by_part() -> None:
    borrowed = _borrowed(
        _names_only("Cancelled flights", "Lost luggage", "Prices, promotions and rewards", "Snacks and things")
    )
    # Word forms meet ("Cancelled flights" / "flight cancelled"), a compound label borrows once per part, and a
    # label the library does not know borrows nothing.
    assert borrowed["Cancelled flights"] == ["flight-cancellation"]
    assert borrowed["Lost luggage"] == ["lost-luggage"]
    assert borrowed["Prices, promotions and rewards"] == ["pricing", "promo-codes", "loyalty-rewards"]
    assert borrowed["Snacks and things"] == []


def test_the_taxonomy_s_industry_decides_what_an_ambiguous_name_means() -> None:
    airline = _borrowed(_names_only("Upgrades", "Late flight", "Lost luggage", "Cancelled flight"))
    telecom = _borrowed(_names_only("Upgrades", "Dropped calls", "Slow internet", "Number porting"))
    assert airline["Upgrades"] == ["seat-assignment"]
    assert telecom["Upgrades"] == ["phone-upgrade-order"]


def test_written_seeds_and_the_off_switches_borrow_nothing() -> None:
    written = Taxonomy.model_validate(
        {"topics": [{"name": "late", "label": "Late flight", "seeds": ["delayed", "late", "gate"]}]}
    )
    assert _borrowed(written) == {"Late flight": []}
    assert TopicAssigner(written).fit().seeds_of(written.topics[0]) == ["delayed", "late", "gate"]
    assert _borrowed(_names_only("Late flight", aspect_library=False)) == {"Late flight": []}
    taxonomy = _names_only("Late flight")
    assert TopicAssigner(taxonomy, library_seed_weight=0).borrowed_aspects(taxonomy.topics[0]) == []
    with_library = TopicAssigner(taxonomy).fit()
    assert "delayed" in with_library.seeds_of(taxonomy.topics[0])
    assert "delayed" not in TopicAssigner(taxonomy, library_seed_weight=0).fit().seeds_of(taxonomy.topics[0])


def test_an_aspect_two_topics_name_lends_to_neither() -> None:
    # Its seeds would not tell praise from problems: what separates the two is in their own words.
    borrowed = _borrowed(_names_only("Bad customer support", "Great customer support", "Refunds"))
    assert borrowed == {"Bad customer support": [], "Great customer support": [], "Refunds": ["refund"]}
    assert _borrowed(_names_only("Bad customer support", "Refunds"))["Bad customer support"] == ["customer-service"]


def test_a_names_only_taxonomy_assigns_posts_by_the_borrowed_phrases() -> None:
    taxonomy = _names_only("Late flight", "Lost luggage", "Customer service")
    posts = ["sitting on the tarmac for two hours now", "my suitcase never made it to baggage claim"]
    with_library = TopicAssigner(taxonomy).fit()
    without = TopicAssigner(taxonomy, library_seed_weight=0).fit()
    assert [t for t, _, _ in with_library.assign(posts)] == ["t0", "t1"]
    assert [t for t, _, _ in without.assign(posts)] == [OTHER_ID, OTHER_ID]
    # The borrowed seeds weigh library_seed_weight of a written seed's evidence.
    half = with_library._match_scores([["tarmac"]])[0, 0]
    full = TopicAssigner(taxonomy, library_seed_weight=1.0).fit()._match_scores([["tarmac"]])[0, 0]
    assert half == pytest.approx(full / 2)
    rebuilt = TopicAssigner.from_config(with_library.get_config()).fit()
    assert rebuilt.assign(posts) == with_library.assign(posts)
    # A fitted assigner that borrowed still pickles (worker processes), and scores the same after.
    assert pickle.loads(pickle.dumps(with_library)).assign(posts) == with_library.assign(posts)


def test_a_broken_library_file_is_one_error_line() -> None:
    with pytest.raises(ConfigError, match=r"^invalid aspect library aspects\.yaml: aspects\.0\.seeds"):
        AspectLibrary.from_yaml("aspects:\n  - name: a\n    aliases: [x]\n    seeds: []\n")
    with pytest.raises(ConfigError, match="duplicate aspect names a"):
        AspectLibrary.from_yaml(
            "aspects:\n  - {name: a, aliases: [x], seeds: [y]}\n  - {name: a, aliases: [z], seeds: [w]}\n"
        )
    with pytest.raises(ConfigError, match="not valid YAML"):
        AspectLibrary.from_yaml("aspects: [")


def test_voc_topics_lists_the_borrowed_seeds(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text("topics:\n  - {name: late, label: Late flight}\n", encoding="utf-8")
    result = runner.invoke(app, ["topics", "-t", str(path)])
    assert result.exit_code == 0, result.output
    assert "from the aspect library (flight-delay): delayed" in result.output
    assert "no aspect of the library matches" not in result.output
    path.write_text("topics:\n  - {name: misc, label: Snacks and things}\n", encoding="utf-8")
    result = runner.invoke(app, ["topics", "-t", str(path)])
    assert result.exit_code == 0, result.output
    assert "no aspect of the library matches this label" in result.output
    path.write_text("aspect_library: false\ntopics:\n  - {name: late, label: Late flight}\n", encoding="utf-8")
    result = runner.invoke(app, ["topics", "-t", str(path)])
    assert result.exit_code == 0, result.output
    assert "aspect library" not in result.output


def test_a_topic_without_description_is_read_from_what_it_borrowed() -> None:
    taxonomy = Taxonomy.model_validate(
        {
            "topics": [
                {"name": "late", "label": "Late flight"},
                {"name": "bags", "label": "Lost luggage", "description": "bags that never came"},
                {"name": "misc", "label": "Snacks and things"},
            ]
        }
    )
    assigner = TopicAssigner(taxonomy)
    late = assigner.topic_text(taxonomy.topics[0])
    assert late.startswith("Late flight: late flight, flight delay") and "delayed" in late
    assert assigner.topic_text(taxonomy.topics[1]) == "Lost luggage: bags that never came"
    assert assigner.topic_text(taxonomy.topics[2]) == "Snacks and things"
    assert TopicAssigner(taxonomy, library_seed_weight=0).topic_text(taxonomy.topics[0]) == "Late flight"


def test_a_phrase_goes_to_the_topic_that_names_its_aspect_most_precisely() -> None:
    # "Baggage" names the umbrella aspect of bags by one word, "Lost luggage" its own aspect by two: a phrase both
    # aspects list stays with the more precise name.
    taxonomy = _names_only("Late flight", "Baggage", "Lost luggage")
    assigner = TopicAssigner(taxonomy)
    baggage, lost = assigner.borrowed_seeds(taxonomy.topics[1]), assigner.borrowed_seeds(taxonomy.topics[2])
    assert baggage and lost
    # Both aspects list phrases about a missing bag; each such phrase is kept by one topic only.
    assert not set(baggage) & set(lost)
    assert "lost bag" in lost


def test_a_word_most_labels_share_names_the_domain_and_lends_nothing() -> None:
    # "flight" is in three other labels: it says the taxonomy is about flying, not which topic a post is about.
    airline = _names_only("Bad flight", "Late flight", "Cancelled flight", "Flight booking", "Lost luggage")
    assert _borrowed(airline)["Bad flight"] == []
    assert _borrowed(airline)["Late flight"] == ["flight-delay"]
    # Alone, "Flights" names an aspect.
    assert _borrowed(_names_only("Flights", "Lost luggage", "Refunds"))["Flights"] == ["flights-general"]
