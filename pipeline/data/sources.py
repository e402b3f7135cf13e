"""Labelled sources: the one reader of source names and of labelled post files.

A source, in a training config (``intent.train``, ``intent.evaluate_on``) or on the command line
(``voc evaluate --dataset``, ``--data``), is one of

* a registered dataset name (``brand-intent``, see :data:`pipeline.data.datasets.DATASETS`);
* ``ids:FILE``: labels kept by id, their texts read from the shared data (:func:`load_dataset`);
* ``weak:DATASET[+DATASET...][?cap=N]``: rule-made intent labels on unlabelled posts
  (:mod:`pipeline.data.weak_labels`);
* a labelled JSONL/CSV/Parquet file with ``text`` and ``intent``/``sentiment`` columns (relative to the config);
* ``hf-disk:DIR[#SPLIT]``: a ``datasets`` dataset written with ``save_to_disk`` (relative to the config);
* ``hf:OWNER/NAME[#SPLIT]``: a dataset on the Hugging Face hub (needs the network);
* the name of an entry of the config's ``sources:`` mapping, which adds a split, a revision and column names::

      sources:
        my-posts:
          hf_disk: data/my_posts        # or: path: data/posts.csv, or: hf: owner/name
          split: train
          text_column: body
          label_columns: {intent: label}

``datasets`` is an optional extra (``pip install 'voc-pipeline[hf]'``). Integer ``ClassLabel`` columns are
read as their label names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.data.datasets import LabelledTexts, flags_if_given, load_id_labels, load_registered_dataset
from pipeline.data.io import SUPPORTED_SUFFIXES, input_files, read_posts
from pipeline.data.weak_labels import DEFAULT_CAP, load_weak_labels
from pipeline.errors import InputError
from pipeline.extras import require

ID_LABELS_PREFIX = "ids:"
WEAK_PREFIX = "weak:"
HF_PREFIX = "hf:"
HF_DISK_PREFIX = "hf-disk:"


class SourceConfig(BaseModel):
    """A named training source with its own column mapping (referenced by name in ``train``/``evaluate_on``).

    Exactly one of ``path`` (a labelled JSONL/CSV/Parquet file), ``hf_disk`` (a Hugging Face ``datasets``
    dataset saved with ``save_to_disk``) or ``hf`` (a hub id, online only); paths are relative to the config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    hf_disk: str | None = None
    hf: str | None = Field(None, description="Hub id 'owner/name' (needs network and the [hf] extra).")
    split: str | None = Field(None, description="Split of a DatasetDict; default: 'train' or the only split.")
    revision: str | None = Field(None, description="Hub revision (commit, tag or branch) to pin.")
    text_column: str = "text"
    label_columns: dict[str, str] = Field(
        default_factory=dict, description="Task to column, e.g. {intent: label}; default: the task's name."
    )
    id_column: str | None = Field(None, description="Column with stable row ids; default 'id' when present.")
    group_column: str | None = Field(None, description="Column with the brand; default 'brand' when present.")

    @model_validator(mode="after")
    def _one_location(self) -> SourceConfig:
        given = [key for key in ("path", "hf_disk", "hf") if getattr(self, key)]
        if len(given) != 1:
            raise ValueError("give exactly one of path, hf_disk or hf")
        return self


def is_id_labels_source(name: str) -> bool:
    """Whether a source string is ``ids:FILE``: labels by id, texts from the shared data."""
    return name.startswith(ID_LABELS_PREFIX)


def id_labels_file(name: str) -> Path:
    """The label file an ``ids:FILE`` source names (relative paths are the caller's to resolve)."""
    return Path(name[len(ID_LABELS_PREFIX) :])


def is_weak_source(name: str) -> bool:
    """Whether a source string is ``weak:...``: labels written by rules, not people."""
    return name.startswith(WEAK_PREFIX)


def is_hf_source(name: str) -> bool:
    """Whether a source string names a Hugging Face dataset (hub id or ``save_to_disk`` folder)."""
    return name.startswith((HF_PREFIX, HF_DISK_PREFIX))


def parse_source(name: str) -> SourceConfig:
    """The :class:`SourceConfig` of an inline source string (``hf-disk:DIR#split``, ``hf:owner/name``, file)."""
    location, _, split = name.partition("#")
    if location.startswith(HF_DISK_PREFIX):
        spec = {"hf_disk": location[len(HF_DISK_PREFIX) :]}
    elif location.startswith(HF_PREFIX):
        spec = {"hf": location[len(HF_PREFIX) :]}
    else:
        return SourceConfig(path=name)
    if not next(iter(spec.values())):
        raise InputError(f"source {name!r} names no dataset")
    return SourceConfig(**spec, split=split or None)


def is_file_source(name: str) -> bool:
    """Whether a training source names a labelled file rather than a registered dataset.

    ``ids:FILE`` is not one: its texts come from the shared data (:func:`pipeline.data.datasets.load_id_labels`).
    """
    if is_id_labels_source(name):
        return False
    return name.lower().endswith(tuple(SUPPORTED_SUFFIXES)) or "/" in name or "*" in name


