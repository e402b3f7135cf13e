"""Taxonomy files: the topics a user supplies (names, labels, descriptions, seed phrases, example posts).

``voc score`` and ``voc rank`` read the same file (``--taxonomy``), so both assign a post the same topic. The format
and what each field does: ``docs/topics.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError, validation_message

OTHER_ID = "other"
OTHER_LABEL = "Other"
# Intents whose posts are nearly always about some topic (a lower no-topic threshold, ``min_score_problem``).
PROBLEM_INTENTS = frozenset({"complaint", "question"})
_KEBAB_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TaxonomyTopic(BaseModel):
    """One named topic of a taxonomy file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="stable kebab-case id, e.g. lost-luggage")
    label: str = Field(min_length=1)
    description: str = ""
    seeds: list[str] = Field(default_factory=list)
    # Few-shot: a handful of real posts about the topic. The assigner learns from them when it is fitted
    # (their words join the topic's document, their vectors its prototypes, and a light head is fitted on
    # them), in well under a second; docs/topics.md gives what 5 and 20 examples per topic add.
    examples: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _KEBAB_RE.match(value):
            raise ValueError(f"topic name {value!r} must be kebab-case (lowercase letters, digits, hyphens)")
        if value == OTHER_ID:
            raise ValueError(f"topic name {OTHER_ID!r} is reserved for posts that fit no topic")
        return value

    @field_validator("seeds", "examples")
    @classmethod
    def _non_empty_seeds(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            raise ValueError("seed phrases and examples must not be empty")
        return value


class Taxonomy(BaseModel):
    """A list of topics with unique names."""

    model_config = ConfigDict(extra="forbid")

    topics: list[TaxonomyTopic]
    # The sentence encoder that reads each post for `voc score` and `voc rank` (pipeline.topics.static), e.g.
    # all-MiniLM-L6-v2 or a model directory: better topics than the bundle's static word vectors, at a fraction
    # of the throughput (docs/topics.md). Needs the topics-embed extra; without it the static vectors are used,
    # with one line on stderr. Set here, in the file both commands read, so a post gets the same topic from both.
    encoder: str | None = Field(default=None, min_length=1)
    # Topics with fewer than three seeds of their own borrow seed phrases from the aspect library for the aspects
    # their labels name (pipeline.topics.library, docs/topics.md); false: only the taxonomy's own words.
    aspect_library: bool = True

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        if not self.topics:
            raise ValueError("a taxonomy needs at least one topic")
        seen: set[str] = set()
        for topic in self.topics:
            if topic.name in seen:
                raise ValueError(f"duplicate topic name {topic.name!r}")
            seen.add(topic.name)
        return self

    def labels(self) -> dict[str, str]:
        return {t.name: t.label for t in self.topics}

    def without(self, *fields: str) -> Taxonomy:
        """A copy with the named topic fields (``seeds``, ``description``, ``examples``) emptied: the taxonomy
        as a user might first write it, for measuring how much each part is worth (``scripts/bench``)."""
        cuttable = {"seeds", "description", "examples"}
        unknown = sorted(set(fields) - cuttable)
        if unknown:
            raise ConfigError(f"cannot cut {', '.join(unknown)} from a taxonomy (only {', '.join(sorted(cuttable))})")
        empty = {"seeds": [], "description": "", "examples": []}
        return self.model_copy(
            update={"topics": [t.model_copy(update={f: empty[f] for f in fields}) for t in self.topics]}
        )


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate a taxonomy YAML file; every problem becomes a one-line :class:`ConfigError`."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"taxonomy file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read taxonomy file {p}: {exc}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"taxonomy file {p} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"taxonomy file {p} must be a mapping with a 'topics' list")
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message("taxonomy", p, exc)) from None
