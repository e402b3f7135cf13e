"""Shared fixtures: tiny model bundles trained in the test session (no network, no shared data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.data.datasets import default_shared_data_dir
from pipeline.models.bundle import ModelBundle
from pipeline.models.linear import TfidfLogisticClassifier, TfidfStaticLogisticClassifier
from pipeline.models.static_embeddings import write_table_file
from pipeline.text.normalise import TweetNormaliser

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO / "models" / "default"

TINY_INTENT = {
    "complaint": [
        "my bag never arrived",
        "flight delayed again for hours",
        "app keeps crashing",
        "you lost my luggage",
        "worst service ever, still waiting",
        "my refund never came",
        "the wifi is down again",
        "order is late",
    ],
    "question": [
        "do you fly to lima?",
        "how do I change my seat",
        "what time does the store open?",
        "can I bring a stroller?",
        "is flight 123 on time?",
        "where do I find my booking number?",
    ],
    "praise": [
        "thanks for the quick help!",
        "best crew ever",
        "love flying with you",
        "great service today",
        "amazing support, thank you",
        "you guys rock",
    ],
    "favour-seeking": [
        "can I get a free upgrade?",
        "follow me back please",
        "any promo codes?",
        "give me a voucher pls",
        "retweet this for my birthday",
        "are you hiring? need a job",
    ],
    "other": ["ok will do", "sent you a dm", "on my way to the airport", "yes", "just landed in denver", "lol"],
}
TINY_SENTIMENT = {
    "negative": [
        "terrible awful service",
        "my bag never arrived",
        "worst flight ever",
        "so angry right now",
        "the app keeps crashing",
        "delayed again, hate this",
    ],
    "neutral": [
        "flight 123 to denver",
        "do you fly to lima?",
        "sent you a dm",
        "on my way",
        "what time is boarding",
        "checking in now",
    ],
    "positive": [
        "thanks so much, great job",
        "love this airline",
        "best crew ever",
        "amazing support",
        "you guys rock",
        "wonderful flight",
    ],
}


def _fit(examples: dict[str, list[str]], normaliser: TweetNormaliser) -> TfidfLogisticClassifier:
    texts = [normaliser(t) for label in examples for t in examples[label]]
    labels = [label for label in examples for _ in examples[label]]
    clf = TfidfLogisticClassifier(min_df=1, calibration_folds=2, n_jobs=1, C=10.0)
    return clf.fit(texts, labels, classes=list(examples))


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    normaliser = TweetNormaliser()
    bundle = ModelBundle(
        normaliser=normaliser,
        classifiers={"intent": _fit(TINY_INTENT, normaliser), "sentiment": _fit(TINY_SENTIMENT, normaliser)},
        config={"note": "tiny test bundle"},
        metadata={"metrics": {}},
        taxonomy_text=(
            "topics:\n"
            "  - name: lost-luggage\n    label: Lost luggage\n    description: bags lost or delayed\n"
            "    seeds: [lost bag, luggage, bag never arrived]\n"
            "  - name: app-crash\n    label: App crashes\n    description: the app crashes or freezes\n"
            "    seeds: [app crash, app keeps crashing, app freezes]\n"
        ),
        model_card="# tiny\n",
    )
    return bundle.save(tmp_path_factory.mktemp("bundles") / "tiny")


def static_table_file(path: Path) -> Path:
    """A tiny static word-piece table (random 8-d vectors) for ``tfidf_logreg.v2`` bundles trained in tests."""
    words = sorted({w for texts in TINY_SENTIMENT.values() for t in texts for w in t.lower().split()})
    chars = sorted({c for w in words for c in w} | set("@#'?!.,"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *[f"##{c}" for c in chars]]
    vocab += [w for w in words if w not in chars] + ["not", "user", "muslim", "jewish"]
    write_table_file(path, vocab, np.random.default_rng(0).normal(size=(len(vocab), 8)).astype(np.float32))
    return path


@pytest.fixture(scope="session")
def marked_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sentiment: ``tfidf_logreg.v2`` with scope marks and identity masks (three static blocks); intent: v1 with
    identity masks only (two preparations, as a bundle may mix them)."""
    directory = tmp_path_factory.mktemp("marked")
    normaliser = TweetNormaliser()
    sentiment = dict(TINY_SENTIMENT)
    sentiment["negative"] = [*sentiment["negative"], "not good at all", "the muslim agent was rude"]
    sentiment["neutral"] = [*sentiment["neutral"], "not bad", "a jewish family on the bus"]
    settings: dict[str, Any] = {"min_df": 1, "calibration_folds": 2, "n_jobs": 1, "mask_identity": True}
    static = TfidfStaticLogisticClassifier(
        static_table=str(static_table_file(directory / "t.npz")), mark_scope=True, **settings
    )

    def fit(examples: dict[str, list[str]], clf: TfidfLogisticClassifier) -> TfidfLogisticClassifier:
        texts = [normaliser(t) for label in examples for t in examples[label]]
        labels = [label for label in examples for _ in examples[label]]
        return clf.fit(texts, labels, classes=list(examples))

    bundle = ModelBundle(
        normaliser=normaliser,
        classifiers={
            "intent": fit(TINY_INTENT, TfidfLogisticClassifier(**settings)),
            "sentiment": fit(sentiment, static),
        },
        config={"note": "marked"},
        metadata={"metrics": {}},
        model_card="# marked\n",
    )
    return bundle.save(directory / "bundle")


@pytest.fixture()
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may damage."""
    import shutil

    target = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, target)
    return target


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    found = default_shared_data_dir()
    if found is None:
        pytest.skip("../shared/data not found; set VOC_DATA_DIR")
    return found


@pytest.fixture(scope="session")
def default_bundle() -> Path:
    if not (DEFAULT_BUNDLE / "metadata.json").exists():
        pytest.skip("models/default is not built; run `make train`")
    return DEFAULT_BUNDLE


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path
