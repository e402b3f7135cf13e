"""The batch job: fast path equal to the reference, shards, kill-and-resume, refusals, the output lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.data.datasets import default_shared_data_dir
from pipeline.errors import InputError
from pipeline.scoring.job import ScoreSummary, score_posts
from pipeline.scoring.manifest import OutputLock, parts_dir
from pipeline.text.normalise import TweetNormaliser

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "posts.jsonl"


def _make_input(path: Path, copies: int = 4) -> Path:
    """The demo posts (their bad rows included) repeated with distinct ids: ~2,000 rows."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    with path.open("w", encoding="utf-8") as handle:
        for copy in range(copies):
            for line in lines:
                try:
                    row = json.loads(line)
                except ValueError:
                    handle.write(line + "\n")  # keep the unparsable rows: they must be rejected each time
                    continue
                if isinstance(row, dict) and isinstance(row.get("id"), str):
                    row["id"] = f"{row['id']}-{copy}"
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _texts() -> list[str]:
    texts = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            texts.append(row["text"])
    # Edge cases of chunking: empty after cleaning, only links, odd spacing, digits, emoticons, long words.
    texts += ["", "\u200b", "http://x.co/a", "a  b\t\tc\n", "<3 :3 8) flight 123!!", "x" * 300, "A.B.C. U.S.A. e.g."]
    return texts


# -- fast path -------------------------------------------------------------------------------------------
def _fast_and_reference(bundle_dir: Path | None, texts: list[str]) -> None:
    from pipeline.models.fastpath import FastPredictor
    from pipeline.models.predict import Predictor

    predictor = Predictor.from_path(bundle_dir)
    fast = FastPredictor(predictor.bundle)
    reference = predictor.normaliser.normalise_many(texts)
    for size in (len(texts), 7):  # one batch, then small batches through warm caches
        got = [s for i in range(0, len(texts), size) for s in fast.normaliser.normalise_many(texts[i : i + size])]
        assert got == reference
    logits = fast.logits(reference)
    for task, clf in predictor.classifiers.items():
        expected = clf.decision_function(reference)
        np.testing.assert_allclose(logits[task], expected, atol=5e-5, rtol=0)
        assert (logits[task].argmax(axis=1) == expected.argmax(axis=1)).all()


def test_fast_path_matches_reference_default_bundle() -> None:
    _fast_and_reference(None, _texts())


def test_fast_path_matches_reference_tiny_bundle(tiny_bundle_dir: Path) -> None:
    _fast_and_reference(tiny_bundle_dir, _texts())


@pytest.mark.slow
@pytest.mark.shared_data
def test_fast_path_matches_reference_on_real_corpus() -> None:
    """~30k real tweets: normalisation identical, logits within float32 rounding."""
    import csv

    shared = default_shared_data_dir()
    if shared is None or not (shared / "twitter-us-airline-sentiment" / "Tweets.csv").exists():
        pytest.skip("needs ../shared/data (or $VOC_DATA_DIR)")
    source = shared / "twitter-us-airline-sentiment" / "Tweets.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    for path in sorted((shared / "semeval2017-task4a-english").glob("twitter-2016*.tsv")):
        texts += [p.split("\t")[2] for p in path.read_text(encoding="utf-8").splitlines() if p.count("\t") >= 2]
    _fast_and_reference(None, texts)


_PIECES = [
    "@united",
    "#NeverAgain",
    "http://t.co/x",
    "can't",
    "U.S.A.",
    ":)",
    "<3",
    "123",
    "soooo",
    "LOUD",
    "&amp;",
    "\u200b",
    "\u00a0",
    "e-mail",
    "(a)",
    "'quoted'",
    "...",
    "🇺🇸",
    "👍🏽",
    "O'Hare",
    "$5.99",
    "\t",
]


_NORMALISER = TweetNormaliser()  # settings only: the tokenizer is built on first use


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=12), st.sampled_from([" ", "", "  "]))
def test_cached_normaliser_equals_spacy_on_generated_text(pieces: list[str], sep: str) -> None:
    from pipeline.models.fastpath import CachedNormaliser

    normaliser = _NORMALISER  # one spaCy tokenizer for every example (building one takes ~0.3 s)
    text = sep.join(pieces)
    assert CachedNormaliser(normaliser).normalise_many([text, text]) == normaliser.normalise_many([text, text])


