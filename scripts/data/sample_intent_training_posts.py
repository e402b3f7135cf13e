#!/usr/bin/env python3
"""Draw unlabelled posts for the project to label as intent *training* data (a labelling sheet, with texts).

Two pools, each ordered by a hash of the post id (deterministic):

* ``airline``: tweets of ``airline-sentiment:train-without-intent`` (the fixed sentiment train split minus
  every brand-intent tweet, by id or text), so neither brand-intent cross-validation nor the airline
  sentiment test split ever sees a labelled post;
* ``twcs``: the unlabelled customer posts to ~90 companies (``twcs``, ``ibm-cdp``) minus every post of the
  out-of-industry test set (``--exclude``) and any post with the same text, at most ``--per-brand`` per
  company so that one company (SpotifyCares: 15,000 posts) does not fill the sheet.

As in brand-intent, part of each draw is *keyword-enriched* (posts matching free, upgrade, follow, voucher,
job, win... so that favour-seeking is not too rare); the ``sample`` field of each row says which.
Repeated texts are drawn once. The sheet holds texts: write it outside the repository. Labels go into an
``ids:`` file (``data/labels/intent-train.jsonl``), never the texts.

    python scripts/data/sample_intent_training_posts.py --data-dir ../shared/data \
        --exclude data/labels/twcs-intent.jsonl --out /tmp/intent-sheet.jsonl

``--whole-pool`` writes every candidate instead of a sample (at most ``--per-brand`` per twcs/ibm company),
with ``id`` = ``DATASET|ID`` so that ids stay unique across datasets: the input of ``voc suggest``, which picks
the posts a model is least sure of (how ``data/labels/intent-train-active.jsonl`` was drawn).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.data.datasets import load_id_labels, match_key
from pipeline.data.sources import load_dataset
from pipeline.training.labelling import draw_for_labelling, hash_order
from pipeline.training.pseudo_labels import ids_and_text_keys, unlabelled_pool

REPO = Path(__file__).resolve().parents[2]


def draw(
    data_dir: Path, exclude: list[Path], sizes: dict[str, tuple[int, int]], per_brand: int
) -> list[dict[str, str]]:
    held_out = [load_id_labels(path, data_dir, task="intent") for path in exclude]
    _, seen = ids_and_text_keys(held_out)  # then grows with every drawn text: each text is drawn once

    airline = load_dataset("airline-sentiment:train-without-intent", data_dir)
    airline_rows: list[dict[str, str]] = []
    for item_id, text, brand in zip(airline.ids, airline.texts, airline.groups):
        key = match_key(text)
        if key and key not in seen and len(text.split()) >= 3:
            seen.add(key)
            airline_rows.append(
                {"dataset": "airline-sentiment:train-without-intent", "id": item_id, "brand": brand, "text": text}
            )

    pool, _ = unlabelled_pool(data_dir, held_out)
    brands: dict[str, dict[str, str]] = defaultdict(dict)
    for name in {name for name, _, _ in pool}:
        data = load_dataset(name, data_dir)
        brands[name] = dict(zip(data.ids, data.groups))
    twcs_rows: list[dict[str, str]] = []
    for name, item_id, text in pool:
        key = match_key(text)
        if key not in seen and len(text.split()) >= 3:
            seen.add(key)
            twcs_rows.append({"dataset": name, "id": item_id, "brand": brands[name].get(item_id, ""), "text": text})

    rows = draw_for_labelling(airline_rows, *sizes["airline"], per_brand=None)
    rows += draw_for_labelling(twcs_rows, *sizes["twcs"], per_brand=per_brand)
    rows.sort(key=lambda row: hash_order(row["id"] + "/sheet"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, action="append", default=[], help="ids: label file to keep out")
    parser.add_argument("--out", type=Path, required=True, help="labelling sheet (JSONL with texts): not in the repo")
    parser.add_argument("--airline", type=int, nargs=2, default=(1000, 200), metavar=("RANDOM", "KEYWORD"))
    parser.add_argument("--twcs", type=int, nargs=2, default=(650, 150), metavar=("RANDOM", "KEYWORD"))
    parser.add_argument("--per-brand", type=int, default=40, help="at most this many twcs/ibm posts per company")
    parser.add_argument("--whole-pool", action="store_true", help="every candidate, not a sample (for voc suggest)")
    args = parser.parse_args(argv)
    everything = (10**9, 0)
    sizes = (
        {"airline": everything, "twcs": everything} if args.whole_pool else {"airline": args.airline, "twcs": args.twcs}
    )
    rows = draw(args.data_dir, args.exclude, sizes, args.per_brand)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            if args.whole_pool:
                row = {
                    "id": f"{row['dataset']}|{row['id']}",
                    **{k: v for k, v in row.items() if k not in ("id", "sample")},
                }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = Counter((row["dataset"], "all" if args.whole_pool else row["sample"]) for row in rows)
    print(f"{len(rows)} posts -> {args.out}: " + ", ".join(f"{d}/{s} {n}" for (d, s), n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
