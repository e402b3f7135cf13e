"""Drawing posts for people to label: deterministic, ordered by a hash of each id, enriched with the rare class.

``scripts/data/sample_intent_training_posts.py`` draws labelling sheets with it: first a random draw (in hash
order), then posts that use favour-seeking words, which a random draw of customer posts almost never holds.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

# The brand-intent enrichment words (its SOURCE.md), with the forms favour-seekers use to other brands.
FAVOUR_WORDS = re.compile(
    r"\b(free|freebies?|upgrades?|follow(?: me| back)?|giveaways?|vouchers?|discounts?|promo|coupons?|codes?|"
    r"jobs?|hiring|hire|careers?|win|winner|contest|prizes?|sponsor\w*|birthday|bday|retweet|rt|notice me|"
    r"shout ?out|dm me)\b",
    re.IGNORECASE,
)
SALT = "intent-train-v1"


def hash_order(item_id: str, salt: str = SALT) -> str:
    """A post's place in a deterministic draw: the SHA-256 of ``salt:id`` (sort by it)."""
    return hashlib.sha256(f"{salt}:{item_id}".encode()).hexdigest()


def draw_for_labelling(
    candidates: list[dict[str, str]], n_random: int, n_keyword: int, per_brand: int | None
) -> list[dict[str, str]]:
    """``n_random`` posts in hash order, then ``n_keyword`` of the remaining ones that match FAVOUR_WORDS.

    Each row taken gets ``sample`` (``random`` or ``keyword-enriched``); at most ``per_brand`` rows per brand.
    """
    ordered = sorted(candidates, key=lambda row: hash_order(row["id"]))
    taken: list[dict[str, str]] = []
    per: Counter[str] = Counter()
    for sample, quota, wanted in (("random", n_random, None), ("keyword-enriched", n_keyword, FAVOUR_WORDS)):
        chosen = 0
        for row in ordered:
            if chosen >= quota:
                break
            if "sample" in row or (wanted is not None and not wanted.search(row["text"])):
                continue
            brand = row["brand"].casefold()
            if per_brand is not None and per[brand] >= per_brand:
                continue
            per[brand] += 1
            row["sample"] = sample
            taken.append(row)
            chosen += 1
    return taken
