from __future__ import annotations

import pickle

import pytest

from pipeline.text.normalise import TweetNormaliser, normaliser_from_config


@pytest.fixture(scope="module")
def norm() -> TweetNormaliser:
    return TweetNormaliser()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@united my bag", "xxuser my bag"),
        ("see http://t.co/abc and www.example.com/x", "see and"),
        ("http://t.co/abc", "xxurl"),
        ("#NeverAgain", "xxhashtag never again"),
        ("&amp; &lt;3 &quot;hi&quot;", '& <3 " hi "'),
        ("soooooo slow", "soo slow"),
        ("WHY is it down", "xxcaps why is it down"),
        ("flight UA1234 at 5:30", "flight ua0 at 0:0"),
        ("I <3 you", "i <3 you"),
        ("can't", "ca n't"),
    ],
)
def test_rules(norm: TweetNormaliser, raw: str, expected: str) -> None:
    assert norm(raw) == expected


def test_emoji_are_tokens_and_modifiers_dropped(norm: TweetNormaliser) -> None:
    assert norm("great👍🏽👍") == "great 👍 👍"
    assert norm("✈️") == "✈"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Our flight was Cancelled Flightled", "our flight was cancelled"),
        ("we are Late Flight again", "we are late again"),
        ("reFlight Booking Problems fee", "rebooking fee"),
        ("chocoLate Flight cake", "chocolate cake"),
    ],
)
def test_airline_label_leak_is_undone(norm: TweetNormaliser, raw: str, expected: str) -> None:
    assert norm(raw) == expected


def test_leak_fix_can_be_switched_off() -> None:
    assert "flight" in TweetNormaliser(fix_dataset_artefacts=False)("Cancelled Flightled")


def test_pipe_equals_call(norm: TweetNormaliser) -> None:
    texts = ["@a hi!!", "", "   ", "🙂", "x" * 50, "Thanks @JetBlue http://x.co #Yay"]
    assert norm.normalise_many(texts) == [norm(t) for t in texts]


def test_truncates_to_max_chars() -> None:
    assert TweetNormaliser(max_chars=10)("abcdefghij klmnop") == "abcdefghij"


def test_config_round_trip_and_pickle(norm: TweetNormaliser) -> None:
    rebuilt = normaliser_from_config(TweetNormaliser(mark_caps=False).get_config())
    assert rebuilt.get_config()["mark_caps"] is False
    norm("warm up the tokenizer")
    clone = pickle.loads(pickle.dumps(norm))
    assert clone("@x LOVE it") == norm("@x LOVE it")


def test_invariant_to_handle_and_url(norm: TweetNormaliser) -> None:
    assert norm("@united my bag is lost http://a.co/1") == norm("@delta my bag is lost https://b.com/2")
