"""The ``voc`` command line: ``app`` (typer) and ``main`` (the console entry point)."""

from pipeline.cli.commands import app, main

__all__ = ["app", "main"]
