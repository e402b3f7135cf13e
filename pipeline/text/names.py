"""Counterfactual first-name augmentation: training copies of posts with their first names swapped.

Customers name the staff they met ("John at the desk was rude"). A linear model learns whatever label the
few posts with a given name happened to carry, so the same post can change its confidence with the name.
Adding copies of each training post that contains a first name, with the name replaced by other names,
spreads every name over the labels of all such posts: the names stop carrying labels, the rest of the post
carries them. Training only: the features and inference are unchanged.

The list holds common given names from many cultures, written for this project; names that are also
ordinary English words in customer posts (bill, mark, will, may, chase, grace, ...) are left out on
purpose, since swapping them would corrupt real words.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from typing import TypeVar

Label = TypeVar("Label")

FIRST_NAMES: tuple[str, ...] = (
    "aaron",
    "adam",
    "ahmed",
    "aisha",
    "alan",
    "alex",
    "alice",
    "amanda",
    "amir",
    "andrea",
    "andrew",
    "angela",
    "anna",
    "anthony",
    "antonio",
    "arjun",
    "ashley",
    "barbara",
    "ben",
    "benjamin",
    "brian",
    "carlos",
    "carmen",
    "catherine",
    "charles",
    "chen",
    "chris",
    "christina",
    "daniel",
    "david",
    "deepak",
    "diana",
    "diego",
    "dmitri",
    "elena",
    "elizabeth",
    "emily",
    "emma",
    "eric",
    "fatima",
    "fernando",
    "gary",
    "george",
    "hannah",
    "hassan",
    "helen",
    "ian",
    "isabel",
    "jacob",
    "james",
    "jason",
    "jennifer",
    "jessica",
    "jose",
    "joseph",
    "joshua",
    "juan",
    "julia",
    "karen",
    "kate",
    "kevin",
    "laura",
    "linda",
    "lisa",
    "luis",
    "maria",
    "mario",
    "martin",
    "mary",
    "matthew",
    "michael",
    "michelle",
    "mohammed",
    "muhammad",
    "nadia",
    "natalia",
    "nicole",
    "olga",
    "omar",
    "patricia",
    "paul",
    "peter",
    "priya",
    "rachel",
    "rahul",
    "raj",
    "rebecca",
    "richard",
    "robert",
    "ryan",
    "sarah",
    "scott",
    "sergei",
    "sofia",
    "stephanie",
    "steven",
    "susan",
    "thomas",
    "timothy",
    "tom",
    "wei",
    "william",
    "yusuf",
    "zoe",
    "john",
    "jon",
    "johnny",
)

_NAME_RE = re.compile(r"(?<![\w'])(" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + r")(?![\w'])")


def _swapped(text: str, seed: int, copy: int) -> str:
    occurrence = itertools.count()

    def replace(match: re.Match[str]) -> str:
        candidate = FIRST_NAMES[(seed + 7919 * copy + 104729 * next(occurrence)) % len(FIRST_NAMES)]
        if candidate == match.group(1):  # never the name the post had
            candidate = FIRST_NAMES[(FIRST_NAMES.index(candidate) + 1) % len(FIRST_NAMES)]
        return candidate

    return _NAME_RE.sub(replace, text)


def swap_names(texts: Sequence[str], labels: Sequence[Label], copies: int) -> tuple[list[str], list[Label]]:
    """``texts`` and ``labels`` followed by ``copies`` name-swapped copies of every text with a listed name.

    ``labels`` may be anything per row: pass row indices to carry other per-row values (weights) along.

    Texts are normalised (lower case). The replacement names are chosen by a checksum of the text and the
    copy number, so the result is deterministic; no occurrence keeps the name it had.
    """
    out_texts, out_labels = list(texts), list(labels)
    if copies <= 0:
        return out_texts, out_labels
    for text, label in zip(texts, labels):
        if _NAME_RE.search(text) is None:
            continue
        seed = zlib.crc32(text.encode("utf-8"))
        for copy in range(1, copies + 1):
            out_texts.append(_swapped(text, seed, copy))
            out_labels.append(label)
    return out_texts, out_labels
