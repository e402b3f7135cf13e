"""Loaders for the public data sets in the shared data folder, each returned as one :class:`LabelledTexts`.

Every loader reads the files unchanged from ``<data_dir>/<folder>/`` (see each folder's ``SOURCE.md``) and
repairs only what the file format broke, never the language of the texts (the normaliser does that):

* ``twitter-us-airline-sentiment``: rows are deduplicated by ``tweet_id`` (first occurrence kept; an id whose
  copies disagree on the label is dropped altogether), and the ``Delta`` airline value, which labels tweets
  addressed to @JetBlue, is read as ``JetBlue`` unless the tweet mentions @Delta and not @JetBlue;
* ``semeval2017-task4a-english``: CSV quoting left in the texts is undone, JSON-style escapes (``\\u2019``,
  ``\\"``) are decoded, lines broken inside a text are joined, and any training tweet whose id or
  normalised text is in the 2017 test set is left out, so that the test set is never trained on;
* ``twcs-samples``: a bare carriage return inside a text ends a CSV record for the ``csv`` module; it is read
  as a space so that the record survives, and any record that is still malformed is skipped.

Texts are otherwise returned raw (HTML entities, mentions and the airline label leak included).
Timestamps, where a source has them, are returned as ISO 8601 strings (``2015-02-24T11:35:52-08:00``).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.data.splits import holdout_indices
from pipeline.errors import InputError
from pipeline.text.patterns import AT_WORD, MENTION_HANDLE, URL

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "SEMEVAL_TRAIN_YEARS",
    "LabelledTexts",
    "concat",
    "default_shared_data_dir",
    "load_airline_reasons",
    "load_airline_sentiment",
    "load_brand_intent",
    "load_ibm_cdp_unlabelled",
    "load_id_labels",
    "load_registered_dataset",
    "load_semeval2017_test",
    "load_semeval_train",
    "load_speech_acts",
    "load_twcs_unlabelled",
    "load_tweeteval_sentiment",
    "resolve_data_dir",
    "shared_data_available",
    "split_by_id",
]

DATA_DIR_ENV = "VOC_DATA_DIR"

SEMEVAL_TRAIN_YEARS: tuple[str, ...] = (
    "2013train",
    "2013dev",
    "2013test",
    "2014sarcasm",
    "2014test",
    "2015train",
    "2015test",
    "2016train",
    "2016dev",
    "2016devtest",
    "2016test",
)

_SENTIMENTS = frozenset({"negative", "neutral", "positive"})
_CANT_TELL = "Can't Tell"

# Folder and file names inside the data directory.
_BRAND_INTENT = Path("brand-intent", "annotations.tsv")
_AIRLINE = Path("twitter-us-airline-sentiment", "Tweets.csv")
_SEMEVAL_DIR = Path("semeval2017-task4a-english")
_SEMEVAL_TEST = _SEMEVAL_DIR / "SemEval2017-task4-test.subtask-A.english.txt"
_TWEETEVAL_SENTIMENT = Path("tweeteval", "sentiment")
_SPEECH_ACTS = Path("tweet-act-classification", "TWEET_DATA.csv")
_TWCS_FILES = (
    Path("twcs-samples", "twcs-first5000.csv"),
    Path("twcs-samples", "spotifycares-support-requests.csv"),
)
_IBM_FILES = (
    Path("ibm-twitter-customer-care-cdp", "dev.json"),
    Path("ibm-twitter-customer-care-cdp", "test.json"),
)
_POINT_AT_DATA = f"point --data-dir or {DATA_DIR_ENV} at the shared data folder"


# ----------------------------------------------------------------------------------------------------
# The container
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledTexts:
    """Parallel lists of texts with their labels, ids and groups, plus the files they came from.

    ``labels`` holds ``""`` for unlabelled rows; ``groups`` holds the brand, airline or company a row is
    addressed to where known, else ``""``; ``created_at`` is either empty (the source has no timestamps) or
    parallel to ``texts`` (ISO 8601 strings, ``""`` where a row has none). ``weights`` is either empty (every
    row weighs 1) or parallel to ``texts``: soft labels are one row per label, weighted by its probability.
    ``unsure`` is either empty (the source does not say) or parallel to ``texts``: True where the annotator
    found two labels plausible (``ANNOTATION.md``), so that evaluation can report clear and ambiguous posts
    apart.
    """

    name: str
    texts: list[str]
    labels: list[str]
    ids: list[str]
    groups: list[str]
    files: tuple[Path, ...]
    created_at: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    unsure: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.texts)
        for attr in ("labels", "ids", "groups"):
            if len(getattr(self, attr)) != n:
                raise ValueError(f"{self.name}: {attr} has {len(getattr(self, attr))} items, texts has {n}")
        for attr in ("created_at", "weights", "unsure"):
            if getattr(self, attr) and len(getattr(self, attr)) != n:
                raise ValueError(f"{self.name}: {attr} has {len(getattr(self, attr))} items, texts has {n}")

    def row_weights(self) -> list[float]:
        """One training weight per row (1 where the data set has none)."""
        return list(self.weights) if self.weights else [1.0] * len(self.texts)

    def reweighted(self, factor: float) -> LabelledTexts:
        """The same rows with every training weight multiplied by ``factor`` (a source weight)."""
        return replace(self, weights=[factor * w for w in self.row_weights()])

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int], name: str | None = None) -> LabelledTexts:
        """The rows at ``indices``, in that order."""
        idx = list(indices)
        return LabelledTexts(
            name=self.name if name is None else name,
            texts=[self.texts[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            ids=[self.ids[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            files=self.files,
            created_at=[self.created_at[i] for i in idx] if self.created_at else [],
            weights=[self.weights[i] for i in idx] if self.weights else [],
            unsure=[self.unsure[i] for i in idx] if self.unsure else [],
        )

    def concat(self, other: LabelledTexts, name: str | None = None) -> LabelledTexts:
        """This data set followed by ``other``."""
        return concat(self, other, name=name)

    def label_counts(self) -> dict[str, int]:
        """Rows per label, most frequent first."""
        return dict(Counter(self.labels).most_common())


def concat(*parts: LabelledTexts, name: str | None = None) -> LabelledTexts:
    """The rows of ``parts`` one after the other; ``name`` defaults to the names joined by ``+``."""
    if not parts:
        raise ValueError("concat() needs at least one LabelledTexts")
    files: list[Path] = []
    for part in parts:
        files.extend(f for f in part.files if f not in files)
    any_dates = any(p.created_at for p in parts)
    return LabelledTexts(
        name=name if name is not None else "+".join(p.name for p in parts),
        texts=[t for p in parts for t in p.texts],
        labels=[t for p in parts for t in p.labels],
        ids=[t for p in parts for t in p.ids],
        groups=[t for p in parts for t in p.groups],
        files=tuple(files),
        created_at=[t for p in parts for t in (p.created_at or [""] * len(p))] if any_dates else [],
        weights=[w for p in parts for w in p.row_weights()] if any(p.weights for p in parts) else [],
        # Kept only when every part says: a row of unknown certainty is neither sure nor unsure.
        unsure=[u for p in parts for u in p.unsure] if all(p.unsure for p in parts) else [],
    )


# ----------------------------------------------------------------------------------------------------
# Locating the data
# ----------------------------------------------------------------------------------------------------


def resolve_data_dir(
    explicit: str | Path | None = None,
    configured: str | Path | None = None,
    *,
    base: Path | None = None,
) -> Path:
    """The data directory: ``explicit`` (``--data-dir``), else ``$VOC_DATA_DIR``, else ``configured``.

    A relative ``configured`` path is taken relative to ``base`` (the config file's directory; the current
    directory when ``base`` is None). Raises :class:`InputError` when none is given or the folder is missing.
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if explicit is not None and str(explicit).strip():
        path, source = Path(explicit).expanduser(), "--data-dir"
    elif env:
        path, source = Path(env).expanduser(), f"${DATA_DIR_ENV}"
    elif configured is not None and str(configured).strip():
        path, source = Path(configured).expanduser(), "the config's data_dir"
        if not path.is_absolute() and base is not None:
            path = base / path
    else:
        raise InputError(f"no data directory given: pass --data-dir, set {DATA_DIR_ENV}, or set data_dir in the config")
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise InputError(f"data directory {path} ({source}) {what}; {_POINT_AT_DATA}")
    return path


