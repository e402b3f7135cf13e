"""Pseudo-labels (scripts/data/make_pseudo_labels.py): ids and labels only, never an evaluation post (or its
text) in the pool; and the selection, sampling and CV helpers that the data scripts and experiments share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from pipeline.training import pseudo_labels
from tests.test_datasets import write_fake_ibm, write_fake_twcs

MAKE_PSEUDO_LABELS = Path(__file__).resolve().parents[1] / "scripts" / "data" / "make_pseudo_labels.py"


def test_select_confident_caps_each_label_most_confident_first() -> None:
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.95, 0.05], [0.2, 0.8], [0.3, 0.7]])
    assert pseudo_labels.select_confident(proba, threshold=0.7, cap=1) == [2, 3]
    assert pseudo_labels.select_confident(proba, threshold=0.7, cap=10) == [0, 2, 3, 4]


def test_prior_matched_selection_gives_the_rare_label_its_soft_share() -> None:
    # Label 1 is never an argmax, but the teacher's mean probability of it is 0.3: 3 of 10 rows get it.
    proba = np.array([[0.6, 0.4]] * 5 + [[0.8, 0.2]] * 5)
    assert pseudo_labels.select_confident(proba, threshold=0.3, cap=100) == list(range(10))
    pairs = pseudo_labels.select_prior_matched(proba, threshold=0.3, cap=100)
    assert [k for _, k in pairs].count(1) == 3 and len({i for i, _ in pairs}) == len(pairs) == 10
    assert all(proba[i, k] >= 0.3 for i, k in pairs)
    # Below the threshold a label is never given, whatever its quota.
    pairs = pseudo_labels.select_prior_matched(proba, threshold=0.5, cap=100)
    assert [k for _, k in pairs].count(1) == 0


def test_pool_leaves_out_the_evaluation_set_and_repeats(tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    write_fake_ibm(tmp_path)
    held_out = tmp_path / "eval.jsonl"
    held_out.write_text(json.dumps({"dataset": "twcs", "id": "twcs-8", "intent": "complaint"}) + "\n")
    from pipeline.data.datasets import load_id_labels

    pool, dropped = pseudo_labels.unlabelled_pool(tmp_path, [load_id_labels(held_out, tmp_path)])
    ids = [item_id for _, item_id, _ in pool]
    assert "twcs-8" not in ids and dropped["in an evaluation set"] >= 1
    assert len(ids) == len(set(ids)) > 0


def test_pool_reads_the_named_sources_through_the_filter(tmp_path: Path) -> None:
    write_fake_twcs(tmp_path)
    write_fake_ibm(tmp_path)
    everything, _ = pseudo_labels.unlabelled_pool(tmp_path, [], sources=("twcs",))
    assert everything and {name for name, _, _ in everything} == {"twcs"}
    first = everything[0][2]
    kept, dropped = pseudo_labels.unlabelled_pool(tmp_path, [], sources=("twcs",), keep=lambda text: text == first)
    assert [text for _, _, text in kept] == [first]
    assert dropped["left out by the filter"] == len(everything) - 1


def test_written_file_has_ids_and_labels_only(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    write_fake_twcs(tmp_path)
    write_fake_ibm(tmp_path)
    out = tmp_path / "pseudo.jsonl"
    code = subprocess.run(
        [
            sys.executable,
            str(MAKE_PSEUDO_LABELS),
            "--teacher",
            str(tiny_bundle_dir),
            "--data-dir",
            str(tmp_path),
            "--out",
            str(out),
            "--threshold",
            "0",
        ],
        check=False,
    ).returncode
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(set(row) == {"dataset", "id", "intent", "confidence"} for row in rows)
    from pipeline.data.datasets import load_id_labels

    assert len(load_id_labels(out, tmp_path)) == len(rows)  # every id resolves back to its text


def test_training_sheet_draw_enriches_caps_and_never_repeats() -> None:
    """scripts/data/sample_intent_training_posts.py: random draw first, then favour-word posts, per-brand cap."""
    from pipeline.training import labelling

    rows = [
        {"dataset": "twcs", "id": f"twcs-{i}", "brand": "A" if i % 2 else "B", "text": f"post {i}"} for i in range(40)
    ]
    rows += [{"dataset": "twcs", "id": f"twcs-f{i}", "brand": "C", "text": f"any free upgrade {i}?"} for i in range(5)]
    taken = labelling.draw_for_labelling(rows, n_random=6, n_keyword=3, per_brand=4)
    random_rows = [r for r in taken if r["sample"] == "random"]
    keyword_rows = [r for r in taken if r["sample"] == "keyword-enriched"]
    assert len(random_rows) == 6 and len(keyword_rows) == 3
    assert all(labelling.FAVOUR_WORDS.search(r["text"]) for r in keyword_rows)
    assert len({r["id"] for r in taken}) == len(taken)
    brands = [r["brand"] for r in taken]
    assert max(brands.count(b) for b in set(brands)) <= 4
    again = labelling.draw_for_labelling([{k: v for k, v in r.items() if k != "sample"} for r in rows], 6, 3, 4)
    assert [r["id"] for r in again] == [r["id"] for r in taken]  # deterministic: ordered by a hash of the id


def test_bench_cv_treats_declared_and_confidence_marked_sources_as_teacher_labels(tmp_path: Path) -> None:
    """A CV must refuse a teacher's pseudo-labels whether the config declares them or the file gives them away."""
    from pipeline.training import crossval
    from pipeline.training.config import TaskConfig

    (tmp_path / "people.jsonl").write_text('{"id": "a", "label": "question"}\n', encoding="utf-8")
    (tmp_path / "teacher.jsonl").write_text('{"id": "b", "label": "complaint", "confidence": 0.9}\n', encoding="utf-8")
    declared = "ids:people.jsonl"
    task = TaskConfig(classifier="tfidf_logreg.v1", train=["brand-intent", declared], model_labelled=[declared])
    assert crossval.is_model_labelled("ids:teacher.jsonl", tmp_path)
    assert not crossval.is_model_labelled(declared, tmp_path)
    assert crossval.is_model_labelled(declared, tmp_path, task)
    # Rules, not a teacher that saw brand-intent: weak labels stay in a CV.
    assert not crossval.is_model_labelled("weak:twcs", tmp_path, task)


