#!/usr/bin/env python3
"""A teacher's sentiment probabilities on unlabelled posts, for ``scripts/experiments/exp_linear_sentiment.py --pool``.

The pool: the unlabelled customer-care posts (``twcs``, ``ibm-cdp``), the speech-act tweets (general Twitter,
their act labels unused) and the TweetEval emotion train and validation tweets (their emotion kept for the
``shipped-emotion`` variant; the emotion *test* split is never read). A post is left out when its text,
once URLs, mentions, case and punctuation are dropped, equals a text of the SemEval-2017 test, the airline
test split or the TweetEval sentiment validation set; repeated texts are kept once.

Writes ``OUT`` (``proba``, ``classes``) and ``OUT.json`` (``[source, id, text, emotion]`` rows, emotion -1 when
there is none). Texts stay outside the repository: write under /tmp or runs/.

    VOC_TRANSFORMER_RUNTIME=torch python scripts/experiments/make_sentiment_pool.py --teacher models/transformer-v4 \\
        --data-dir ../shared/data --out /tmp/s8/pool-v4.npz        # 27,319 posts, 219 s
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pipeline.data.datasets import match_key
from pipeline.data.io import AtomicWriter, write_text_atomic
from pipeline.data.sources import load_dataset
from pipeline.models.predict import Predictor

REPO = Path(__file__).resolve().parents[2]

UNLABELLED = ("twcs", "ibm-cdp", "speech-acts")
HELD_OUT = ("semeval-2017-test", "airline-sentiment:test", "tweeteval-sentiment:val")


def emotion_split(data_dir: Path, split: str) -> tuple[list[str], list[int]]:
    """TweetEval emotion texts and labels (0 anger, 1 joy, 2 optimism, 3 sadness) of ``split``."""
    if split == "test":
        raise ValueError("the emotion test split is not read")
    base = data_dir / "tweeteval" / "emotion"
    texts = (base / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(x) for x in (base / f"{split}_labels.txt").read_text().split()]
    if len(texts) != len(labels):
        raise SystemExit(f"error: {base}/{split}_*.txt: {len(texts)} texts, {len(labels)} labels")
    return texts, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="bundle whose sentiment model labels the posts")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write (and OUT.json beside it)")
    args = parser.parse_args(argv)

    held_out = {k for name in HELD_OUT for k in map(match_key, load_dataset(name, args.data_dir).texts) if k}
    pool: list[tuple[str, str, str, int]] = []
    seen: set[str] = set()

    def add(source: str, item_id: str, text: str, emotion: int) -> None:
        key = match_key(text)
        if key and key not in held_out and key not in seen:
            seen.add(key)
            pool.append((source, item_id, text, emotion))

    for name in UNLABELLED:
        data = load_dataset(name, args.data_dir)
        for item_id, text in zip(data.ids, data.texts):
            add(name, item_id, text, -1)
    for split in ("train", "val"):
        for row, (text, emotion) in enumerate(zip(*emotion_split(args.data_dir, split)), start=1):
            add(f"tweeteval-emotion:{split}", f"tee-{split}-{row}", text, emotion)

    started = time.perf_counter()
    predictor = Predictor.from_path(args.teacher)
    _, probabilities = predictor.predict_proba([text for _, _, text, _ in pool])
    classes = np.array(predictor.classifiers["sentiment"].classes_)
    with AtomicWriter(args.out, "wb") as out:
        np.savez(out, proba=probabilities["sentiment"], classes=classes)
    write_text_atomic(Path(f"{args.out}.json"), json.dumps(pool))
    print(f"{len(pool)} posts labelled in {time.perf_counter() - started:.0f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
