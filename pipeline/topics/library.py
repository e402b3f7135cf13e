"""The aspect library: seed phrases for topics a taxonomy only names.

A user's first taxonomy is often a list of topic names ("Late flight", "Battery", "Add a song"). Names alone give
the seed matcher, most of a post's topic score, one or two words to match. The library is a hand-written list of
customer-care aspects across industries (``pipeline/resources/aspects.yaml``), each with the names a person
gives it (``aliases``) and the short phrases customers write about it (``seeds``), written from general
knowledge and independently of the project's judges (``docs/topics.md`` says how and what it adds). A topic
that lists fewer seeds than the assigner's ``implicit_seeds_below`` borrows the seeds of the aspects its label
names, at half the weight of a written seed (``library_seed_weight``): a user's own seeds always win, and
``aspect_library: false`` in a taxonomy turns borrowing off.

A label is read in parts ("Prices, promotions and rewards": three parts), and each part borrows from the
aspects with an alias whose content words it contains, preferring the alias that covers most of the part.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError, validation_message

# Separators between the aspects a compound label names ("Billing and payments", "Shipping / delivery").
_PART_SPLIT = re.compile(r"\s*(?:[,;/&+()]|\band\b|\bor\b|\bvs\b)\s*", re.IGNORECASE)
LIBRARY_RESOURCE = "aspects.yaml"
# The industry of aspects every industry has (customer service, refunds).
ANY_INDUSTRY = "any"


class Aspect(BaseModel):
    """One aspect of the library."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    industries: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(min_length=1)
    seeds: list[str] = Field(min_length=1)

    @field_validator("aliases", "seeds")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            raise ValueError("aliases and seeds must not be empty")
        return value


class _LibraryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspects: list[Aspect] = Field(min_length=1)


@dataclass(frozen=True)
class AspectMatch:
    """An aspect a label part names, and the alias that matched it."""

    aspect: Aspect
    part: str
    alias: str


