"""Draw the twcs posts to non-airline brands that form the project's out-of-industry intent test set.

The draw is deterministic (a hash of each tweet id orders the candidates), so the committed label file
(`data/labels/twcs-intent.jsonl`: ids and labels only, never the texts) can be re-joined to its texts and
the sheet re-created. Candidates: customer tweets (inbound) in `twcs-samples/twcs-first5000.csv` and
`spotifycares-support-requests.csv` that address a known company which is not an airline, with at least
three words; at most ``--per-brand`` per company (case-folded), SpotifyCares at most ``--spotify``.

    python scripts/data/sample_twcs_for_labelling.py --data-dir ../shared/data --out /tmp/sheet.jsonl

The sheet holds the texts, so write it outside the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

from pipeline.data.datasets import load_twcs_unlabelled

AIRLINES = {
    "delta", "americanair", "british_airways", "southwestair", "sw_help", "airasiasupport", "alaskaair",
    "virginatlantic", "virginamerica", "jetblue", "united",
}  # fmt: skip


def draw(data_dir: Path, per_brand: int, spotify: int) -> list[dict[str, str]]:
    posts = load_twcs_unlabelled(data_dir)
    by_brand: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for item_id, text, brand in zip(posts.ids, posts.texts, posts.groups):
        key = brand.casefold()
        if not key or key in AIRLINES or len(text.split()) < 3:
            continue
        order = hashlib.sha256(f"twcs-intent-v1:{item_id}".encode()).hexdigest()
        by_brand[key].append((order, item_id, brand))
    chosen: list[dict[str, str]] = []
    text_of = dict(zip(posts.ids, posts.texts))
    for key in sorted(by_brand):
        cap = spotify if key == "spotifycares" else per_brand
        for _, item_id, brand in sorted(by_brand[key])[:cap]:
            chosen.append({"id": item_id, "brand": brand, "text": text_of[item_id]})
    chosen.sort(key=lambda row: hashlib.sha256(row["id"].encode()).hexdigest())
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--out", type=Path, required=True, help="labelling sheet (JSONL with texts): keep it outside the repo"
    )
    parser.add_argument("--per-brand", type=int, default=14)
    parser.add_argument("--spotify", type=int, default=40)
    args = parser.parse_args()
    rows = draw(args.data_dir, args.per_brand, args.spotify)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    brands = len({row["brand"].casefold() for row in rows})
    print(f"{len(rows)} posts to {brands} companies -> {args.out}")


if __name__ == "__main__":
    main()