def test_cv_reports_sure_and_unsure_posts_apart() -> None:
    """The CV's split by the annotators' flag: scored rows only, and nothing when the data has no flags."""
    from pipeline.training import crossval

    classes = ["complaint", "favour-seeking"]
    gold = ["complaint", "favour-seeking", "complaint", "favour-seeking"]
    proba = np.eye(2)[[0, 1, 1, 0]]  # rows 0-1 right, rows 2-3 wrong
    unsure = [False, False, True, True, True]  # one flag per data-set row; the last row was not scored
    scored = np.asarray([True, True, True, True, False])
    split = crossval.by_annotator_certainty(gold, proba, classes, unsure, scored)
    assert split["sure"] == {"n": 2, "macro_f1": 1.0, "favour_seeking_f1": 1.0}
    assert split["unsure"] == {"n": 2, "macro_f1": 0.0, "favour_seeking_f1": 0.0}
    assert crossval.by_annotator_certainty(gold, proba, classes, [], scored) == {}


def test_out_of_industry_halves_are_a_fixed_partition_by_id_hash() -> None:
    """The dev half chooses variants and the test half reports them: both fixed by the id, whatever the order."""
    import hashlib

    from pipeline.data.splits import hash_halves

    ids = [f"twcs-{i}" for i in range(200)]
    parts = hash_halves(ids)
    assert sorted([*parts["dev"], *parts["test"]]) == parts["all"].tolist() == list(range(200))
    assert 60 < len(parts["dev"]) < 140  # a hash, not a block of rows
    assert all(hashlib.sha256(ids[i].encode()).digest()[0] % 2 == 0 for i in parts["dev"])
    reordered = hash_halves(ids[::-1])
    assert {ids[::-1][i] for i in reordered["dev"]} == {ids[i] for i in parts["dev"]}


def test_soft_pairs_keep_labels_over_the_floor_and_weigh_each_post_one() -> None:

    proba = np.asarray([[0.7, 0.29, 0.01], [0.5, 0.25, 0.25], [1.0, 0.0, 0.0]])
    pairs, weights = pseudo_labels.soft_pairs(proba, [0, 1])
    assert pairs == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    assert np.allclose(weights, [0.7 / 0.99, 0.29 / 0.99, 0.5, 0.25, 0.25])


def test_sentiment_soft_labels_leave_out_a_named_test_split(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    """``--task sentiment``: the teacher's sentiment probabilities as soft labels, never a post of an excluded set."""
    write_fake_twcs(tmp_path)
    write_fake_ibm(tmp_path)
    from pipeline.data.datasets import load_id_labels
    from pipeline.data.sources import load_dataset

    twcs = load_dataset("twcs", tmp_path)
    out = tmp_path / "pseudo-sentiment.jsonl"
    args = ["--teacher", str(tiny_bundle_dir), "--data-dir", str(tmp_path), "--out", str(out), "--threshold", "0"]
    args += ["--task", "sentiment", "--soft-floor", "0.05", "--source", "twcs", "--cap", "100000"]
    held_out = tmp_path / "held.jsonl"
    held_out.write_text(json.dumps({"dataset": "twcs", "id": twcs.ids[0], "intent": "complaint"}) + "\n")
    code = subprocess.run([sys.executable, str(MAKE_PSEUDO_LABELS), *args, "--exclude", str(held_out)], check=False)
    assert code.returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(set(row) == {"dataset", "id", "sentiment", "confidence", "sentiment_scores"} for row in rows)
    assert twcs.ids[0] not in {row["id"] for row in rows}
    assert all(abs(sum(row["sentiment_scores"].values()) - 1) < 1e-3 for row in rows)
    assert all(row["sentiment"] in {"negative", "neutral", "positive"} for row in rows)
    soft = load_id_labels(out, tmp_path, "sentiment")
    assert soft.weights and len(soft) >= len(rows)  # one training row per kept label, weighted
    # A named dataset as the evaluation set: none of its posts (or their texts) enters the pool.
    both = [*args, "--source", "ibm-cdp"]
    assert subprocess.run([sys.executable, str(MAKE_PSEUDO_LABELS), *both], check=False).returncode == 0
    assert {json.loads(line)["dataset"] for line in out.read_text().splitlines()} == {"twcs", "ibm-cdp"}
    code = subprocess.run([sys.executable, str(MAKE_PSEUDO_LABELS), *both, "--exclude-dataset", "ibm-cdp"], check=False)
    assert code.returncode == 0
    assert {json.loads(line)["dataset"] for line in out.read_text().splitlines()} == {"twcs"}
