"""Prediction: from raw texts to the contract's prediction objects.

:class:`Predictor` holds a loaded bundle and turns a batch of texts into one dict per text with ``intent``,
``intent_scores``, ``sentiment``, ``sentiment_scores`` and ``truncated`` (the text was longer than the
normaliser's ``max_chars`` and only its start was scored). The heavy work is batched: the normaliser
tokenises the batch once, each classifier does one sparse matrix product.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError
from pipeline.models.bundle import ModelBundle
from pipeline.models.classifier import Classifier

if TYPE_CHECKING:  # numpy is imported where it is used: `voc predict` on a few texts never needs it
    import numpy as np

    from pipeline.models.fastpath import FastPredictor

if TYPE_CHECKING:  # numpy is imported where it is used: `voc predict` on a few texts never needs it
    import numpy as np


class Predictor:
    """Scores texts with a model bundle; built once per process and reused for every batch.

    It decides, once, whether the bundle runs on the fast path (:mod:`pipeline.models.fastpath`: the default
    linear models, same results several times faster) or on the reference implementation (every backend).
    Callers see one interface either way: :meth:`encode` then :meth:`proba`, or :meth:`predict_proba`.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.normaliser = bundle.normaliser
        self.classifiers: dict[str, Classifier] = bundle.classifiers
        override = max_chars_override()
        if override is not None:
            self.normaliser.max_chars = override
        self._fast: FastPredictor | None = None  # built on first use (it builds feature tables)
        self._fast_checked = False

    @classmethod
    def from_path(cls, model: str | Path | None = None) -> Predictor:
        return cls(ModelBundle.load(model))

    @property
    def fast(self) -> FastPredictor | None:
        """The fast path in use, or None where the reference runs (another kind of model, or ``VOC_FASTPATH=0``).

        Same results as the reference (to ~1e-6), several times faster on the default model."""
        if not self._fast_checked:
            from pipeline.models.fastpath import FastPredictor

            self._fast, self._fast_checked = FastPredictor.for_bundle(self.bundle), True
        return self._fast

    def set_inference_threads(self, threads: int) -> int:
        """Give every model that runs on a thread pool (transformer members too) ``threads`` threads.

        Returns how many models took the setting; linear models have no pool and are left as they are.
        """
        return sum(classifier.set_inference_threads(threads) for classifier in self.classifiers.values())

    def encode(self, texts: Sequence[str]) -> Sequence[str]:
        """The texts normalised as the models read them, for :meth:`proba` (and a topic scorer).

        On the fast path a :class:`~pipeline.models.fastpath.TokenBatch`, which is also the sequence of
        the normalised strings; else a list of them.
        """
        fast = self.fast
        return fast.encode(texts) if fast is not None else self.normaliser.normalise_many(texts)

    def proba(self, normalised: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, an (n, n_classes) array of calibrated probabilities of texts that :meth:`encode` made."""
        fast = self.fast
        if fast is not None:
            return fast.proba(normalised)
        return {task: clf.predict_proba(normalised) for task, clf in self.classifiers.items()}

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray]]:
        """Normalised texts and, per task, an (n, n_classes) array of calibrated probabilities."""
        normalised = self.encode(texts)
        return list(normalised), self.proba(normalised)

    def predict(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One prediction object per text, in order."""
        if not texts:
            return []
        _, probabilities = self.predict_proba(texts)
        return self.predict_from_proba(texts, ids, probabilities)

    def labels_from_proba(self, task: str, proba: np.ndarray) -> list[str]:
        """The label of each row of ``task`` probabilities (adapted or not), as the model decides it."""
        # A classifier with an abstention threshold may label a low-confidence post `other`.
        return self.classifiers[task].decide(proba)

    def predict_from_proba(
        self, texts: Sequence[str], ids: Sequence[str] | None, probabilities: dict[str, np.ndarray]
    ) -> list[dict[str, Any]]:
        """Prediction objects from probabilities already computed by :meth:`predict_proba`."""
        if ids is None:
            ids = [str(i) for i in range(len(texts))]
        columns: list[tuple[str, list[Any]]] = [("id", list(ids))]
        for task, proba in probabilities.items():
            classes = list(self.classifiers[task].classes_)
            columns.append((task, self.labels_from_proba(task, proba)))
            columns.append((f"{task}_scores", list(map(dict, map(zip, repeat(classes), proba.tolist())))))
        max_chars = self.normaliser.max_chars
        columns.append(("truncated", [len(text) > max_chars for text in texts]))
        names = [name for name, _ in columns]
        return list(map(dict, map(zip, repeat(names), zip(*(values for _, values in columns)))))


def max_chars_override() -> int | None:
    """``$VOC_MAX_CHARS``: a run-time override of the bundle's maximum post length (None when unset).

    An environment variable rather than an argument so that it reaches worker processes unchanged.
    """
    value = os.environ.get("VOC_MAX_CHARS", "").strip()
    if not value:
        return None
    try:
        max_chars = int(value)
    except ValueError:
        max_chars = 0
    if max_chars <= 0:
        raise InputError(f"VOC_MAX_CHARS must be a positive integer, got {value!r}")
    return max_chars


def format_line(text: str, prediction: dict[str, Any], width: int = 60) -> str:
    """A one-line human summary: ``complaint 0.93  negative 0.88  my bag never arrived``."""
    parts = []
    for task in ("intent", "sentiment"):
        if task in prediction:
            label = prediction[task]
            parts.append(f"{label:<14} {prediction[f'{task}_scores'][label]:.2f}")
    shown = " ".join(text.split())
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return "  ".join([*parts, shown])
