"""Tweet-aware text normalisation on spaCy's tokenizer.

The same normaliser object, rebuilt from its registered name and settings stored in the bundle, runs at
training and at inference, so the models never see text prepared two different ways.

What it does, in order:

1. unescapes HTML entities (``&amp;`` -> ``&``) and strips zero-width joiners, variation selectors and
   emoji skin-tone modifiers, so that one emoji is one token whatever the phone that typed it;
2. undoes the airline dataset's label leak (``Cancelled Flightled`` -> ``cancelled``): when that corpus was
   built, the words *cancel*, *late* and *booking* in the texts were overwritten by the names of the
   negative reasons, inside words too (``chocoLate Flight``). Left in, a model learns the label names;
3. drops URLs (``xxurl`` only when a post is nothing but links) and replaces @mentions by ``xxuser``:
   predictions must not change with the brand or person addressed or the link attached;
4. splits hashtags into a marker and their words (``#NeverAgain`` -> ``xxhashtag never again``);
5. shortens elongated words (``soooo`` -> ``soo``) and marks shouted words (``ALWAYS`` -> ``xxcaps always``);
6. tokenises with a blank English spaCy pipeline (contractions, punctuation, emoticons, emoji),
   lowercases, and replaces digit runs by ``0`` (keeps the shape of flight numbers and prices, not their
   values; emoticons such as ``<3`` are kept).

The output is the token sequence joined by single spaces.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline import registry
from pipeline.text.patterns import MENTION, URL_OR_DOMAIN
from pipeline.text.spacy_import import import_spacy

# The airline corpus overwrote these words with reason names (see shared/data/twitter-us-airline-sentiment).
# Longest first, case-sensitive: the leak inserted exactly these capitalised strings.
_DATASET_ARTEFACTS: tuple[tuple[str, str], ...] = (
    ("Flight Booking Problems", "booking"),
    ("Cancelled Flight", "cancel"),
    ("Late Flight", "late"),
)
_ARTEFACT_RE = re.compile("|".join(re.escape(a) for a, _ in _DATASET_ARTEFACTS))
_ARTEFACT_MAP = dict(_DATASET_ARTEFACTS)

_HASHTAG_RE = re.compile(r"(?<![\w#&])#(\w*[^\W\d_]\w*)")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_DIGITS_RE = re.compile(r"\d+")
_ELONGATED_RE = re.compile(r"(\w)\1{2,}")
_CAPS_RE = re.compile(r"\b[A-Z]{3,}\b")
# Zero-width joiner, variation selectors, skin-tone modifiers, BOM, other invisible format characters.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f\ufeff\U0001f3fb-\U0001f3ff\x00-\x08\x0b-\x1f\x7f]")
_SPACES_RE = re.compile(r"\s+")
_EMOTICONS_WITH_DIGITS = frozenset({"<3", "</3", ":3", "8)", "8-)", "8(", "8-(", "8d"})

# Acronyms that are ordinary words in this domain, not shouting.
_NOT_SHOUTING = frozenset(
    {
        "USA",
        "TSA",
        "LAX",
        "JFK",
        "SFO",
        "ORD",
        "DFW",
        "ATL",
        "BOS",
        "LGA",
        "EWR",
        "DCA",
        "PHL",
        "DM",
        "DMS",
        "FAA",
        "ATC",
        "ETA",
        "CEO",
        "USB",
        "iOS",
        "APP",
        "SMS",
        "KTN",
        "FYI",
        "OMG",
        "LOL",
        "WTF",
        "PNR",
        "UPS",
        "DHL",
        "GPS",
        "ATM",
        "VIP",
        "NYC",
        "LAS",
        "MCO",
        "SEA",
        "IAD",
        "BWI",
        "CLT",
        "PHX",
        "DEN",
        "MIA",
        "FLL",
        "AUS",
        "HOU",
        "IAH",
        "MSP",
        "DTW",
        "SAN",
        "PDX",
    }
)


def _split_hashtag(match: re.Match[str]) -> str:
    words = _CAMEL_RE.findall(match.group(1)) or [match.group(1)]
    return " xxhashtag " + " ".join(words) + " "


def _undouble(match: re.Match[str]) -> str:
    return match.group(1) * 2


def _shout(match: re.Match[str]) -> str:
    word = match.group(0)
    return word if word in _NOT_SHOUTING else "xxcaps " + word


class TweetNormaliser:
    """Normalise posts for the models (see the module docstring for the rules).

    Parameters are settings only; the spaCy tokenizer is built on first use, so constructing a normaliser
    is free and the object can be sent to worker processes cheaply.
    """

    name = "tweet_normaliser.v1"

    def __init__(
        self,
        *,
        lowercase: bool = True,
        fix_dataset_artefacts: bool = True,
        mark_caps: bool = True,
        max_chars: int = 2000,
    ) -> None:
        # Settings come from bundles, which may be untrusted: a bad value fails at load, not mid-job.
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars <= 0:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
        self.lowercase = lowercase
        self.fix_dataset_artefacts = fix_dataset_artefacts
        self.mark_caps = mark_caps
        self.max_chars = max_chars
        self._tokenizer: Any = None

    def get_config(self) -> dict[str, Any]:
        """Settings that rebuild an identical normaliser (stored in every bundle)."""
        return {
            "name": self.name,
            "lowercase": self.lowercase,
            "fix_dataset_artefacts": self.fix_dataset_artefacts,
            "mark_caps": self.mark_caps,
            "max_chars": self.max_chars,
        }

    def __getstate__(self) -> dict[str, Any]:
        # The tokenizer is rebuilt in the receiving process rather than pickled with the object.
        state = self.__dict__.copy()
        state["_tokenizer"] = None
        return state

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            import_spacy()
            from spacy.lang.en import English  # deferred: spaCy costs ~0.7 s to import

            tokenizer: Any = English().tokenizer
            for placeholder in ("xxurl", "xxuser", "xxhashtag", "xxcaps"):
                tokenizer.add_special_case(placeholder, [{"ORTH": placeholder}])
            self._tokenizer = tokenizer
        return self._tokenizer

    def clean(self, text: str) -> str:
        """Apply the character-level rules (1-5) that precede tokenisation."""
        text = self.clean_post(text)
        # URLs say nothing about intent or sentiment; dropping them keeps predictions invariant to links.
        # A post that is nothing but links keeps one placeholder so it is not empty.
        without_urls = URL_OR_DOMAIN.sub(" ", text)
        text = without_urls if without_urls.strip() or not text.strip() else "xxurl"
        return self._clean_words(text)

    def clean_post(self, text: str) -> str:
        """The rules that may reach across whitespace (truncation, entities, invisible characters, the
        dataset's artefacts). Every later rule works inside whitespace-delimited chunks (see
        :meth:`clean_chunk`)."""
        if len(text) > self.max_chars:
            text = text[: self.max_chars]
        if "&" in text:
            text = html.unescape(text)
        if not (text.isascii() and text.isprintable()):  # printable ASCII has nothing invisible: skip the scan
            text = _INVISIBLE_RE.sub(" ", text)
        if self.fix_dataset_artefacts and "Flight" in text:
            # Leaked inside words too ("chocoLate Flight"): replace wherever it occurs.
            text = _ARTEFACT_RE.sub(lambda m: _ARTEFACT_MAP[m.group(0)], text)
        return text

    def clean_chunk(self, chunk: str) -> str:
        """The remaining rules on one whitespace-free chunk of :meth:`clean_post` output ("" for a link).

        None of their patterns matches across whitespace or looks past it, so ``clean(text)`` is the
        non-empty ``clean_chunk`` results of ``clean_post(text).split()`` joined by spaces, except that a
        post of links only becomes ``xxurl``. The fast path (:mod:`pipeline.models.fastpath`) caches per chunk.
        """
        if "/" in chunk or "." in chunk:  # every link pattern has one of these
            chunk = URL_OR_DOMAIN.sub(" ", chunk)
        return self._clean_words(chunk)

    def _clean_words(self, text: str) -> str:
        # Each rule runs only where its pattern can match (this runs for every new chunk of a batch job).
        if "@" in text:
            text = MENTION.sub(" xxuser ", text)
        if "#" in text:
            text = _HASHTAG_RE.sub(_split_hashtag, text)
        text = _ELONGATED_RE.sub(_undouble, text)
        if self.mark_caps and not text.islower():
            text = _CAPS_RE.sub(_shout, text)
        return _SPACES_RE.sub(" ", text).strip()

    def tokens(self, text: str) -> list[str]:
        """The normalised tokens of one post."""
        return self._finish(self.tokenizer(self.clean(text)))

    def __call__(self, text: str) -> str:
        return " ".join(self.tokens(text))

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[str]:
        """Normalise many posts; the spaCy tokenizer runs in batches."""
        cleaned = (self.clean(t) for t in texts)
        for doc in self.tokenizer.pipe(cleaned, batch_size=batch_size):
            yield " ".join(self._finish(doc))

    def normalise_many(self, texts: Iterable[str]) -> list[str]:
        return list(self.pipe(texts))

    def _finish(self, doc: Iterable[Any]) -> list[str]:
        return self.finish_words([tok.text for tok in doc if not tok.is_space])

    def finish_words(self, words: list[str]) -> list[str]:
        """The last rules on a chunk's token texts (whitespace tokens already dropped): lowercase, digit runs."""
        if self.lowercase:
            words = [w.lower() for w in words]
        # Digits go after tokenisation so that emoticons such as "<3" survive as one token.
        return [w if w in _EMOTICONS_WITH_DIGITS else _DIGITS_RE.sub("0", w) for w in words]


@registry.normalisers.register("tweet_normaliser.v1")
def make_tweet_normaliser(**settings: Any) -> TweetNormaliser:
    return TweetNormaliser(**settings)


def normaliser_from_config(config: dict[str, Any]) -> TweetNormaliser:
    """Rebuild a normaliser from :meth:`TweetNormaliser.get_config` output."""
    settings = dict(config)
    name = settings.pop("name", TweetNormaliser.name)
    normaliser: TweetNormaliser = registry.normalisers.get(name)(**settings)
    return normaliser
