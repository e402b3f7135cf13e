"""The retraining workflow: own data (files, Hugging Face datasets), champion/challenger promotion and
rollback, active learning (`voc suggest`), label errors (`voc label-issues`), reproducibility, MLflow."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import ConfigError, VocError
from pipeline.models.bundle import ModelBundle
from pipeline.training.config import load_config
from pipeline.training.train import train_bundle

from .conftest import TINY_INTENT, write_jsonl

runner = CliRunner()
VARIANTS = ("", " today", " again!!", " pls", " on monday")


def _rows(label_map: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """160 labelled rows: every tiny example in five variants (ids stable across calls)."""
    rows = []
    for label, texts in TINY_INTENT.items():
        for i, text in enumerate(texts):
            for j, suffix in enumerate(VARIANTS):
                given = (label_map or {}).get(label, label)
                rows.append({"id": f"{label}-{i}-{j}", "text": text + suffix, "intent": given, "brand": "A"})
    return rows


def _config(tmp_path: Path, name: str = "train.yaml", **intent: Any) -> Path:
    settings: dict[str, Any] = {
        "classifier": "tfidf_logreg.v1",
        "train": ["labelled.jsonl"],
        "cv_folds": 2,
        "params": {"min_df": 1, "C": 10.0, "n_jobs": 1, "word_ngrams": [1, 2], "char_ngrams": [2, 4]},
    }
    if "C" in intent:
        settings["params"]["C"] = intent.pop("C")
    settings.update(intent)
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"seed": 3, "intent": settings}), encoding="utf-8")
    return path


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "labelled.jsonl", _rows())


def _train(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, ["train", "-q", *args])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _error_line(result: Any, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return str(lines[0])


# -- own data ---------------------------------------------------------------------------------------------


def test_train_on_hf_disk_dataset_with_column_mapping(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = _rows()
    names = list(TINY_INTENT)
    features = datasets.Features(
        {"body": datasets.Value("string"), "label": datasets.ClassLabel(names=names), "id": datasets.Value("string")}
    )
    table = {"body": [r["text"] for r in rows], "label": [names.index(r["intent"]) for r in rows]}
    table["id"] = [r["id"] for r in rows]
    ds = datasets.Dataset.from_dict(table, features=features)
    datasets.DatasetDict({"train": ds, "test": ds.select(range(20))}).save_to_disk(str(tmp_path / "my_ds"))
    config = tmp_path / "hf.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "mine": {"hf_disk": "my_ds", "text_column": "body", "label_columns": {"intent": "label"}},
                    "mine-test": {
                        "hf_disk": "my_ds",
                        "split": "test",
                        "text_column": "body",
                        "label_columns": {"intent": "label"},
                    },
                },
                "intent": {
                    "train": ["mine"],
                    "evaluate_on": ["mine-test"],
                    "cv_folds": 2,
                    "params": {"min_df": 1, "n_jobs": 1},
                },
            }
        )
    )
    run = train_bundle(load_config(config), tmp_path, base=tmp_path)
    assert run.bundle.metadata["training_data"]["intent"][0]["rows"] == len(rows)
    assert run.bundle.metadata["training_data"]["intent"][0]["files"]  # the arrow files are hashed
    assert run.metrics["intent"]["mine-test"]["overall"]["n"] == 20
    assert run.bundle.classifiers["intent"].predict(["my bag never arrived"]) == ["complaint"]

    # Inline form with the default columns (text, intent as strings).
    plain = datasets.Dataset.from_dict({"text": [r["text"] for r in rows], "intent": [r["intent"] for r in rows]})
    plain.save_to_disk(str(tmp_path / "plain"))
    summary = _train(["--config", str(_config(tmp_path, train=["hf-disk:plain"])), "--output", str(tmp_path / "b")])
    assert ModelBundle.load(summary["bundle"]).labels["intent"] == list(TINY_INTENT)


def test_hf_source_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"text": ["a", "b"], "intent": ["other", "other"]}).save_to_disk(str(tmp_path / "d"))
    cfg = _config(tmp_path, train=["hf-disk:d#nosuch"])
    line = _error_line(runner.invoke(app, ["train", "--config", str(cfg), "--output", str(tmp_path / "o")]))
    assert "remove the split" in line
    cfg = _config(tmp_path, train=["hf-disk:missing"])
    assert "save_to_disk" in _error_line(runner.invoke(app, ["train", "-c", str(cfg), "-o", str(tmp_path / "o")]))

    import pipeline.extras

    real = pipeline.extras.importlib.import_module

    def no_datasets(name: str) -> Any:
        if name.split(".")[0] == "datasets":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(pipeline.extras.importlib, "import_module", no_datasets)
    cfg = _config(tmp_path, train=["hf-disk:d"])
    line = _error_line(runner.invoke(app, ["train", "-c", str(cfg), "-o", str(tmp_path / "o")]))
    assert "pip install 'voc-pipeline[hf]'" in line


def test_custom_labels_declared_are_recorded_and_undeclared_are_refused(tmp_path: Path) -> None:
    mapping = {"favour-seeking": "promo", "praise": "kudos"}
    write_jsonl(tmp_path / "labelled.jsonl", _rows(mapping))
    with pytest.raises(ConfigError, match="outside the label set"):
        train_bundle(load_config(_config(tmp_path)), tmp_path, base=tmp_path)
    labels = ["complaint", "question", "kudos", "promo", "other"]
    summary = _train(["-c", str(_config(tmp_path, labels=labels)), "-o", str(tmp_path / "custom")])
    bundle = ModelBundle.load(summary["bundle"])
    assert bundle.metadata["custom_labels"] == {"intent": labels}
    assert bundle.labels["intent"] == labels


# -- champion and challenger ------------------------------------------------------------------------------


def test_champion_challenger_promote_and_rollback(labelled: Path, tmp_path: Path) -> None:
    current, challenger = tmp_path / "models" / "current", tmp_path / "models" / "challenger"
    _train(["-c", str(_config(tmp_path, holdout=0.25)), "-o", str(current)])
    first = (current / "metadata.json").read_bytes()
    summary = _train(["-c", str(_config(tmp_path, holdout=0.25, C=2.0)), "-o", str(challenger), "--champion",
                      str(current)])  # fmt: skip
    comparison = json.loads((challenger / "comparison.json").read_text())
    assert comparison["decision"]["comparable"] and summary["comparison"] == comparison["decision"]
    pooled = comparison["tasks"]["intent"]["pooled"]
    assert pooled["n"] == comparison["decision"]["n"] > 0
    assert pooled["champion"]["n"] == pooled["challenger"]["n"]  # the same held-out rows for both
    assert "comparison.json" in json.loads((challenger / "metadata.json").read_text())["files"]

    # Refused when worse by the configured tolerance (here: must be better by a full point), current untouched.
    line = _error_line(
        runner.invoke(
            app, ["promote", "--challenger", str(challenger), "--current", str(current), "--min-delta", "-1"]
        ),
        code=3,
    )
    assert "not promoted" in line and (current / "metadata.json").read_bytes() == first
    result = runner.invoke(
        app, ["promote", "--challenger", str(challenger), "--current", str(current), "--min-delta", "-1", "--force"]
    )
    assert result.exit_code == 0, result.output
    assert (current / "metadata.json").read_bytes() == (challenger / "metadata.json").read_bytes()
    ModelBundle.load(current)
    history = current.with_name("current.history")
    assert [e["kind"] for e in json.loads((history / "index.json").read_text())] == ["previous"]

    result = runner.invoke(app, ["promote", "--rollback", "--current", str(current)])
    assert result.exit_code == 0, result.output
    assert (current / "metadata.json").read_bytes() == first
    ModelBundle.load(current)
    # Nothing older to restore.
    assert "nothing to roll back" in _error_line(
        runner.invoke(app, ["promote", "--rollback", "--current", str(current)])
    )


def test_promote_needs_a_comparison_against_the_current_bundle(labelled: Path, tmp_path: Path) -> None:
    current, other = tmp_path / "current", tmp_path / "other"
    _train(["-c", str(_config(tmp_path)), "-o", str(current)])
    _train(["-c", str(_config(tmp_path, C=1.0)), "-o", str(other)])
    args = ["promote", "--challenger", str(other), "--current", str(current)]
    assert "cannot show" in _error_line(runner.invoke(app, args), code=3)
    # A fresh comparison on a held-out file decides; an unknown metric is a usage error.
    heldout = write_jsonl(tmp_path / "heldout.jsonl", _rows()[::7])
    assert "unknown metric" in _error_line(runner.invoke(app, [*args, "--data", str(heldout), "--metric", "x/y"]))
    result = runner.invoke(app, [*args, "--data", str(heldout), "--metric", "intent/accuracy", "--min-delta", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["comparison"]["n"] == len(_rows()[::7])


def test_training_over_an_existing_bundle_compares_and_keeps_it(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _train(["-c", str(_config(tmp_path, holdout=0.25)), "-o", str(out)])
    first = (out / "metadata.json").read_bytes()
    summary = _train(["-c", str(_config(tmp_path, holdout=0.25, C=3.0)), "-o", str(out)])
    assert summary["comparison"]["comparable"] and summary["previous"]
    assert (Path(summary["previous"]) / "metadata.json").read_bytes() == first
    assert runner.invoke(app, ["promote", "--rollback", "--current", str(out)]).exit_code == 0
    assert (out / "metadata.json").read_bytes() == first


# -- active learning --------------------------------------------------------------------------------------


def test_select_batch_skips_near_duplicates_and_favours_rare_classes() -> None:
    from pipeline.training.active import select_batch

    # Rows 0-4: the most uncertain, all the same post; rows 5-9: distinct, a bit less uncertain.
    proba = np.array([[0.5, 0.5, 0.0]] * 5 + [[0.6, 0.4, 0.0]] * 5 + [[0.9, 0.1, 0.0]] * 10)
    features = np.vstack([np.tile([1.0, 0, 0, 0, 0, 0], (5, 1)), np.eye(6)[[1, 2, 3, 4, 5]], np.ones((10, 6))])
    chosen, scores = select_batch(proba, features, 4, diversity=0.0)
    assert chosen[0] in range(5) and not set(chosen[1:]) & set(range(5))
    assert scores["priority"].max() == pytest.approx(1.0)
    # Equally uncertain rows: the one leaning to the rare class (column 2) wins.
    proba = np.array([[0.45, 0.1, 0.45], [0.45, 0.45, 0.1]] + [[0.8, 0.2, 0.0]] * 20)
    chosen, _ = select_batch(proba, np.eye(22), 1, diversity=0.0)
    assert chosen == [0]


def test_suggest_writes_posts_ready_to_annotate(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    pool = [{"id": f"d{i}", "text": "my bag never arrived maybe thanks?"} for i in range(6)]
    pool += [{"id": f"u{i}", "text": t} for i, t in enumerate(["ok thanks", "lost bag but great crew", "follow me?"])]
    pool += [{"id": "done", "text": "my bag never arrived", "intent": "complaint"}, {"id": "bad", "text": None}]
    source = write_jsonl(tmp_path / "pool.jsonl", pool)
    out = tmp_path / "to_label.jsonl"
    args = ["suggest", "-m", str(tiny_bundle_dir), "--input", str(source), "--n", "4", "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["already_labelled"] == 1 and summary["rejected"] == 1 and summary["selected"] == 4
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert all(r["intent"] == "" and r["predicted_intent"] and "intent_scores" in r for r in rows)
    assert sum(r["id"].startswith("d") for r in rows) == 1  # near-duplicates are not all picked
    assert "done" not in {r["id"] for r in rows}

    csv_out = tmp_path / "to_label.csv"
    result = runner.invoke(app, [*args[:-1], str(csv_out)])
    assert result.exit_code == 0, result.output
    header = csv_out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["rank", "id", "text", "intent"]
    assert "unsupported output format" in _error_line(runner.invoke(app, [*args[:-1], str(tmp_path / "x.txt")]))
    missing = ["suggest", "-m", str(tiny_bundle_dir), "--input", str(tmp_path / "nope.jsonl"), "-o", str(out)]
    assert "not found" in _error_line(runner.invoke(app, missing))


# -- label errors ---------------------------------------------------------------------------------------


def test_label_issues_finds_flipped_labels(tmp_path: Path) -> None:
    pytest.importorskip("cleanlab")
    rows = _rows()
    flipped = {"complaint-0-0": "praise", "praise-1-2": "complaint", "question-0-1": "other"}
    for row in rows:
        row["intent"] = flipped.get(row["id"], row["intent"])
    data = write_jsonl(tmp_path / "labelled.jsonl", rows)
    out = tmp_path / "issues.csv"
    result = runner.invoke(app, ["label-issues", "--data", str(data), "--folds", "3", "-o", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    found = {issue["id"]: issue for issue in report["top"]}
    assert set(flipped) <= set(found), report["top"]
    assert found["complaint-0-0"]["suggested_label"] == "complaint"
    ranks = [issue["given_label_probability"] for issue in report["top"]]
    assert ranks == sorted(ranks)
    assert out.read_text().splitlines()[0].startswith("rank,id,text,given_label,suggested_label")
    result = runner.invoke(app, ["label-issues", "--data", str(data), "--folds", "3"])
    assert result.exit_code == 0 and "likely label issues" in result.stdout


def test_label_issues_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "exactly one" in _error_line(runner.invoke(app, ["label-issues"]))
    data = write_jsonl(tmp_path / "odd.jsonl", [{"text": "x", "intent": "weird"}, {"text": "y", "intent": "other"}])
    assert "outside the contract" in _error_line(runner.invoke(app, ["label-issues", "--data", str(data)]))

    import pipeline.extras

    real = pipeline.extras.importlib.import_module
    monkeypatch.setattr(
        pipeline.extras.importlib,
        "import_module",
        lambda name: (_ for _ in ()).throw(ImportError(name)) if name.startswith("cleanlab") else real(name),
    )
    line = _error_line(runner.invoke(app, ["label-issues", "--data", str(data)]))
    assert "pip install 'voc-pipeline[retrain]'" in line


# -- reproducibility and the experiment record -------------------------------------------------------------


def test_same_config_data_and_seed_give_identical_metrics_and_weights(labelled: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, holdout=0.25)
    a = _train(["-c", str(config), "-o", str(tmp_path / "a")])
    b = _train(["-c", str(config), "-o", str(tmp_path / "b")])
    assert a["metrics"] == b["metrics"]
    meta_a, meta_b = (json.loads((tmp_path / d / "metadata.json").read_text()) for d in ("a", "b"))
    assert json.dumps(meta_a["metrics"], sort_keys=True) == json.dumps(meta_b["metrics"], sort_keys=True)
    assert meta_a["files"]["intent/weights.npz"] == meta_b["files"]["intent/weights.npz"]
    assert meta_a["config_hash"] == meta_b["config_hash"] and meta_a["seed"] == 3

    # --reproduce retrains from the config stored in the bundle and checks the outcome.
    c = _train(["--reproduce", str(tmp_path / "a"), "-o", str(tmp_path / "c")])
    assert c["reproduction"] == {
        "data_identical": True,
        "changed_data": [],
        "config_identical": True,
        "metrics_identical": True,
        "weights_identical": True,
        "library_versions_identical": True,
    }
    assert "exactly one" in _error_line(runner.invoke(app, ["train", "-o", str(tmp_path / "d")]))


def test_mlflow_missing_extra_and_logging(labelled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.extras

    real = pipeline.extras.importlib.import_module

    def no_mlflow(name: str) -> Any:
        if name == "mlflow":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(pipeline.extras.importlib, "import_module", no_mlflow)
    args = ["train", "-c", str(_config(tmp_path)), "-o", str(tmp_path / "m"), "--mlflow"]
    line = _error_line(runner.invoke(app, args))
    assert "pip install 'voc-pipeline[mlflow]'" in line and not (tmp_path / "m").exists()
    monkeypatch.setattr(pipeline.extras.importlib, "import_module", real)

    calls: list[tuple[str, Any]] = []
    fake = types.ModuleType("mlflow")

    class _Run:
        info = types.SimpleNamespace(run_id="run-1")

        def __enter__(self) -> _Run:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    for name in ("set_tracking_uri", "set_experiment", "log_params", "log_metrics", "set_tags", "log_artifact"):
        setattr(fake, name, lambda *a, _n=name, **k: calls.append((_n, a)))
    fake.start_run = lambda **k: _Run()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    summary = _train(args[1:])
    assert summary["mlflow_run_id"] == "run-1"
    logged = dict(calls)
    assert logged["set_experiment"] == ("voc-pipeline",)
    assert any(key.startswith("intent.cv_labelled.jsonl.macro_f1") for key in logged["log_metrics"][0])


def test_bad_training_config_is_one_error_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"sources": {"x": {"hf": "a/b", "hf_disk": "c"}}, "intent": {"train": ["x"]}}))
    assert "exactly one of path, hf_disk or hf" in _error_line(runner.invoke(app, ["train", "-c", str(config), "-o",
                                                                                  str(tmp_path / "o")]))  # fmt: skip
    with pytest.raises(VocError):
        load_config(config)


# -- the interval of the difference --------------------------------------------------------------------------


def _onehot(pred: list[int], k: int = 3) -> np.ndarray:
    return np.eye(k)[pred] * 0.9 + 0.1 / k


def test_paired_bootstrap_interval_sees_one_post_as_noise_and_many_as_a_difference() -> None:
    from pipeline.training.promote import decide, paired_bootstrap_interval

    classes = ["a", "b", "c"]
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 600)
    labels = [classes[i] for i in gold]
    old = np.where(rng.random(600) < 0.75, gold, (gold + 1) % 3)  # 75% right
    one_worse = old.copy()
    one_worse[np.flatnonzero(old == gold)[0]] = (gold[np.flatnonzero(old == gold)[0]] + 1) % 3
    low, high = paired_bootstrap_interval(
        labels, (_onehot(list(one_worse)), classes), (_onehot(list(old)), classes), "accuracy", resamples=300
    )
    assert low < 0 <= high  # one post worse: the interval holds 0
    point = decide("accuracy", 0.7483, 0.75, 600, 0.0, interval=(low, high), decide_by="point")
    by_interval = decide("accuracy", 0.7483, 0.75, 600, 0.0, interval=(low, high), decide_by="interval")
    assert point["verdict"] == by_interval["verdict"] == "within noise"
    assert point["not_worse"] is False and by_interval["not_worse"] is True

    much_better = np.where(rng.random(600) < 0.6, gold, old)  # many posts fixed
    low, high = paired_bootstrap_interval(
        labels, (_onehot(list(much_better)), classes), (_onehot(list(old)), classes), "accuracy", resamples=300
    )
    assert 0 < low < high
    # Lower-is-better metrics are turned round: a better calibrated challenger has a positive improvement.
    low, high = paired_bootstrap_interval(
        labels, (np.eye(3)[old] * 0.625 + 0.125, classes), (_onehot(list(old)), classes), "log_loss", resamples=100
    )  # the challenger says 0.75 where the champion says 0.93, for 75% accuracy
    assert low > 0
    with pytest.raises(ValueError, match="decide_by"):
        decide("accuracy", 0.7, 0.7, 10, 0.0, decide_by="vote")


def test_training_comparison_reports_the_interval_and_can_decide_by_it(labelled: Path, tmp_path: Path) -> None:
    current, challenger = tmp_path / "current", tmp_path / "challenger"
    _train(["-c", str(_config(tmp_path, holdout=0.25)), "-o", str(current)])
    config = _config(tmp_path, holdout=0.25, C=2.0)
    config.write_text(config.read_text() + "promotion: {decide_by: interval, bootstrap: 200, min_delta: -1}\n")
    _train(["-c", str(config), "-o", str(challenger), "--champion", str(current)])
    decision = json.loads((challenger / "comparison.json").read_text())["decision"]
    # The held-out part's metrics carry their own bootstrap intervals, shown in the model card.
    holdout = json.loads((challenger / "metadata.json").read_text())["metrics"]["intent"]["holdout:labelled.jsonl"]
    assert holdout["intervals"]["macro_f1"][0] <= holdout["overall"]["macro_f1"] <= holdout["intervals"]["macro_f1"][1]
    assert "95% bootstrap intervals" in (challenger / "README.md").read_text()
    low, high = decision["interval"]
    assert low <= decision["improvement"] <= high and decision["confidence"] == 0.95
    assert decision["decided_by"] == "interval" and decision["verdict"] in {"better", "worse", "within noise"}
    # Must be better by a full point: even the top of the interval is not, so promotion is refused.
    assert decision["not_worse"] is False
    line = _error_line(runner.invoke(app, ["promote", "--challenger", str(challenger), "--current", str(current)]), 3)
    assert "CI [" in line and "not promoted" in line
    # The same comparison, decided by the interval with the default tolerance: a point of noise is no refusal.
    args = ["promote", "--challenger", str(challenger), "--current", str(current), "--min-delta", "0"]
    result = runner.invoke(app, [*args, "--decide-by", "interval"])
    if high >= 0:
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["comparison"]["decided_by"] == "interval"
    else:
        assert result.exit_code == 3
    assert "--decide-by must be" in _error_line(runner.invoke(app, [*args, "--decide-by", "vote"]))
