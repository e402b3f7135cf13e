#!/usr/bin/env python3
"""Write the project-authored intent training set ``data/train/intent-extra.jsonl``.

Every post text in this file was written by hand for voc-pipeline, following the project's
annotation guidelines (``ANNOTATION.md``). Nothing is copied or paraphrased from any dataset; all
brands, handles, people, places-in-context and links are made up. The posts are spread over many
industries so an intent model trained on airline tweets learns to generalise to other brands.

The script is deterministic (fixed seed; the standard library and PyYAML). Each output line is
``{"id", "text", "intent", "sentiment", "brand", "industry"}``; ids are ``extra-0001`` ... in the
(shuffled, fixed) output order. It prints counts per intent, industry and sentiment, and an
intent x industry table (Markdown) for the data card ``data/train/README.md``.

The hand-written pools are in ``data/train/intent-extra-posts.yaml``; their line format (one post per line):

* optional ``N| `` : pin the post to brand number N of its industry (when the text only fits it);
* optional sentiment prefix: ``+ `` positive, ``- `` negative, ``= `` neutral (otherwise the
  intent's default: complaint -> negative, question -> neutral, praise -> positive,
  favour-seeking -> positive, other -> neutral);
* optional ``~ `` : do not add the brand handle (prefixes in this order: pin, sentiment, ``~``);
* ``{b}`` is replaced by the brand handle and ``{n}`` by the brand name; a post without ``{b}``
  gets the handle put in front (sometimes at the end, a few times not at all).

Usage: python scripts/data/make_intent_extra.py [--out data/train/intent-extra.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

import yaml

SEED = 20260917
INTENTS = {
    "complaint": ("complaint", "negative"),
    "question": ("question", "neutral"),
    "praise": ("praise", "positive"),
    "favour": ("favour-seeking", "positive"),
    "other": ("other", "neutral"),
}
SENT = {"+": "positive", "-": "negative", "=": "neutral"}
# Brands used by the demo data set; they must never appear here (the demo must stay independent).
FORBIDDEN = ("skynimbus", "nimbus", "vireo", "munchbox", "ledgerly")

POSTS = Path(__file__).resolve().parents[2] / "data" / "train" / "intent-extra-posts.yaml"


def load_posts(path: Path = POSTS) -> tuple[dict[str, dict], dict[str, str]]:
    """The hand-written pools: per industry its brands, brand rotation and posts per intent; generic posts."""
    pools = yaml.safe_load(path.read_text(encoding="utf-8"))
    return pools["industries"], pools["generic"]


DATA, GENERIC = load_posts()

LINE_RE = re.compile(r"^(?:(\d)\| )?(?:([+=-]) )?(~ )?(.*)$")


def parse(block: str) -> list[tuple[str | None, bool, int | None, str]]:
    """Return (sentiment override, no_handle, pinned brand index, text) for each non-empty line.

    Prefix order: ``N| `` (pin), then ``+ ``/``- ``/``= `` (sentiment), then ``~ `` (no handle).
    """
    out = []
    for raw in block.strip("\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        pin, sent, tilde, text = LINE_RE.match(line).groups()
        text = text.strip()
        assert text and not re.match(r"^(\d\||[+=~]\s)", text), f"bad prefix order: {line!r}"
        out.append((SENT[sent] if sent else None, bool(tilde), None if pin is None else int(pin), text))
    return out


class Placer:
    """Puts the brand handle into a post; mostly in front, sometimes at the end, rarely not at all."""

    def __init__(self) -> None:
        self.k = 0

    def __call__(self, text: str, handle: str, name: str, no_handle: bool) -> str:
        if "{b}" in text or "{n}" in text or no_handle:
            return text.replace("{b}", handle).replace("{n}", name)
        self.k += 1
        if self.k % 11 == 4:
            return f"{text} {handle}"
        if self.k % 23 == 9 and len(text) > 30:
            return text
        return f"{handle} {text}"


def build() -> list[dict]:
    place = Placer()
    rows: list[dict] = []
    for industry, spec in DATA.items():
        brands = spec["brands"]
        rotate = spec.get("rotate", list(range(len(brands))))
        turn = 0
        for key, (intent, default_sent) in INTENTS.items():
            for sent, no_handle, pin, text in parse(spec[key]):
                if pin is None:
                    pin = rotate[turn % len(rotate)]
                    turn += 1
                handle, name = brands[pin]
                rows.append(
                    dict(
                        text=place(text, handle, name, no_handle),
                        intent=intent,
                        sentiment=sent or default_sent,
                        brand=name,
                        industry=industry,
                    )
                )
    pairs = [(ind, b) for ind, spec in DATA.items() if ind != "airlines" for b in spec["brands"]]
    for p, (key, (intent, default_sent)) in enumerate(INTENTS.items()):
        for i, (sent, no_handle, _pin, text) in enumerate(parse(GENERIC[key])):
            industry, (handle, name) = pairs[(i * 5 + p * 7) % len(pairs)]
            rows.append(
                dict(
                    text=place(text, handle, name, no_handle),
                    intent=intent,
                    sentiment=sent or default_sent,
                    brand=name,
                    industry=industry,
                )
            )
    return rows


def check(rows: list[dict]) -> None:
    valid_intents = {v[0] for v in INTENTS.values()}
    for r in rows:
        assert r["intent"] in valid_intents, r
        assert r["sentiment"] in ("negative", "neutral", "positive"), r
        assert "{" not in r["text"] and "}" not in r["text"], r
        low = r["text"].lower() + " " + r["brand"].lower()
        assert not any(f in low for f in FORBIDDEN), r
    distinct = len({r["text"] for r in rows})
    assert len(rows) >= 1200, len(rows)
    assert distinct >= 1100, distinct


def table(counter: Counter, total: int) -> str:
    lines = ["| value | posts | share |", "|---|---:|---:|"]
    for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {k} | {v} | {100 * v / total:.1f}% |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    n = len(rows)
    intents = ["complaint", "question", "praise", "favour-seeking", "other"]
    industries = list(DATA)
    out = [
        f"posts: {n}; distinct texts: {len({r['text'] for r in rows})}",
        "",
        "### per intent",
        table(Counter(r["intent"] for r in rows), n),
        "",
        "### per industry",
        table(Counter(r["industry"] for r in rows), n),
        "",
        "### per sentiment",
        table(Counter(r["sentiment"] for r in rows), n),
        "",
        "### intent x industry",
        "| industry | " + " | ".join(intents) + " | total |",
        "|---|" + "---:|" * (len(intents) + 1),
    ]
    cell = Counter((r["industry"], r["intent"]) for r in rows)
    for ind in industries:
        vals = [cell[(ind, it)] for it in intents]
        out.append(f"| {ind} | " + " | ".join(map(str, vals)) + f" | {sum(vals)} |")
    tot = [sum(cell[(ind, it)] for ind in industries) for it in intents]
    out.append("| **all** | " + " | ".join(map(str, tot)) + f" | {sum(tot)} |")
    out += ["", "### intent x sentiment", "| intent | negative | neutral | positive |", "|---|---:|---:|---:|"]
    cs = Counter((r["intent"], r["sentiment"]) for r in rows)
    for it in intents:
        out.append(f"| {it} | {cs[(it, 'negative')]} | {cs[(it, 'neutral')]} | {cs[(it, 'positive')]} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data/train/intent-extra.jsonl"))
    args = ap.parse_args()
    rows = build()
    check(rows)
    random.Random(SEED).shuffle(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for i, r in enumerate(rows, 1):
            rec = {"id": f"extra-{i:04d}", **r}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} posts to {out}")
    print(summary(rows))


if __name__ == "__main__":
    main()
