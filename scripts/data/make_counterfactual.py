#!/usr/bin/env python3
"""Write ``data/train/counterfactual.jsonl``: templated training posts that teach negation, contrast, answered
questions and "used to ... now" (counterfactual augmentation for the linear models).

The natural training data has few posts where a negation turns a negative word ("the pilot was not rude"), where
the label follows the second half of "X, but Y", or where a writer answers their own question; a bag of n-grams
learns the words, not what their context does to them. These posts pair the same words with opposite contexts
and labels, so that the scope features of :mod:`pipeline.text.scope` (``¬rude``, the negated static block) get
weights that flip or set aside what they mark.

Everything here is written for this project: the sentence frames, the words and the fictional brands. The frames,
nouns and brands differ from those of the behaviour suite (:mod:`pipeline.training.behaviour`) that measures the result,
and 35 of the 48 opinion words are not in the suite's lists, so that the suite is not a replay of what the model
was taught. Deterministic (no randomness: every frame is filled by cycling through the word lists).

Each line: ``{"id", "text", "sentiment", "frame"}`` (an ``intent`` key is written only for a frame that fixes the
intent; none of the current frames does, so the file teaches sentiment only). The sentiment labels: a negated
negative is ``neutral``, a negated positive ``negative``; a denied bad expectation ("I was sure the lounge would be
dirty, and it wasn't") is ``positive``, a denied good one ``negative``; "X, but Y" and "used to X, now Y" take Y's
label; a question answered yes takes its adjective's label, answered no the negated label.

Usage: python scripts/data/make_counterfactual.py [--out data/train/counterfactual.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BRANDS = ("@AltaLinkTel", "@PorchPizza", "@MeridianJet", "@CobaltCard", "@TallyRail", "@BrightNestHome")
NOUNS = (
    "pilot", "lounge", "boarding", "courier", "pizza", "room", "signal", "call centre", "bill", "train",
    "package", "cabin", "booking page", "shower", "agent", "installer", "upgrade", "sandwich",
)  # fmt: skip
# Common opinion words (13 of the 48 are in the behaviour suite's lists too) and less common ones.
POSITIVE = (
    "good", "great", "nice", "amazing", "excellent", "helpful", "friendly", "smooth", "quick", "comfortable",
    "reliable", "impressive", "delightful", "spotless", "efficient", "tasty", "courteous", "flawless", "happy",
    "wonderful", "fun", "cool", "lovely", "best",
)  # fmt: skip
NEGATIVE = (
    "bad", "awful", "terrible", "horrible", "poor", "rude", "slow", "dirty", "broken", "useless", "cramped",
    "unhelpful", "noisy", "confusing", "overpriced", "disgusting", "shoddy", "careless", "atrocious", "worst",
    "sad", "angry", "disappointing", "ridiculous",
)  # fmt: skip
NEUTRAL = (
    "new", "open", "full", "red", "small", "indoor", "weekly", "monthly", "free of charge", "on time",
    "ready", "national", "regional", "included", "electric", "manual", "upstairs", "paper",
)  # fmt: skip
INTENSIFIERS = ("very", "really", "so", "extremely", "totally", "super", "unbelievably", "remarkably")
MIDDLING = ("average", "okay", "decent", "fine", "normal", "acceptable")
FILLERS = (
    "and I fly with them a lot",
    "to be fair to everyone involved",
    "even after the whole weekend",
    "having used them for two years",
    "when I look at the whole trip",
)


def _cycle(items: Sequence[str], i: int) -> str:
    return items[i % len(items)]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _rows() -> Iterator[tuple[str, str, str, str | None]]:
    """(frame name, text, sentiment, intent or None)."""
    # negation of single words
    negated = (
        ("no, the {n} was not {a}", None),
        ("{b} the {n} is not {a}", None),
        ("honestly the {n} wasn't {a}", None),
        ("the {n} was not {a} today", None),
        ("{b} your {n} isn't {a}", None),
        ("i would not call the {n} {a}", None),
        ("the {n} never seems {a}", None),
        ("nothing {a} about the {n}", None),
        ("the {n} was not {i} {a}", None),
    )
    for k, (frame, _) in enumerate(negated):
        for j, adj in enumerate(NEGATIVE):
            i = k * 31 + j
            text = frame.format(n=_cycle(NOUNS, i), a=adj, b=_cycle(BRANDS, i), i=_cycle(INTENSIFIERS, i))
            yield "negated negative", text, "neutral", None
        for j, adj in enumerate(POSITIVE):
            i = k * 29 + j
            text = frame.format(n=_cycle(NOUNS, i), a=adj, b=_cycle(BRANDS, i), i=_cycle(INTENSIFIERS, i))
            yield "negated positive", text, "negative", None
    negated_neutral = (
        "the {n} is not {a}",
        "{b} my {n} was not {a}",
        "the {n} won't be {a} this week",
        "{b} the {n} isn't {a} yet",
        "this is not a {a} {n}",
        "it's not {a}, it's the other one",
        "we did not get the {a} {n}",
        "{b} is the {n} not {a} anymore?",
        "i don't think the {n} is {a}",
        "no, the {n} is not {a}",
    )
    for k, frame in enumerate(negated_neutral):
        for j, adj in enumerate(NEUTRAL):
            i = k * 7 + j
            yield "negated neutral", frame.format(n=_cycle(NOUNS, i), a=adj, b=_cycle(BRANDS, i)), "neutral", None
    # negation far from what it negates
    for k, frame in enumerate(("i don't think, {f}, that the {n} is {a}", "i would never say, {f}, the {n} was {a}")):
        for j, adj in enumerate(NEGATIVE):
            i = k * 5 + j
            yield (
                "negation at a distance",
                frame.format(f=_cycle(FILLERS, i), n=_cycle(NOUNS, i + 3), a=adj),
                "neutral",
                None,
            )
        for j, adj in enumerate(POSITIVE):
            i = k * 3 + j
            text = frame.format(f=_cycle(FILLERS, i), n=_cycle(NOUNS, i + 5), a=adj)
            yield "negation at a distance", text, "negative", None
    # denied expectations
    denied = (
        "i was sure the {n} would be {a}, and it wasn't",
        "was expecting a {a} {n}. it was not",
        "they said the {n} is {a} but it isn't",
        "i assumed the {n} would be {a}, but nope, it wasn't",
        "i feared the {n} would be {a}. it wasn't!",
        "thought the {n} was going to be {a} but it really wasn't",
        "my sister warned me the {n} is {a}, turns out it isn't",
    )
    for k, frame in enumerate(denied):
        for j, adj in enumerate(NEGATIVE):
            yield "denied expectation", frame.format(n=_cycle(NOUNS, k * 11 + j), a=adj), "positive", None
        for j, adj in enumerate(POSITIVE):
            yield "denied expectation", frame.format(n=_cycle(NOUNS, k * 13 + j), a=adj), "negative", None
    # contrast: X, but Y takes Y's label
    contrast = (
        "my friends say the {n} is {x}, but i found it {y}",
        "the {n} looked {x} at first but it was {y}",
        "{b} everyone complains the {n} is {x}, however mine was {y}",
        "the {n} was {x}, but the {m} was {y}",
        "although the {n} was {x}, the {m} was {y}",
    )
    for k, frame in enumerate(contrast):
        for j, (neg, pos) in enumerate(zip(NEGATIVE, POSITIVE)):
            i = k * 17 + j
            slots = {"n": _cycle(NOUNS, i), "m": _cycle(NOUNS, i + 7), "b": _cycle(BRANDS, i)}
            yield "contrast", frame.format(x=neg, y=pos, **slots), "positive", None
            yield "contrast", frame.format(x=pos, y=neg, **slots), "negative", None
    # questions the writer answers
    questions = (
        "is the {n} {a}? {ans}",
        "was my {n} {a}? {ans}",
        "would i say the {n} is {a}? {ans}",
        "do i find the {n} {a}? {ans}",
        "honestly, is the {n} {a}? {ans}",
    )
    yes, no = ("yes", "yep, it is", "definitely"), ("no", "nope", "not at all", "no, it is not")
    for k, frame in enumerate(questions):
        for j, adj in enumerate(POSITIVE):
            i = k * 19 + j
            yield "answered question", frame.format(n=_cycle(NOUNS, i), a=adj, ans=_cycle(yes, i)), "positive", None
            yield "answered question", frame.format(n=_cycle(NOUNS, i), a=adj, ans=_cycle(no, i)), "negative", None
        for j, adj in enumerate(NEGATIVE):
            i = k * 23 + j
            yield "answered question", frame.format(n=_cycle(NOUNS, i), a=adj, ans=_cycle(yes, i)), "negative", None
            yield "answered question", frame.format(n=_cycle(NOUNS, i), a=adj, ans=_cycle(no, i)), "neutral", None
    # used to ... now
    temporal = (
        "the {n} used to be {x}. now it's {y}",
        "i used to find the {n} {x} but now i think it is {y}",
        "{b} your {n} used to be {x}, nowadays it is {y}",
    )
    for k, frame in enumerate(temporal):
        for j, (neg, pos) in enumerate(zip(NEGATIVE, POSITIVE)):
            i = k * 13 + j
            slots = {"n": _cycle(NOUNS, i), "b": _cycle(BRANDS, i)}
            yield "used to, now", frame.format(x=neg, y=pos, **slots), "positive", None
            yield "used to, now", frame.format(x=pos, y=neg, **slots), "negative", None
            yield "used to, now", frame.format(x=_cycle(MIDDLING, i), y=pos, **slots), "positive", None
            yield "used to, now", frame.format(x=_cycle(MIDDLING, i), y=neg, **slots), "negative", None
    # neutral words in context
    for k, frame in enumerate(("the {n} is {a}", "{b} is the {n} {a}?", "{b} my {n} is {a} now", "a {a} {n}")):
        for j, adj in enumerate(NEUTRAL):
            i = k * 5 + j
            yield "neutral word", frame.format(n=_cycle(NOUNS, i), a=adj, b=_cycle(BRANDS, i)), "neutral", None


def rows() -> list[dict[str, str]]:
    """Every training post, deduplicated, in a fixed order."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for frame, text, sentiment, intent in _rows():
        text = _capital(text)
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        row = {"id": f"cf-{len(out) + 1:04d}", "text": text, "sentiment": sentiment, "frame": frame}
        if intent:
            row["intent"] = intent
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "train" / "counterfactual.jsonl")
    args = parser.parse_args()
    data = rows()
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    print(f"{len(data)} posts -> {args.out}")
    for (frame, label), count in sorted(Counter((r["frame"], r["sentiment"]) for r in data).items()):
        print(f"  {frame:<24} {label:<9} {count}")


if __name__ == "__main__":
    main()
