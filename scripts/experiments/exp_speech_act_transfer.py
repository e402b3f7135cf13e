#!/usr/bin/env python3
"""Speech acts as an intermediate task for the intent encoder (experiment; result in docs/models.md).

``configs/transformer.yaml`` starts its intent encoder from its sentiment encoder. This script fine-tunes that
sentiment encoder once more, on the 7,500 tweets of the Tweet Act Classification set (statement, question,
request, suggestion, expression, threat, other: general tweets, not posts to brands), and writes the result
as ``OUT/sentiment/`` so that ``scripts/bench/bench_models.py --init-bundle OUT`` starts every intent fold from it.
It also writes ``BASE/sentiment`` as a link to the starting encoder, so the baseline runs from the same
weights. Nothing here reads brand-intent or a test set.

    python scripts/experiments/exp_speech_act_transfer.py --data-dir ../shared/data \
        --from models/transformer/sentiment/member-0 --out runs/init-sa --base runs/init-base
    python scripts/bench/bench_models.py --data-dir ../shared/data --config base=configs/transformer.yaml \
        --init-bundle runs/init-base --set progress=false --set onnx=none --out runs/cv-base.json
    python scripts/bench/bench_models.py --data-dir ../shared/data --config sa=configs/transformer.yaml \
        --init-bundle runs/init-sa --set progress=false --set onnx=none --out runs/cv-sa.json
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from pipeline.data.sources import load_dataset
from pipeline.models.transformer import TransformerClassifier
from pipeline.text.normalise import TweetNormaliser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--from", dest="start", type=Path, required=True, help="a transformer.v1 task directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", type=Path, default=None, help="also link the starting encoder as BASE/sentiment")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    data = load_dataset("speech-acts", args.data_dir)
    normaliser = TweetNormaliser()
    texts = [normaliser(text) for text in data.texts]
    classifier = TransformerClassifier(
        init_encoder=str(args.start),
        max_seq_len=64,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        freeze_layers=2,
        holdout_fraction=0.0,
        onnx="none",
        threads=2,
        seed=13,
    )
    started = time.perf_counter()
    classifier.fit(texts, list(data.labels))
    print(f"speech acts: {len(texts)} posts, {args.epochs} epochs, {time.perf_counter() - started:.0f} s")
    classifier.save(args.out / "sentiment")
    if args.base is not None:
        args.base.mkdir(parents=True, exist_ok=True)
        link = args.base / "sentiment"
        if not link.exists():
            link.symlink_to(args.start.resolve(), target_is_directory=True)
    print(f"wrote {args.out / 'sentiment'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