def default_shared_data_dir() -> Path | None:
    """The first existing of ``$VOC_DATA_DIR`` and ``<repo>/../shared/data``, or None."""
    candidates: list[Path] = []
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        candidates.append(Path(env).expanduser())
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def shared_data_available(data_dir: Path | None = None) -> bool:
    """Whether the shared data folder exists (``data_dir``, else as in :func:`default_shared_data_dir`)."""
    if data_dir is not None:
        return Path(data_dir).is_dir()
    return default_shared_data_dir() is not None


def _require(data_dir: Path, relative: Path) -> Path:
    path = Path(data_dir) / relative
    if not path.is_file():
        if not Path(data_dir).is_dir():
            raise InputError(f"data directory {data_dir} does not exist; {_POINT_AT_DATA}")
        raise InputError(f"{path} not found; check that --data-dir or {DATA_DIR_ENV} points at the shared data folder")
    return path


def _read_text(path: Path) -> str:
    # Decoded from bytes, not read in text mode: universal newlines would turn a bare "\r" inside a text
    # into a line break.
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not valid UTF-8 (byte {exc.start}); use the unmodified source file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _columns(header: Sequence[str], required: Iterable[str], path: Path) -> dict[str, int]:
    index = {name: i for i, name in enumerate(header)}
    missing = [name for name in required if name not in index]
    if missing:
        raise InputError(f"{path} lacks column(s) {', '.join(missing)}; use the unmodified source file")
    return index


