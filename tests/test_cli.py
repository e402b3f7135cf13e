from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pipeline.cli import app

from .conftest import REPO, write_jsonl

runner = CliRunner()


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_predict_text_and_json(tiny_bundle_dir: Path) -> None:
    result = runner.invoke(app, ["predict", "--model", str(tiny_bundle_dir), "my bag never arrived", "best crew ever"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("complaint")
    result = runner.invoke(app, ["predict", "-m", str(tiny_bundle_dir), "--format", "json", "my bag never arrived"])
    obj = json.loads(result.stdout)
    for key in ("id", "intent", "intent_scores", "sentiment", "sentiment_scores"):
        assert key in obj
    assert abs(sum(obj["intent_scores"].values()) - 1) < 1e-6


def test_predict_refuses_an_empty_text(tiny_bundle_dir: Path) -> None:
    """As in files, where an empty text is a rejected row: one error line naming it, nothing printed."""
    result = runner.invoke(app, ["predict", "-m", str(tiny_bundle_dir), "my bag never arrived", "  "])
    assert result.exit_code == 2 and result.stdout == ""
    assert _error_lines(result.stderr) == ["error: text 2 is empty: nothing to label"]


def test_predict_file_keeps_order_and_rejects(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    rows = [{"id": f"p{i}", "text": t} for i, t in enumerate(["lost my bag", "thanks!", "do you fly to lima?"] * 5)]
    path = write_jsonl(tmp_path / "in.jsonl", [*rows, {"id": "bad", "text": None}, "{oops"])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", "-m", str(tiny_bundle_dir), "--input", str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in rows]
    rejected = [json.loads(line) for line in Path(f"{out}.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejected] == [16, 17]
    assert "15 scored" in result.output and "2 rejected" in result.output


def test_score_adds_topics_and_carries_columns(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "1", "text": "the app keeps crashing", "brand": "A", "channel": "x"},
            {"id": "2", "text": "my bag never arrived", "brand": "B", "created_at": "2026-01-02T03:04:05Z"},
        ],
    )
    out = tmp_path / "scored.parquet"
    result = runner.invoke(app, ["score", "-m", str(tiny_bundle_dir), "-i", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    assert [r["topic"] for r in rows] == ["app-crash", "lost-luggage"]
    assert rows[0]["channel"] == "x" and rows[1]["created_at"] == "2026-01-02T03:04:05Z"
    assert not Path(f"{out}.rejected.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "--input", "missing.jsonl", "--output", "o.jsonl"], "input not found"),
        (["score", "--input", "missing.jsonl", "--output", "o.jsonl"], "input not found"),
        (["predict", "--model", "no/such/bundle", "hello"], "model bundle not found"),
        (["score", "--input", "{csv}", "--output", "o.jsonl"], "no 'text' column"),
        (["score", "--input", "{jsonl}", "--output", "o.txt"], "unsupported output format"),
        (["train", "--config", "nope.yaml", "--output", "x"], "config file not found"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "posts.csv").write_text("id,body\n1,hi\n")
    write_jsonl(tmp_path / "posts.jsonl", [{"text": "hi"}])
    args = [a.replace("{csv}", "posts.csv").replace("{jsonl}", "posts.jsonl") for a in args]
    if "--model" not in args and args[0] in ("predict", "score"):
        args += ["--model", str(tiny_bundle_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = _error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output


def test_corrupted_bundle_exit_2(bundle_copy: Path) -> None:
    with (bundle_copy / "sentiment" / "weights.npz").open("ab") as handle:
        handle.write(b"junk")
    result = runner.invoke(app, ["predict", "--model", str(bundle_copy), "hello"])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [_error_lines(result.output)[0]]
    assert "does not match its hash" in result.output


def test_console_script_usage_error_is_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", "--no-such-flag"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("predict", "score", "rank", "train", "evaluate"):
        assert command in result.output


def test_train_from_labelled_files(tmp_path: Path) -> None:
    from .conftest import TINY_INTENT, TINY_SENTIMENT

    rows = [{"text": t, "intent": label} for label, texts in TINY_INTENT.items() for t in texts]
    rows += [{"text": t, "sentiment": label} for label, texts in TINY_SENTIMENT.items() for t in texts]
    write_jsonl(tmp_path / "labelled.jsonl", [{**row, "unsure": i % 3 == 0} for i, row in enumerate(rows)])
    (tmp_path / "config.yaml").write_text(
        "seed: 1\n"
        "intent:\n  train: [labelled.jsonl]\n  cv_folds: 2\n  params: {min_df: 1, n_jobs: 1}\n"
        "sentiment:\n  train: [labelled.jsonl]\n  cv_folds: 2\n  params: {min_df: 1, n_jobs: 1}\n"
    )
    result = runner.invoke(
        app, ["train", "--config", str(tmp_path / "config.yaml"), "--output", str(tmp_path / "b"), "-q"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "intent/cv:labelled.jsonl" in summary["metrics"]
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert meta["training_data"]["intent"][0]["rows"] == len(rows) - sum(len(v) for v in TINY_SENTIMENT.values())
    card = (tmp_path / "b" / "README.md").read_text()
    assert "labelled.jsonl" in card
    assert "annotator unsure" in card  # the file's `unsure` column splits the CV metrics
    # Every card reports the behaviour suite, fairness per identity group for both heads among it.
    assert set(meta["behaviour"]) == {"intent", "sentiment"}
    assert set(meta["behaviour"]["intent"]["fairness_groups"]) >= {"religion", "nationality", "disability", "age"}
    assert "## Behaviour and fairness" in card and "| identity group (invariance) | sentiment | intent |" in card

    labelled = write_jsonl(tmp_path / "eval.jsonl", [{**row, "unsure": i % 2} for i, row in enumerate(rows[:20])])
    result = runner.invoke(
        app, ["evaluate", "--model", str(tmp_path / "b"), "--data", str(labelled), "--output", str(tmp_path / "report")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["tasks"]) == {"intent"}
    assert {"overall", "per_class", "slices", "intervals"} <= set(report["tasks"]["intent"])
    slices = report["tasks"]["intent"]["slices"]
    assert slices["annotator sure"]["n"] == slices["annotator unsure"]["n"] == 10  # the file's `unsure` column
    assert "annotator unsure" in (tmp_path / "report" / "evaluation.md").read_text()
    assert report["tasks"]["intent"]["intervals"]["resamples"] == 1000
    assert "95% bootstrap intervals" in (tmp_path / "report" / "evaluation.md").read_text()
    result = runner.invoke(
        app, ["evaluate", "--model", str(tmp_path / "b"), "--data", str(labelled), "--output", str(tmp_path / "r2"),
              "--bootstrap", "0"],
    )  # fmt: skip
    assert result.exit_code == 0 and "intervals" not in json.loads(result.stdout)["tasks"]["intent"]


def test_max_chars_flag_truncates_and_flags(tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOC_MAX_CHARS", "2000")  # restored after the test: the flag sets it process-wide
    result = runner.invoke(
        app, ["predict", "-m", str(tiny_bundle_dir), "--format", "json", "--max-chars", "5", "my bag never arrived"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["truncated"] is True


def test_output_may_not_overwrite_input(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", [{"text": "hi"}])
    before = path.read_bytes()
    result = runner.invoke(app, ["score", "-m", str(tiny_bundle_dir), "-i", str(path), "-o", str(path)])
    assert result.exit_code == 2 and "also an input file" in result.output
    assert path.read_bytes() == before


def test_soft_labels_train_as_weighted_rows_and_show_in_the_card(tmp_path: Path) -> None:
    from .conftest import TINY_INTENT
    from .test_datasets import write_fake_twcs

    write_fake_twcs(tmp_path / "shared")
    people = [{"text": t, "intent": label} for label, texts in TINY_INTENT.items() for t in texts]
    write_jsonl(tmp_path / "people.jsonl", people)
    soft = [
        {"dataset": "twcs", "id": "twcs-8", "intent": "complaint", "intent_scores": {"complaint": 0.8, "other": 0.2}},
        {"dataset": "twcs", "id": "twcs-3", "intent": "praise", "intent_scores": {"praise": 1.0}},
    ]
    write_jsonl(tmp_path / "soft.jsonl", soft)
    config = (
        "seed: 1\n"
        'intent:\n  train: [people.jsonl, "ids:soft.jsonl"]\n  model_labelled: ["ids:soft.jsonl"]\n  cv_folds: 2\n'
        '  evaluate_on: ["ids:soft.jsonl"]\n  holdout: 0.5\n'
        "  classifier: CLASSIFIER\n  params: {min_df: 1, n_jobs: 1}\n"
    )
    (tmp_path / "config.yaml").write_text(config.replace("CLASSIFIER", "tfidf_logreg.v1"))
    arguments = ["train", "--config", str(tmp_path / "config.yaml"), "--data-dir", str(tmp_path / "shared")]
    result = runner.invoke(app, [*arguments, "--output", str(tmp_path / "b"), "--no-compare"])
    assert result.exit_code == 0, result.output
    assert "ids:soft.jsonl has soft labels; none of its posts is held out" in result.output
    assert "rows carry" in result.output and "posts' weight" in result.output
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    entry = meta["training_data"]["intent"][1]
    assert entry["posts"] == 2 and entry["rows"] == 3
    assert entry["soft_label_mass"] == {"complaint": 0.8, "other": 0.2, "praise": 1.0}
    assert "2 posts as 3 weighted rows" in (tmp_path / "b" / "README.md").read_text()
    # Scored against, the same file is one row per post with its top label.
    assert meta["metrics"]["intent"]["ids:soft.jsonl"]["overall"]["n"] == 2

    # A classifier that takes no row weights refuses soft labels in one line, rather than training on them hard.
    ensemble = "ensemble.v1\n  params: {members: [{classifier: tfidf_logreg.v1, params: {min_df: 1, n_jobs: 1}}]}"
    without_params = config.replace("  params: {min_df: 1, n_jobs: 1}\n", "")
    (tmp_path / "config.yaml").write_text(without_params.replace("CLASSIFIER", ensemble))
    result = runner.invoke(app, [*arguments, "--output", str(tmp_path / "c"), "--no-compare"])
    assert result.exit_code == 2 and "cannot train on weighted rows" in result.output, result.output


def test_source_weights_weigh_every_row_of_a_source(tmp_path: Path) -> None:
    """``source_weights``: a source's rows weigh that much in the fit, and the card says so; typos are refused."""
    from .conftest import TINY_INTENT

    people = [{"text": t, "intent": label} for label, texts in TINY_INTENT.items() for t in texts]
    write_jsonl(tmp_path / "people.jsonl", people)
    written = [{"text": "not happy at all with the refund", "intent": "complaint"}] * 3
    write_jsonl(tmp_path / "written.jsonl", written)
    config = "seed: 1\nintent:\n  train: [people.jsonl, written.jsonl]\n  cv_folds: 2\n"
    config += "  params: {min_df: 1, n_jobs: 1}\n"

    def train(extra: str, out: str) -> Result:
        (tmp_path / "config.yaml").write_text(config + extra)
        arguments = ["train", "--config", str(tmp_path / "config.yaml"), "--output", str(tmp_path / out)]
        return runner.invoke(app, [*arguments, "--no-compare"])

    result = train("  source_weights: {written.jsonl: 2.5}\n", "b")
    assert result.exit_code == 0, result.output
    assert f"{len(people) + 3:,} rows carry {len(people) + 7.5:,.0f} posts' weight" in result.output
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert [entry.get("source_weight") for entry in meta["training_data"]["intent"]] == [None, 2.5]
    assert "every row weighs 2.5 (source_weights)" in (tmp_path / "b" / "README.md").read_text()
    for bad, message in [("{other.jsonl: 2}", "not in train: ['other.jsonl']"), ("{written.jsonl: 0}", "positive")]:
        result = train(f"  source_weights: {bad}\n", "c")
        assert result.exit_code == 2 and message in result.output, result.output


def test_model_labelled_sources_are_trained_on_but_not_calibrated_on(tmp_path: Path) -> None:
    from .conftest import TINY_INTENT

    people = [{"text": t, "intent": label} for label, texts in TINY_INTENT.items() for t in texts]
    write_jsonl(tmp_path / "people.jsonl", people)
    write_jsonl(tmp_path / "pseudo.jsonl", people[::2])
    (tmp_path / "config.yaml").write_text(
        "seed: 1\n"
        "intent:\n  train: [people.jsonl, pseudo.jsonl]\n  model_labelled: [pseudo.jsonl]\n  cv_folds: 2\n"
        "  params: {min_df: 1, n_jobs: 1}\n"
    )
    result = runner.invoke(
        app, ["train", "--config", str(tmp_path / "config.yaml"), "--output", str(tmp_path / "b"), "--no-compare"]
    )
    assert result.exit_code == 0, result.output
    assert f"calibrating on the {len(people)} rows labelled by people" in result.output
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert [entry.get("model_labelled", False) for entry in meta["training_data"]["intent"]] == [False, True]
    card = (tmp_path / "b" / "README.md").read_text()
    assert "not calibrated on" in card and "ensemble recalibration" not in card  # a linear model is no ensemble

    (tmp_path / "config.yaml").write_text(
        "intent:\n  train: [people.jsonl]\n  model_labelled: [pseudo.jsonl]\n  params: {min_df: 1, n_jobs: 1}\n"
    )
    result = runner.invoke(app, ["train", "--config", str(tmp_path / "config.yaml"), "--output", str(tmp_path / "c")])
    assert result.exit_code == 2 and "not in train: ['pseudo.jsonl']" in result.output


def test_evaluate_behaviour_runs_the_suite_on_any_bundle(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", "--behaviour", "--model", str(tiny_bundle_dir), "--output", str(tmp_path / "report")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for head in ("intent", "sentiment"):
        part = report["behaviour"][head]
        assert "fairness" in part["capabilities"] and 0.0 <= part["mean"] <= 1.0
        assert all(0.0 <= t["rate"] <= 1.0 and t["cases"] > 0 for t in part["tests"])
    assert "negation" in report["behaviour"]["sentiment"]["capabilities"]
    assert "| capability | sentiment | intent |" in (tmp_path / "report" / "behaviour.md").read_text()
