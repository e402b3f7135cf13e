"""Model bundles: a directory that holds everything needed to predict, and proof of where it came from.

Layout::

    metadata.json          schema version, package and library versions, config hash, training data
                           (files, hashes, row counts), label sets, metrics, and the SHA-256 of every file
    config.json            the resolved training config
    normaliser.json        the normaliser's registered name and settings
    <task>/classifier.json the classifier's registered name, settings, classes and calibration
    <task>/...             its weights (NPZ, loaded with allow_pickle=False) and vocabulary (JSON)
    <task>/lookup.npz      optional (tfidf classifiers): a sorted index of the vocabulary, read with the weights in
                           place by the cold-start path of `voc predict TEXT` (pipeline.models.coldstart)
    taxonomy.yaml          optional default taxonomy
    README.md              the model card

Loading never executes code from the bundle: only JSON, YAML (safe loader) and pickle-free NPZ are read,
every file is checked against the hash in ``metadata.json`` first, and classes are looked up in the
package's own registry by name. :func:`open_bundle` does the checks; it can keep the bytes it hashed, so that a
reader parses exactly what was verified without reading the file again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline import INTENT_LABELS, SENTIMENT_LABELS, __version__
from pipeline.data.io import sha256_file
from pipeline.errors import BundleError
from pipeline.models.classifier import Classifier, classifier_class
from pipeline.text.normalise import TweetNormaliser, normaliser_from_config

SCHEMA_NAME = "voc-bundle"
SCHEMA_VERSION = 1
TASKS = ("intent", "sentiment")
CONTRACT_LABELS = {"intent": set(INTENT_LABELS), "sentiment": set(SENTIMENT_LABELS)}
# Bundles come from colleagues and vendors: a file larger than these is refused before it is read, so a huge
# (or sparse) file cannot exhaust memory. JSON is parsed whole; NPZ members are decompressed whole.
MAX_JSON_BYTES = 64 * 2**20
MAX_NPZ_UNCOMPRESSED_BYTES = 2 * 2**30
# open_bundle(keep=...) keeps the bytes of files up to this size (larger ones are hashed from disk, not kept).
MAX_KEPT_BYTES = 512 * 2**20
# Files the loader itself reads when present; each must be listed (and so verified) in metadata.json.
_OPTIONAL_FILES = ("config.json", "taxonomy.yaml", "README.md")
_TRACKED_LIBRARIES = ("numpy", "scipy", "scikit-learn", "spacy", "pyarrow", "pydantic", "torch", "transformers")


def library_versions() -> dict[str, str]:
    from importlib import metadata as importlib_metadata  # deferred: ~13 ms, and only saving needs it

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
    return Path(__file__).resolve().parents[2] / "models" / "default"


@dataclass
class ModelBundle:
    """A normaliser, one classifier per task, an optional default taxonomy, and their provenance."""

    normaliser: TweetNormaliser
    classifiers: dict[str, Classifier]
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    taxonomy_text: str | None = None
    model_card: str | None = None
    path: Path | None = None
    # Further text files saved (and hashed) with the bundle, e.g. comparison.json; not read back by load().
    extra_files: dict[str, str] = field(default_factory=dict)

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
            for name, text in self.extra_files.items():
                (staging / name).write_text(text, encoding="utf-8")
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
        return cls.from_verified(open_bundle(directory))

    @classmethod
    def from_verified(cls, verified: VerifiedBundle) -> ModelBundle:
        """Load a bundle whose files :func:`open_bundle` has verified (they are not hashed again)."""
        path, metadata = verified.path, verified.metadata
        normaliser_config = _read_json(path / "normaliser.json", path)
        if not isinstance(normaliser_config, dict):
            raise BundleError(f"model bundle {path}: bad normaliser.json (not a JSON object)")
        try:
            normaliser = normaliser_from_config(normaliser_config)
        except Exception as exc:  # unknown name or settings: the bundle is not usable
            raise BundleError(f"model bundle {path}: bad normaliser.json ({exc})") from None

        classifiers: dict[str, Classifier] = {}
        declared = metadata.get("labels", {})
        custom_labels = metadata.get("custom_labels") or {}
        if not isinstance(declared, dict) or not isinstance(custom_labels, dict):
            raise BundleError(f"model bundle {path}: metadata.json 'labels' and 'custom_labels' must be objects")
        for task in TASKS:
            spec_path = path / task / "classifier.json"
            if not spec_path.exists():
                continue
            spec = _read_json(spec_path, path)
            if not isinstance(spec, dict):
                raise BundleError(f"model bundle {path}: {task}/classifier.json is not a JSON object")
            name = str(spec.get("name"))
            try:
                classifiers[task] = classifier_class(name).load(path / task, spec)
            except BundleError:
                raise
            except Exception as exc:
                raise BundleError(f"model bundle {path}: cannot load the {task} classifier ({exc})") from None
            check_labels(path, metadata, task, list(classifiers[task].classes_))
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


@dataclass
class VerifiedBundle:
    """A bundle directory whose metadata.json was read and whose every listed file matched its hash.

    ``data`` holds the bytes of the files that :func:`open_bundle` was asked to keep, exactly as they were hashed:
    a reader that uses them reads each file once, and reads what was verified (not a file swapped since).
    """

    path: Path
    metadata: dict[str, Any]
    data: dict[str, bytes] = field(default_factory=dict)


def open_bundle(directory: str | Path | None = None, keep: Callable[[str], bool] | None = None) -> VerifiedBundle:
    """Read a bundle's metadata.json, check its schema and every listed file's hash, refuse unlisted files.

    ``keep(relative_path)``: which files' bytes to keep in the result (read once, hashed from memory; files over
    :data:`MAX_KEPT_BYTES` are hashed from disk and not kept). Any problem raises :class:`BundleError`.
    """
    path = Path(directory) if directory is not None else default_bundle_path()
    if not path.is_dir():
        raise BundleError(f"model bundle not found: {path} (train one with `voc train` or pass --model)")
    metadata = _read_json(path / "metadata.json", path)
    if not isinstance(metadata, dict):
        raise BundleError(f"{path} is not a voc model bundle (metadata.json is not a JSON object)")
    schema = metadata.get("schema") if isinstance(metadata, dict) else None
    if not isinstance(schema, dict) or schema.get("name") != SCHEMA_NAME:
        raise BundleError(f"{path} is not a voc model bundle (metadata.json has no '{SCHEMA_NAME}' schema)")
    if schema.get("version") != SCHEMA_VERSION:
        raise BundleError(
            f"model bundle {path} has schema version {schema.get('version')!r}, but this voc-pipeline "
            f"{__version__} reads version {SCHEMA_VERSION}: retrain it or use a matching voc-pipeline"
        )
    data = verify_files(path, metadata, keep=keep)
    _refuse_unlisted(path, metadata["files"])
    return VerifiedBundle(path=path, metadata=metadata, data=data)


def verify_files(path: Path, metadata: dict[str, Any], keep: Callable[[str], bool] | None = None) -> dict[str, bytes]:
    """Refuse a bundle whose files are missing or differ from the hashes recorded at training.

    Returns the bytes of the files that ``keep`` selects (see :func:`open_bundle`)."""
    kept: dict[str, bytes] = {}
    files = metadata.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"model bundle {path}: metadata.json lists no files to verify")
    root = path.resolve()
    for relative, expected in files.items():
        # Checked before anything is opened: a listed "../../etc/passwd", an absolute path or a symlink
        # out of the bundle is refused without reading it.
        try:
            file_path = (path / str(relative)).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop
            raise BundleError(f"model bundle {path}: file {relative!r} is not a valid path") from None
        if root not in file_path.parents:
            raise BundleError(f"model bundle {path}: file {relative!r} points outside the bundle")
        if not file_path.is_file():
            raise BundleError(f"model bundle {path}: {relative} is missing")
        size = file_path.stat().st_size
        is_npz = str(relative).endswith(".npz")
        if not is_npz and file_path.suffix in (".json", ".yaml", ".yml", ".md") and size > MAX_JSON_BYTES:
            # Text files are read whole: a huge one (a sparse file costs no disk) is refused unread.
            raise BundleError(
                f"model bundle {path}: {relative} is {size:,} bytes "
                f"(over the {MAX_JSON_BYTES:,}-byte limit for text files)"
            )
        data = file_path.read_bytes() if keep is not None and size <= MAX_KEPT_BYTES and keep(str(relative)) else None
        if is_npz:
            _check_npz(path, str(relative), file_path if data is None else io.BytesIO(data))
        digest = sha256_file(file_path) if data is None else "sha256:" + hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise BundleError(
                f"model bundle {path}: {relative} does not match its hash in metadata.json (corrupted or modified)"
            )
        if data is not None:
            kept[str(relative)] = data
    return kept


def check_labels(path: Path, metadata: dict[str, Any], task: str, classes: list[str]) -> None:
    """Refuse a classifier whose labels differ from metadata.json's, repeat, or leave the contract unannounced."""
    declared = metadata.get("labels", {})
    custom_labels = metadata.get("custom_labels") or {}
    if not isinstance(declared, dict) or not isinstance(custom_labels, dict):
        raise BundleError(f"model bundle {path}: metadata.json 'labels' and 'custom_labels' must be objects")
    if declared.get(task) != classes:
        raise BundleError(
            f"model bundle {path}: {task} labels {classes} do not match metadata.json {declared.get(task)}"
        )
    if len(set(classes)) != len(classes):
        raise BundleError(f"model bundle {path}: {task} labels {classes} repeat a label")
    unknown = sorted(set(classes) - CONTRACT_LABELS[task])
    if unknown and not custom_labels.get(task):
        raise BundleError(f"model bundle {path}: {task} labels {unknown} are not in the contract's label set")