# ----------------------------------------------------------------------------------------------------
# Timestamps
# ----------------------------------------------------------------------------------------------------

_AIRLINE_TIME_RE = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)$")
_TWITTER_TIME_RE = re.compile(r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d) (\d{4})$")
_ISO_Z_RE = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$")
_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)
}


def _iso_airline(value: str) -> str:
    """``2015-02-24 11:35:52 -0800`` -> ``2015-02-24T11:35:52-08:00`` (``""`` if not in that form)."""
    m = _AIRLINE_TIME_RE.match(value.strip())
    return f"{m[1]}T{m[2]}{m[3]}:{m[4]}" if m else ""


def _iso_twitter(value: str) -> str:
    """``Tue Oct 31 22:10:47 +0000 2017`` -> ``2017-10-31T22:10:47+00:00`` (``""`` if not in that form)."""
    m = _TWITTER_TIME_RE.match(value.strip())
    if not m or m[1] not in _MONTHS:
        return ""
    return f"{m[6]}-{_MONTHS[m[1]]}-{m[2]}T{m[3]}{m[4]}:{m[5]}"


def _iso_utc(value: str) -> str:
    """``2020-04-01T17:31:32.000Z`` -> ``2020-04-01T17:31:32+00:00`` (``""`` if not in that form)."""
    m = _ISO_Z_RE.match(value.strip())
    return f"{m[1]}T{m[2]}+00:00" if m else ""


# ----------------------------------------------------------------------------------------------------
# Twitter US Airline Sentiment and the brand-intent annotations on it
# ----------------------------------------------------------------------------------------------------


class _AirlineRow(NamedTuple):
    tweet_id: str
    sentiment: str
    reason: str
    airline: str
    text: str
    created_at: str


_AT_DELTA_RE = re.compile(r"@delta", re.IGNORECASE)
_AT_JETBLUE_RE = re.compile(r"@jetblue", re.IGNORECASE)


def _airline_name(airline: str, text: str) -> str:
    # The "Delta" value labels tweets to @JetBlue (2,218 of its 2,222 rows mention @JetBlue; 2 more are
    # JetBlue's own replies); only the tweets that mention @Delta/@DeltaAssist and not @JetBlue stay Delta.
    if airline == "Delta" and (_AT_JETBLUE_RE.search(text) or not _AT_DELTA_RE.search(text)):
        return "JetBlue"
    return airline


def _read_airline(data_dir: Path) -> tuple[Path, list[_AirlineRow]]:
    path = _require(data_dir, _AIRLINE)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path} is empty; use the unmodified Kaggle Tweets.csv") from None
    col = _columns(
        header, ("tweet_id", "airline_sentiment", "negativereason", "airline", "text", "tweet_created"), path
    )
    i_id, i_sent, i_reason = col["tweet_id"], col["airline_sentiment"], col["negativereason"]
    i_air, i_text, i_time = col["airline"], col["text"], col["tweet_created"]
    width = len(header)
    rows: list[_AirlineRow] = []
    for rec in reader:
        if len(rec) != width or not rec[i_id].isdigit() or rec[i_sent] not in _SENTIMENTS:
            continue
        text = rec[i_text]
        rows.append(
            _AirlineRow(
                rec[i_id], rec[i_sent], rec[i_reason], _airline_name(rec[i_air], text), text, _iso_airline(rec[i_time])
            )
        )
    return path, rows


def _dedup_by_id(rows: Iterable[_AirlineRow], key: Callable[[_AirlineRow], object]) -> list[_AirlineRow]:
    """First row per tweet_id; ids whose rows disagree on ``key`` are dropped entirely."""
    first: dict[str, _AirlineRow] = {}
    conflicting: set[str] = set()
    for row in rows:
        seen = first.get(row.tweet_id)
        if seen is None:
            first[row.tweet_id] = row
        elif key(seen) != key(row):
            conflicting.add(row.tweet_id)
    return [row for tid, row in first.items() if tid not in conflicting]


def _airline_texts(name: str, path: Path, rows: list[_AirlineRow], labels: list[str]) -> LabelledTexts:
    return LabelledTexts(
        name=name,
        texts=[r.text for r in rows],
        labels=labels,
        ids=[r.tweet_id for r in rows],
        groups=[r.airline for r in rows],
        files=(path,),
        created_at=[r.created_at for r in rows],
    )


def load_airline_sentiment(data_dir: Path) -> LabelledTexts:
    """US airline tweets: one row per tweet_id; labels negative/neutral/positive; groups the airline."""
    path, rows = _read_airline(data_dir)
    rows = _dedup_by_id(rows, key=lambda r: r.sentiment)
    return _airline_texts("airline-sentiment", path, rows, [r.sentiment for r in rows])


