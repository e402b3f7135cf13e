"""What a taxonomy gives the topic assigner, and what would make it assign better (``voc topics``).

The assigner reads a topic through its seed phrases first: on the cross-industry topic judge, labels alone
give 0.48 accuracy, labels and descriptions 0.55, and 3-10 written seeds a topic 0.62 (``docs/topics.md``,
"Writing a taxonomy"). :func:`check_taxonomy` says, per topic, which seeds the assigner will use (the written
ones, or the label and description words and the aspect library's seeds that stand in for them) and what in the
file works against it: too few seeds, a seed that several topics share, a label that judges instead of naming an
aspect.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pipeline.topics.assign import JUDGING_WORDS, TopicAssigner


@dataclass(frozen=True)
class TopicCheck:
    """One topic as the assigner will read it."""

    name: str
    label: str
    written_seeds: int
    seeds: tuple[str, ...]  # the phrases the assigner matches: the written seeds, else label and description words
    borrowed_from: tuple[str, ...]  # aspects of the library whose seeds it borrows (pipeline.topics.library)
    borrowed_seeds: tuple[str, ...]  # the seeds in use that come from them
    examples: int
    notes: tuple[str, ...]  # what would make the topic assign better; empty when nothing stands out


def check_taxonomy(assigner: TopicAssigner) -> list[TopicCheck]:
    """Per topic of ``assigner``'s taxonomy, in file order: the seeds in use and advice. No posts are read and
    the assigner need not be fitted."""
    topics = assigner.taxonomy.topics
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for topic in topics:
        for seed in topic.seeds:
            key = assigner.seed_key(seed)
            if key:
                owners[key].add(topic.name)
    checks = []
    for topic in topics:
        notes = []
        borrowed = assigner.borrowed_aspects(topic)
        seeds, own = assigner.seeds_of(topic), set(assigner.seeds_of(topic, borrow=False))
        if len(topic.seeds) < assigner.implicit_seeds_below:
            notes.append(
                f"{len(topic.seeds)} seeds written: label and description words stand in"
                + (", with the aspect library's seeds" if borrowed else "")
                + "; a few phrases customers use for it assign better"
            )
            if not borrowed and assigner.library_seed_weight and assigner.taxonomy.aspect_library:
                notes.append("no aspect of the library matches this label: its own words are all it has")
        shared = sorted(
            {other for seed in topic.seeds for other in owners.get(assigner.seed_key(seed), set())} - {topic.name}
        )
        if shared:
            notes.append(f"shares seeds with {', '.join(shared)}: their evidence is split between them")
        judging = sorted({w.strip(".,;:!?").lower() for w in topic.label.split()} & JUDGING_WORDS)
        if judging:
            notes.append(
                f"label judges ({', '.join(judging)}): name the aspect; intent and sentiment say if it is a problem"
            )
        checks.append(
            TopicCheck(
                name=topic.name,
                label=topic.label,
                written_seeds=len(topic.seeds),
                seeds=tuple(seeds),
                borrowed_from=tuple(m.aspect.name for m in borrowed),
                borrowed_seeds=tuple(s for s in seeds if s not in own),
                examples=len(topic.examples),
                notes=tuple(notes),
            )
        )
    return checks