def is_local_source(name: str, configured: Mapping[str, SourceConfig]) -> bool:
    """Whether a source is read without the shared data folder: a file, a Hugging Face dataset, or an entry
    of the config's ``sources:``."""
    return is_file_source(name) or is_hf_source(name) or name in configured


def parse_weak_source(name: str) -> tuple[list[str], int]:
    """``weak:twcs+ibm-cdp?cap=300`` -> (["twcs", "ibm-cdp"], 300)."""
    body = name[len(WEAK_PREFIX) :]
    body, _, query = body.partition("?")
    cap = DEFAULT_CAP
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key != "cap" or not value.isdigit():
            raise ValueError(f"weak source {name!r}: unknown option {item!r} (use ?cap=N)")
        cap = int(value)
    datasets = [d for d in body.split("+") if d]
    if not datasets:
        raise ValueError(f"weak source {name!r} names no dataset (e.g. weak:twcs)")
    return datasets, cap


class LabelledFile(NamedTuple):
    """A labelled posts file: texts, labels per label column (None where a row has none), and what else it says."""

    texts: list[str]
    labels: dict[str, list[str | None]]
    brands: list[str]
    unsure: list[bool]  # empty unless the file has an ``unsure`` column
    rejected: int  # rows that could not be read at all
    ids: list[str]
    unsure_values: list[Any]  # the ``unsure`` column as read (None where absent)


def read_labelled_file(
    path: str | Path, columns: Sequence[str] = ("intent", "sentiment"), text_field: str = "text"
) -> LabelledFile:
    """Every readable row of a labelled JSONL/CSV/Parquet file (or directory, or glob), with its label in each
    of ``columns``: a blank label is no label. An ``unsure`` column (the annotator found two labels plausible)
    and a ``brand`` column are kept; rows that cannot be read are counted."""
    texts: list[str] = []
    labels: dict[str, list[str | None]] = {column: [] for column in columns}
    brands: list[str] = []
    ids: list[str] = []
    unsure: list[Any] = []
    rejected = 0
    for batch in read_posts(path, text_field=text_field):
        rejected += len(batch.rejected)
        for row in batch.rows:
            texts.append(row["text"])
            ids.append(str(row["id"]))
            brands.append(str(row.get("brand") or ""))
            unsure.append(row.get("unsure"))
            for column, values in labels.items():
                value = row.get(column)
                values.append(None if value is None or str(value).strip() == "" else str(value).strip())
    return LabelledFile(texts, labels, brands, flags_if_given(unsure), rejected, ids, unsure)


def load_labelled_file(path: str, text_field: str = "text") -> LabelledFile:
    """A labelled file for evaluation: its ``intent`` and/or ``sentiment`` labels (the columns that have any),
    brands, the annotators' ``unsure`` flags where the file has them, and the number of rows rejected."""
    read = read_labelled_file(path, text_field=text_field)
    labels = {task: values for task, values in read.labels.items() if any(v is not None for v in values)}
    if not labels:
        raise InputError(f"{path} has no 'intent' or 'sentiment' column with labels to evaluate against")
    return read._replace(labels=labels)


def load_labelled_source(path: Path, task: str) -> LabelledTexts:
    """A labelled file with ``text`` and a ``<task>`` column, for training; unlabelled rows are skipped, and a
    row that cannot be read is an error. An ``unsure`` column is kept for evaluation's slices."""
    read = read_labelled_file(path, (task,))
    if read.rejected:
        raise InputError(f"{path}: {read.rejected} rows could not be read; fix them before training (see voc score)")
    keep = [i for i, label in enumerate(read.labels[task]) if label is not None]
    if not keep:
        raise InputError(f"{path} has no rows with a '{task}' label")
    return LabelledTexts(
        name=path.name,
        texts=[read.texts[i] for i in keep],
        labels=[str(read.labels[task][i]) for i in keep],
        ids=[read.ids[i] for i in keep],
        groups=[read.brands[i] for i in keep],
        files=tuple(input_files(path)),
        unsure=flags_if_given([read.unsure_values[i] for i in keep]),
    )


def load_dataset(name: str, data_dir: Path, task: str | None = None, soft: bool = True) -> LabelledTexts:
    """The data set registered as ``name`` (:data:`~pipeline.data.datasets.DATASETS`), or ``ids:FILE`` (labels
    by id, the file relative to the working directory, texts from ``data_dir``).

    ``task`` and ``soft`` matter only for ``ids:`` files, which may carry both intent and sentiment labels,
    and soft labels (``soft=False``: one row per post with its top label, as evaluation needs).
    """
    if is_id_labels_source(name):
        return load_id_labels(id_labels_file(name), Path(data_dir), task, soft)
    return load_registered_dataset(name, Path(data_dir))


