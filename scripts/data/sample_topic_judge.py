"""Draw the customer posts of the cross-industry topic judge (``data/labels/topics-judge.jsonl``).

Customer posts addressed to the support accounts of a few brands outside air travel, from both customer-care
corpora: twcs (``twcs-samples``, inbound tweets; the brand is the account replied to) and IBM customer care
(``ibm-twitter-customer-care-cdp``, client turns; the brand is the conversation's company). The draw is
deterministic: each brand's posts are ordered by a hash of their id, the first post of a conversation before
the replies inside one (an opening post says what the conversation is about), and the first ``--per-brand``
are kept. Posts with fewer than three words (URLs and @mentions not counted) are left out, and so is every
post whose text repeats an earlier one (same text once URLs, mentions, case and punctuation are dropped).

    python scripts/data/sample_topic_judge.py --data-dir ../shared/data --per-brand 115 \
        --out /tmp/topic_sheet.jsonl --second-per-brand 25 --second-out /tmp/topic_second_sheet.jsonl \
        --second-skip 1245341845191667712 1245528842183118848 1245396373224263682 1245342100851290112 \
        1230907672494563328

``--brands`` picks brands by name (default: all of :data:`BRANDS`) or defines one, ``name=Account+Account``.
``--second-out`` lists, per brand, the ``--second-per-brand`` sheet posts (by another hash) that a second
annotation pass labels again for the agreement figures, skipping the ids of ``--second-skip`` (the five posts
dropped from the judge because the brand or its partners, not a customer, wrote them). The sheets hold the
texts, so write them outside the repository; the label file keeps ids and labels only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path

from pipeline.data.datasets import load_ibm_cdp_unlabelled, load_twcs_unlabelled, match_key

# Brand name (the taxonomy's file name in configs/taxonomy/) -> the support accounts whose posts it pools.
# AmazonHelp, AppleSupport and SpotifyCares are kept out on purpose (unseen brands), and so are airlines.
BRANDS: dict[str, tuple[str, ...]] = {
    "us-telecom": ("TMobileHelp", "VerizonSupport", "comcastcares", "sprintcare"),
    "playstation": ("AskPlayStation",),
    "adobe": ("AdobeCare",),
    "chipotle": ("ChipotleTweets",),
}

TWCS_FILES = (Path("twcs-samples", "twcs-first5000.csv"), Path("twcs-samples", "spotifycares-support-requests.csv"))
IBM_FILES = (Path("ibm-twitter-customer-care-cdp", "dev.json"), Path("ibm-twitter-customer-care-cdp", "test.json"))

DRAW_SALT = "topics-judge-v1"
SECOND_SALT = "topics-judge-second-v1"
MIN_WORDS = 3


def _hash(salt: str, item_id: str) -> str:
    return hashlib.sha256(f"{salt}:{item_id}".encode()).hexdigest()


def parse_brands(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``name`` (one of :data:`BRANDS`) or ``name=Account+Account`` -> the accounts of each brand."""
    brands: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        name, _, accounts = spec.partition("=")
        if accounts:
            brands[name] = tuple(a for a in accounts.split("+") if a)
        elif name in BRANDS:
            brands[name] = BRANDS[name]
        else:
            raise SystemExit(f"unknown brand {name!r}: use one of {sorted(BRANDS)} or name=Account+Account")
    return brands


def opening_posts(data_dir: Path) -> set[str]:
    """Loader ids of the posts that open a conversation: a twcs tweet that replies to nothing, the first
    client turn of an IBM conversation."""
    opening = set()
    for rel in TWCS_FILES:
        # As the loader reads it: a bare "\r" inside a text is a space, not the end of a record.
        content = (data_dir / rel).read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", " ")
        for rec in csv.DictReader(io.StringIO(content, newline="")):
            tweet_id = rec.get("tweet_id") or ""
            if (
                tweet_id.isdigit()
                and rec.get("inbound") == "True"
                and not (rec.get("in_response_to_tweet_id") or "").strip()
            ):
                opening.add(f"twcs-{tweet_id}")
    for rel in IBM_FILES:
        for conv in json.loads((data_dir / rel).read_bytes().decode("utf-8")):
            turns = [t for t in conv.get("dialogContent") or [] if any(k.startswith("client") for k in t)]
            if turns:
                opening.add(str(turns[0].get("tweet_ID", "")))
    return opening