def load_airline_reasons(data_dir: Path) -> LabelledTexts:
    """The negative airline tweets with a known reason (not "Can't Tell"), labelled with negativereason.

    Ids whose duplicate rows disagree on sentiment or on reason are dropped.
    """
    path, rows = _read_airline(data_dir)
    rows = [
        r
        for r in _dedup_by_id(rows, key=lambda r: (r.sentiment, r.reason))
        if r.sentiment == "negative" and r.reason and r.reason != _CANT_TELL
    ]
    return _airline_texts("airline-reasons", path, rows, [r.reason for r in rows])


def load_brand_intent(data_dir: Path) -> LabelledTexts:
    """The project's intent annotations (brand-intent/annotations.tsv); groups and dates from Tweets.csv."""
    path = _require(data_dir, _BRAND_INTENT)
    lines = _read_text(path).split("\n")
    header = lines[0].rstrip("\r").split("\t")
    col = _columns(header, ("id", "intent", "text"), path)
    i_id, i_intent, i_text = col["id"], col["intent"], col["text"]
    i_unsure = header.index("unsure") if "unsure" in header else None
    airline_path, airline_rows = _read_airline(data_dir)
    by_id: dict[str, _AirlineRow] = {}
    for row in airline_rows:
        by_id.setdefault(row.tweet_id, row)
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    created: list[str] = []
    unsure: list[bool] = []
    seen: set[str] = set()
    for line in lines[1:]:
        fields = line.rstrip("\r").split("\t")
        if len(fields) != len(header) or not fields[i_intent] or fields[i_id] in seen:
            continue
        tid = fields[i_id]
        seen.add(tid)
        source = by_id.get(tid)
        texts.append(fields[i_text])
        labels.append(fields[i_intent])
        ids.append(tid)
        groups.append(source.airline if source else "")
        created.append(source.created_at if source else "")
        if i_unsure is not None:
            unsure.append(is_flag_set(fields[i_unsure]))
    return LabelledTexts("brand-intent", texts, labels, ids, groups, (path, airline_path), created, unsure=unsure)


# ----------------------------------------------------------------------------------------------------
# Deterministic split
# ----------------------------------------------------------------------------------------------------


def split_by_id(
    data: LabelledTexts, test_fraction: float = 0.2, salt: str = "voc-v1"
) -> tuple[LabelledTexts, LabelledTexts]:
    """A fixed train/test split: a row is in test when the hash of ``(salt, id)`` is below ``test_fraction``.

    The side of a row depends on its id and the salt only, not on the row order or the other rows, so the
    same tweet lands on the same side in every data set that contains it.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    train_idx, test_idx = holdout_indices(data.ids, test_fraction, salt)
    return data.subset(train_idx, f"{data.name}:train"), data.subset(test_idx, f"{data.name}:test")


# ----------------------------------------------------------------------------------------------------
# SemEval-2017 Task 4A (2013-2016 training files, 2017 test set) and TweetEval sentiment
# ----------------------------------------------------------------------------------------------------

_SEMEVAL_RECORD_RE = re.compile(r"(\d+)\t([A-Za-z-]+)\t(.*)\Z", re.DOTALL)
_SURROGATE_PAIR_RE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_UNICODE_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")
_QUOTE_RUN_RE = re.compile(r'"{2,}')
_NON_WORD_RE = re.compile(r"[\W_]+")


def _decode_pair(m: re.Match[str]) -> str:
    high, low = int(m[1], 16), int(m[2], 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def _decode_unit(m: re.Match[str]) -> str:
    code = int(m[1], 16)
    return " " if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate cannot be encoded


def _clean_semeval_text(text: str) -> str:
    """Undo the CSV quoting and JSON-style escapes the SemEval distribution left in the texts."""
    text = text.strip()
    # Texts holding a comma or quote were written CSV-quoted: "...""..."" ..." (in some files quoted twice).
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in text[1:-1].replace('""', ""):
        text = text[1:-1].replace('""', '"')
    if "\\" in text:
        text = _SURROGATE_PAIR_RE.sub(_decode_pair, text)
        text = _UNICODE_ESCAPE_RE.sub(_decode_unit, text)
        text = text.replace('\\"', '"')
    # Quotes doubled by a second round of quoting ("""" -> ""), the same in the training and test files.
    if '""' in text:
        text = _QUOTE_RUN_RE.sub('"', text)
    return " ".join(text.split())


def match_key(text: str) -> str:
    """A text key for finding the same tweet across files: no URLs, mentions, case or punctuation."""
    text = URL.sub(" ", html.unescape(text))
    text = AT_WORD.sub(" ", text)
    return " ".join(_NON_WORD_RE.sub(" ", text.casefold()).split())


class _SemevalStats(NamedTuple):
    records: int
    joined_lines: int
    bad_labels: int


