#!/usr/bin/env python3
"""Give model bundles saved before the cold-start path existed the files it reads (pipeline.models.coldstart).

Writes ``<task>/lookup.npz`` (a sorted index of the vocabulary) and rewrites ``<task>/weights.npz`` with the same
arrays stored instead of compressed, updates the hashes in metadata.json, and checks that the bundle predicts the
same as before on the demo posts (batch path) and that the cold-start path agrees with it.

Usage::

    python scripts/models/add_coldstart_files.py models/default
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.data.bench_posts import demo_texts
from pipeline.models.coldstart import ColdStartPredictor, add_coldstart_files, open_for_coldstart
from pipeline.models.predict import Predictor

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", type=Path)
    args = parser.parse_args()
    texts = demo_texts()
    for bundle in args.bundles:
        before = Predictor.from_path(bundle).predict(texts)
        written = add_coldstart_files(bundle)
        after = Predictor.from_path(bundle).predict(texts)
        if after != before:
            sys.exit(f"{bundle}: predictions changed; the bundle was rewritten, restore it from version control")
        quick = ColdStartPredictor.from_verified(open_for_coldstart(bundle)).predict(texts)
        worst = max(
            abs(q[f"{task}_scores"][label] - b[f"{task}_scores"][label])
            for q, b in zip(quick, before)
            for task in ("intent", "sentiment")
            if task in b
            for label in b[f"{task}_scores"]
        )
        labels_equal = all(
            q.get(task) == b.get(task) for q, b in zip(quick, before) for task in ("intent", "sentiment")
        )
        print(
            f"{bundle}: wrote {', '.join(written) or 'nothing'}; batch predictions unchanged on {len(texts)} posts; "
            f"cold-start path: labels {'equal' if labels_equal else 'DIFFER'}, max |dp| {worst:.2e}"
        )


if __name__ == "__main__":
    main()
