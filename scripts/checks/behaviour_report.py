"""Failure rates of the behaviour suite (``pipeline.training.behaviour``) per capability, for one or more
bundles side by side.

For each head (sentiment, intent): the failure rate of every capability (negation, contrast, questions answered
yes/no, "used to ... now", intensifiers and reducers, vocabulary, fairness), of every identity group (the
invariance tests: swapping one religion, sexual orientation, nationality, race, gender, disability or age word),
the mean over tests and, with ``--tests``, every test with a failing example. ``--json FILE`` writes everything::

    python scripts/checks/behaviour_report.py --bundle default=models/default
    python scripts/checks/behaviour_report.py --bundle old=runs/a --bundle new=runs/b --tests
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline.models.predict import Predictor
from pipeline.training.behaviour import CAPABILITIES, HEADS, IDENTITY_GROUPS, behaviour_summary


def _row(label: str, values: list[float | None]) -> str:
    return f"  {label:<30}" + "".join(f"{'–' if v is None else f'{v:.1%}':>12}" for v in values)


def report(summaries: dict[str, dict[str, Any]], tests: bool) -> str:
    names = list(summaries)
    lines: list[str] = []
    for head in HEADS:
        present = [n for n in names if head in summaries[n]]
        if not present:
            continue
        parts = [summaries[n].get(head) for n in names]
        lines.append(f"{head + ':':<32}" + "".join(f"{n:>12}" for n in names))
        for capability in CAPABILITIES:
            values = [p["capabilities"].get(capability) if p else None for p in parts]
            if any(v is not None for v in values):
                lines.append(_row(capability, values))
        lines.append(_row("mean over tests", [p["mean"] if p else None for p in parts]))
        for group in IDENTITY_GROUPS:
            values = [p["fairness_groups"].get(group) if p else None for p in parts]
            if any(v is not None for v in values):
                lines.append(_row(f"fairness: {group}", values))
        if tests:
            for name, part in zip(names, parts):
                if not part:
                    continue
                lines.append(f"  tests of {name}:")
                for t in part["tests"]:
                    shown = f"    {t['rate']:6.1%}  {t['capability']:<11} {t['name']} ({t['failures']}/{t['cases']})"
                    if t.get("examples"):
                        shown += f"  e.g. {json.dumps(t['examples'][0], ensure_ascii=False)}"
                    lines.append(shown)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--tests", action="store_true", help="Also list every test with a failing example.")
    parser.add_argument("--json", type=Path, help="Write the full summaries here.")
    args = parser.parse_args()
    summaries: dict[str, dict[str, Any]] = {}
    for item in args.bundle:
        name, _, directory = item.partition("=")
        if not directory:
            name, directory = Path(item).name, item
        summaries[name] = behaviour_summary(Predictor.from_path(Path(directory)))
    print(report(summaries, args.tests))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