def _read_semeval_file(path: Path) -> tuple[list[tuple[str, str, str]], _SemevalStats]:
    """``(tweet_id, label, text)`` records of one SemEval TSV, in file order.

    Lines that do not start a record (``<id>\\t<label>\\t``) continue the text of the previous record; a
    trailing empty field (2016test) or a trailing date field is dropped.
    """
    raw: list[list[str]] = []
    joined = 0
    for line in _read_text(path).split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        m = _SEMEVAL_RECORD_RE.match(line)
        if m:
            raw.append([m[1], m[2], m[3]])
        elif raw:
            raw[-1][2] += " " + line
            joined += 1
    records: list[tuple[str, str, str]] = []
    bad = 0
    for tid, label, rest in raw:
        label = label.lower()
        if label not in _SENTIMENTS:
            bad += 1
            continue
        fields = rest.split("\t")
        # The text is the first field; the few lines with more fields carry "" or a created_at date after it.
        extra_ok = all(not f or _TWITTER_TIME_RE.match(f) for f in fields[1:])
        text = fields[0] if len(fields) > 1 and extra_ok else rest
        records.append((tid, label, _clean_semeval_text(text)))
    return records, _SemevalStats(len(records), joined, bad)


def _semeval_texts(name: str, files: Sequence[Path], records: list[tuple[str, str, str]]) -> LabelledTexts:
    return LabelledTexts(
        name=name,
        texts=[r[2] for r in records],
        labels=[r[1] for r in records],
        ids=[r[0] for r in records],
        groups=[""] * len(records),
        files=tuple(files),
    )


def _dedup_records(records: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """First record per tweet_id; ids whose records disagree on the label are dropped."""
    first: dict[str, tuple[str, str, str]] = {}
    conflicting: set[str] = set()
    for rec in records:
        seen = first.get(rec[0])
        if seen is None:
            first[rec[0]] = rec
        elif seen[1] != rec[1]:
            conflicting.add(rec[0])
    return [rec for tid, rec in first.items() if tid not in conflicting]


def load_semeval2017_test(data_dir: Path) -> LabelledTexts:
    """The SemEval-2017 Task 4A English test set with gold labels (12,284 tweets)."""
    path = _require(data_dir, _SEMEVAL_TEST)
    records, _ = _read_semeval_file(path)
    return _semeval_texts("semeval-2017-test", (path,), _dedup_records(records))


def load_semeval_train(data_dir: Path, years: Sequence[str] = SEMEVAL_TRAIN_YEARS) -> LabelledTexts:
    """The SemEval 2013-2016 Task 4A files, deduplicated by tweet_id, minus every tweet of the 2017 test set.

    A tweet is left out when its id, or its text with URLs, mentions, case and punctuation removed, also
    occurs in the 2017 test set. Ids labelled differently in two files are dropped.
    """
    if isinstance(years, str):
        years = (years,)
    unknown = [y for y in years if y not in SEMEVAL_TRAIN_YEARS]
    if unknown:
        raise InputError(f"unknown SemEval file(s) {', '.join(unknown)}; known: {', '.join(SEMEVAL_TRAIN_YEARS)}")
    paths = [_require(data_dir, _SEMEVAL_DIR / f"twitter-{year}-A.tsv") for year in years]
    test_path = _require(data_dir, _SEMEVAL_TEST)
    records: list[tuple[str, str, str]] = []
    for path in paths:
        records.extend(_read_semeval_file(path)[0])
    test_records, _ = _read_semeval_file(test_path)
    test_ids = {r[0] for r in test_records}
    test_keys = {key for key in (match_key(r[2]) for r in test_records) if key}
    kept = [r for r in _dedup_records(records) if r[0] not in test_ids and match_key(r[2]) not in test_keys]
    name = "semeval-2013-2016" if tuple(years) == SEMEVAL_TRAIN_YEARS else "semeval:" + "+".join(years)
    return _semeval_texts(name, [*paths, test_path], kept)


def load_tweeteval_sentiment(data_dir: Path, split: str) -> LabelledTexts:
    """TweetEval sentiment ``val`` or ``test``, labels named by mapping.txt, ids ``tweeteval-<split>-<line>``.

    Line numbers start at 1. The ``train`` texts are not in the shared data.
    """
    if split == "train":
        raise InputError(
            "tweeteval sentiment train_text.txt is not in the shared data (missing upstream); "
            "train on 'semeval-2013-2016' instead, which TweetEval's train set was built from"
        )
    if split not in ("val", "test"):
        raise InputError(f"unknown tweeteval split {split!r}; use 'val' or 'test'")
    mapping_path = _require(data_dir, _TWEETEVAL_SENTIMENT / "mapping.txt")
    text_path = _require(data_dir, _TWEETEVAL_SENTIMENT / f"{split}_text.txt")
    label_path = _require(data_dir, _TWEETEVAL_SENTIMENT / f"{split}_labels.txt")
    mapping: dict[str, str] = {}
    for line in _read_text(mapping_path).splitlines():
        if line.strip():
            key, _, value = line.partition("\t")
            mapping[key.strip()] = value.strip()
    texts = _read_text(text_path).split("\n")
    labels = _read_text(label_path).split("\n")
    for lines in (texts, labels):
        if lines and lines[-1] == "":
            lines.pop()
    if len(texts) != len(labels):
        raise InputError(f"{text_path} has {len(texts)} lines but {label_path} has {len(labels)}; re-fetch both files")
    try:
        mapped = [mapping[label.strip()] for label in labels]
    except KeyError as exc:
        raise InputError(f"{label_path} holds label {exc.args[0]!r}, which {mapping_path} does not map") from None
    return LabelledTexts(
        name=f"tweeteval-sentiment:{split}",
        texts=[t.strip() for t in texts],
        labels=mapped,
        ids=[f"tweeteval-{split}-{i}" for i in range(1, len(texts) + 1)],
        groups=[""] * len(texts),
        files=(text_path, label_path, mapping_path),
    )


# ----------------------------------------------------------------------------------------------------
# Tweet Act Classification
# ----------------------------------------------------------------------------------------------------

_SPEECH_ACT_CODES = frozenset({"EXP", "STM", "QUE", "SUG", "OTH", "THT", "REQ"})


def load_speech_acts(data_dir: Path) -> LabelledTexts:
    """Tweet Act Classification (no header; ``text,label``), labelled with the codes; ids ``tac-<row>``."""
    path = _require(data_dir, _SPEECH_ACTS)
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    for row_no, rec in enumerate(csv.reader(io.StringIO(_read_text(path), newline="")), start=1):
        if len(rec) != 2 or rec[1].strip() not in _SPEECH_ACT_CODES:
            continue
        texts.append(rec[0])
        labels.append(rec[1].strip())
        ids.append(f"tac-{row_no}")
    return LabelledTexts("speech-acts", texts, labels, ids, [""] * len(texts), (path,))


# ----------------------------------------------------------------------------------------------------
# Unlabelled customer-to-brand text: twcs samples and IBM customer care
# ----------------------------------------------------------------------------------------------------


class _TwcsRecord(NamedTuple):
    tweet_id: str
    author_id: str
    inbound: bool
    created_at: str
    text: str
    in_response_to: str


def _read_twcs(path: Path) -> list[_TwcsRecord]:
    # A bare "\r" inside an unquoted text would end the record for the csv module; read it as a space.
    content = _read_text(path).replace("\r\n", "\n").replace("\r", " ")
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path} is empty; use the unmodified twcs CSV") from None
    required = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
    col = _columns(header, required, path)
    i_id, i_author, i_in, i_time = col["tweet_id"], col["author_id"], col["inbound"], col["created_at"]
    i_text, i_reply = col["text"], col["in_response_to_tweet_id"]
    width = len(header)
    records: list[_TwcsRecord] = []
    for rec in reader:
        if len(rec) != width or not rec[i_id].isdigit() or rec[i_in] not in ("True", "False"):
            continue  # malformed record
        if not rec[i_author]:
            continue
        reply = rec[i_reply].strip()
        if reply.endswith(".0"):  # pandas wrote the ids of a column with gaps as floats
            reply = reply[:-2]
        records.append(
            _TwcsRecord(
                rec[i_id],
                rec[i_author],
                rec[i_in] == "True",
                _iso_twitter(rec[i_time]),
                rec[i_text],
                reply if reply.isdigit() else "",
            )
        )
    return records


