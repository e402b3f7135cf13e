"""Exceptions that separate a user's mistake (exit 2, one `error:` line) from an internal fault (exit 1)."""


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
