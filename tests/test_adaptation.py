"""Class-mix estimation under label shift: the estimator, its interval, the bounded sample, the batch job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.models.bundle import ModelBundle
from pipeline.scoring.adaptation import (
    MixSample,
    adapt_feed,
    adjust,
    calibration_mix,
    estimate_groups,
    estimate_mix,
    format_mix_table,
    mix_interval,
    sampling_keys,
)
from pipeline.scoring.job import score_posts
from pipeline.text.normalise import TweetNormaliser
from tests.conftest import TINY_INTENT, TINY_SENTIMENT, _fit, write_jsonl

SOURCE = np.array([0.6, 0.3, 0.1])


def _posteriors(target: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Posts drawn with class mix ``target`` and their exact posteriors under the mix ``SOURCE`` (calibrated)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(target), size=n, p=target)
    centres = np.eye(len(target)) * 2.0
    x = centres[y] + rng.normal(size=(n, len(target)))
    likelihood = np.exp(-0.5 * ((x[:, None, :] - centres[None]) ** 2).sum(-1))
    joint = likelihood * SOURCE
    return y, joint / joint.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("target", [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])
def test_em_recovers_the_mix_of_a_shifted_feed_within_its_interval(target: list[float]) -> None:
    y, proba = _posteriors(np.asarray(target), 20_000)
    truth = np.bincount(y, minlength=3) / len(y)
    mix, iterations = estimate_mix(proba, SOURCE)
    assert np.abs(mix - truth).max() < 0.02
    assert iterations < 1000
    interval = mix_interval(proba, SOURCE, mix)
    assert np.all(interval[:, 0] <= truth) and np.all(truth <= interval[:, 1])
    assert np.all(interval[:, 1] - interval[:, 0] < 0.05)


def test_plain_posteriors_keep_the_source_mix_and_adaptation_moves_them_to_the_feed() -> None:
    y, proba = _posteriors(np.array([0.2, 0.3, 0.5]), 5_000, seed=1)
    assert proba.mean(axis=0)[2] < 0.40  # the unadapted model under-counts the class the feed is full of
    adjusted = adjust(proba, SOURCE, np.array([0.2, 0.3, 0.5]))
    assert np.allclose(adjusted.sum(axis=1), 1.0)
    assert abs(adjusted.mean(axis=0)[2] - np.mean(y == 2)) < 0.03
    assert (adjusted.argmax(1) == y).mean() > (proba.argmax(1) == y).mean()


def test_adjusting_to_the_source_mix_changes_nothing() -> None:
    _, proba = _posteriors(SOURCE, 500)
    assert np.allclose(adjust(proba, SOURCE, SOURCE), proba)


def test_a_bad_mix_is_refused() -> None:
    with pytest.raises(ValueError, match="positive shares"):
        estimate_mix(np.full((3, 3), 1 / 3), np.array([0.5, 0.5, 0.0]))


def test_the_sample_is_bounded_and_does_not_depend_on_how_the_feed_was_cut() -> None:
    _, proba = _posteriors(np.array([0.2, 0.3, 0.5]), 6_000, seed=2)
    ids = [f"post-{i}" for i in range(len(proba))]
    keys = sampling_keys(ids)
    groups = ["a" if i % 3 else "b" for i in range(len(proba))]
    whole, cut = MixSample(cap=1_000), MixSample(cap=1_000)
    whole.add(groups, keys, proba)
    for start in range(0, len(proba), 700):
        cut.add(groups[start : start + 700], keys[start : start + 700], proba[start : start + 700])
    for sample in (whole, cut):
        assert sample.counts == {"a": 4_000, "b": 2_000}
        assert all(len(sample.rows(g)) <= 1_000 for g in ("a", "b"))
        assert len(sample.rows("a")) >= 400  # thinned by halves, never below half the cap
    assert np.array_equal(np.sort(whole.rows("a"), axis=0), np.sort(cut.rows("a"), axis=0))


def test_a_group_too_small_gets_no_estimate_and_says_why() -> None:
    _, proba = _posteriors(SOURCE, 300)
    sample = MixSample()
    sample.add(["big"] * 250 + ["small"] * 50, np.zeros(300, dtype=np.uint64), proba)
    estimates = estimate_groups(sample, "intent", ["a", "b", "c"], SOURCE, min_posts=100)
    assert estimates["big"].estimated and estimates["big"].mix is not None
    assert not estimates["small"].estimated and estimates["small"].mix is None
    assert "fewer than 100" in (estimates["small"].note or "")
    report = {"calibration_mix": {"a": 0.6, "b": 0.3, "c": 0.1}, "groups": [e.to_dict() for e in estimates.values()]}
    assert "fewer than 100" in format_mix_table({"intent": report})


def test_the_weight_bound_keeps_a_class_the_estimate_drives_to_zero() -> None:
    _, proba = _posteriors(np.array([0.5, 0.5, 0.0]) + 1e-9, 3_000, seed=3)
    bounded, estimates = adapt_feed(proba, SOURCE, classes=["a", "b", "c"])
    free, _ = adapt_feed(proba, SOURCE, classes=["a", "b", "c"], max_ratio=None)
    assert estimates[""].mix is not None and estimates[""].mix[2] < 0.01
    assert bounded[:, 2].mean() > free[:, 2].mean()
    assert np.allclose(bounded.sum(axis=1), 1.0)


def test_the_calibration_mix_counts_peoples_labels_only() -> None:
    metadata = {
        "training_data": {
            "intent": [
                {"dataset": "people", "label_counts": {"a": 30, "b": 60, "c": 10}},
                {"dataset": "teacher", "label_counts": {"a": 1000}, "model_labelled": True},
            ]
        }
    }
    assert np.allclose(calibration_mix(metadata, "intent", ["a", "b", "c"]), [0.3, 0.6, 0.1])  # type: ignore[arg-type]
    assert calibration_mix(metadata, "intent", ["a", "b", "z"]) is None
    assert calibration_mix({}, "intent", ["a"]) is None


@pytest.fixture(scope="module")
def mix_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bundle, with the training mix recorded as ``voc train`` records it."""
    normaliser = TweetNormaliser()
    counts = {task: {label: len(texts) for label, texts in data.items()} for task, data in
              (("intent", TINY_INTENT), ("sentiment", TINY_SENTIMENT))}  # fmt: skip
    bundle = ModelBundle(
        normaliser=normaliser,
        classifiers={"intent": _fit(TINY_INTENT, normaliser), "sentiment": _fit(TINY_SENTIMENT, normaliser)},
        config={"note": "tiny test bundle with its training mix"},
        metadata={
            "metrics": {},
            "training_data": {t: [{"dataset": "tiny", "label_counts": c}] for t, c in counts.items()},
        },
    )
    return bundle.save(tmp_path_factory.mktemp("bundles") / "mix")


