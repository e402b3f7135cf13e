"""The transformer backend on a tiny BERT built in a temporary directory (offline, seconds).

fit -> save (safetensors + tokenizer + int8 ONNX) -> bundle load -> predict with ONNX Runtime and with torch.
Skipped, with the reason, when the ``transformer`` extra is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.models.abstention import apply_threshold, tune_threshold

torch = pytest.importorskip("torch", reason="needs the transformer extra: pip install 'voc-pipeline[transformer]'")
transformers = pytest.importorskip("transformers", reason="needs the transformer extra")
pytest.importorskip("onnxruntime", reason="needs the transformer extra (onnxruntime)")
pytest.importorskip("onnx", reason="needs the transformer extra (onnx)")

from pipeline.models.bundle import ModelBundle  # noqa: E402
from pipeline.models.encoders import resolve_encoder  # noqa: E402
from pipeline.models.transformer import (  # noqa: E402
    TransformerClassifier,
    masked_transformer_view,
    transformer_view,
)
from pipeline.text.normalise import TweetNormaliser  # noqa: E402

TEXTS = {
    "complaint": ["my bag never arrived", "flight delayed again", "app keeps crashing", "you lost my luggage",
                  "worst service ever", "my refund never came", "the wifi is down", "order is late"],
    "question": ["do you fly to lima?", "how do i change my seat", "what time does the store open?",
                 "can i bring a stroller?", "is my flight on time?", "where is my booking number?"],
    "praise": ["thanks for the quick help!", "best crew ever", "love flying with you", "great service today",
               "you guys are awesome", "thank you so much"],
    "favour-seeking": ["can i get a free upgrade?", "follow me back please", "any promo code?",
                       "give me a free ticket", "retweet this please", "notice me please"],
    "other": ["ok will do", "sent you a dm", "on my way to the airport", "yes", "i am on flight 0 tomorrow",
              "happy friday"],
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with hidden size 32 and a WordPiece vocabulary of the test texts' words."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-bert")
    words = sorted({w for texts in TEXTS.values() for t in texts for w in transformer_view(t).split()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = sorted({ch for w in words for ch in w} | {"@", "#", "'", "?", "!", ".", ","})
    vocab = specials + pieces + [f"##{ch}" for ch in pieces] + [w for w in words if w not in pieces]
    backend = Tokenizer(WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    tokenizer.save_pretrained(str(directory))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(directory))
    return directory


def _data() -> tuple[list[str], list[str]]:
    texts = [t for texts in TEXTS.values() for t in texts]
    labels = [label for label, texts in TEXTS.items() for _ in texts]
    return texts * 3, labels * 3


def _classifier(encoder: Path, **params: object) -> TransformerClassifier:
    settings: dict[str, object] = {
        "encoder": str(encoder),
        "max_seq_len": 24,
        "epochs": 12,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "head_learning_rate": 1e-2,
        "freeze_embeddings": False,
        "holdout_fraction": 0.2,
        "abstain_label": "other",
        "threads": 1,
        "seed": 3,
    }
    settings.update(params)
    return TransformerClassifier(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted(tiny_encoder: Path) -> TransformerClassifier:
    texts, labels = _data()
    return _classifier(tiny_encoder).fit(texts, labels, classes=list(TEXTS))


def test_view_maps_normaliser_markers() -> None:
    assert transformer_view("xxuser i ca n't believe xxcaps lost xxhashtag never again") == (
        "@user i can't believe lost #never again"
    )


def test_masked_view_names_the_group_not_the_member() -> None:
    assert masked_transformer_view("xxuser the muslim crew and south african staff") == (
        "@user the [religion] crew and [nationality] staff"
    )
    assert masked_transformer_view("xxuser the jewish crew and kenyan staff") == masked_transformer_view(
        "xxuser the hindu crew and irish staff"
    )


IDENTITY_SWAPS = [
    ("the muslim crew was great", "the christian crew was great"),
    ("my gay friend lost his bag", "my straight friend lost his bag"),
    ("do you hire older staff", "do you hire young staff"),
]


def test_identity_masking_makes_swaps_invisible_and_survives_saving(
    tiny_encoder: Path, fitted: TransformerClassifier, tmp_path: Path
) -> None:
    texts, labels = _data()
    masked = _classifier(tiny_encoder, epochs=2, mask_identity=True).fit(texts, labels, classes=list(TEXTS))
    left, right = [a for a, _ in IDENTITY_SWAPS], [b for _, b in IDENTITY_SWAPS]
    np.testing.assert_array_equal(masked.predict_proba(left), masked.predict_proba(right))
    # Unmasked, the same swaps reach the encoder as different ids, so the probabilities move.
    assert not np.allclose(fitted.predict_proba(left), fitted.predict_proba(right))
    ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": masked}).save(tmp_path / "bundle")
    loaded = ModelBundle.load(tmp_path / "bundle").classifiers["intent"]
    assert isinstance(loaded, TransformerClassifier) and loaded.mask_identity
    np.testing.assert_array_equal(loaded.predict_proba(left), loaded.predict_proba(right))


def test_resolve_encoder(tmp_path: Path) -> None:
    assert resolve_encoder(str(tmp_path)) == str(tmp_path)
    assert resolve_encoder("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    with pytest.raises(ImportError, match="transformer"):
        resolve_encoder("package:no_such_package_voc")


def test_fit_learns_and_is_calibrated(fitted: TransformerClassifier) -> None:
    texts, labels = _data()
    proba = fitted.predict_proba(texts[:30])
    assert proba.shape == (30, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    accuracy = np.mean([p == g for p, g in zip(fitted.predict(texts), labels)])
    assert accuracy > 0.6
    assert fitted.temperature_ > 0
    assert fitted.training_log_["rows_used"] == len(texts)


def test_deterministic(tiny_encoder: Path, fitted: TransformerClassifier) -> None:
    texts, labels = _data()
    again = _classifier(tiny_encoder).fit(texts, labels, classes=list(TEXTS))
    np.testing.assert_allclose(again.predict_proba(texts[:10]), fitted.predict_proba(texts[:10]), atol=1e-5)


def test_save_load_onnx_int8_round_trip(fitted: TransformerClassifier, tmp_path: Path) -> None:
    texts, _ = _data()
    normaliser = TweetNormaliser()
    bundle = ModelBundle(normaliser=normaliser, classifiers={"intent": fitted})
    bundle.save(tmp_path / "bundle")
    files = {p.name for p in (tmp_path / "bundle" / "intent").iterdir()}
    assert {"classifier.json", "model.safetensors", "config.json", "tokenizer.json", "model.int8.onnx"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    spec = json.loads((tmp_path / "bundle" / "intent" / "classifier.json").read_text())
    assert spec["name"] == "transformer.v1" and spec["quantisation_check"]["agreement"] >= 0.8

    loaded = ModelBundle.load(tmp_path / "bundle").classifiers["intent"]
    assert loaded.active_runtime == "onnx"
    int8 = loaded.predict_proba(texts)
    fp32 = fitted.predict_proba(texts)
    np.testing.assert_allclose(int8.sum(axis=1), 1.0, atol=1e-6)
    agreement = np.mean(int8.argmax(axis=1) == fp32.argmax(axis=1))
    assert agreement >= 0.8  # int8 quantisation of a tiny random-ish model: most labels agree
    assert spec["quantisation"] == "static" and loaded.quantisation_used_ == "static"
    from pipeline.training.model_card import render_model_card

    assert "ONNX (static int8 quantisation)" in render_model_card(ModelBundle.load(tmp_path / "bundle"))
    # The feed-forward output MatMuls (one per layer, fed by GELU) stay float: no int8 kernel reads their input.
    import onnx

    from pipeline.models.transformer import activation_fed_matmuls

    layers = fitted._network().encoder.config.num_hidden_layers
    assert spec["quantisation_check"]["float_matmuls"] == layers
    graph = onnx.load(str(tmp_path / "bundle" / "intent" / "model.int8.onnx")).graph
    float_matmuls = [n.name for n in graph.node if n.op_type == "MatMul" and "output/dense" in n.name]
    assert len(float_matmuls) == layers and all("attention" not in n for n in float_matmuls)
    assert activation_fed_matmuls(tmp_path / "bundle" / "intent" / "model.int8.onnx") == float_matmuls
    assert "feed-forward output MatMuls kept in float" in render_model_card(ModelBundle.load(tmp_path / "bundle"))
    loaded.runtime = "torch"
    np.testing.assert_allclose(loaded.predict_proba(texts), fp32, atol=1e-5)
    assert loaded.predict_proba([]).shape == (0, 5)


def test_thread_count_can_be_set_at_load(
    fitted: TransformerClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``VOC_MODEL_THREADS`` (set by ``voc score`` for spawned workers) overrides the saved thread count."""
    from pipeline.models.transformer import THREADS_ENV

    ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": fitted}).save(tmp_path / "bundle")
    assert ModelBundle.load(tmp_path / "bundle").classifiers["intent"].threads == fitted.threads
    monkeypatch.setenv(THREADS_ENV, "3")
    assert ModelBundle.load(tmp_path / "bundle").classifiers["intent"].threads == 3
    monkeypatch.setenv(THREADS_ENV, "many")  # not a count: ignored, never an error at load
    assert ModelBundle.load(tmp_path / "bundle").classifiers["intent"].threads == fitted.threads


