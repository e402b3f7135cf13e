"""What every ``voc`` command shares: the typer ``app``, common options, and the mapping of errors to exit codes.

Every command runs inside :func:`handle_errors`: the library's :class:`~pipeline.errors.VocError` becomes one
``error:`` line with exit status 2; anything else is an internal fault (exit 1, traceback only with
``VOC_DEBUG=1``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from pipeline.errors import VocError

app = typer.Typer(
    name="voc",
    help="Voice of the customer: intent, sentiment and topics of posts to brands, ranked for the quality programme.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model bundle directory (default: $VOC_MODEL or the committed models/default)."),
]
TextFieldOption = Annotated[str, typer.Option("--text-field", help="Column that holds the post text.")]
BatchSizeOption = Annotated[int, typer.Option("--batch-size", min=1, help="Posts per batch (bounds memory).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
MaxCharsOption = Annotated[
    int | None,
    typer.Option("--max-chars", min=1, help="Score only the first N characters of longer posts (flagged `truncated`)."),
]


def apply_max_chars(max_chars: int | None) -> None:
    # Through the environment so that worker processes see it too (see pipeline.models.predict.max_chars_override).
    if max_chars is not None:
        os.environ["VOC_MAX_CHARS"] = str(max_chars)


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map exceptions to the contract's exit codes and one-line messages."""
    try:
        yield
    except VocError as exc:
        raise fail(f"error: {' '.join(str(exc).split())}", 2) from None
    except KeyboardInterrupt:
        raise fail("error: interrupted", 130) from None
    except typer.Exit:
        raise
    except MemoryError:
        raise fail("error: out of memory; lower --batch-size or --workers", 1) from None
    except OSError as exc:
        if os.environ.get("VOC_DEBUG"):
            raise
        raise fail(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", 2) from None
    except Exception as exc:
        if os.environ.get("VOC_DEBUG"):
            raise
        raise fail(f"internal error: {type(exc).__name__}: {exc} (set VOC_DEBUG=1 for the traceback)", 1) from None