def _is_company(author_id: str) -> bool:
    # twcs replaced customers' handles by numbers; company accounts keep their names.
    return bool(author_id) and not author_id.isdigit()


def load_twcs_unlabelled(data_dir: Path, inbound_only: bool = True) -> LabelledTexts:
    """Customer tweets from both twcs samples, deduplicated by tweet_id; ids ``twcs-<tweet_id>``.

    ``groups`` is the company addressed: the author of the tweet replied to when it is a company account in
    the samples, else the first @mention that is not an anonymised customer, else ``""``. With
    ``inbound_only=False`` the companies' own replies are included too (grouped by their author).
    """
    paths = [_require(data_dir, rel) for rel in _TWCS_FILES]
    records: list[_TwcsRecord] = []
    for path in paths:
        records.extend(_read_twcs(path))
    author_of = {r.tweet_id: r.author_id for r in records}
    texts: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    created: list[str] = []
    seen: set[str] = set()
    for r in records:
        if r.tweet_id in seen or (inbound_only and not r.inbound):
            continue
        seen.add(r.tweet_id)
        if not r.inbound:
            group = r.author_id
        else:
            target = author_of.get(r.in_response_to, "")
            if not _is_company(target):
                target = next((m for m in MENTION_HANDLE.findall(r.text) if _is_company(m)), "")
            group = target
        texts.append(r.text)
        ids.append(f"twcs-{r.tweet_id}")
        groups.append(group)
        created.append(r.created_at)
    name = "twcs" if inbound_only else "twcs:all"
    return LabelledTexts(name, texts, [""] * len(texts), ids, groups, tuple(paths), created)


_SUPPORT_SUFFIX_RE = re.compile(r"_?(?:support|help|cares?|service|team)$", re.IGNORECASE)


