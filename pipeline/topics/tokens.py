"""Tokens as topic assignment and discovery read them: symbols read as words, a small suffix stripper, content
words, and warnings said once."""

from __future__ import annotations

import sys
from functools import lru_cache

from pipeline.text.spacy_import import import_spacy

_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """One line on stderr per distinct message and process (a missing extra is not an error here)."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"warning: {message}", file=sys.stderr)


# Symbols that carry a meaning topics care about, read as that word: "$3 burritos today" is about a price,
# "stuck at 40%" about a percentage (a battery, a download), though neither says so in words.
TOPIC_TOKEN_MEANINGS = {"$": "price", "£": "price", "€": "price", "¥": "price", "%": "percent"}


def topic_token(token: str) -> str:
    """A normalised token as topic scoring reads it (:data:`TOPIC_TOKEN_MEANINGS`)."""
    return TOPIC_TOKEN_MEANINGS.get(token, token)


_VOWELS = frozenset("aeiouy")
MARKERS = frozenset({"xxcaps", "xxhashtag"})
_NO_UNDOUBLE = frozenset("aeiouy")


# Nouns in -ing whose meaning is not their verb's, kept whole: "packaging" is not a "package" ("my package is held
# by the carrier" is about delivery), "settings" not "set", "toppings" not "top", a phone "charging" not a bill's
# "charges".
LEXICAL_ING = frozenset(
    {"packaging", "clothing", "housing", "parking", "building", "setting", "topping", "filling", "dressing"}
    | {"seasoning", "frosting", "icing", "bedding", "lighting", "flooring", "morning", "evening", "wedding"}
    | {"meeting", "ceiling", "charging", "listing", "heading"}
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A small, deterministic suffix stripper (a rough lemma substitute; not a linguistic stemmer).

    Applied identically to seeds and posts, so only consistency matters: ``cancelled``, ``cancels``,
    ``cancellation`` -> ``cancel``; ``delayed``, ``delays`` -> ``delay``; ``damaged`` -> ``damag``.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word in LEXICAL_ING or (word.endswith("s") and word[:-1] in LEXICAL_ING):
        return word[:-1] if word.endswith("s") else word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ations", "ation", "ingly", "edly", "ness", "ment", "ing", "ed", "ly"):
        if w.endswith(suffix):
            rest = w[: -len(suffix)]
            # Keep a stem long enough to mean something, with a vowel ("bring" stays "bring").
            if len(rest) >= 3 and any(c in _VOWELS for c in rest):
                w = rest
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in _NO_UNDOUBLE:
        w = w[:-1]  # cancell -> cancel, stopp -> stop (and call -> cal, consistently for all forms)
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]  # service/serviced -> servic
    return w


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS  # deferred: importing spaCy is slow

    extra = {
        "xxuser",
        "xxurl",
        "xxhashtag",
        "xxcaps",
        "n't",
        "'s",
        "'m",
        "'re",
        "'ve",
        "'ll",
        "'d",
        "amp",
        "u",
        "im",
        "pls",
        "plz",
        "thx",
        "thank",
        "thanks",
        "hi",
        "hello",
        "hey",
        "dm",
        "rt",
        "yes",
        "ok",
    }
    return frozenset(STOP_WORDS) | frozenset(extra)


def is_content(token: str, stops: frozenset[str]) -> bool:
    return token not in stops and len(token) > 1 and any(c.isalpha() for c in token)


@lru_cache(maxsize=200_000)
def content_stem(token: str) -> str | None:
    """The stem of a content token, None for any other token (memoised: tokens repeat across posts)."""
    return stem(token) if is_content(token, stop_words()) else None


def content_stems(normalised: str) -> list[str]:
    """Stemmed content tokens of a normalised post (no stop words, punctuation, placeholders or digits)."""
    return [s for s in map(content_stem, normalised.split()) if s is not None]