def test_fast_path_can_be_switched_off(tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models.predict import Predictor

    monkeypatch.setenv("VOC_FASTPATH", "0")
    predictor = Predictor.from_path(tiny_bundle_dir)
    predictor.predict(["my bag never arrived"])
    assert predictor._fast is None


# -- sharded, resumable job ------------------------------------------------------------------------------
class _Stop(KeyboardInterrupt):
    pass


def _interrupt_after(shards: int) -> Any:
    def progress(summary: ScoreSummary) -> None:
        progress.calls += 1  # type: ignore[attr-defined]
        if progress.calls >= shards:  # type: ignore[attr-defined]
            raise _Stop

    progress.calls = 0  # type: ignore[attr-defined]
    return progress


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_interrupted_then_resumed_equals_uninterrupted(tiny_bundle_dir: Path, tmp_path: Path, suffix: str) -> None:
    source = _make_input(tmp_path / "in.jsonl")
    full = tmp_path / f"full.{suffix}"
    resumed = tmp_path / f"resumed.{suffix}"
    options: dict[str, Any] = {"model": tiny_bundle_dir, "batch_size": 150}
    summary = score_posts(source, full, **options)
    with pytest.raises(_Stop):
        score_posts(source, resumed, on_progress=_interrupt_after(4), **options)
    assert not resumed.exists() and parts_dir(resumed).is_dir()
    notes: list[str] = []
    again = score_posts(source, resumed, resume=True, log=notes.append, **options)
    assert any("resuming: 4 shard(s)" in n for n in notes)
    assert (again.rows_read, again.scored, again.rejected) == (summary.rows_read, summary.scored, summary.rejected)
    assert again.resumed_rows == 4 * 150
    if suffix == "jsonl":
        assert resumed.read_bytes() == full.read_bytes()
    else:
        assert pq.read_table(resumed).equals(pq.read_table(full))
    assert Path(f"{resumed}.rejected.jsonl").read_bytes() == Path(f"{full}.rejected.jsonl").read_bytes()
    assert not parts_dir(resumed).exists() and not Path(f"{resumed}.lock").exists()


def test_workers_give_the_same_bytes(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = _make_input(tmp_path / "in.jsonl", copies=2)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_posts(source, one, model=tiny_bundle_dir, batch_size=100)
    summary = score_posts(source, two, model=tiny_bundle_dir, batch_size=100, workers=2)
    assert summary.workers == 2
    assert one.read_bytes() == two.read_bytes()


@pytest.mark.parametrize(("source_kind", "output_suffix"), [("jsonl", "parquet"), ("csv", "jsonl"), ("csv", "parquet")])
def test_workers_match_one_process_for_every_format(
    tiny_bundle_dir: Path, tmp_path: Path, source_kind: str, output_suffix: str
) -> None:
    """Workers parse raw JSONL lines themselves (the parent parses CSV) and write their own shards; the
    Parquet schema is fixed by the first shard, written before the pool starts."""
    source = _make_input(tmp_path / "in.jsonl", copies=1)
    if source_kind == "csv":
        import csv

        rows = []
        for line in source.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("text"), str):
                rows.append({"id": row.get("id"), "text": row["text"], "brand": row.get("brand")})
        rows.append({"id": "empty", "text": "", "brand": "x"})  # rejected: empty text
        source = tmp_path / "in.csv"
        with source.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "text", "brand"])
            writer.writeheader()
            writer.writerows(rows)
    one, two = tmp_path / f"one.{output_suffix}", tmp_path / f"two.{output_suffix}"
    first = score_posts(source, one, model=tiny_bundle_dir, batch_size=64)
    second = score_posts(source, two, model=tiny_bundle_dir, batch_size=64, workers=2)
    assert (first.rows_read, first.scored, first.rejected) == (second.rows_read, second.scored, second.rejected)
    assert first.rejected > 0
    if output_suffix == "jsonl":
        assert one.read_bytes() == two.read_bytes()
    else:
        assert pq.read_table(one).equals(pq.read_table(two))
    assert Path(f"{one}.rejected.jsonl").read_bytes() == Path(f"{two}.rejected.jsonl").read_bytes()


