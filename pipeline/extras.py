"""Optional dependencies: import them on first use, or fail with one line naming the pip extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from pipeline.errors import VocError


class MissingExtraError(VocError, ImportError):
    """An optional feature was asked for but its extra is not installed (the CLI prints one ``error:`` line).

    Also an ``ImportError``, so that code which falls back when an import fails keeps working."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` telling which ``voc-pipeline[extra]`` to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtraError(f"{feature} needs the '{top}' package: pip install 'voc-pipeline[{extra}]'") from None