def load_training_source(
    name: str,
    task: str,
    *,
    data_dir: Path,
    base: Path,
    sources: Mapping[str, SourceConfig] | None = None,
    soft: bool = True,
) -> LabelledTexts:
    """Any source a training config names, with its ``task`` labels; files and ``ids:`` files are relative to
    ``base`` (the config's folder). ``soft=False`` gives an ``ids:`` file with soft labels as one top label
    per post."""
    configured = dict(sources or {})
    if is_id_labels_source(name):
        return load_id_labels(base / id_labels_file(name), data_dir, task, soft)
    if name in configured or is_hf_source(name):
        return load_source(name, task, configured, base)
    if is_weak_source(name):
        if task != "intent":
            raise ValueError(f"weak labels exist for intent only, not {task}")
        datasets, cap = parse_weak_source(name)
        return load_weak_labels(name, [load_registered_dataset(d, data_dir) for d in datasets], cap)
    if is_file_source(name):
        return load_labelled_source(base / name, task)
    return load_registered_dataset(name, data_dir)


def load_source(
    name: str, task: str, sources: Mapping[str, SourceConfig] | None = None, base: Path | None = None
) -> LabelledTexts:
    """Load source ``name`` (a ``sources:`` entry or an inline string) with its ``task`` labels."""
    spec = (sources or {}).get(name) or parse_source(name)
    base = base or Path.cwd()
    if spec.path is not None:
        data = load_labelled_source(base / spec.path, spec.label_columns.get(task, task))
        if spec.text_column != "text":
            raise InputError(f"source {name!r}: text_column is only supported for Hugging Face datasets")
        return LabelledTexts(data.name, data.texts, data.labels, data.ids, data.groups, data.files, data.created_at)
    return load_hf_source(name, spec, task, base)


def _open_hf(name: str, spec: SourceConfig, base: Path) -> tuple[Any, tuple[Path, ...]]:
    datasets = require("datasets", "hf", "reading a Hugging Face dataset")
    if spec.hf_disk is not None:
        folder = base / spec.hf_disk
        if not folder.is_dir():
            raise InputError(f"source {name!r}: {folder} is not a folder written by Dataset.save_to_disk")
        try:
            loaded = datasets.load_from_disk(str(folder))
        except FileNotFoundError as exc:
            raise InputError(f"source {name!r}: {folder} is not a saved dataset ({exc})") from None
        files = tuple(sorted(p for p in folder.rglob("*") if p.is_file()))
    else:
        try:
            loaded = datasets.load_dataset(spec.hf, revision=spec.revision)
        except Exception as exc:  # network, authentication, missing repo: all mean "cannot load"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"source {name!r}: cannot load hub dataset {spec.hf!r} ({first})") from None
        files = ()
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        split = spec.split or ("train" if "train" in loaded else (splits[0] if len(splits) == 1 else None))
        if split is None or split not in loaded:
            raise InputError(f"source {name!r}: choose a split with '#SPLIT' or split: (it has {', '.join(splits)})")
        loaded = loaded[split]
    elif spec.split is not None and spec.hf_disk is not None:
        raise InputError(f"source {name!r} is a single Dataset, not a DatasetDict: remove the split")
    if not files:
        files = tuple(Path(f["filename"]) for f in getattr(loaded, "cache_files", []) if f.get("filename"))
    return loaded, files


def load_hf_source(name: str, spec: SourceConfig, task: str, base: Path) -> LabelledTexts:
    """Rows of a Hugging Face dataset that have a ``task`` label, as :class:`LabelledTexts`."""
    dataset, files = _open_hf(name, spec, base)
    columns = list(dataset.column_names)
    label_column = spec.label_columns.get(task, task)
    id_column = spec.id_column or ("id" if "id" in columns else None)
    group_column = spec.group_column or ("brand" if "brand" in columns else None)
    roles = {"text_column": spec.text_column, f"label column of {task}": label_column}
    roles.update({k: v for k, v in (("id_column", id_column), ("group_column", group_column)) if v is not None})
    for role, column in roles.items():
        if column not in columns:
            raise InputError(f"source {name!r} has no column {column!r} ({role}); columns: {', '.join(columns)}")
    feature = dataset.features[label_column]
    names = getattr(feature, "names", None)  # a ClassLabel column holds integers
    stem = Path(spec.hf_disk or spec.hf or name).name
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    bad = 0
    for i, row in enumerate(dataset):
        label = row[label_column]
        if label is None or (isinstance(label, int) and label < 0) or str(label).strip() == "":
            continue
        text = row[spec.text_column]
        if not isinstance(text, str) or not text.strip():
            bad += 1
            continue
        texts.append(text)
        labels.append(names[label] if names is not None and isinstance(label, int) else str(label).strip())
        ids.append(str(row[id_column]) if id_column else f"{stem}-{i}")
        groups.append(str(row[group_column] or "") if group_column else "")
    if bad:
        raise InputError(f"source {name!r}: {bad} labelled rows have no text in {spec.text_column!r}; fix them first")
    if not texts:
        raise InputError(f"source {name!r} has no rows with a {task} label in column {label_column!r}")
    return LabelledTexts(name=name, texts=texts, labels=labels, ids=ids, groups=groups, files=files)


def load_labelled(spec: str, task: str, base: Path | None = None) -> LabelledTexts:
    """A labelled file or inline Hugging Face source given on the command line (``--data``)."""
    return load_source(spec, task, None, base)