def _is_brand_account(speaker: str, company: str, message: str) -> bool:
    """Whether a "client" turn is the brand's own post (``TMobile`` opening a ``TMobileHelp`` thread)."""
    if not company:
        return False
    if speaker.casefold() == company.casefold():
        return True
    stem = _SUPPORT_SUFFIX_RE.sub("", company).casefold()
    return len(stem) >= 4 and speaker.casefold().startswith(stem) and not message.lstrip().startswith("@")


def load_ibm_cdp_unlabelled(data_dir: Path) -> LabelledTexts:
    """Customer turns of the IBM customer-care conversations (dev + test), deduplicated by tweet id.

    A turn counts when its speaker key is ``client``/``client1``/... and it is not the brand's own post (some
    conversations open with an announcement by the main account, e.g. ``TMobile`` in a ``TMobileHelp``
    conversation). ``groups`` is the company (the support account).
    """
    paths = [_require(data_dir, rel) for rel in _IBM_FILES]
    texts: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    created: list[str] = []
    seen: set[str] = set()
    for path in paths:
        try:
            conversations: Any = json.loads(_read_text(path))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON (line {exc.lineno}); use the unmodified file") from None
        if not isinstance(conversations, list):
            raise InputError(f"{path} does not hold a JSON list of conversations; use the unmodified file")
        for conv in conversations:
            if not isinstance(conv, dict):
                continue
            company = str((conv.get("dialogHeader") or {}).get("company", ""))
            for turn in conv.get("dialogContent") or []:
                if not isinstance(turn, dict):
                    continue
                speaker_keys = [k for k in turn if k.startswith("client")]
                if not speaker_keys:
                    continue
                speaker = str(turn[speaker_keys[0]])
                tweet_id = str(turn.get("tweet_ID", ""))
                message = turn.get("message")
                if not isinstance(message, str) or not message.strip() or not tweet_id or tweet_id in seen:
                    continue
                if _is_brand_account(speaker, company, message):
                    continue
                seen.add(tweet_id)
                texts.append(message)
                ids.append(tweet_id)
                groups.append(company)
                created.append(_iso_utc(str(turn.get("datetime", ""))))
    return LabelledTexts("ibm-cdp", texts, [""] * len(texts), ids, groups, tuple(paths), created)


# ----------------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------------


def _airline_sentiment_train(data_dir: Path) -> LabelledTexts:
    return split_by_id(load_airline_sentiment(data_dir), test_fraction=0.2)[0]


def _airline_sentiment_test(data_dir: Path) -> LabelledTexts:
    return split_by_id(load_airline_sentiment(data_dir), test_fraction=0.2)[1]


def _airline_sentiment_train_without_intent(data_dir: Path) -> LabelledTexts:
    """airline-sentiment:train minus every tweet in brand-intent (by id or by text key).

    For models whose encoder is reused for intent (intermediate-task training): cross-validation on
    brand-intent must not score a post whose text the encoder was trained on, even with another label.
    """
    train = _airline_sentiment_train(data_dir)
    intent = load_brand_intent(data_dir)
    ids = set(intent.ids)
    keys = {key for key in (match_key(t) for t in intent.texts) if key}
    keep = [
        i
        for i, (item_id, text) in enumerate(zip(train.ids, train.texts))
        if item_id not in ids and match_key(text) not in keys
    ]
    return train.subset(keep, "airline-sentiment:train-without-intent")


def _semeval_2013_2016(data_dir: Path) -> LabelledTexts:
    return load_semeval_train(data_dir)


def _tweeteval_val(data_dir: Path) -> LabelledTexts:
    return load_tweeteval_sentiment(data_dir, "val")


def _tweeteval_test(data_dir: Path) -> LabelledTexts:
    return load_tweeteval_sentiment(data_dir, "test")


def _twcs(data_dir: Path) -> LabelledTexts:
    return load_twcs_unlabelled(data_dir)


DATASETS: dict[str, Callable[[Path], LabelledTexts]] = {
    "brand-intent": load_brand_intent,
    "airline-sentiment": load_airline_sentiment,
    "airline-sentiment:train": _airline_sentiment_train,
    "airline-sentiment:test": _airline_sentiment_test,
    "airline-sentiment:train-without-intent": _airline_sentiment_train_without_intent,
    "airline-reasons": load_airline_reasons,
    "semeval-2013-2016": _semeval_2013_2016,
    "semeval-2017-test": load_semeval2017_test,
    "tweeteval-sentiment:val": _tweeteval_val,
    "tweeteval-sentiment:test": _tweeteval_test,
    "speech-acts": load_speech_acts,
    "twcs": _twcs,
    "ibm-cdp": load_ibm_cdp_unlabelled,
}


# ----------------------------------------------------------------------------------------------------
# Labels by id: a project's own labels for rows of a shared data set, without the texts
# ----------------------------------------------------------------------------------------------------

_ID_LABEL_TASKS = ("intent", "sentiment")


