"""`voc topics`: what a taxonomy gives the assigner (pipeline.topics.check) and a preview of a sample of posts
(pipeline.scoring.preview), through the CLI as a user runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.topics.assign import TopicAssigner
from pipeline.topics.check import check_taxonomy
from pipeline.topics.taxonomy import load_taxonomy
from tests.conftest import write_jsonl

runner = CliRunner()

TAXONOMY = """
topics:
  - name: battery
    label: Battery life
  - name: screen
    label: Bad screens
    seeds: [cracked screen, screen, display]
  - name: display-settings
    label: Display settings
    seeds: [brightness, display, dark mode]
"""


def _taxonomy(tmp_path: Path) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(TAXONOMY, encoding="utf-8")
    return path


def test_check_names_the_seeds_in_use_and_what_works_against_them(tmp_path: Path) -> None:
    checks = {c.name: c for c in check_taxonomy(TopicAssigner(load_taxonomy(_taxonomy(tmp_path))))}
    battery = checks["battery"]
    # The label's words, then the seeds of the library aspect it names (pipeline.topics.library).
    assert battery.seeds[:3] == ("battery life", "battery", "life")
    assert battery.borrowed_from == ("battery-life",)
    assert battery.borrowed_seeds == battery.seeds[3:] and "dies fast" in battery.borrowed_seeds
    assert battery.written_seeds == 0 and "0 seeds written" in battery.notes[0]
    assert "with the aspect library's seeds" in battery.notes[0]
    # Written seeds are used as written: nothing borrowed.
    assert checks["screen"].seeds == ("cracked screen", "screen", "display")
    assert checks["screen"].borrowed_from == () and checks["screen"].borrowed_seeds == ()
    # "display" marks two topics, and "Bad" judges instead of naming an aspect.
    assert any("shares seeds with display-settings" in n for n in checks["screen"].notes)
    assert any("shares seeds with screen" in n for n in checks["display-settings"].notes)
    assert any("label judges (bad)" in n for n in checks["screen"].notes)
    assert not any("judges" in n for n in checks["display-settings"].notes)


def test_voc_topics_checks_a_taxonomy_and_previews_a_sample(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    taxonomy = _taxonomy(tmp_path)
    result = runner.invoke(app, ["topics", "-t", str(taxonomy)])
    assert result.exit_code == 0, result.output
    assert "3 topics, 1 with fewer than 3 written seeds" in result.output
    assert "battery life, battery, life (from label and description) + " in result.output
    assert "from the aspect library (battery-life): " in result.output
    posts = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            {"id": "1", "text": "my battery dies by noon"},
            {"id": "blank", "text": "   "},
            {"id": "2", "text": "cracked screen after one day"},
            {"id": "3", "text": "how do I turn on dark mode"},
            {"id": "4", "text": "hello there"},
            {"id": "5", "text": "battery again"},
        ],
    )
    args = ["topics", "-t", str(taxonomy), "-i", str(posts), "-m", str(tiny_bundle_dir), "--sample", "4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 posts of" in result.output  # the first four usable ones: the last is not read
    assert "1 unusable rows skipped" in result.output
    assert "| `battery` | 1 | 25.0% | my battery dies by noon |" in result.output
    assert "| `screen` | 1 | 25.0% | cracked screen after one day |" in result.output
    assert "| `other` | 1 | 25.0% | hello there |" in result.output


def test_voc_topics_bad_taxonomy_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("topics:\n  - name: Not Kebab\n    label: x\n", encoding="utf-8")
    result = runner.invoke(app, ["topics", "-t", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: invalid taxonomy") and len(result.output.strip().splitlines()) == 1


def test_voc_topics_missing_input_is_one_error_line_and_nothing_else(tmp_path: Path) -> None:
    result = runner.invoke(app, ["topics", "-t", str(_taxonomy(tmp_path)), "-i", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: input not found: {tmp_path / 'nope.jsonl'}"]
