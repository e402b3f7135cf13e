"""Draw posts that mention companies (not only support requests to them) for intent labelling.

Two deterministic draws, ordered by a hash of each id, never sharing a post or a text:

- ``judge``: the cross-industry intent judge (evaluation only). SemEval-2017 test tweets (a test split, never
  trained on) that name a company of :data:`INDUSTRIES`, at most ``--per-industry`` per industry.
- ``train``: posts that mention a company without being addressed to its service, and general negative
  posts, from the SemEval 2013-2016 train tweets and the Tweet Act corpus: the posts that teach the model
  that a negative post is not always a complaint. At most ``--per-industry`` company posts per industry and
  ``--general`` negative posts that name no company.
- ``weak``: weak ``other`` labels (ids only, no texts: written straight as a label file) for ``--n`` tweets of
  the same two corpora that name no company of :data:`INDUSTRIES` and mention no account: by the guideline a
  post that is not to or about a brand is ``other`` (97.5% of 240 such negative tweets were, labelled by
  hand in ``data/labels/intent-train-mentions.jsonl``).

    python scripts/data/sample_company_mentions.py --data-dir ../shared/data --draw judge --n 640 --out /tmp/judge.jsonl
    python scripts/data/sample_company_mentions.py --data-dir ../shared/data --draw train --n 1100 \
        --exclude-sheet /tmp/judge.jsonl --out /tmp/train.jsonl
    python scripts/data/sample_company_mentions.py --data-dir ../shared/data --draw weak --n 5000 \
        --exclude-labels data/labels/company-mentions-judge.jsonl \
        --exclude-labels data/labels/intent-train-mentions.jsonl --out data/labels/weak-other.jsonl

The sheets hold the texts, so write them outside the repository; label files keep ids and labels only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

from pipeline.data.companies import ACCOUNT_INDUSTRY, industry_of
from pipeline.data.datasets import match_key
from pipeline.data.sources import load_dataset


def _order(salt: str, item_id: str) -> str:
    return hashlib.sha256(f"{salt}:{item_id}".encode()).hexdigest()


_SUPPORT_CORPORA = ("twcs", "ibm-cdp")


def _candidates(
    data_dir: Path, names: list[str], salt: str, excluded_ids: set[str]
) -> list[tuple[str, dict[str, str]]]:
    rows = []
    for name in names:
        data = load_dataset(name, data_dir)
        for item_id, text, label, group in zip(data.ids, data.texts, data.labels, data.groups):
            if item_id in excluded_ids:
                continue
            if len(text.split()) < 4:
                continue
            if name in _SUPPORT_CORPORA:
                company = group.casefold()
                industry = ACCOUNT_INDUSTRY.get(company, "none")
            else:
                found = industry_of(text)
                industry, company = found if found else ("none", "")
            row = {"dataset": name, "id": item_id, "industry": industry, "company": company, "text": text}
            row["sentiment"] = label if name.startswith("semeval") else ""
            rows.append((_order(salt, item_id), row))
    rows.sort(key=lambda pair: pair[0])
    return rows


def draw(
    data_dir: Path,
    which: str,
    n: int,
    per_industry: int,
    per_company: int,
    general: int,
    excluded_keys: set[str],
    excluded_ids: set[str],
) -> list[dict[str, str]]:
    if which == "weak":
        return _weak_other(data_dir, n, excluded_keys, excluded_ids)
    if which == "judge":
        sources = ["semeval-2017-test"]
    elif which == "judge-support":
        sources = list(_SUPPORT_CORPORA)
    else:
        sources = ["semeval-2013-2016", "speech-acts"]
    candidates = _candidates(data_dir, sources, f"company-{which}-v1", excluded_ids)
    taken: dict[str, int] = defaultdict(int)
    by_company: dict[str, int] = defaultdict(int)
    seen = set(excluded_keys)
    chosen: list[dict[str, str]] = []
    for _, row in candidates:
        key = match_key(row["text"])
        if not key or key in seen:
            continue
        industry = row["industry"]
        if industry == "none":
            # General posts that name no company: only negative ones, only for training.
            if which != "train" or row["sentiment"] != "negative" or taken[industry] >= general:
                continue
        elif taken[industry] >= per_industry or by_company[row["company"]] >= per_company:
            continue
        seen.add(key)
        taken[industry] += 1
        by_company[row["company"]] += 1
        chosen.append(row)
        if len(chosen) >= n:
            break
    return chosen


_ANY_MENTION = re.compile(r"(?<![\w@])@\w")


def _weak_other(data_dir: Path, n: int, excluded_keys: set[str], excluded_ids: set[str]) -> list[dict[str, str]]:
    """``n`` general tweets (no company named, no account mentioned) with the weak label ``other``."""
    chosen: list[dict[str, str]] = []
    seen = set(excluded_keys)
    for _, row in _candidates(data_dir, ["semeval-2013-2016", "speech-acts"], "company-weak-v1", excluded_ids):
        key = match_key(row["text"])
        if row["industry"] != "none" or _ANY_MENTION.search(row["text"]) or not key or key in seen:
            continue
        seen.add(key)
        chosen.append({"dataset": row["dataset"], "id": row["id"], "intent": "other", "rule": "names-no-company"})
        if len(chosen) >= n:
            break
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--draw", choices=("judge", "judge-support", "train", "weak"), required=True)
    parser.add_argument("--n", type=int, required=True, help="posts to draw")
    parser.add_argument("--per-industry", type=int, default=80)
    parser.add_argument("--per-company", type=int, default=30)
    parser.add_argument("--general", type=int, default=200, help="train draw: negative posts naming no company")
    parser.add_argument(
        "--exclude-sheet", type=Path, action="append", default=[], help="a sheet whose posts (and texts) to leave out"
    )
    parser.add_argument(
        "--exclude-labels", type=Path, action="append", default=[], help="an ids: label file whose posts to leave out"
    )
    parser.add_argument("--out", type=Path, required=True, help="sheet (JSONL with texts): keep it outside the repo")
    args = parser.parse_args(argv)
    excluded: set[str] = set()
    excluded_ids: set[str] = set()
    for sheet in args.exclude_sheet:
        for line in sheet.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                excluded.add(match_key(row["text"]))
                excluded_ids.add(row["id"])
    for labels in args.exclude_labels:
        data = load_dataset(f"ids:{labels}", args.data_dir)
        excluded.update(match_key(text) for text in data.texts)
        excluded_ids.update(data.ids)
    rows = draw(
        args.data_dir, args.draw, args.n, args.per_industry, args.per_company, args.general, excluded, excluded_ids
    )
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.get("industry", "none")] += 1
    print(f"{len(rows)} posts -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
