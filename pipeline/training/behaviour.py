"""A behaviour suite for the intent and sentiment heads: minimum functionality, invariance and directional tests.

Each :class:`BehaviourTest` is generated from templates and small vocabularies written for this project, and
belongs to one *capability*:

- ``negation``: negated negatives and positives, negation of neutral words, negation with neutral words between
  the negation and what it negates, "I thought X, but it wasn't";
- ``contrast``: "X, but Y" (the label follows Y);
- ``questions``: questions the writer answers with yes or no ("Was the crew friendly? No.");
- ``temporal``: "I used to think X, now I think Y" (the label follows the present);
- ``intensity``: intensifiers must not lower the confidence of a label, reducers must not raise it;
- ``vocabulary``: single positive, negative and neutral words in context;
- ``fairness``: swapping one identity word (religion, sexual orientation, nationality, race, gender, disability,
  age) in a neutral or a brand context must not change the label; each group is its own test.

A *case* fails when the model's label is not one of the expected labels (minimum functionality), when the
labels of a case's variants differ (invariance), or when the probability of a label moves the wrong way by more
than the test's tolerance (directional). A test's failure rate is its share of failing cases; a capability's is
the mean over its tests. Everything is deterministic: the same bundle gives the same numbers.

Run it with :func:`run_suite` on a :class:`~pipeline.models.predict.Predictor` (``voc evaluate --behaviour`` and
``scripts/checks/behaviour_report.py`` do). The training templates of ``scripts/make_counterfactual.py`` use other words
and sentence frames, so that this suite is not what the models were taught.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HEADS = ("sentiment", "intent")
CAPABILITIES = ("negation", "contrast", "questions", "temporal", "intensity", "vocabulary", "fairness")
KINDS = ("mft", "inv", "dir")

# -- vocabularies (this suite's own) --------------------------------------------------------------------------
BRANDS = ("@SkyNimbusAir", "@VireoMobile", "@MunchboxEats", "@KestrelBank", "@OrbitStream", "@HarbourHotels")
# (subject, "was" or "were") for "the {noun} was ..." frames, across industries.
NOUNS = (
    "flight", "crew", "delivery", "service", "app", "food", "hotel room", "support chat", "seat", "driver",
    "connection", "checkout", "meal", "staff", "website", "refund process",
)  # fmt: skip
POSITIVE = (
    "good", "great", "excellent", "amazing", "wonderful", "fantastic", "lovely", "brilliant", "perfect",
    "awesome", "nice", "pleasant", "superb", "outstanding", "enjoyable",
)  # fmt: skip
NEGATIVE = (
    "bad", "terrible", "awful", "horrible", "poor", "disappointing", "dreadful", "lousy", "appalling",
    "rubbish", "frustrating", "unacceptable", "pathetic", "miserable", "annoying",
)  # fmt: skip
# Words that describe without judging.
NEUTRAL = (
    "international", "domestic", "scheduled", "available", "online", "blue", "daily", "standard", "private",
    "digital", "local", "automatic", "vegetarian", "overnight", "printed",
)  # fmt: skip
MIDDLING = ("average", "okay", "ordinary", "fine", "alright", "so-so")
INTENSIFIERS = ("very", "really", "extremely", "incredibly", "so", "truly", "absolutely", "super")
REDUCERS = ("somewhat", "slightly", "a bit", "kind of", "a little", "fairly", "sort of", "mildly")
CITIES = ("Lima", "Denver", "Oslo", "Nairobi", "Manila", "Porto", "Calgary", "Osaka")
FILLERS = (
    "after all these years as a customer",
    "given everything I have seen on my trips",
    "if I am honest with myself",
    "looking back at the whole week",
    "and I have thought about it a lot",
)

# Identity words, grouped; each group is an invariance test per head. Adjectives, so that one frame fits all.
IDENTITY_GROUPS: dict[str, tuple[str, ...]] = {
    "religion": (
        "Christian", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist", "Catholic", "Protestant",
        "Mormon",
    ),
    "sexual orientation": (
        "gay", "lesbian", "bisexual", "straight", "queer", "asexual", "pansexual", "heterosexual", "homosexual",
    ),
    "nationality": (
        "American", "British", "Canadian", "Mexican", "Chinese", "Indian", "Nigerian", "German", "French",
        "Brazilian", "Russian", "Iranian", "Pakistani", "Japanese", "Korean", "Vietnamese", "Filipino", "Egyptian",
        "Italian", "Spanish", "Irish", "Polish", "Turkish", "Israeli", "Palestinian", "Syrian", "Afghan", "Iraqi",
        "Somali", "Ethiopian", "Jamaican", "Cuban", "Colombian", "Australian", "Ukrainian", "Saudi", "Moroccan",
    ),
    "race": ("Black", "white", "Asian", "Hispanic", "Latino", "Arab", "Indigenous", "biracial"),
    "gender": ("male", "female", "transgender", "nonbinary", "trans", "cisgender"),
    "disability": ("blind", "deaf", "disabled", "autistic", "dyslexic", "paraplegic", "epileptic"),
    "age": ("young", "old", "elderly", "teenage", "retired", "middle-aged"),
}  # fmt: skip

# Frames for identity words: (template, intent labels it should get, sentiment labels it should get). Only
# invariance is tested (the label must not change with the word); the expectations document the frames.
NEUTRAL_IDENTITY_FRAMES = (
    "I am {x}.",
    "My neighbour is {x}.",
    "She is a {x} student from {city}.",
    "A {x} family moved into our street.",
    "He described himself as {x} in the interview.",
    "We met a {x} couple on the train to {city}.",
    "My colleague is {x} and works from home on Fridays.",
    "{X} people live in every part of the city.",
    "The new teacher at my school is {x}.",
    "My cousin married a {x} man last spring.",
    "There is a {x} club that meets on Tuesdays.",
    "I read an article about {x} artists in {city}.",
    "Being {x} is part of who I am.",
    "The author of the book is {x}.",
    "Our team hired a {x} engineer this month.",
    "Two {x} students sat in the front row.",
    "I grew up with {x} neighbours.",
    "The podcast interviewed a {x} doctor today.",
)
BRAND_IDENTITY_FRAMES = (
    "{brand} I am a {x} customer and I have a question about my account",
    "{brand} as a {x} traveller, can I book a seat for my trip to {city}?",
    "{brand} the {x} agent at the desk was so helpful, thank you!",
    "{brand} my {x} friend waited three hours and nobody helped her",
    "{brand} I'm {x} and I love your service",
    "{brand} a {x} passenger next to me asked about the wifi",
    "{brand} can a {x} customer get a discount code please?",
    "{brand} your {x} staff member ignored me for an hour, terrible",
    "{brand} I am {x}. Do you deliver to {city}?",
    "{brand} just landed in {city} with my {x} partner",
    "{brand} booked a table for my {x} friends tonight",
    "{brand} the {x} driver was rude and dropped my parcel",
    "{brand} my {x} colleague recommended you, any tips for a first order?",
    "{brand} shoutout to the {x} lady in the call centre, she fixed everything",
    "{brand} why was my {x} grandmother charged twice??",
    "{brand} is there a community group for {x} customers?",
    "{brand} my {x} son lost his card, how do we block it",
    "{brand} a {x} couple helped me with my bags at the station",
    "{brand} follow back? big {x} fan of your app here",
    "{brand} the {x} guy at the gate upgraded us, amazing service",
)


@dataclass(frozen=True)
class BehaviourTest:
    """One test: cases of one kind for one head.

    ``cases``: for ``mft`` one text per case; for ``inv`` the variants of a case (labels must agree); for
    ``dir`` ``(base, changed)``. ``expect``: the accepted labels (``mft``), or the label whose probability is
    watched (``dir``, one label, or ``"top"``: the base text's label). ``direction`` (``dir``): ``"not_down"``
    (the changed text's probability may not fall below the base's by more than ``tolerance``) or ``"not_up"``.
    """

    name: str
    capability: str
    head: str
    kind: str
    cases: tuple[tuple[str, ...], ...]
    expect: tuple[str, ...] = ()
    direction: str = ""
    tolerance: float = 0.0
    group: str = ""
    description: str = ""

    def texts(self) -> Iterable[str]:
        for case in self.cases:
            yield from case


@dataclass
class TestResult:
    """A test's outcome: failing cases out of all, and a few failing examples."""

    test: BehaviourTest
    failures: int
    cases: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.failures / self.cases if self.cases else 0.0


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _spread(items: Sequence[tuple[str, ...]], limit: int) -> tuple[tuple[str, ...], ...]:
    """At most ``limit`` items, spread evenly over ``items`` (deterministic)."""
    if len(items) <= limit:
        return tuple(items)
    step = len(items) / limit
    return tuple(items[int(i * step)] for i in range(limit))


def _fill(frames: Sequence[str], words: Sequence[str], limit: int, **slots: Sequence[str]) -> list[tuple[str, ...]]:
    """One-text cases from every frame x word (x other slots, cycled), spread to ``limit``."""
    out: list[tuple[str, ...]] = []
    counter = itertools.count()
    for frame, word in itertools.product(frames, words):
        i = next(counter)
        values = {k: v[i % len(v)] for k, v in slots.items()}
        values["noun"] = values.get("noun", NOUNS[i % len(NOUNS)])
        text = frame.format(x=word, a=_article(word), **values)
        out.append((_capital(text),))
    return list(_spread(out, limit))


# -- sentiment tests ------------------------------------------------------------------------------------------
def _sentiment_tests() -> list[BehaviourTest]:
    tests: list[BehaviourTest] = []

    def mft(name: str, capability: str, cases: Sequence[tuple[str, ...]], expect: tuple[str, ...], desc: str) -> None:
        tests.append(BehaviourTest(name, capability, "sentiment", "mft", tuple(cases), expect, description=desc))

    not_neg, not_pos = ("neutral", "positive"), ("negative", "neutral")
    # negation
    mft(
        "negated negative",
        "negation",
        _fill(
            (
                "the {noun} was not {x}.",
                "the {noun} wasn't {x} at all",
                "I can't say the {noun} was {x}",
                "honestly the {noun} is not {x}",
                "the {noun} was never {x}",
            ),
            NEGATIVE,
            60,
        ),
        not_neg,
        "a negated negative word is not negative",
    )
    mft(
        "negated positive",
        "negation",
        _fill(
            (
                "the {noun} was not {x}.",
                "the {noun} wasn't {x} at all",
                "I don't think the {noun} was {x}",
                "sadly the {noun} is not {x}",
                "the {noun} was never {x}",
            ),
            POSITIVE,
            60,
        ),
        not_pos,
        "a negated positive word is not positive",
    )
    mft(
        "negated neutral",
        "negation",
        _fill(
            ("the {noun} is not {x}.", "this {noun} isn't {x}", "my {noun} was not {x}", "the {noun} won't be {x}"),
            NEUTRAL,
            50,
        ),
        ("neutral",),
        "'not' before a neutral word keeps a post neutral",
    )
    mft(
        "negation, neutral words between",
        "negation",
        _fill(("I don't think, {filler}, that the {noun} was {x}",), NEGATIVE, 40, filler=FILLERS)
        + _fill(("I would never say, {filler}, that the {noun} was {x}",), NEGATIVE, 20, filler=FILLERS),
        not_neg,
        "a negation a few neutral words before a negative word still negates it",
    )
    mft(
        "negation, neutral words between (positive)",
        "negation",
        _fill(("I don't think, {filler}, that the {noun} was {x}",), POSITIVE, 40, filler=FILLERS)
        + _fill(("I would never say, {filler}, that the {noun} was {x}",), POSITIVE, 20, filler=FILLERS),
        not_pos,
        "a negation a few neutral words before a positive word still negates it",
    )
    mft(
        "thought negative, but it wasn't",
        "negation",
        _fill(
            (
                "I thought the {noun} would be {x}, but it wasn't.",
                "I expected the {noun} to be {x}, but it was not",
                "everyone told me the {noun} is {x}, but it isn't",
            ),
            NEGATIVE,
            45,
        ),
        not_neg,
        "an expectation of something negative, denied",
    )
    mft(
        "thought positive, but it wasn't",
        "negation",
        _fill(
            (
                "I thought the {noun} would be {x}, but it wasn't.",
                "I expected the {noun} to be {x}, but it was not",
                "everyone told me the {noun} is {x}, but it isn't",
            ),
            POSITIVE,
            45,
        ),
        not_pos,
        "an expectation of something positive, denied",
    )
    # contrast
    pairs = list(zip(itertools.cycle(NEGATIVE), POSITIVE))
    mft(
        "X, but Y (Y positive)",
        "contrast",
        _spread(
            [
                (_capital(frame.format(n=n, p=p, noun=NOUNS[i % len(NOUNS)])),)
                for i, ((n, p), frame) in enumerate(
                    itertools.product(
                        pairs,
                        (
                            "some people say the {noun} was {n}, but I think it was {p}",
                            "the reviews called the {noun} {n}, but for me it was {p}",
                            "I had heard the {noun} was {n}, but honestly it was {p}",
                        ),
                    )
                )
            ],
            45,
        ),
        ("positive",),
        "the label follows the clause after 'but'",
    )
    mft(
        "X, but Y (Y negative)",
        "contrast",
        _spread(
            [
                (_capital(frame.format(n=n, p=p, noun=NOUNS[i % len(NOUNS)])),)
                for i, ((n, p), frame) in enumerate(
                    itertools.product(
                        pairs,
                        (
                            "some people say the {noun} was {p}, but I think it was {n}",
                            "the reviews called the {noun} {p}, but for me it was {n}",
                            "I had heard the {noun} was {p}, but honestly it was {n}",
                        ),
                    )
                )
            ],
            45,
        ),
        ("negative",),
        "the label follows the clause after 'but'",
    )
    # questions answered by the writer
    frames = ("Do I think the {noun} was {x}? {ans}", "Was the {noun} {x}? {ans}", "Would I call the {noun} {x}? {ans}")
    yes, no = ("Yes.", "Yes, it was.", "Absolutely."), ("No.", "No, it wasn't.", "Not really.")
    mft("question, positive, yes", "questions", _fill(frames, POSITIVE, 40, ans=yes), ("positive",), "")
    mft("question, positive, no", "questions", _fill(frames, POSITIVE, 40, ans=no), not_pos, "")
    mft("question, negative, yes", "questions", _fill(frames, NEGATIVE, 40, ans=yes), ("negative",), "")
    mft("question, negative, no", "questions", _fill(frames, NEGATIVE, 40, ans=no), not_neg, "")
    # temporal
    mft(
        "used to X, now Y (Y positive)",
        "temporal",
        _fill(
            (
                "I used to think the {noun} was {m}, now I think it is {x}",
                "the {noun} used to be {n}, but now it is {x}",
                "I used to find the {noun} {n}, these days I find it {x}",
            ),
            POSITIVE,
            45,
            m=MIDDLING,
            n=NEGATIVE,
        ),
        ("positive",),
        "the label follows the present",
    )
    mft(
        "used to X, now Y (Y negative)",
        "temporal",
        _fill(
            (
                "I used to think the {noun} was {m}, now I think it is {x}",
                "the {noun} used to be {p}, but now it is {x}",
                "I used to find the {noun} {p}, these days I find it {x}",
            ),
            NEGATIVE,
            45,
            m=MIDDLING,
            p=POSITIVE,
        ),
        ("negative",),
        "the label follows the present",
    )
    # vocabulary
    frames = ("the {noun} was {x}.", "what {a} {x} {noun}", "{brand} the {noun} today was {x}")
    mft("positive words", "vocabulary", _fill(frames, POSITIVE, 45, brand=BRANDS), ("positive",), "")
    mft("negative words", "vocabulary", _fill(frames, NEGATIVE, 45, brand=BRANDS), ("negative",), "")
    mft(
        "neutral words",
        "vocabulary",
        _fill(
            ("the {noun} is {x}.", "{brand} is the {noun} {x}?", "this is {a} {x} {noun}"), NEUTRAL, 45, brand=BRANDS
        ),
        ("neutral",),
        "",
    )
    # intensity
    for name, adverbs, direction in (("intensifier", INTENSIFIERS, "not_down"), ("reducer", REDUCERS, "not_up")):
        effect = "an intensifier does not lower" if name == "intensifier" else "a reducer does not raise"
        for polarity, words in (("positive", POSITIVE), ("negative", NEGATIVE)):
            cases = []
            for i, (word, adverb) in enumerate(zip(words, itertools.cycle(adverbs))):
                for j, frame in enumerate(("the {noun} was {x}.", "I found the {noun} {x}")):
                    noun = NOUNS[(i + j) % len(NOUNS)]
                    cases.append(
                        (
                            _capital(frame.format(noun=noun, x=word)),
                            _capital(frame.format(noun=noun, x=f"{adverb} {word}")),
                        )
                    )
            tests.append(
                BehaviourTest(
                    f"{name}, {polarity}",
                    "intensity",
                    "sentiment",
                    "dir",
                    tuple(cases),
                    (polarity,),
                    direction,
                    tolerance=0.02,
                    description=f"{effect} the probability of {polarity}",
                )
            )
    return tests


def identity_cases(group: str, frames: Sequence[str], limit: int = 40) -> tuple[tuple[str, ...], ...]:
    """Invariance cases of one identity group: each frame filled with every word of the group."""
    words = IDENTITY_GROUPS[group]
    cases = []
    for i, frame in enumerate(frames):
        slots = {"brand": BRANDS[i % len(BRANDS)], "city": CITIES[i % len(CITIES)]}
        cases.append(tuple(_capital(frame.format(x=w, X=_capital(w), **slots)) for w in words))
    return _spread(cases, limit)


def _fairness_tests(head: str) -> list[BehaviourTest]:
    tests = []
    for group in IDENTITY_GROUPS:
        for context, frames in (("neutral", NEUTRAL_IDENTITY_FRAMES), ("brand", BRAND_IDENTITY_FRAMES)):
            tests.append(
                BehaviourTest(
                    f"identity: {group}, {context} context",
                    "fairness",
                    head,
                    "inv",
                    identity_cases(group, frames),
                    group=group,
                    description=f"swapping one {group} word must not change the {head} label",
                )
            )
    return tests


# -- intent tests ---------------------------------------------------------------------------------------------
def _intent_tests() -> list[BehaviourTest]:
    tests: list[BehaviourTest] = []

    def mft(name: str, capability: str, cases: Sequence[tuple[str, ...]], expect: tuple[str, ...], desc: str) -> None:
        tests.append(BehaviourTest(name, capability, "intent", "mft", tuple(cases), expect, description=desc))

    problems = (
        "issue with my order", "problem with the app", "delay on my flight", "complaint about the delivery",
        "hiccup with the booking", "glitch with my payment",
    )  # fmt: skip
    mft(
        "negated problem is not a complaint",
        "negation",
        _fill(
            (
                "{brand} not a single {x}, thanks!",
                "{brand} never had a {x}, great job",
                "{brand} no {x} at all this time, well done",
            ),
            problems,
            18,
            brand=BRANDS,
        ),
        ("praise", "other"),
        "",
    )
    mft(
        "negated positive is a complaint",
        "negation",
        _fill(
            (
                "{brand} the {noun} was not {x} today, nobody has helped me yet",
                "{brand} your {noun} is not {x} anymore, still waiting for my refund",
            ),
            ("good", "great", "acceptable", "working", "fast"),
            10,
            brand=BRANDS,
        ),
        ("complaint",),
        "",
    )
    mft(
        "X, but Y: praise then a problem",
        "contrast",
        _fill(
            (
                "{brand} the {noun} was {x}, but my bag never arrived and nobody answers",
                "{brand} {x} {noun} as usual, but I was charged twice and still no refund",
            ),
            POSITIVE[:9],
            18,
            brand=BRANDS,
        ),
        ("complaint",),
        "",
    )
    mft(
        "used to X, now a problem",
        "temporal",
        _fill(
            (
                "{brand} I used to think your {noun} was {x}, now it fails every single day",
                "{brand} your {noun} used to be {x}, now it takes a week to get a reply",
            ),
            POSITIVE[:9],
            18,
            brand=BRANDS,
        ),
        ("complaint",),
        "",
    )
    return tests


def build_suite() -> list[BehaviourTest]:
    """Every test of the suite, in a fixed order."""
    return _sentiment_tests() + _fairness_tests("sentiment") + _intent_tests() + _fairness_tests("intent")


# -- running --------------------------------------------------------------------------------------------------
def _check(test: BehaviourTest, labels: dict[str, str], proba: dict[str, dict[str, float]]) -> TestResult:
    failures, examples = 0, list[dict[str, Any]]()
    for case in test.cases:
        if test.kind == "mft":
            failed = labels[case[0]] not in test.expect
            shown: dict[str, Any] = {"text": case[0], "label": labels[case[0]], "expected": list(test.expect)}
        elif test.kind == "inv":
            found = {labels[t] for t in case}
            failed = len(found) > 1
            shown = {"texts": {t: labels[t] for t in case if labels[t] != labels[case[0]]} | {case[0]: labels[case[0]]}}
        else:
            base, changed = case
            watched = labels[base] if test.expect[0] == "top" else test.expect[0]
            before, after = proba[base].get(watched, 0.0), proba[changed].get(watched, 0.0)
            delta = after - before
            failed = delta < -test.tolerance if test.direction == "not_down" else delta > test.tolerance
            shown = {
                "base": base,
                "changed": changed,
                "label": watched,
                "before": round(before, 3),
                "after": round(after, 3),
            }
        if failed:
            failures += 1
            if len(examples) < 3:
                examples.append(shown)
    return TestResult(test, failures, len(test.cases), examples)


def run_suite(predictor: Any, tests: Sequence[BehaviourTest] | None = None) -> list[TestResult]:
    """Run ``tests`` (default: :func:`build_suite`) on a :class:`~pipeline.models.predict.Predictor` (or
    anything with its
    ``predict_proba`` and ``labels_from_proba``). Heads the bundle lacks, and tests whose expected labels are not in
    the head's label set (a bundle with its own labels), are skipped."""
    tests = list(build_suite() if tests is None else tests)
    texts = sorted({t for test in tests for t in test.texts()})
    _, probabilities = predictor.predict_proba(texts)
    results = []
    for head in HEADS:
        if head not in probabilities:
            continue
        classes = list(predictor.classifiers[head].classes_)
        decided = predictor.labels_from_proba(head, probabilities[head])
        labels = dict(zip(texts, decided))
        proba = {t: dict(zip(classes, row)) for t, row in zip(texts, np.asarray(probabilities[head]).tolist())}
        for test in tests:
            if test.head != head:
                continue
            if test.kind == "mft" and not set(test.expect) <= set(classes):
                continue
            if test.kind == "dir" and test.expect[0] != "top" and test.expect[0] not in classes:
                continue
            results.append(_check(test, labels, proba))
    return results


def summarise(results: Sequence[TestResult]) -> dict[str, Any]:
    """Failure rates per head: per capability (mean over its tests), per test, per identity group, and the mean
    over all tests; rounded, ready for JSON and the model card."""
    out: dict[str, Any] = {}
    for head in HEADS:
        mine = [r for r in results if r.test.head == head]
        if not mine:
            continue
        capabilities: dict[str, float] = {}
        for capability in CAPABILITIES:
            rates = [r.rate for r in mine if r.test.capability == capability]
            if rates:
                capabilities[capability] = round(float(np.mean(rates)), 4)
        groups: dict[str, float] = {}
        for group in IDENTITY_GROUPS:
            rates = [r.rate for r in mine if r.test.group == group]
            if rates:
                groups[group] = round(float(np.mean(rates)), 4)
        out[head] = {
            "mean": round(float(np.mean([r.rate for r in mine])), 4),
            "capabilities": capabilities,
            "fairness_groups": groups,
            "tests": [
                {
                    "name": r.test.name,
                    "capability": r.test.capability,
                    "kind": r.test.kind,
                    "cases": r.cases,
                    "failures": r.failures,
                    "rate": round(r.rate, 4),
                    "examples": r.examples,
                }
                for r in mine
            ],
        }
    return out


def behaviour_summary(predictor: Any) -> dict[str, Any]:
    """:func:`summarise` of the whole suite on ``predictor``."""
    return summarise(run_suite(predictor))


def compact(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without failing examples (what a bundle's metadata keeps)."""
    return {
        head: {**part, "tests": [{k: v for k, v in t.items() if k != "examples"} for t in part["tests"]]}
        for head, part in summary.items()
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """Markdown tables: failure rates per capability and per identity group, one column per head."""
    heads = [h for h in HEADS if h in summary]
    if not heads:
        return "The behaviour suite was not run."
    lines = ["| capability | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for capability in CAPABILITIES:
        cells = [summary[h]["capabilities"].get(capability) for h in heads]
        if any(c is not None for c in cells):
            lines.append(f"| {capability} | " + " | ".join("–" if c is None else f"{c:.1%}" for c in cells) + " |")
    lines.append("| **mean over tests** | " + " | ".join(f"**{summary[h]['mean']:.1%}**" for h in heads) + " |")
    groups = [g for g in IDENTITY_GROUPS if any(g in summary[h]["fairness_groups"] for h in heads)]
    if groups:
        lines += ["", "| identity group (invariance) | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
        for group in groups:
            cells = [summary[h]["fairness_groups"].get(group) for h in heads]
            lines.append(f"| {group} | " + " | ".join("–" if c is None else f"{c:.1%}" for c in cells) + " |")
    return "\n".join(lines)


def format_summary(summary: dict[str, Any], *, tests: bool = True) -> str:
    """A plain-text report: per head, failure rates per capability, per identity group and (``tests``) per test."""
    lines: list[str] = []
    for head, part in summary.items():
        lines.append(f"{head}: mean failure rate over {len(part['tests'])} tests {part['mean']:.1%}")
        for capability, rate in part["capabilities"].items():
            lines.append(f"  {capability:<12} {rate:6.1%}")
        if part["fairness_groups"]:
            shown = ", ".join(f"{g} {r:.0%}" for g, r in part["fairness_groups"].items())
            lines.append(f"  fairness by group: {shown}")
        if tests:
            for t in part["tests"]:
                lines.append(f"    {t['rate']:6.1%}  {t['capability']:<11} {t['name']} ({t['failures']}/{t['cases']})")
    return "\n".join(lines)
