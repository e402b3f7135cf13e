"""The ``voc`` command line: ``app`` (typer) and ``main`` (the console entry point).

Importing the package registers every command on ``app``, in the order ``voc --help`` lists them: the
pipeline's own (:mod:`pipeline.cli.commands`), then the retraining ones (:mod:`pipeline.cli.retrain`).
"""

from pipeline.cli import commands, retrain  # noqa: F401
from pipeline.cli.commands import main
from pipeline.cli.common import app

__all__ = ["app", "main"]