def is_flag_set(value: Any) -> bool:
    """An annotation flag such as ``unsure``: 1, "1", true or "true" (any case) is set; anything else is not."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value == 1)
    return str(value).strip().lower() in ("1", "true")


def flags_if_given(values: Sequence[Any]) -> list[bool]:
    """One flag per row from a column's raw values, or ``[]`` when no row gives one (the source does not say)."""
    if all(value is None or value == "" for value in values):
        return []
    return [is_flag_set(value) for value in values]


def load_id_labels(path: Path, data_dir: Path, task: str | None = None, soft: bool = True) -> LabelledTexts:
    """Labels kept as ids only (``ids:FILE`` sources), joined to their texts in the shared data sets.

    Each JSONL row is ``{"dataset": "twcs", "id": "twcs-2301", "intent": "question", ...}``: ``dataset`` is a
    name of :data:`DATASETS` and ``id`` one of its ids. Licences that forbid redistributing a data set's
    texts allow committing such a file; the texts are read from ``data_dir`` at load time. ``task`` picks
    the label column (default: the first of intent, sentiment that the file has). Every id must resolve,
    or nothing is returned: a label silently dropped would change what a metric means.

    A row may also carry soft labels, ``"intent_scores": {"complaint": 0.8, "other": 0.2}`` (a teacher's
    probabilities, ``scripts/data/make_pseudo_labels.py --soft-floor``): it then becomes one row per label, with
    the scores, renormalised to sum to 1, as the rows' ``weights``; ``intent`` stays the post's top label.
    With ``soft=False`` (evaluation) every post is one row with that top label. An ``unsure`` field
    (``ANNOTATION.md``: two labels plausible) is kept as :attr:`LabelledTexts.unsure`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"label file {path} not found")
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{number}: not a JSON object") from None
        if not isinstance(row, dict) or not isinstance(row.get("dataset"), str) or not isinstance(row.get("id"), str):
            raise InputError(f"{path}:{number}: each row needs string fields 'dataset' and 'id'")
        rows.append(row)
    if not rows:
        raise InputError(f"{path} has no rows")
    if task is None:
        task = next((t for t in _ID_LABEL_TASKS if any(row.get(t) for row in rows)), None)
        if task is None:
            raise InputError(f"{path} has no 'intent' or 'sentiment' labels")
    found: dict[str, dict[str, int]] = {}
    loaded: dict[str, LabelledTexts] = {}
    for name in sorted({str(row["dataset"]) for row in rows}):
        if name not in DATASETS:
            raise InputError(f"{path}: unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
        loaded[name] = DATASETS[name](Path(data_dir))
        found[name] = {item_id: i for i, item_id in enumerate(loaded[name].ids)}
    missing = [f"{row['dataset']}:{row['id']}" for row in rows if row["id"] not in found[row["dataset"]]]
    if missing:
        raise InputError(
            f"{path}: {len(missing)} ids are not in the shared data (first: {missing[0]}); "
            "is --data-dir the unmodified shared data folder?"
        )
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    created: list[str] = []
    files: list[Path] = [path]
    for data in loaded.values():
        files.extend(f for f in data.files if f not in files)
    weights: list[float] = []
    unsure: list[Any] = []
    soft = soft and any(f"{task}_scores" in row for row in rows)
    for number, row in enumerate(rows, start=1):
        label = row.get(task)
        if label in (None, ""):
            continue
        scores = _soft_scores(row.get(f"{task}_scores"), path, number, task) if soft else {str(label).strip(): 1.0}
        data = loaded[row["dataset"]]
        i = found[row["dataset"]][row["id"]]
        for soft_label, weight in scores.items():
            texts.append(data.texts[i])
            labels.append(soft_label)
            ids.append(row["id"])
            groups.append(str(row.get("brand") or data.groups[i]))
            created.append(data.created_at[i] if data.created_at else "")
            weights.append(weight)
            unsure.append(row.get("unsure"))
    if not texts:
        raise InputError(f"{path} has no rows with a {task!r} label")
    return LabelledTexts(
        path.name,
        texts,
        labels,
        ids,
        groups,
        tuple(files),
        created if any(created) else [],
        weights if soft else [],
        flags_if_given(unsure),  # a row without the flag in a flagged file is a sure one
    )


def _soft_scores(scores: Any, path: Path, number: int, task: str) -> dict[str, float]:
    """A row's ``{task}_scores``, checked and renormalised to sum to 1."""
    if (
        not isinstance(scores, dict)
        or not scores
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores.values())
        or not all(math.isfinite(v) and v >= 0 for v in scores.values())
        or sum(scores.values()) <= 0
    ):
        raise InputError(
            f"{path}: row {number}: {task}_scores must map labels to probabilities >= 0, not all 0 "
            f"(every row of a file with soft labels needs them)"
        )
    total = float(sum(scores.values()))
    return {str(k).strip(): float(v) / total for k, v in scores.items() if v > 0}


def load_registered_dataset(name: str, data_dir: Path) -> LabelledTexts:
    """The data set registered as ``name`` in :data:`DATASETS` (any source name: :mod:`pipeline.data.sources`)."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
    return loader(Path(data_dir))