class AspectLibrary:
    """Aspects and the rule that finds the ones a topic label names.

    ``min_coverage``: the share of a label part's content words the matching alias must cover ("menu items" is
    covered half by the alias "menu"); below it the part borrows nothing. ``max_per_part``: how many aspects one
    part may borrow from when several match it equally well.
    """

    def __init__(self, aspects: Sequence[Aspect], *, min_coverage: float = 0.5, max_per_part: int = 2) -> None:
        names = [a.name for a in aspects]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"aspect library: duplicate aspect names {', '.join(duplicates)}")
        self.aspects = tuple(aspects)
        self.min_coverage = min_coverage
        self.max_per_part = max_per_part
        self._idf_unseen = math.log(1.0 + len(self.aspects))
        # The aliases read by the last key function, and their words' inverse frequencies (one slot: a caller
        # keeps one key function per taxonomy).
        self._keyed: (
            tuple[Callable[[str], frozenset[str]], list[list[tuple[str, frozenset[str]]]], dict[str, float]] | None
        ) = None

    @classmethod
    def from_yaml(cls, text: str, source: str = LIBRARY_RESOURCE) -> AspectLibrary:
        """Parse and validate a library file's text; a problem is one :class:`ConfigError` line."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"aspect library {source} is not valid YAML") from None
        try:
            return cls(_LibraryFile.model_validate(data).aspects)
        except ValidationError as exc:
            raise ConfigError(validation_message("aspect library", source, exc)) from None

    def match(
        self, label: str, key: Callable[[str], frozenset[str]], industries: frozenset[str] = frozenset()
    ) -> list[AspectMatch]:
        """The aspects ``label`` names, part by part, in the label's order (each aspect once).

        ``key`` turns a phrase into the set of its content words' stems, as the assigner reads posts, so
        "Cancelled flights" and "flight cancellation" meet. A part is covered by an alias whose words it contains,
        each word weighted by how few aspects' aliases use it ("service" says less than "luggage").
        ``industries``: the taxonomy's industries (:meth:`industries_of` its labels); aspects of other industries
        are not borrowed ("Upgrades" means phones to a telecom, seats to an airline).
        """
        found: list[AspectMatch] = []
        seen: set[str] = set()
        for part, candidates in self._candidates(label, key):
            if industries:
                candidates = [c for c in candidates if self._in(c[2], industries)]
            for index, alias in ((c[2], c[3]) for c in candidates[: self.max_per_part]):
                aspect = self.aspects[index]
                if aspect.name not in seen:
                    seen.add(aspect.name)
                    found.append(AspectMatch(aspect=aspect, part=part, alias=alias))
        return found

    def industries_of(self, labels: Sequence[str], key: Callable[[str], frozenset[str]]) -> frozenset[str]:
        """The industries a taxonomy's labels point to: those with at least half the votes of the commonest,
        where each label part's best aspects share one vote (cross-industry aspects vote for none)."""
        votes: dict[str, float] = {}
        for label in labels:
            for _, candidates in self._candidates(label, key):
                for candidate in candidates:
                    specific = [i for i in self.aspects[candidate[2]].industries if i != ANY_INDUSTRY]
                    for industry in specific:
                        votes[industry] = votes.get(industry, 0.0) + 1.0 / (len(candidates) * len(specific))
        if not votes:
            return frozenset()
        top = max(votes.values())
        return frozenset(i for i, v in votes.items() if v >= top / 2)

    def _in(self, index: int, industries: frozenset[str]) -> bool:
        own = set(self.aspects[index].industries)
        return ANY_INDUSTRY in own or not own or bool(own & industries)

    def _candidates(
        self, label: str, key: Callable[[str], frozenset[str]]
    ) -> list[tuple[str, list[tuple[float, int, int, str]]]]:
        """Per label part, the aspects that cover it best: (coverage, alias size, aspect index, alias), best first."""
        alias_keys, idf = self._index(key)
        out = []
        # The whole label first: an alias may itself hold a separator ("food and beverage").
        whole = self._candidates_of(label.strip(), key, alias_keys, idf)
        if whole and whole[0][0] >= 1.0:
            return [(label.strip(), whole)]
        for part in (p.strip() for p in _PART_SPLIT.split(label) if p and p.strip()):
            best = self._candidates_of(part, key, alias_keys, idf)
            if best and best[0][0] >= self.min_coverage:
                out.append((part, best))
        return out

    def _candidates_of(
        self,
        part: str,
        key: Callable[[str], frozenset[str]],
        alias_keys: list[list[tuple[str, frozenset[str]]]],
        idf: dict[str, float],
    ) -> list[tuple[float, int, int, str]]:
        """The aspects whose aliases cover ``part`` best (ties), in library order; [] when none covers any of it."""
        words = key(part)
        if not words:
            return []
        total = sum(idf.get(w, self._idf_unseen) for w in words)
        best: list[tuple[float, int, int, str]] = []
        for index, aliases in enumerate(alias_keys):
            scored = [(sum(idf[w] for w in a) / total, len(a), alias) for alias, a in aliases if a and a <= words]
            if scored:
                coverage, size, alias = max(scored)
                best.append((round(coverage, 9), size, index, alias))
        if not best:
            return []
        top = max((c, s) for c, s, _, _ in best)
        # Among equals, an alias written exactly as the part first ("Stores": the aspect named "stores" before
        # those with "store" among their names), then library order.
        written = part.strip().lower()
        return sorted((b for b in best if (b[0], b[1]) == top), key=lambda b: (b[3] != written, b[2]))

    def _index(
        self, key: Callable[[str], frozenset[str]]
    ) -> tuple[list[list[tuple[str, frozenset[str]]]], dict[str, float]]:
        if self._keyed is None or self._keyed[0] is not key:
            alias_keys = [[(alias, key(alias)) for alias in aspect.aliases] for aspect in self.aspects]
            df: dict[str, int] = {}
            for aliases in alias_keys:
                for word in frozenset().union(*(a for _, a in aliases)):
                    df[word] = df.get(word, 0) + 1
            n = len(self.aspects)
            self._keyed = (key, alias_keys, {w: math.log(1.0 + n / d) for w, d in df.items()})
        return self._keyed[1], self._keyed[2]


@lru_cache(maxsize=1)
def default_library() -> AspectLibrary:
    """The library shipped with the package (``pipeline/resources/aspects.yaml``)."""
    text = resources.files("pipeline").joinpath("resources", LIBRARY_RESOURCE).read_text(encoding="utf-8")
    return AspectLibrary.from_yaml(text)