def test_static_int8_output_does_not_depend_on_the_batch(fitted: TransformerClassifier, tmp_path: Path) -> None:
    """A post scored alone, or among other posts (other lengths, other order), gets the same probabilities."""
    texts, _ = _data()
    ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": fitted}).save(tmp_path / "bundle")
    loaded = ModelBundle.load(tmp_path / "bundle").classifiers["intent"]
    assert loaded.active_runtime == "onnx"
    # Logits, not probabilities: the tiny model's probabilities are saturated and would hide a difference.
    together = loaded.decision_function(texts)
    alone = np.vstack([loaded.decision_function([text]) for text in texts[:8]])
    shuffled = loaded.decision_function(texts[::-1] + ["a much longer post " * 5])[: len(texts)][::-1]
    np.testing.assert_allclose(alone, together[:8], atol=1e-4)
    np.testing.assert_allclose(shuffled, together, atol=1e-4)


def test_quantisation_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="quantisation"):
        TransformerClassifier(quantisation="int4-ish")


def test_kfold_calibration_gives_out_of_fold_predictions(tiny_encoder: Path) -> None:
    texts, labels = _data()
    clf = _classifier(tiny_encoder, epochs=2, calibration_folds=2, onnx="none").fit(texts, labels, list(TEXTS))
    assert clf.oof_proba_ is not None and clf.oof_proba_.shape == (len(texts), 5)
    np.testing.assert_allclose(clf.oof_proba_.sum(axis=1), 1.0, atol=1e-6)


