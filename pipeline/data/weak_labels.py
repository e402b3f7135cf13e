"""Weak supervision: spaCy ``Matcher`` labelling functions that give intent labels to unlabelled posts.

``brand-intent`` has only 67 favour-seeking posts, all to airlines. The unlabelled customer posts in the
shared data (twcs: 76+ brands; IBM customer care) hold more, in other industries. Each labelling function
(LF) is a set of token patterns that votes for one intent or abstains; a post gets a label when the LFs
that fire agree after the annotation guideline's priority rule (complaint > favour-seeking > question >
praise), and is dropped when none fires. The result is a training source like any other:
``weak:twcs``, ``weak:ibm-cdp`` or ``weak:twcs+ibm-cdp`` in a config's ``train`` list, optionally with a
per-label cap, ``weak:twcs?cap=300``.

The LFs favour precision over recall (a weak label that is wrong teaches the wrong thing); their coverage
and their agreement with the gold labels of ``brand-intent`` are printed by ``python -m pipeline.data.weak_labels``.
Texts of the shared sets are never written into the repository: weak labels are recomputed from
``../shared/data`` at training time (deterministic: same data, same labels).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.data.datasets import LabelledTexts, concat, load_registered_dataset
from pipeline.text.patterns import HTTP_URL, MENTION_HANDLE
from pipeline.text.spacy_import import import_spacy

PRIORITY = ("complaint", "favour-seeking", "question", "praise")
DEFAULT_CAP = 400

_ASK = ("can", "could", "may", "will", "would", "pls", "please", "plz", "give", "send", "want", "need", "any")


def _in(*words: str) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


def _maybe(*words: str) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}, "OP": "?"}


_GAP: dict[str, Any] = {"OP": "*", "IS_PUNCT": False}  # any words within the same clause
_QMARK: dict[str, Any] = {"TEXT": "?"}

# Each LF: label -> list of Matcher patterns. Patterns match lowercased tokens.
LABELLING_FUNCTIONS: dict[str, dict[str, list[list[dict[str, Any]]]]] = {
    "favour_free_stuff": {
        "favour-seeking": [
            [_in(*_ASK), _GAP, _in("free", "freebie", "freebies")],
            [_in("promo", "discount", "coupon", "referral", "voucher"), _in("code", "codes")],
            [_in("giveaway", "contest", "sweepstakes")],
            [_in("birthday"), _GAP, _in("treat", "gift", "free", "present")],
        ]
    },
    "favour_attention": {
        "favour-seeking": [
            [_in("follow", "followback"), _maybe("me", "us"), _in("back"), _in("pls", "please", "plz", "!")],
            [_in("notice", "rt", "retweet"), _in("me", "this", "pls", "please", "plz")],
            [_in("give", "gimme"), _maybe("me", "us"), _maybe("a"), _in("shoutout")],
            [_in("give", "gimme"), _in("me", "us"), _maybe("a"), _in("shout"), _in("out")],
            [_in("sponsor", "sponsorship", "collab", "collaboration", "internship")],
            [_in("hire"), _in("me")],
        ]
    },
    "favour_upgrade_ask": {
        "favour-seeking": [[_in(*_ASK), _GAP, _in("upgrade", "upgrades"), _GAP, _QMARK]],
    },
    "complaint_problem": {
        "complaint": [
            [
                _in("still", "never"),
                _in("waiting", "arrived", "received", "got", "came", "working", "fixed", "delivered", "heard"),
            ],
            [
                _in(
                    "worst", "terrible", "horrible", "awful", "useless", "ridiculous", "unacceptable", "disgusting",
                    "pathetic", "rude", "scam", "disappointed", "disappointing", "frustrating", "frustrated",
                )
            ],
            [
                _in("not", "n't", "isnt", "doesnt", "wont", "cant"),
                _in("working", "work", "works", "load", "loading", "connect", "happy", "acceptable", "received"),
            ],
            [
                _in(
                    "crashed", "crashing", "crashes", "broken", "outage", "overcharged", "cancelled", "canceled",
                    "delayed", "lost", "missing", "stuck", "refund", "compensation", "error", "delay", "delays",
                    "hold", "disconnected", "disconnects", "sucks", "missed", "stranded", "hung", "worse", "fail",
                    "failed", "wtf", "smh", "unhelpful", "nobody", "again", "late", "hrs", "hours",
                )
            ],
            [_in("love", "loving"), _in("how", "when", "that")],  # sarcasm: "love how you lost my bag"
            [_in("thanks", "thank"), _maybe("you"), _in("for", "again"), _in("nothing", "again", "ruining", "losing")],
        ]
    },
    "question_wh": {
        "question": [
            [
                {"IS_SENT_START": True, **_in(
                    "how", "what", "when", "where", "which", "who", "can", "could", "do", "does", "is", "are",
                    "will", "would", "should",
                )},
                {"OP": "*"},
                _QMARK,
            ],
            [_in("how", "where", "when"), _in("do", "can", "does", "should"), _in("i", "we", "you")],
        ]
    },
    "praise_thanks": {
        "praise": [
            [
                _in("thanks", "thank", "thx", "ty", "cheers"),
                _GAP,
                _in("help", "helping", "quick", "great", "amazing", "awesome", "fast", "sorting", "resolving",
                    "fixing", "support"),
            ],
            [_in("love", "loving", "best", "awesome", "amazing", "excellent", "brilliant", "fantastic", "superb")],
            [_in("great"), _in("job", "service", "work", "experience", "support", "team")],
        ]
    },
}  # fmt: skip


@lru_cache(maxsize=1)
def _matcher() -> tuple[Any, Any]:
    spacy = import_spacy()
    from spacy.matcher import Matcher

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    matcher = Matcher(nlp.vocab)
    for lf_name, votes in LABELLING_FUNCTIONS.items():
        for label, patterns in votes.items():
            matcher.add(f"{lf_name}|{label}", patterns)
    return nlp, matcher


def lf_votes(texts: Sequence[str]) -> list[dict[str, set[str]]]:
    """For each text, the labels voted for and by which LFs: ``{label: {lf, ...}}``."""
    nlp, matcher = _matcher()
    cleaned = [HTTP_URL.sub(" ", MENTION_HANDLE.sub(" ", t)) for t in texts]
    result: list[dict[str, set[str]]] = []
    for doc in nlp.pipe(cleaned, batch_size=256):
        votes: dict[str, set[str]] = {}
        for match_id, _, _ in matcher(doc):
            lf_name, label = nlp.vocab.strings[match_id].split("|")
            votes.setdefault(label, set()).add(lf_name)
        result.append(votes)
    return result


def weak_label(votes: dict[str, set[str]]) -> str | None:
    """The label by the guideline's priority rule; None when no LF fired.

    Praise with a question or complaint vote is not praise (it is the higher label); a question with a
    complaint vote is a complaint (rhetorical or problem + help request), as the guidelines say.
    """
    for label in PRIORITY:
        if label in votes:
            return label
    return None


def load_weak_labels(name: str, parts: Sequence[LabelledTexts], cap: int = DEFAULT_CAP) -> LabelledTexts:
    """Weakly labelled intent of the posts of unlabelled datasets, at most ``cap`` per label, in a fixed order
    (the source ``weak:DATASET[+DATASET...][?cap=N]``, read by :func:`pipeline.data.sources.parse_weak_source`)."""
    data = concat(*parts, name=name)
    labels = [weak_label(v) for v in lf_votes(data.texts)]
    counts: Counter[str] = Counter()
    keep = []
    seen: set[str] = set()
    for i, label in enumerate(labels):
        key = " ".join(data.texts[i].lower().split())
        if label is None or counts[label] >= cap or key in seen:
            continue
        seen.add(key)
        counts[label] += 1
        keep.append(i)
    subset = data.subset(keep, name=name)
    return LabelledTexts(
        name=name,
        texts=subset.texts,
        labels=[str(labels[i]) for i in keep],
        ids=subset.ids,
        groups=subset.groups,
        files=subset.files,
    )


def lf_report(data_dir: Path) -> dict[str, Any]:
    """Coverage and accuracy of each LF and of the aggregated label on ``brand-intent`` (gold labels)."""
    gold = load_registered_dataset("brand-intent", data_dir)
    votes = lf_votes(gold.texts)
    per_lf: dict[str, dict[str, Any]] = {}
    for v, label in zip(votes, gold.labels):
        for voted, lfs in v.items():
            for lf in lfs:
                entry = per_lf.setdefault(f"{lf}->{voted}", {"fired": 0, "correct": 0})
                entry["fired"] += 1
                entry["correct"] += int(voted == label)
    aggregated = [weak_label(v) for v in votes]
    fired = [(a, g) for a, g in zip(aggregated, gold.labels) if a is not None]
    by_label: dict[str, dict[str, float]] = {}
    for label in PRIORITY:
        predicted = [g for a, g in fired if a == label]
        if predicted:
            by_label[label] = {"n": len(predicted), "precision": round(predicted.count(label) / len(predicted), 3)}
    for entry in per_lf.values():
        entry["precision"] = round(entry["correct"] / entry["fired"], 3)
    return {
        "rows": len(gold),
        "coverage": round(len(fired) / len(gold), 3),
        "accuracy_where_fired": round(sum(a == g for a, g in fired) / max(1, len(fired)), 3),
        "aggregated_by_label": by_label,
        "lfs": dict(sorted(per_lf.items())),
    }


if __name__ == "__main__":  # python -m pipeline.data.weak_labels [DATA_DIR]
    import json
    import sys

    from pipeline.data.datasets import default_shared_data_dir

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_shared_data_dir()
    if root is None:
        raise SystemExit("error: pass the shared data folder")
    print(json.dumps(lf_report(root), indent=2))
    for dataset in ("twcs", "ibm-cdp"):
        weak = load_weak_labels(f"weak:{dataset}", [load_registered_dataset(dataset, root)])
        print(weak.name, weak.label_counts())
