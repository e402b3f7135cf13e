"""Model bundles: a directory that holds everything needed to predict, and proof of where it came from.

Layout::

    metadata.json          schema version, package and library versions, config hash, training data
                           (files, hashes, row counts), label sets, metrics, and the SHA-256 of every file
    config.json            the resolved training config
    normaliser.json        the normaliser's registered name and settings
    <task>/classifier.json the classifier's registered name, settings, classes and calibration
    <task>/...             its weights (NPZ, loaded with allow_pickle=False) and vocabulary (JSON)
    taxonomy.yaml          optional default taxonomy
    README.md              the model card

Loading never executes code from the bundle: only JSON, YAML (safe loader) and pickle-free NPZ are read,
every file is checked against the hash in ``metadata.json`` first, and classes are looked up in the
package's own registry by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from pipeline import INTENT_LABELS, SENTIMENT_LABELS, __version__, registry
from pipeline.errors import BundleError
from pipeline.normalise import TweetNormaliser, normaliser_from_config

SCHEMA_NAME = "voc-bundle"
SCHEMA_VERSION = 1
TASKS = ("intent", "sentiment")
CONTRACT_LABELS = {"intent": set(INTENT_LABELS), "sentiment": set(SENTIMENT_LABELS)}
_TRACKED_LIBRARIES = ("numpy", "scipy", "scikit-learn", "spacy", "pyarrow", "pydantic", "torch", "transformers")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "voc-pipeline": __version__}
    for name in _TRACKED_LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def default_bundle_path() -> Path:
    """``$VOC_MODEL`` if set, else the committed ``models/default`` next to the package."""
    env = os.environ.get("VOC_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models" / "default"


@dataclass
class ModelBundle:
    """A normaliser, one classifier per task, an optional default taxonomy, and their provenance."""

    normaliser: TweetNormaliser
    classifiers: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    taxonomy_text: str | None = None
    model_card: str | None = None
    path: Path | None = None

    @property
    def labels(self) -> dict[str, list[str]]:
        return {task: list(clf.classes_) for task, clf in self.classifiers.items()}

    # -- saving ------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the bundle atomically: built beside the target, then renamed into place."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
        try:
            staging.mkdir()
            (staging / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n")
            (staging / "normaliser.json").write_text(json.dumps(self.normaliser.get_config(), indent=2) + "\n")
            for task, clf in self.classifiers.items():
                clf.save(staging / task)
            if self.taxonomy_text is not None:
                (staging / "taxonomy.yaml").write_text(self.taxonomy_text, encoding="utf-8")
            if self.model_card is not None:
                (staging / "README.md").write_text(self.model_card, encoding="utf-8")
            metadata = dict(self.metadata)
            metadata.update(
                {
                    "schema": {"name": SCHEMA_NAME, "version": SCHEMA_VERSION},
                    "package_version": __version__,
                    "labels": self.labels,
                    "classifiers": {task: clf.name for task, clf in self.classifiers.items()},
                    "library_versions": metadata.get("library_versions") or library_versions(),
                }
            )
            metadata.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            metadata["files"] = {
                path.relative_to(staging).as_posix(): sha256_file(path)
                for path in sorted(staging.rglob("*"))
                if path.is_file() and path.name != "metadata.json"
            }
            (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
            _replace_directory(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self.path = target
        self.metadata = metadata
        return target

    # -- loading -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | Path | None = None) -> ModelBundle:
        """Load and verify a bundle; any problem raises :class:`BundleError` with a one-line reason."""
        path = Path(directory) if directory is not None else default_bundle_path()
        if not path.is_dir():
            raise BundleError(f"model bundle not found: {path} (train one with `voc train` or pass --model)")
        metadata = _read_json(path / "metadata.json", path)
        schema = metadata.get("schema") if isinstance(metadata, dict) else None
        if not isinstance(schema, dict) or schema.get("name") != SCHEMA_NAME:
            raise BundleError(f"{path} is not a voc model bundle (metadata.json has no '{SCHEMA_NAME}' schema)")
        if schema.get("version") != SCHEMA_VERSION:
            raise BundleError(
                f"model bundle {path} has schema version {schema.get('version')!r}, but this voc-pipeline "
                f"{__version__} reads version {SCHEMA_VERSION}: retrain it or use a matching voc-pipeline"
            )
        verify_files(path, metadata)

        normaliser_config = _read_json(path / "normaliser.json", path)
        try:
            normaliser = normaliser_from_config(normaliser_config)
        except Exception as exc:  # unknown name or settings: the bundle is not usable
            raise BundleError(f"model bundle {path}: bad normaliser.json ({exc})") from None

        classifiers: dict[str, Any] = {}
        declared = metadata.get("labels", {})
        for task in TASKS:
            spec_path = path / task / "classifier.json"
            if not spec_path.exists():
                continue
            spec = _read_json(spec_path, path)
            name = str(spec.get("name"))
            try:
                classifier_cls: Any = registry.classifiers.get(name)
                classifiers[task] = classifier_cls.load(path / task, spec)
            except BundleError:
                raise
            except Exception as exc:
                raise BundleError(f"model bundle {path}: cannot load the {task} classifier ({exc})") from None
            classes = list(classifiers[task].classes_)
            if declared.get(task) != classes:
                raise BundleError(
                    f"model bundle {path}: {task} labels {classes} do not match metadata.json {declared.get(task)}"
                )
            if len(set(classes)) != len(classes):
                raise BundleError(f"model bundle {path}: {task} labels {classes} repeat a label")
            unknown = sorted(set(classes) - CONTRACT_LABELS[task])
            if unknown and not metadata.get("custom_labels", {}).get(task):
                raise BundleError(f"model bundle {path}: {task} labels {unknown} are not in the contract's label set")
        if not classifiers:
            raise BundleError(f"model bundle {path} has no intent or sentiment classifier")

        config = _read_json(path / "config.json", path) if (path / "config.json").exists() else {}
        taxonomy_file = path / "taxonomy.yaml"
        card_file = path / "README.md"
        return cls(
            normaliser=normaliser,
            classifiers=classifiers,
            config=config,
            metadata=metadata,
            taxonomy_text=taxonomy_file.read_text(encoding="utf-8") if taxonomy_file.exists() else None,
            model_card=card_file.read_text(encoding="utf-8") if card_file.exists() else None,
            path=path,
        )


def verify_files(path: Path, metadata: dict[str, Any]) -> None:
    """Refuse a bundle whose files are missing or differ from the hashes recorded at training."""
    files = metadata.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"model bundle {path}: metadata.json lists no files to verify")
    root = path.resolve()
    for relative, expected in files.items():
        file_path = (path / relative).resolve()
        if root not in file_path.parents:
            raise BundleError(f"model bundle {path}: file {relative!r} points outside the bundle")
        if not file_path.is_file():
            raise BundleError(f"model bundle {path}: {relative} is missing")
        if sha256_file(file_path) != expected:
            raise BundleError(
                f"model bundle {path}: {relative} does not match its hash in metadata.json (corrupted or modified)"
            )


def _read_json(file: Path, bundle: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"model bundle {bundle}: {file.name} is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"model bundle {bundle}: {file.name} is not valid JSON ({exc})") from None


def _replace_directory(staging: Path, target: Path) -> None:
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(target, retired)
        try:
            os.replace(staging, target)
        except OSError:
            os.replace(retired, target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)
