"""The contract every classifier backend meets, and the registry of backends by name.

Training, bundles, prediction, evaluation and the model card use a classifier through :class:`Classifier`
alone. What a backend can do is declared (``takes_sample_weight``; ``encoder_state`` is None without an
encoder), never found by probing its signature or attributes. Backends register under a versioned name
(``tfidf_logreg.v1``, ``tfidf_logreg.v2``, ``transformer.v1``, ``ensemble.v1``): a bundle records the name,
and loading looks the class up in :data:`pipeline.registry.classifiers`, so that a bundle never carries code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

if TYPE_CHECKING:  # numpy is not imported at run time: `voc predict TEXT`'s cold-start path loads this module
    import numpy as np

from pipeline import registry


class Classifier(Protocol):
    """A text classifier with calibrated probabilities over a fixed label set, saved without pickle.

    Inputs are normalised texts (:mod:`pipeline.text.normalise`); the bundle's normaliser runs first.
    """

    name: ClassVar[str]  # the registered name, saved in ``classifier.json``
    takes_sample_weight: ClassVar[bool]  # whether ``fit`` weighs rows (soft labels); else it refuses weights
    classes_: list[str]  # the label order of ``predict_proba``'s columns (after fit or load)
    abstain_label: str | None  # the label given below ``abstain_threshold_``
    abstain_threshold_: float | None  # top probability below which ``decide`` abstains (None: argmax)
    abstention_: dict[str, float]  # what the threshold tuning measured, for the model card
    oof_proba_: np.ndarray | None  # out-of-fold probabilities of every training row (None: not kept)
    init_state_: dict[str, Any] | None  # encoder weights to start fitting from (another task's encoder)

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters, as saved in the bundle (JSON)."""
        ...

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        classes: Sequence[str] | None = None,
        gold: Sequence[bool] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Classifier:
        """Fit on normalised texts; ``classes`` fixes the label order, ``gold`` marks the rows labelled by
        people (only they calibrate), ``sample_weight`` weighs rows (only where ``takes_sample_weight``)."""
        ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in ``classes_`` order."""
        ...

    def decide(self, proba: np.ndarray) -> list[str]:
        """Labels from probabilities (this model's or adjusted ones), abstention threshold applied."""
        ...

    def predict(self, texts: Sequence[str]) -> list[str]: ...

    def heldout_predictions(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, calibrated probabilities)`` of training rows that the scoring weights never saw, rows
        ascending (out-of-fold: every row; a held-out split: those rows); None when none were kept."""
        ...

    def encoder_state(self) -> dict[str, Any] | None:
        """The fine-tuned encoder's weights (for another task's ``init_encoder: task:NAME``); None without one."""
        ...

    def components(self) -> list[Classifier]:
        """The single models whose probabilities this one gives: itself, or an ensemble's members."""
        ...

    def set_inference_threads(self, threads: int) -> int:
        """Run inference on ``threads`` threads where a model has a thread pool; returns how many took it."""
        ...

    def save(self, directory: Path) -> list[Path]:
        """Write the fitted classifier into ``directory`` (JSON, NPZ, safetensors, ONNX); the files written."""
        ...

    @classmethod
    def load(cls, directory: Path, spec: dict[str, Any]) -> Classifier:
        """Rebuild a saved classifier from its directory and its parsed ``classifier.json``."""
        ...


def register_classifier(name: str, cls: type[Classifier]) -> None:
    """Register a backend under ``name`` (type-checked against :class:`Classifier`)."""
    registry.classifiers.register(name)(cls)


def classifier_class(name: str) -> type[Classifier]:
    """The backend registered as ``name``; :class:`~pipeline.errors.ConfigError` naming the known ones if none."""
    return cast(type[Classifier], registry.classifiers.get(name))


def create_classifier(name: str, **params: Any) -> Classifier:
    """A new, unfitted classifier of backend ``name`` (TypeError on parameters it does not take)."""
    factory = cast(Callable[..., Classifier], classifier_class(name))
    return factory(**params)