def _feed(path: Path, n: int = 900, brand_every: int = 3) -> Path:
    texts = ["my bag never arrived", "thanks for the great flight", "do you fly to lima?", "the app keeps crashing",
             "hello there", "flight tomorrow"]  # fmt: skip
    rows = [
        {
            "id": f"p{i}",
            "text": texts[i % len(texts)] + f" #{i}",
            **({"brand": "Acme" if i % 2 else "Globex"} if not brand_every or i % brand_every else {}),
        }
        for i in range(n)
    ]
    return write_jsonl(path, rows)


def test_score_writes_each_brands_mix_beside_the_output_the_same_with_workers_and_resume(
    mix_bundle: Path, tmp_path: Path
) -> None:
    source = _feed(tmp_path / "in.jsonl")
    one = score_posts(source, tmp_path / "one.jsonl", model=mix_bundle, batch_size=100)
    two = score_posts(source, tmp_path / "two.jsonl", model=mix_bundle, batch_size=100, workers=2)
    assert one.mix_path is not None and two.mix_path is not None
    assert one.mix_path.read_bytes() == two.mix_path.read_bytes()
    mix = json.loads(one.mix_path.read_text())
    groups = {g["group"]: g for g in mix["intent"]["groups"]}
    assert set(groups) == {"Acme", "Globex", ""}  # rows without a brand form their own group
    assert groups["Acme"]["posts"] == 300 and groups["Acme"]["estimated"]
    assert abs(sum(groups["Acme"]["mix"].values()) - 1) < 1e-3
    assert set(mix) == {"intent", "sentiment"}
    assert mix["intent"]["calibration_mix"]

    class Stop(Exception):
        pass

    def stop_after_three(summary: object) -> None:
        if summary.rows_read >= 300:  # type: ignore[attr-defined]
            raise Stop

    with pytest.raises(Stop):
        score_posts(source, tmp_path / "resumed.jsonl", model=mix_bundle, batch_size=100, on_progress=stop_after_three)
    resumed = score_posts(source, tmp_path / "resumed.jsonl", model=mix_bundle, batch_size=100, resume=True)
    assert resumed.mix_path is not None and resumed.mix_path.read_bytes() == one.mix_path.read_bytes()
    # The scored rows themselves are what they are without the estimate.
    plain = score_posts(source, tmp_path / "plain.jsonl", model=mix_bundle, batch_size=100, estimate_mix=False)
    assert plain.mix_path is None and not (tmp_path / "plain.jsonl.mix.json").exists()
    assert (tmp_path / "plain.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()


def test_cli_groups_by_a_named_column_and_refuses_one_the_input_lacks(mix_bundle: Path, tmp_path: Path) -> None:
    source = _feed(tmp_path / "in.jsonl", brand_every=0)
    runner = CliRunner()
    ok = runner.invoke(app, ["predict", "-i", str(source), "-o", str(tmp_path / "p.jsonl"), "-m", str(mix_bundle)])
    assert ok.exit_code == 0, ok.output
    assert "estimated intent mix per group" in ok.stdout and "Acme" in ok.stdout
    bad = runner.invoke(
        app, ["score", "-i", str(source), "-o", str(tmp_path / "s.jsonl"), "-m", str(mix_bundle), "--mix-by", "region"]
    )
    assert bad.exit_code == 2
    assert bad.output.count("error:") == 1 and "region" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_adapted_labels_move_to_each_groups_mix_and_keep_the_models_own_beside_them(
    mix_bundle: Path, tmp_path: Path, suffix: str
) -> None:
    import pyarrow.parquet as pq

    def rows(path: Path) -> list[dict[str, object]]:
        if suffix == "parquet":
            return list(pq.read_table(path).to_pylist())
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    source = _feed(tmp_path / "in.jsonl", brand_every=0)
    plain = tmp_path / f"plain.{suffix}"
    adapted = tmp_path / f"adapted.{suffix}"
    score_posts(source, plain, model=mix_bundle, batch_size=100)
    summary = score_posts(source, adapted, model=mix_bundle, batch_size=100, adapt_labels=("intent",))
    assert summary.mix is not None
    before, after = rows(plain), rows(adapted)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    moved = 0
    for old, new in zip(before, after):
        assert new["intent_unadapted"] == old["intent"] and new["intent_scores_unadapted"] == old["intent_scores"]
        assert new["sentiment"] == old["sentiment"] and "sentiment_unadapted" not in new  # only the named task
        assert abs(sum(new["intent_scores"].values()) - 1) < 1e-6  # type: ignore[union-attr]
        moved += new["intent"] != old["intent"]
    assert moved > 0
    # The adjusted scores follow Bayes' rule towards the group's (bounded) estimated mix.
    groups = {g["group"]: g for g in summary.mix["intent"]["groups"]}
    calibration = summary.mix["intent"]["calibration_mix"]
    first = after[0]
    mix = groups[str(first["brand"])]["mix"]
    weights = {c: min(max(mix[c] / calibration[c], 0.5), 2.0) * calibration[c] for c in calibration}
    raw = first["intent_scores_unadapted"]
    total = sum(raw[c] * weights[c] / calibration[c] for c in calibration)  # type: ignore[index]
    for c in calibration:
        expected = raw[c] * weights[c] / calibration[c] / total  # type: ignore[index]
        assert abs(first["intent_scores"][c] - expected) < 1e-3  # type: ignore[index]
    again = score_posts(source, tmp_path / f"again.{suffix}", model=mix_bundle, batch_size=100, workers=2,
                        adapt_labels=("intent",))  # fmt: skip
    assert again.output is not None
    if suffix == "jsonl":
        assert again.output.read_bytes() == adapted.read_bytes()
    else:
        assert pq.read_table(again.output).equals(pq.read_table(adapted))


def test_adapting_labels_needs_the_mix_and_a_task_the_model_has(mix_bundle: Path, tmp_path: Path) -> None:
    source = _feed(tmp_path / "in.jsonl")
    runner = CliRunner()
    for extra in (["--adapt-labels", "topic"], ["--adapt-labels", "intent", "--no-mix"]):
        result = runner.invoke(
            app, ["score", "-i", str(source), "-o", str(tmp_path / "s.jsonl"), "-m", str(mix_bundle), *extra]
        )
        assert result.exit_code == 2, result.output
        assert result.output.count("error:") == 1 and "Traceback" not in result.output
    single = runner.invoke(app, ["predict", "my bag never arrived", "-m", str(mix_bundle), "--adapt-labels", "intent"])
    assert single.exit_code == 2 and "--input" in single.output


def test_the_jsonl_rewrite_gives_the_bytes_of_a_full_parse_and_dump() -> None:
    import orjson

    from pipeline.scoring.job import LabelAdjustment

    classes = ["a", "b", "c"]
    lines = [
        orjson.dumps({"id": "1", "intent": "a", "intent_scores": {"a": 0.5, "b": 0.3, "c": 0.2}, "text": 'say "hi"'}),
        orjson.dumps({"id": "2", "intent": "b", "intent_scores": {"a": 0.2, "b": 0.7, "c": 0.1}, "n": {"x": 1}}),
    ]
    odd = [orjson.dumps({"id": "3", "text": "scores first", "intent_scores": {"a": 0.1, "b": 0.1, "c": 0.8},
                         "intent": "c"})]  # fmt: skip

    def decide(proba: np.ndarray) -> list[str]:
        return [classes[j] for j in proba.argmax(axis=1)]

    adjustment = LabelAdjustment("intent", classes, SOURCE, {"g": np.array([0.1, 0.2, 0.7])}, decide)
    for batch in (lines, odd, lines + odd):
        groups = ["g"] * len(batch)
        rows = [orjson.loads(line) for line in batch]
        adjustment.apply(rows, groups)
        assert adjustment.apply_jsonl(batch, groups) == [orjson.dumps(row) for row in rows]
    moved = orjson.loads(adjustment.apply_jsonl(lines, ["g", "g"])[0])
    assert moved["intent_unadapted"] == "a" and moved["text"] == 'say "hi"'
