#!/usr/bin/env python3
"""Draw candidate favour-seeking posts (and their near misses) for intent labelling, mostly to non-airline brands.

Favour-seeking (free things, follow-backs, retweets, shout-outs, giveaways, jobs, sponsorships, birthday
treats: ``../shared/ANNOTATION.md``) is rare in support feeds, so a random draw gives the model too few examples,
almost all to airlines. This draw keeps only posts that match favour words (follow me/back, notice me, RT,
free, giveaway, win, send me, hire, job, sponsor, shout-out, birthday, please, coupon, discount, tickets...)
and that address or name a brand:

* ``twcs`` and ``ibm-cdp``: customer posts to a company's support account (the brand is the account);
* ``semeval-2013-2016`` (train files only) and ``speech-acts``: tweets that name a brand of :data:`BRANDS` (a
  name or a handle that contains it);
* ``airline-sentiment``: tweets of ``airline-sentiment:train-without-intent`` (the sentiment train split minus
  brand-intent), written with the dataset name ``airline-sentiment`` as the other label files do.

Posts of the evaluation files (``twcs-intent.jsonl``, ``company-mentions-judge.jsonl``, ``topics-judge.jsonl``)
are left out by id and by text (:func:`~pipeline.data.datasets.match_key`), and so are the posts (and texts)
of every other ``intent-train*.jsonl`` file. Each text is drawn once. Within each source the order is a hash of the
id: every post with an explicit ask (:data:`STRONG`; in tweets that name no brand, one that @mentions an account,
mostly fans writing to artists and public figures, ``industry: account``) within ``--per-company`` per brand or
account and ``--per-account`` per support account, then broad near misses up to ``--n`` (at most ``--per-source``
per source). A matched word is no label: many candidates are complaints, questions or other.

    python scripts/data/sample_favour_candidates.py --data-dir ../shared/data --n 700 --out /tmp/favour_sheet.jsonl

The sheet holds texts: write it outside the repository. Labels go into an ``ids:`` file, never the texts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.data.datasets import DATASETS, LabelledTexts, match_key

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "data" / "labels"
EVALUATION_FILES = ("twcs-intent.jsonl", "company-mentions-judge.jsonl", "topics-judge.jsonl")
SALT = "favour-candidates-v2"
LABEL_FILE = "intent-train-favour2.jsonl"  # what this draw was labelled into: not excluded from its own draw

# Favour words: what a favour-seeker writes, and what many complaints and questions also contain.
FAVOUR = re.compile(
    r"\b(?:follow(?:\s*(?:me|back|us|bk)|ed\s+back)|followback|f4f|notice\s+me|rt\b|retweet|re-tweet|"
    r"shout\s*-?\s*outs?|s/o|free(?:bies?)?|giveaways?|give\s*away|win(?:ning|ner)?|contests?|comp(?:etition)?s?\b|"
    r"give\s+(?:me|us)|send\s+(?:me|us)|hook\s+(?:me|us)\s+up|hire|hiring|jobs?|intern(?:ship)?s?|sponsor\w*|"
    r"collab\w*|birthday|bday|b-day|pl(?:ease|s|z)|coupons?|discounts?|promo(?:\s*codes?)?|vouchers?|samples?|"
    r"tickets?|upgrade|merch|gift\s*cards?|swag|pick\s+me|choose\s+me|say\s+hi|reply\s+(?:to\s+)?me|dm\s+me|"
    r"can\s+i\s+(?:have|get)|would\s+love|wish\s+me|need\s+(?:a|one|some)|signed)\b",
    re.IGNORECASE,
)

# Brands named in general tweets (case-folded, whole word, or inside a handle/hashtag). Airlines are the
# airline-sentiment source's; here they are left out.
BRANDS: dict[str, tuple[str, ...]] = {
    "technology": (
        "apple", "iphone", "ipad", "macbook", "itunes", "microsoft", "google", "samsung", "sony", "dell", "lenovo",
        "snapchat", "facebook", "instagram", "twitter", "youtube", "android", "blackberry", "htc", "nokia", "kindle",
    ),
    "gaming": ("xbox", "playstation", "ps4", "ps3", "nintendo", "wii", "call of duty", "minecraft", "ea", "steam"),
    "telecom": ("verizon", "at&t", "att", "t-mobile", "tmobile", "sprint", "comcast", "xfinity", "vodafone", "o2"),
    "retail": ("amazon", "walmart", "target", "ebay", "best buy", "bestbuy", "costco", "tesco", "ikea", "argos",
               "gamestop", "sephora", "macy's", "macys", "asda", "primark"),
    "food-and-drink": (
        "mcdonald's", "mcdonalds", "starbucks", "burger king", "kfc", "subway", "chipotle", "taco bell", "pizza hut",
        "domino's", "dominos", "coca-cola", "coke", "pepsi", "wendy's", "wendys", "dunkin", "nando's", "nandos",
        "red bull", "redbull", "monster energy", "krispy kreme", "papa john's", "papa johns", "chick-fil-a",
        "doritos", "oreo", "nutella", "ben & jerry's", "heineken", "budweiser",
    ),
    "automotive": ("tesla", "ford", "toyota", "honda", "bmw", "chevy", "chevrolet", "nissan", "volkswagen", "audi",
                   "mercedes", "jeep", "kia", "hyundai"),
    "transport": ("uber", "lyft", "amtrak", "greyhound", "fedex", "ups", "usps", "dhl"),
    "media-and-music": (
        "netflix", "hulu", "hbo", "disney", "espn", "spotify", "pandora", "mtv", "bbc", "radio 1", "itv", "vevo",
        "soundcloud", "billboard", "iheartradio", "capital fm", "kiis",
    ),
    "fashion-and-sport": ("nike", "adidas", "under armour", "h&m", "zara", "gap", "old navy", "puma", "topshop",
                          "forever 21", "hollister", "abercrombie", "converse", "vans", "nfl", "nba", "fifa", "wwe"),
    "finance": ("bank of america", "chase", "wells fargo", "citibank", "paypal", "visa", "mastercard", "amex"),
    "hospitality": ("marriott", "hilton", "airbnb", "expedia", "hotels.com"),
}  # fmt: skip
_BRAND_NAME = re.compile(
    r"(?<![\w&'-])(?:"
    + "|".join(sorted((re.escape(n) for names in BRANDS.values() for n in names), key=len, reverse=True))
    + r")(?![\w&'-])",
    re.IGNORECASE,
)
_BRAND_HANDLE = re.compile(
    r"[@#]\w*?("
    + "|".join(re.escape(n) for names in BRANDS.values() for n in names if re.fullmatch(r"\w{4,}", n))
    + r")",
    re.IGNORECASE,
)
_INDUSTRY = {name.casefold(): industry for industry, names in BRANDS.items() for name in names}

# Support accounts of airlines in the customer-care corpora (twcs, ibm-cdp): the rest are non-airline brands.
AIRLINE_ACCOUNT = re.compile(
    r"air|delta|united|jetblue|southwest|usairways|virginamerica|virginatlantic|british_airways|ryanair|"
    r"easyjet|lufthansa|emirates|qantas|klm|flyfrontier|spiritairlines|americanair|alaskaair|hawaiianair|"
    r"aircanada|westjet|flybe",
    re.IGNORECASE,
)

# Explicit asks: a follow, RT, shout-out, greeting, prize, free thing, code, job or sponsorship for the author.
STRONG = re.compile(
    r"\b(?:follow\s*(?:me|back|bk)|followed\s+back|followback|f4f|notice\s+me|(?:please|pls|plz)\s+(?:rt|retweet)|"
    r"(?:rt|retweet)\s+(?:this|me|please|pls|plz)|shout\s*-?\s*outs?|giveaways?|give\s*away|"
    r"(?:want|wanna|hope\s+i|could|let\s+me|love\s+to|chance\s+to|would)\s+win|pick\s+me|choose\s+me|"
    r"give\s+(?:me|us)|send\s+(?:me|us)|hook\s+(?:me|us)\s+up|hire\s+me|(?:need|want|looking\s+for)\s+(?:a\s+)?"
    r"(?:job|internship)|sponsor\s+(?:me|us)|collab\s+with|free\s+(?:stuff|premium|upgrade|food|drink|burrito|"
    r"ticket|month|coupon|shirt|merch)|(?:can|could)\s+(?:i|we)\s+(?:have|get)\s+(?:a\s+)?(?:free|some|one|code|"
    r"coupon|discount)|promo\s*code|coupon|discount\s+code|say\s+hi|reply\s+(?:to\s+)?me|"
    r"would\s+love\s+(?:a|one|some|to\s+get)|wish\s+me|signed)\b",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@(\w+)")

SOURCES = ("twcs", "ibm-cdp", "semeval-2013-2016", "speech-acts", "airline-sentiment")
_LOADER = {"airline-sentiment": "airline-sentiment:train-without-intent"}  # only the train split, minus brand-intent


def hash_key(item_id: str) -> str:
    return hashlib.sha256(f"{SALT}:{item_id}".encode()).hexdigest()


def _load(name: str, data_dir: Path, cache: dict[str, LabelledTexts]) -> LabelledTexts:
    if name not in cache:
        cache[name] = DATASETS[name](data_dir)
    return cache[name]


def excluded_posts(data_dir: Path, cache: dict[str, LabelledTexts]) -> tuple[set[tuple[str, str]], set[str]]:
    """``(dataset, id)`` pairs and text keys of the evaluation files and of every ``intent-train*`` file."""
    paths = [LABELS / name for name in EVALUATION_FILES] + sorted(
        path for path in LABELS.glob("intent-train*.jsonl") if path.name != LABEL_FILE
    )
    ids: set[tuple[str, str]] = set()
    keys: set[str] = set()
    index: dict[str, dict[str, int]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            ids.add((row["dataset"], row["id"]))
            data = _load(row["dataset"], data_dir, cache)
            if row["dataset"] not in index:
                index[row["dataset"]] = {item_id: n for n, item_id in enumerate(data.ids)}
            position = index[row["dataset"]].get(row["id"])
            if position is not None:
                keys.add(match_key(data.texts[position]))
    keys.discard("")
    return ids, keys


def brand_of(source: str, text: str, group: str) -> tuple[str, str] | None:
    """``(brand, industry)`` the post addresses or names, or None."""
    if source in ("twcs", "ibm-cdp") and group:
        return group, "airline" if AIRLINE_ACCOUNT.search(group) else "support"
    if source == "airline-sentiment":
        return group or "airline", "airline"
    found = _BRAND_NAME.search(text) or _BRAND_HANDLE.search(text)
    if not found:
        return None
    name = (found.group(1) if found.re is _BRAND_HANDLE else found.group(0)).casefold()
    return name, _INDUSTRY.get(name, "other")


def draw(
    data_dir: Path, n: int, per_source: dict[str, int], per_company: int, per_account: int
) -> list[dict[str, str]]:
    """All strong-ask posts first (within the caps), then broad favour-word posts up to ``n``, in hash order."""
    cache: dict[str, LabelledTexts] = {}
    excluded_ids, seen = excluded_posts(data_dir, cache)
    tiers: dict[str, list[tuple[str, str, str, str, str, str]]] = {"strong": [], "broad": []}
    for source in SOURCES:
        data = _load(_LOADER.get(source, source), data_dir, cache)
        for item_id, text, group in zip(data.ids, data.texts, data.groups):
            if (source, item_id) in excluded_ids or len(text.split()) < 3 or not FAVOUR.search(text):
                continue
            found = brand_of(source, text, group)
            strong = bool(STRONG.search(text))
            if found is None and strong and source in ("semeval-2013-2016", "speech-acts"):
                handle = _MENTION.search(text)
                found = ("@" + handle.group(1), "account") if handle and not text.startswith("RT @") else None
            if found is None:
                continue
            row = (hash_key(item_id), source, item_id, text, *found)
            tiers["strong" if strong else "broad"].append(row)
    chosen: list[dict[str, str]] = []
    taken: Counter[str] = Counter()
    per_tier_source: Counter[str] = Counter()
    for tier in ("strong", "broad"):
        for _, source, item_id, text, brand, industry in sorted(tiers[tier]):
            key = match_key(text)
            cap = per_account if source in ("twcs", "ibm-cdp") else per_company
            if not key or key in seen or taken[brand.casefold()] >= cap:
                continue
            if tier == "broad" and (len(chosen) >= n or per_tier_source[source] >= per_source[source]):
                continue
            seen.add(key)
            taken[brand.casefold()] += 1
            per_tier_source[source] += tier == "broad"
            chosen.append(
                {"dataset": source, "id": item_id, "brand": brand, "industry": industry, "tier": tier, "text": text}
            )
    chosen.sort(key=lambda row: hash_key(row["id"]))
    for number, row in enumerate(chosen, start=1):
        row["n"] = str(number)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--n", type=int, default=700, help="posts to draw: every strong ask, then broad ones up to N")
    parser.add_argument("--per-company", type=int, default=25, help="at most this many tweets per brand or account")
    parser.add_argument(
        "--per-account", type=int, default=100, help="at most this many posts per support account (twcs, ibm-cdp)"
    )
    parser.add_argument(
        "--per-source",
        nargs=2,
        action="append",
        metavar=("SOURCE", "N"),
        default=[],
        help="cap of broad (near-miss) posts of one source (default: twcs 120, semeval-2013-2016 100, ibm-cdp 50, "
        f"speech-acts 20, airline-sentiment 40; sources: {', '.join(SOURCES)})",
    )
    parser.add_argument("--out", type=Path, required=True, help="sheet (JSONL with texts): keep it outside the repo")
    args = parser.parse_args(argv)
    caps = {"twcs": 120, "ibm-cdp": 50, "semeval-2013-2016": 100, "speech-acts": 20, "airline-sentiment": 40}
    for source, value in args.per_source:
        if source not in caps:
            parser.error(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
        caps[source] = int(value)
    rows = draw(args.data_dir, args.n, caps, args.per_company, args.per_account)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            ordered = {"n": row["n"], "dataset": row["dataset"], "id": row["id"], "brand": row["brand"]}
            ordered.update(industry=row["industry"], tier=row["tier"], text=row["text"])
            handle.write(json.dumps(ordered, ensure_ascii=False) + "\n")
    by_source = Counter(row["dataset"] for row in rows)
    by_industry: dict[str, int] = defaultdict(int)
    for row in rows:
        by_industry[row["industry"]] += 1
    print(f"{len(rows)} posts -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())))
    print("industry: " + ", ".join(f"{k} {v}" for k, v in sorted(by_industry.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
