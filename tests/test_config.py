from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import config_hash, load_config
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_default_config_is_valid() -> None:
    config = load_config(REPO / "configs" / "default.yaml")
    assert config.intent is not None and config.sentiment is not None
    assert "semeval-2017-test" not in config.sentiment.train, "never train on the SemEval-2017 test"
    assert "tweeteval-sentiment:test" not in config.sentiment.train


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("intent:\n  train: [brand-intent]\n  lerning_rate: 3\n")
    with pytest.raises(ConfigError, match="lerning_rate"):
        load_config(path)


@pytest.mark.parametrize("text", ["intent: [unclosed", "- just\n- a list\n", "seed: 1\n"])
def test_bad_configs(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config("nope.yaml")


def test_hash_ignores_formatting(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.json"
    a.write_text("seed: 3\nintent:\n  train: [brand-intent]\n")
    b.write_text('{"intent": {"train": ["brand-intent"]}, "seed": 3}')
    assert config_hash(load_config(a)) == config_hash(load_config(b))
    c = tmp_path / "c.yaml"
    c.write_text("seed: 4\nintent:\n  train: [brand-intent]\n")
    assert config_hash(load_config(c)) != config_hash(load_config(a))
