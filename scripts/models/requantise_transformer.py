#!/usr/bin/env python3
"""Re-export the int8 ONNX models of a transformer bundle with static (or dynamic) quantisation.

Bundles trained before ``transformer.v1`` quantised statically hold dynamically quantised models, whose
output for a post depends on the other posts in its batch. This rebuilds each transformer classifier's
int8 model from its saved fp32 weights, calibrating activation ranges on ``--rows`` posts drawn (seeded)
from the task's training sources in the bundle's config, and writes a new bundle; nothing is retrained.

    python scripts/models/requantise_transformer.py --bundle models/transformer-v2 --out models/transformer-v2-static \
        --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.models.bundle import ModelBundle
from pipeline.models.transformer import TransformerClassifier
from pipeline.training.train import training_texts

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config-dir", type=Path, default=REPO / "configs", help="where the config's paths start")
    parser.add_argument("--mode", choices=["static", "dynamic"], default="static")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quantise-ffn-output",
        action="store_true",
        help="quantise the feed-forward output MatMuls too (the older setting; default: keep them float)",
    )
    args = parser.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"error: {args.out} exists; choose a new --out")
    bundle = ModelBundle.load(args.bundle)
    for task, classifier in bundle.classifiers.items():
        members = [c for c in classifier.components() if isinstance(c, TransformerClassifier)]
        if not members:
            continue
        texts = training_texts(bundle, task, args.data_dir, args.config_dir)
        rng = np.random.default_rng(args.seed)
        chosen = [texts[i] for i in sorted(rng.choice(len(texts), min(args.rows, len(texts)), replace=False))]
        for member in members:
            member._configure_tokenizer()
            member.quantisation = args.mode
            member.quantise_ffn_output = args.quantise_ffn_output
            member.quantisation_sample_ = member._encode(chosen)
            member.onnx = "int8"
            # The saved holdout check measured the old int8 model; the holdout itself is not in the bundle.
            member.quantisation_check_ = {}
        print(f"{task}: {len(members)} transformer model(s), {len(chosen)} calibration posts", file=sys.stderr)
    started = time.perf_counter()
    bundle.save(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