def test_capped_sample_keeps_priority_rows(tiny_encoder: Path) -> None:
    texts, labels = _data()
    clf = _classifier(tiny_encoder, epochs=1, max_train_rows=40, priority_rows=10, onnx="none")
    clf.fit(texts, labels, list(TEXTS))
    assert clf.training_log_["rows_used"] == 40 and clf.oof_proba_ is None


def test_bad_settings_fail_early() -> None:
    with pytest.raises(ValueError, match="runtime"):
        TransformerClassifier(runtime="gpu")
    with pytest.raises(ValueError, match="onnx"):
        TransformerClassifier(onnx="int4")


def test_abstention_threshold() -> None:
    classes = ["complaint", "other"]
    proba = np.asarray([[0.9, 0.1], [0.55, 0.45], [0.52, 0.48], [0.2, 0.8]])
    assert list(apply_threshold(proba, classes, 0.6, "other")) == [0, 1, 1, 1]
    assert list(apply_threshold(proba, classes, None, "other")) == [0, 0, 0, 1]
    y = np.asarray([0, 1, 1, 1])
    threshold, summary = tune_threshold(proba, y, classes, "other")
    assert threshold is not None and 0.55 < threshold <= 0.9
    assert summary["macro_f1_with_threshold"] > summary["macro_f1_argmax"]


def test_init_encoder_starts_from_another_task(
    fitted: TransformerClassifier, tiny_encoder: Path, tmp_path: Path
) -> None:
    """``init_encoder``: a saved task directory (or ``init_state_``) replaces the pretrained encoder weights."""
    fitted.save(tmp_path / "source")
    texts, labels = _data()
    clf = _classifier(tiny_encoder, epochs=0, onnx="none", init_encoder=str(tmp_path / "source"))
    state = clf._init_state()
    assert state is not None and not any(key.startswith("head.") for key in state)
    source = fitted.encoder_state()
    assert set(state) == set(source)
    assert all(torch.equal(state[k], source[k]) for k in source)
    clf.fit(texts, labels, list(TEXTS))  # zero epochs: the encoder is the source's, unchanged
    trained = clf.encoder_state()
    assert all(torch.equal(trained[k], source[k]) for k in source)
    with pytest.raises(ValueError, match="voc train"):
        _classifier(tiny_encoder, init_encoder="task:sentiment")._init_state()