def draw(data_dir: Path, brands: dict[str, tuple[str, ...]], per_brand: int, openers_first: bool) -> list[dict]:
    account_brand = {account.casefold(): brand for brand, accounts in brands.items() for account in accounts}
    opening = opening_posts(data_dir)
    candidates: dict[str, list[tuple[int, str, dict]]] = {brand: [] for brand in brands}
    for data in (load_twcs_unlabelled(data_dir), load_ibm_cdp_unlabelled(data_dir)):
        for item_id, text, account in zip(data.ids, data.texts, data.groups):
            brand = account_brand.get(account.casefold())
            if brand is None or len(match_key(text).split()) < MIN_WORDS:
                continue
            rank = 0 if (openers_first and item_id in opening) else 1
            row = {
                "dataset": data.name,
                "id": item_id,
                "brand": brand,
                "account": account,
                "opening": int(item_id in opening),
                "text": text,
            }
            candidates[brand].append((rank, _hash(DRAW_SALT, item_id), row))
    rows: list[dict] = []
    seen_keys: set[str] = set()
    for brand in brands:
        kept = 0
        for _, _, row in sorted(candidates[brand], key=lambda c: (c[0], c[1])):
            key = match_key(row["text"])
            if key in seen_keys:
                continue
            seen_keys.add(key)
            rows.append(row)
            kept += 1
            if kept == per_brand:
                break
    for n, row in enumerate(rows, start=1):
        row["n"] = n
    return [{"n": r["n"], **{k: v for k, v in r.items() if k != "n"}} for r in rows]


def second_pass(rows: list[dict], per_brand: int, skip: set[str] = frozenset()) -> list[dict]:
    """Per brand, the ``per_brand`` sheet rows first in a second hash order (for the agreement pass), never an
    id of ``skip`` (posts dropped from the judge)."""
    chosen: list[dict] = []
    for brand in dict.fromkeys(r["brand"] for r in rows):
        mine = [r for r in rows if r["brand"] == brand and r["id"] not in skip]
        mine.sort(key=lambda r: _hash(SECOND_SALT, r["id"]))
        chosen.extend(sorted(mine[:per_brand], key=lambda r: r["n"]))
    return chosen


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--brands", nargs="+", default=list(BRANDS), help="names of BRANDS, or name=Account+Account")
    parser.add_argument("--per-brand", type=int, default=115)
    parser.add_argument(
        "--openers-first",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw the posts that open a conversation before replies inside one (default: yes)",
    )
    parser.add_argument("--out", type=Path, required=True, help="sheet (JSONL with texts): keep it outside the repo")
    parser.add_argument("--second-per-brand", type=int, default=25)
    parser.add_argument("--second-out", type=Path, help="sheet of the posts to annotate a second time")
    parser.add_argument(
        "--second-skip", nargs="*", default=[], help="ids left out of the second sheet (posts dropped from the judge)"
    )
    args = parser.parse_args()
    brands = parse_brands(args.brands)
    rows = draw(args.data_dir, brands, args.per_brand, args.openers_first)
    _write(args.out, rows)
    counts = {brand: sum(r["brand"] == brand for r in rows) for brand in brands}
    print(f"{len(rows)} posts -> {args.out}: " + ", ".join(f"{b} {n}" for b, n in counts.items()))
    if args.second_out:
        second = second_pass(rows, args.second_per_brand, set(args.second_skip))
        _write(args.second_out, second)
        print(f"{len(second)} posts for the second annotation -> {args.second_out}")


if __name__ == "__main__":
    main()
