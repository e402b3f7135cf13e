"""Two ideas for the linear intent model, measured on the CV folds and the out-of-industry halves.

* ``cascade``: the annotation's priority rule (complaint > favour-seeking > question > praise > other,
  ``ANNOTATION.md``) as a chain of binary models. Stage k is trained only on posts whose label is not of a
  higher priority, so ``P(favour-seeking) = (1 - P(complaint)) * P(favour-seeking | not a complaint)``, and so on;
  ``other`` takes what is left.
* ``unsure=W``: training rows that the annotators marked ``unsure`` (two labels plausible) weigh ``W``.
* ``flat``: the config's classifier as it is (the reference); ``mean``: the mean of ``flat``'s and ``cascade``'s
  probabilities.

Every variant trains the config's intent classifier settings on the same grouped 5 folds of brand-intent, plus
every other people-labelled source of the config (pseudo-labels are left out: their teacher saw every fold),
and on all of it for the out-of-industry posts (``data/labels/twcs-intent.jsonl``; dev / test halves by id hash)::

    python scripts/experiments/exp_intent_variants.py --data-dir ../shared/data --variants flat,cascade,unsure=0.5

Prints one JSON line per variant: CV macro-F1, favour-seeking F1, ECE, macro-F1 on the posts the annotators
were sure of, and out-of-industry macro-F1 (all / dev / test / sure).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import registry
from pipeline.data.sources import load_dataset
from pipeline.data.splits import hash_halves
from pipeline.training.crossval import by_annotator_certainty, grouped_folds, load_cv_data
from pipeline.training.evaluate import classification_metrics

REPO = Path(__file__).resolve().parents[2]
OOD = "ids:" + str(REPO / "data" / "labels" / "twcs-intent.jsonl")  # the out-of-industry judge

PRIORITY = ["complaint", "favour-seeking", "question", "praise"]  # then `other`: ANNOTATION.md


class PriorityCascade:
    """One binary model per label in priority order, each fitted on the posts not of a higher priority."""

    def __init__(self, factory: Any, params: dict[str, Any], order: Sequence[str] = PRIORITY) -> None:
        self.factory = factory
        self.params = params
        self.order = list(order)

    def fit(
        self, texts: list[str], labels: list[str], classes: list[str], sample_weight: np.ndarray | None = None
    ) -> PriorityCascade:
        self.classes_ = list(classes)
        rest = [c for c in self.classes_ if c not in self.order]
        if len(rest) != 1:
            raise ValueError(f"the cascade needs exactly one label outside {self.order}, got {rest}")
        gold = np.asarray(labels)
        alive = np.ones(len(gold), dtype=bool)
        self.stages_ = []
        for label in self.order:
            rows = np.flatnonzero(alive)
            target = ["yes" if gold[i] == label else "no" for i in rows]
            weight = None if sample_weight is None else sample_weight[rows]
            stage = self.factory(**self.params).fit(
                [texts[i] for i in rows], target, classes=["yes", "no"], sample_weight=weight
            )
            self.stages_.append(stage)
            alive &= gold != label
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        proba = np.zeros((len(texts), len(self.classes_)))
        remaining = np.ones(len(texts))
        for label, stage in zip(self.order, self.stages_):
            yes = stage.predict_proba(texts)[:, 0]
            proba[:, self.classes_.index(label)] = remaining * yes
            remaining = remaining * (1 - yes)
        proba[:, [self.classes_.index(c) for c in self.classes_ if c not in self.order]] = remaining[:, None]
        return proba


class MeanOfTwo:
    """The mean of two models' probabilities (same classes)."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first = first
        self.second = second

    def fit(
        self, texts: list[str], labels: list[str], classes: list[str], sample_weight: np.ndarray | None = None
    ) -> Any:
        self.first.fit(texts, labels, classes=classes, sample_weight=sample_weight)
        self.second.fit(texts, labels, classes=classes, sample_weight=sample_weight)
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return (self.first.predict_proba(texts) + self.second.predict_proba(texts)) / 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    parser.add_argument("--variants", default="flat,cascade", help="comma-separated: flat, cascade, mean, unsure=W")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)

    data = load_cv_data(args.config, args.data_dir, drop_pseudo_labels=True)
    target, target_texts, classes = data.target, data.target_texts, data.classes
    target_unsure = np.asarray(target.unsure, dtype=bool)
    params = dict(data.task.params)
    params.setdefault("seed", data.config.seed)
    params["calibration_folds"] = max(2, data.task.cv_folds)
    params.pop("abstain_label", None)  # probabilities are compared here, not abstaining labels
    factory = registry.classifiers.get(data.task.classifier)

    ood = load_dataset(OOD, data.data_root, "intent", soft=False)
    ood_texts = data.normaliser.normalise_many(ood.texts)
    ood_parts = hash_halves(list(ood.ids))
    ood_parts["sure"] = np.flatnonzero(~np.asarray(ood.unsure, dtype=bool))
    ood_gold = np.asarray(ood.labels)
    gold = np.asarray(target.labels)
    results: dict[str, Any] = {}
    for variant in args.variants.split(","):
        kind, _, value = variant.partition("=")
        if kind not in ("flat", "cascade", "mean", "unsure"):
            parser.error(f"unknown variant {variant!r}")
        unsure_weight = float(value) if kind == "unsure" else 1.0

        def build(kind: str = kind) -> Any:
            if kind == "mean":
                return MeanOfTwo(factory(**params), PriorityCascade(factory, params))
            return PriorityCascade(factory, params) if kind == "cascade" else factory(**params)

        def weights(rows_unsure: np.ndarray, unsure_weight: float = unsure_weight) -> np.ndarray:
            flags = np.concatenate([rows_unsure, np.asarray(data.extra_unsure, dtype=bool)])
            return np.where(flags, unsure_weight, 1.0)

        proba = np.zeros((len(gold), len(classes)))
        for train_idx, test_idx in grouped_folds(target.labels, target.texts, 5, data.config.seed):
            model = build().fit(
                [target_texts[i] for i in train_idx] + data.extra_texts,
                [target.labels[i] for i in train_idx] + data.extra_labels,
                classes=classes,
                sample_weight=weights(target_unsure[train_idx]),
            )
            proba[test_idx] = model.predict_proba([target_texts[i] for i in test_idx])
        report = classification_metrics(list(gold), proba, classes)
        certainty = by_annotator_certainty(list(gold), proba, classes, target.unsure, np.ones(len(gold), dtype=bool))
        model = build().fit(
            target_texts + data.extra_texts,
            list(target.labels) + data.extra_labels,
            classes=classes,
            sample_weight=weights(target_unsure),
        )
        ood_proba = model.predict_proba(ood_texts)
        results[variant] = {
            "cv_macro_f1": report["overall"]["macro_f1"],
            "cv_favour_seeking_f1": report["per_class"]["favour-seeking"]["f1"],
            "cv_ece": report["overall"]["ece"],
            "cv_sure_macro_f1": certainty["sure"]["macro_f1"],
            "ood_macro_f1": {
                part: classification_metrics(list(ood_gold[rows]), ood_proba[rows], classes)["overall"]["macro_f1"]
                for part, rows in ood_parts.items()
            },
            "ood_ece": classification_metrics(list(ood_gold), ood_proba, classes)["overall"]["ece"],
        }
        print(variant, json.dumps(results[variant]), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