def test_ensemble_of_linear_and_transformer_round_trip(tiny_encoder: Path, tmp_path: Path) -> None:
    from pipeline.models.calibration import softmax
    from pipeline.models.ensemble import EnsembleClassifier

    texts, labels = _data()
    members = [
        {"classifier": "tfidf_logreg.v1", "weight": 1.0, "params": {"min_df": 1, "calibration_folds": 3}},
        {
            "classifier": "transformer.v1",
            "weight": 3.0,
            "params": {
                "encoder": str(tiny_encoder), "max_seq_len": 24, "epochs": 4, "batch_size": 16,
                "learning_rate": 3e-3, "freeze_embeddings": False, "holdout_fraction": 0.2, "threads": 1,
            },
        },
    ]  # fmt: skip
    clf = EnsembleClassifier(members=members, seed=3).fit(texts, labels, classes=list(TEXTS))
    proba = clf.predict_proba(texts)
    mean = 0.25 * clf.classifiers_[0].predict_proba(texts) + 0.75 * clf.classifiers_[1].predict_proba(texts)
    # Recalibrated on the transformer's held-out rows (the linear member's out-of-fold probabilities cover them).
    assert clf.calibration_rows_ == len(clf.classifiers_[1].heldout_rows_) > 0
    np.testing.assert_allclose(proba, softmax(np.log(np.clip(mean, 1e-12, None)) / clf.temperature_), atol=1e-9)
    assert (proba.argmax(axis=1) == mean.argmax(axis=1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    bundle = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": clf}, config={}, metadata={})
    loaded = ModelBundle.load(bundle.save(tmp_path / "bundle")).classifiers["intent"]
    assert loaded.name == "ensemble.v1" and loaded.classes_ == list(TEXTS)
    from pipeline.models.predict import Predictor

    # Thread settings reach the ensemble's transformer member (the linear one has no thread pool).
    assert Predictor(ModelBundle.load(tmp_path / "bundle")).set_inference_threads(1) == 1
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, atol=0.05)  # int8 ONNX member at inference
    with pytest.raises(ValueError, match="classifier"):
        EnsembleClassifier(members=[{"weight": 1.0}])


def test_score_with_workers_on_the_torch_runtime_does_not_hang(
    fitted: TransformerClassifier, tiny_encoder: Path, tmp_path: Path
) -> None:
    """Forked workers inherit torch's OpenMP pool in a state that never wakes; `voc score -w 2` must still finish."""
    import copy
    import os
    import signal
    import subprocess
    import sys

    two_threads = copy.copy(fitted)
    two_threads.threads = 2  # as shipped configs: with 1 thread torch never starts the OpenMP pool
    bundle = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": two_threads}, config={}, metadata={})
    bundle_dir = bundle.save(tmp_path / "bundle")
    texts, _ = _data()
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts * 20)))
    env = {**os.environ, "VOC_TRANSFORMER_RUNTIME": "torch", "OMP_NUM_THREADS": "2"}
    command = [sys.executable, "-m", "pipeline", "score", "-i", str(posts), "-o", str(tmp_path / "out.jsonl")]
    command += ["-w", "2", "--batch-size", "100", "-q", "-m", str(bundle_dir)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the hung workers too
        process.communicate()
        pytest.fail("voc score -w 2 hung on the torch runtime")
    assert process.returncode == 0, stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == len(texts) * 20


@pytest.mark.parametrize("holdout_fraction", [0.2, 0.0])
def test_gold_rows_alone_calibrate_and_every_other_row_trains(
    tiny_encoder: Path, monkeypatch: pytest.MonkeyPatch, holdout_fraction: float
) -> None:
    texts, labels = _data()
    gold = [i % 2 == 0 for i in range(len(texts))]  # odd rows: "pseudo-labels"
    trained: list[np.ndarray] = []
    original = TransformerClassifier._train

    def spy(
        self: TransformerClassifier, ids: list[list[int]], y: np.ndarray, rows: np.ndarray, torch: object
    ) -> object:
        trained.append(np.asarray(rows))
        return original(self, ids, y, rows, torch)

    monkeypatch.setattr(TransformerClassifier, "_train", spy)
    clf = _classifier(tiny_encoder, epochs=1, onnx="none", holdout_fraction=holdout_fraction)
    clf.fit(texts, labels, list(TEXTS), gold=gold)
    (rows,) = trained
    odd = {i for i in range(len(texts)) if not gold[i]}
    assert odd <= set(rows.tolist()), "model-labelled rows are always trained on"
    if holdout_fraction:
        held = set(clf.heldout_rows_.tolist())
        assert held and all(gold[i] for i in held) and not held & set(rows.tolist())
    else:  # no split: calibrated on (gold) training rows, and no rows claimed as held out
        assert clf.heldout_rows_ is None and len(rows) == len(texts)


def test_inference_threads_rebuild_the_onnx_session_with_the_same_scores(
    fitted: TransformerClassifier, tmp_path: Path
) -> None:
    """`voc score` gives forked workers their share of the cores by dropping the parent's ONNX sessions before the
    fork (a session made before a fork runs on one thread in the child); each worker rebuilds its own."""
    from pipeline.models.predict import Predictor

    bundle_dir = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": fitted}).save(tmp_path / "bundle")
    predictor = Predictor.from_path(bundle_dir)
    texts = _data()[0]
    before = predictor.predict_proba(texts)[1]["intent"]
    model = predictor.classifiers["intent"]
    assert model.active_runtime == "onnx" and model.session_ is not None
    assert predictor.set_inference_threads(3) == 1
    assert model.threads == 3 and model.session_ is None
    np.testing.assert_array_equal(predictor.predict_proba(texts)[1]["intent"], before)
    assert model.session_.get_session_options().intra_op_num_threads == 3


def test_score_with_forked_workers_on_the_onnx_runtime(fitted: TransformerClassifier, tmp_path: Path) -> None:
    """Workers forked from a parent that has used ONNX Runtime finish and give the single-process scores."""
    import subprocess
    import sys

    bundle_dir = ModelBundle(normaliser=TweetNormaliser(), classifiers={"intent": fitted}).save(tmp_path / "bundle")
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(_data()[0] * 20)))
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.jsonl"
        command = [sys.executable, "-m", "pipeline", "score", "-i", str(posts), "-o", str(out), "-w", workers]
        command += ["--batch-size", "50", "-q", "-m", str(bundle_dir)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == len(_data()[0]) * 20


def test_ray_actor_threads_leave_the_bundle_setting_outside_an_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models.transformer import THREADS_ENV
    from pipeline.scoring.ray_engine import actor_threads

    monkeypatch.setenv(THREADS_ENV, "4")
    assert actor_threads() is None  # the user's choice, already read at load
    monkeypatch.delenv(THREADS_ENV)
    assert actor_threads() is None  # no Ray running here: none is started to ask


def test_static_table_from_a_fine_tuned_encoder(
    tiny_encoder: Path, fitted: TransformerClassifier, tmp_path: Path
) -> None:
    """A saved task directory's encoder weights load into the pretrained encoder (all of them, by name) and
    change what the static-table distillation gives; the pretrained weights give the plain table back."""
    from transformers import AutoModel

    from pipeline.models.static_embeddings import distil_static_table
    from pipeline.models.transformer import load_encoder_state

    fitted.save(tmp_path / "task")
    state = load_encoder_state(tmp_path / "task")
    assert set(state) == set(AutoModel.from_pretrained(str(tiny_encoder)).state_dict())
    vocab, plain = distil_static_table(str(tiny_encoder))
    same_vocab, tuned = distil_static_table(str(tiny_encoder), encoder_state=state)
    assert same_vocab == vocab and tuned.shape == plain.shape and not np.allclose(tuned, plain)
    pretrained = AutoModel.from_pretrained(str(tiny_encoder)).state_dict()
    np.testing.assert_array_equal(distil_static_table(str(tiny_encoder), encoder_state=pretrained)[1], plain)
