"""Versioned, registered names for pluggable stages, as in spaCy's registry.

Configs refer to stages by name (``"tfidf_logreg.v1"``); a name never changes meaning once released: a
changed behaviour gets a new version suffix, so an old bundle keeps loading the code it was trained with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pipeline.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of factories for one kind of stage."""

    def __init__(self, kind: str, modules: dict[str, str | None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        # Modules that register entries, imported on first lookup so that importing the registry is free.
        # The value names the pip extra an optional module needs (None for core modules).
        self._modules = dict(modules or {})
        self._missing: dict[str, str] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries and self._entries[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = factory
            return factory

        return decorator

    def _load_modules(self) -> None:
        import importlib

        for module, extra in list(self._modules.items()):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                if extra is None:
                    raise
                self._missing[module] = f"pip install 'voc-pipeline[{extra}]' ({exc})"
            del self._modules[module]

    def get(self, name: str) -> Callable[..., T]:
        if name not in self._entries and self._modules:
            self._load_modules()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            hint = "".join(f"; {module} is unavailable: {how}" for module, how in self._missing.items())
            raise ConfigError(f"unknown {self.kind} {name!r} (known: {known}){hint}") from None

    def names(self) -> list[str]:
        self._load_modules()
        return sorted(self._entries)


classifiers: Registry[Any] = Registry(
    "classifier",
    {"pipeline.models.linear": None, "pipeline.models.ensemble": None, "pipeline.models.transformer": "transformer"},
)
normalisers: Registry[Any] = Registry("normaliser", {"pipeline.text.normalise": None})
