"""Exceptions that separate a user's mistake (exit 2, one `error:` line) from an internal fault (exit 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class VocError(Exception):
    """A problem with the user's input, config or model bundle.

    The CLI prints ``error: <message>`` on stderr and exits with status 2; the message must be one line
    that tells the user what to fix.
    """


class BundleError(VocError):
    """A model bundle is missing, corrupted, tampered with, or made for an incompatible schema."""


class ConfigError(VocError):
    """A config or taxonomy file is invalid."""


class InputError(VocError):
    """An input file cannot be read at all (as opposed to single bad rows, which are rejected)."""


def validation_message(what: str, source: object, exc: ValidationError) -> str:
    """One line for an `error:` message about a file that failed validation: its first offending key, and how
    many more there are (a config, a taxonomy, a ranking config)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = " ".join(str(first["msg"]).split())
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid {what} {source}: {where}: {message}{more}"
