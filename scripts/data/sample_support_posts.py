"""Draw customer posts to non-airline support accounts for intent *training* labels (a sheet, with texts).

The pool is every inbound customer post of ``twcs`` (``twcs-first5000.csv`` and the SpotifyCares file) and
every client turn of ``ibm-cdp`` (IBM customer care, dev and test) that

* is addressed to a known company that is not an airline: the loader's group, else (twcs posts the loader
  cannot place, e.g. a conversation's first tweet whose @mention of the company was anonymised) the company
  account that replied to it (``response_tweet_id``); posts with no known company are left out;
* has at least three words;
* is not a post of a human-labelled file (``--exclude``; by default the seven in ``data/labels``, all but the
  model-made ``pseudo-intent.jsonl``, which a human label supersedes), judges included, and has no text
  equal to one of theirs (``match_key``: no URLs, mentions, case or punctuation); each text is drawn once.

Each post is marked ``first`` (it opens a conversation: a twcs tweet in reply to nothing, an ibm-cdp turn
that opens its conversation) or a reply. First posts and replies form two streams, each a round robin over the
companies (every company's first candidate by hash order, then every company's second, ...); the draw takes
from the two in turn so that about ``--first-share`` of it are first posts (replies run out first: most
conversations have one customer turn), at most ``--per-company`` posts per company and ``--spotify`` for
SpotifyCares (15,000 of the pool's posts), until ``--n``. Deterministic.

    python scripts/data/sample_support_posts.py --data-dir ../shared/data --n 1200 --per-company 45 \
        --out /tmp/support_sheet.jsonl

The sheet holds texts: write it outside the repository. Labels go into ``data/labels/intent-train-support.jsonl``
(ids and labels only).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

from pipeline.data.datasets import load_ibm_cdp_unlabelled, load_twcs_unlabelled, match_key

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "data" / "labels"
HUMAN_LABEL_FILES = (
    "twcs-intent.jsonl",
    "company-mentions-judge.jsonl",
    "intent-train.jsonl",
    "intent-train-active.jsonl",
    "intent-train-active2.jsonl",
    "intent-train-favour.jsonl",
    "intent-train-mentions.jsonl",
)
AIRLINES = {
    "delta", "americanair", "british_airways", "southwestair", "sw_help", "airasiasupport", "alaskaair",
    "virginatlantic", "virginamerica", "jetblue", "united", "alaskaairlines", "aircanada", "klm", "easyjet",
    "ryanair",
}  # fmt: skip
SALT = "intent-support-v1"


def _order(item_id: str) -> str:
    return hashlib.sha256(f"{SALT}:{item_id}".encode()).hexdigest()


def _excluded(paths: list[Path], data_dir: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """The (dataset, id) pairs of the label files and the text keys of those posts."""
    keys: set[tuple[str, str]] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                keys.add((row["dataset"], row["id"]))
    texts: set[str] = set()
    for name, data in (("twcs", load_twcs_unlabelled(data_dir)), ("ibm-cdp", load_ibm_cdp_unlabelled(data_dir))):
        texts.update(match_key(t) for i, t in zip(data.ids, data.texts) if (name, i) in keys)
    if any(dataset not in ("twcs", "ibm-cdp") for dataset, _ in keys):
        # Posts of other corpora (airline tweets, SemEval) can share a text with a support post only by chance;
        # their texts are matched too, through the loader of each dataset the files name.
        from pipeline.data.sources import load_dataset

        for name in sorted({d for d, _ in keys} - {"twcs", "ibm-cdp"}):
            data = load_dataset(name, data_dir)
            texts.update(match_key(t) for i, t in zip(data.ids, data.texts) if (name, i) in keys)
    texts.discard("")
    return keys, texts


def _twcs_structure(data_dir: Path) -> tuple[dict[str, str], dict[str, bool]]:
    """For each twcs tweet id: the company account that replied to it, and whether it opens a conversation."""
    records: list[dict[str, str]] = []
    for name in ("twcs-first5000.csv", "spotifycares-support-requests.csv"):
        content = (data_dir / "twcs-samples" / name).read_bytes().decode("utf-8")
        content = content.replace("\r\n", "\n").replace("\r", " ")
        records.extend(csv.DictReader(io.StringIO(content, newline="")))
    author = {r["tweet_id"]: r["author_id"] for r in records if r.get("tweet_id")}
    replier: dict[str, str] = {}
    first: dict[str, bool] = {}
    for r in records:
        tweet_id = r.get("tweet_id") or ""
        if not tweet_id.isdigit() or tweet_id in first:
            continue
        first[tweet_id] = not (r.get("in_response_to_tweet_id") or "").strip()
        for reply in (r.get("response_tweet_id") or "").split(","):
            company = author.get(reply.strip(), "")
            if company and not company.isdigit():
                replier[tweet_id] = company
                break
    return replier, first


def _ibm_first_turns(data_dir: Path) -> set[str]:
    """Tweet ids of the ibm-cdp turns that open their conversation."""
    first: set[str] = set()
    for name in ("dev.json", "test.json"):
        conversations = json.loads((data_dir / "ibm-twitter-customer-care-cdp" / name).read_bytes().decode("utf-8"))
        for conv in conversations:
            turns = conv.get("dialogContent") or []
            if turns and isinstance(turns[0], dict):
                first.add(str(turns[0].get("tweet_ID", "")))
    return first


def candidates(data_dir: Path, exclude: list[Path]) -> list[dict[str, object]]:
    """The pool, in hash order, each text once."""
    keys, seen = _excluded(exclude, data_dir)
    replier, twcs_first = _twcs_structure(data_dir)
    ibm_first = _ibm_first_turns(data_dir)
    rows: list[tuple[str, dict[str, object]]] = []
    for name, data in (("twcs", load_twcs_unlabelled(data_dir)), ("ibm-cdp", load_ibm_cdp_unlabelled(data_dir))):
        for item_id, text, group in zip(data.ids, data.texts, data.groups):
            if (name, item_id) in keys or len(text.split()) < 3:
                continue
            if name == "twcs":
                company = group or replier.get(item_id.removeprefix("twcs-"), "")
                first = twcs_first.get(item_id.removeprefix("twcs-"), False)
            else:
                company, first = group, item_id in ibm_first
            if not company or company.casefold() in AIRLINES:
                continue
            row = {"dataset": name, "id": item_id, "company": company.casefold(), "first": int(first), "text": text}
            rows.append((_order(item_id), row))
    rows.sort(key=lambda pair: pair[0])
    pool: list[dict[str, object]] = []
    for _, row in rows:
        key = match_key(str(row["text"]))
        if key and key not in seen:
            seen.add(key)
            pool.append(row)
    return pool


def draw(
    pool: list[dict[str, object]], n: int, per_company: int, spotify: int, first_share: float
) -> list[dict[str, object]]:
    """Round robin over companies, in two streams (first posts, replies) taken in turn to their quotas."""
    streams: dict[bool, list[tuple[int, str, dict[str, object]]]] = {True: [], False: []}
    rank: Counter[tuple[str, bool]] = Counter()
    for row in pool:  # already in hash order: a company's k-th first post (or reply) has rank k
        key = (str(row["company"]), bool(row["first"]))
        streams[key[1]].append((rank[key], _order(str(row["id"])), row))
        rank[key] += 1
    for stream in streams.values():
        stream.sort(key=lambda item: (item[0], item[1]))
    quota = {True: round(n * first_share), False: n - round(n * first_share)}
    taken: dict[bool, list[dict[str, object]]] = {True: [], False: []}
    position = {True: 0, False: 0}
    per: Counter[str] = Counter()

    def take(first: bool) -> bool:
        stream = streams[first]
        while position[first] < len(stream):
            row = stream[position[first]][2]
            position[first] += 1
            company = str(row["company"])
            if per[company] < (spotify if company == "spotifycares" else per_company):
                per[company] += 1
                taken[first].append(row)
                return True
        return False

    while len(taken[True]) + len(taken[False]) < n:
        # The stream furthest below its quota goes next; an exhausted one leaves the rest to the other.
        order = sorted((True, False), key=lambda f: len(taken[f]) / max(quota[f], 1))
        if not (take(order[0]) or take(order[1])):
            break
    chosen = taken[True] + taken[False]
    chosen.sort(key=lambda row: _order(str(row["id"]) + "/sheet"))
    return [{"n": k, **row} for k, row in enumerate(chosen, start=1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--per-company", type=int, default=40, help="at most this many posts per company")
    parser.add_argument("--spotify", type=int, default=150, help="at most this many SpotifyCares posts")
    parser.add_argument("--first-share", type=float, default=0.5, help="share of posts that open a conversation")
    parser.add_argument(
        "--exclude",
        type=Path,
        action="append",
        help="human-labelled ids: file whose posts (and texts) stay out (default: the seven in data/labels)",
    )
    parser.add_argument("--out", type=Path, required=True, help="labelling sheet (JSONL with texts): not in the repo")
    args = parser.parse_args(argv)
    exclude = args.exclude or [LABELS / name for name in HUMAN_LABEL_FILES]
    pool = candidates(args.data_dir, exclude)
    rows = draw(pool, args.n, args.per_company, args.spotify, args.first_share)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    companies = Counter(str(row["company"]).casefold() for row in rows)
    datasets = Counter(str(row["dataset"]) for row in rows)
    first = sum(int(row["first"]) for row in rows)
    print(
        f"pool {len(pool)} posts; drew {len(rows)} to {len(companies)} companies "
        f"({', '.join(f'{k} {v}' for k, v in sorted(datasets.items()))}; {first} first posts, "
        f"SpotifyCares {companies.get('spotifycares', 0)}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