def test_resume_refused_when_input_or_settings_change(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = _make_input(tmp_path / "in.jsonl", copies=1)
    out = tmp_path / "out.jsonl"
    with pytest.raises(_Stop):
        score_posts(source, out, model=tiny_bundle_dir, batch_size=100, on_progress=_interrupt_after(1))
    with pytest.raises(InputError, match="setting 'batch_size' changed"):
        score_posts(source, out, model=tiny_bundle_dir, batch_size=50, resume=True)
    with source.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "new", "text": "one more post"}) + "\n")
    with pytest.raises(InputError, match="input files changed"):
        score_posts(source, out, model=tiny_bundle_dir, batch_size=100, resume=True)
    # Without --resume the leftovers are discarded, with a note.
    notes: list[str] = []
    summary = score_posts(source, out, model=tiny_bundle_dir, batch_size=100, log=notes.append)
    assert any("starting over" in n for n in notes)
    assert summary.resumed_rows == 0 and out.exists()


def test_second_job_on_the_same_output_is_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    source = _make_input(tmp_path / "in.jsonl", copies=1)
    out = tmp_path / "out.jsonl"
    with OutputLock(out), pytest.raises(InputError, match="another job is writing"):
        score_posts(source, out, model=tiny_bundle_dir)
    assert not out.exists()
    score_posts(source, out, model=tiny_bundle_dir)  # the lock is free again
    assert out.exists()


def _voc(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def _wait_for_shards(parts: Path, n: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        manifest = parts / "manifest.json"
        if manifest.exists():
            try:
                if len(json.loads(manifest.read_text(encoding="utf-8"))["shards"]) >= n:
                    return
            except ValueError:
                pass  # read while being replaced: try again
        if process.poll() is not None:
            pytest.fail(f"the job ended before {n} shards (rc {process.returncode})")
        time.sleep(0.005)
    pytest.fail("no shards written in time")


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, pytest.param(signal.SIGINT, marks=pytest.mark.slow)], ids=["SIGKILL", "SIGINT"]
)
def test_killed_process_resumes_to_identical_output(tiny_bundle_dir: Path, tmp_path: Path, sig: int) -> None:
    """A real `voc score` process killed mid-job, then `--resume`: byte-identical to an uninterrupted run."""
    source = _make_input(tmp_path / "in.jsonl", copies=24)  # ~13,000 rows, 130 shards: room to kill it mid-job
    full, out = tmp_path / "full.jsonl", tmp_path / "out.jsonl"
    common = ["-m", str(tiny_bundle_dir), "-i", str(source), "--batch-size", "100", "-q"]
    score_posts(source, full, model=tiny_bundle_dir, batch_size=100)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(_voc("score", *common, "-o", str(out)), cwd=tmp_path, env=env)
    try:
        _wait_for_shards(parts_dir(out), 2, process)
        process.send_signal(sig)
        rc = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    if rc == 0:
        pytest.skip("the job finished before the signal arrived (machine too fast for this input)")
    assert rc == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    assert not out.exists()
    done = subprocess.run(_voc("score", *common, "-o", str(out), "--resume"), cwd=tmp_path, env=env)
    assert done.returncode == 0
    assert out.read_bytes() == full.read_bytes()
    assert Path(f"{out}.rejected.jsonl").read_bytes() == Path(f"{full}.rejected.jsonl").read_bytes()
    assert not parts_dir(out).exists()


def test_cli_resume_mismatch_is_one_error_line(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    source = _make_input(tmp_path / "in.jsonl", copies=1)
    out = tmp_path / "out.jsonl"
    with pytest.raises(_Stop):
        score_posts(source, out, model=tiny_bundle_dir, batch_size=100, on_progress=_interrupt_after(1))
    args = ["score", "-m", str(tiny_bundle_dir), "-i", str(source), "-o", str(out), "--batch-size", "99"]
    result = CliRunner().invoke(app, [*args, "--resume"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot resume")