def _refuse_unlisted(path: Path, files: dict[str, Any]) -> None:
    """Refuse files the loader would read that metadata.json does not list (so their hashes went unchecked)."""
    listed = {str(name) for name in files}
    candidates = [path / name for name in ("normaliser.json", *_OPTIONAL_FILES)]
    for task in TASKS:
        if (path / task).is_dir():
            candidates += sorted((path / task).rglob("*"))
    for candidate in candidates:
        if candidate.is_dir() and not candidate.is_symlink():
            continue
        relative = candidate.relative_to(path).as_posix()
        if (candidate.exists() or candidate.is_symlink()) and relative not in listed:
            raise BundleError(
                f"model bundle {path}: {relative} is not listed in metadata.json (added after the bundle was made)"
            )


def _check_npz(bundle: Path, relative: str, file_path: Path | io.BytesIO) -> None:
    """Refuse an NPZ whose members would decompress to more than MAX_NPZ_UNCOMPRESSED_BYTES (a zip bomb)."""
    import zipfile

    try:
        with zipfile.ZipFile(file_path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(f"model bundle {bundle}: {relative} is not a valid NPZ archive ({exc})") from None
    if total > MAX_NPZ_UNCOMPRESSED_BYTES:
        raise BundleError(
            f"model bundle {bundle}: {relative} would decompress to {total:,} bytes "
            f"(over the {MAX_NPZ_UNCOMPRESSED_BYTES:,}-byte limit)"
        )


def _read_json(file: Path, bundle: Path) -> Any:
    try:
        # metadata.json is read before any hash is checked: it must not lead outside the bundle either.
        if bundle.resolve() not in file.resolve().parents:
            raise BundleError(f"model bundle {bundle}: {file.name} points outside the bundle")
        size = file.stat().st_size
        if size > MAX_JSON_BYTES:
            raise BundleError(
                f"model bundle {bundle}: {file.name} is {size:,} bytes (over the {MAX_JSON_BYTES:,}-byte limit)"
            )
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"model bundle {bundle}: {file.name} is missing") from None
    except RecursionError:
        raise BundleError(f"model bundle {bundle}: {file.name} is not valid JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"model bundle {bundle}: {file.name} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise BundleError(f"model bundle {bundle}: cannot read {file.name} ({exc.strerror or exc})") from None


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
