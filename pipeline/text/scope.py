"""Negation and discourse scope, marked on normalised tokens before the features of the linear models.

A bag of n-grams sees ``awful`` in "not awful" as it sees it in "awful", and ``terrible`` in "some say it was
terrible, but I loved it" as in "it was terrible". Rules mark the tokens whose meaning is turned or set aside by
their context, so that they become features of their own (learnt from the training data like any other):

- **negated** (prefix ``¬``): the tokens after a negation cue (``not``, ``n't``, ``no``, ``never``, ``without``...)
  up to the end of the clause (punctuation or a conjunction), at most :data:`MAX_SCOPE` tokens; after a
  negated opinion verb ("I don't think", "I would never say") up to the end of the sentence, commas included;
  a clause denied by an elliptical answer ("I thought it would be awful, but it wasn't"); a question the writer
  answers no ("Was the crew friendly? No.");
- **set aside** (prefix ``¤``): the clause before ``but`` or ``however`` and the clause after ``although``,
  ``though`` or ``even though`` ("X, but Y": the label follows Y); what someone "used to" think or be, when the
  post says what is true "now".

A question the writer answers yes loses its question mark ("Was it great? Yes." reads as an assertion).

:func:`mark_scope` works on a normalised text (tokens separated by single spaces) and keeps one output token per
input token, except that the question mark of a question answered yes is dropped. The markers are single
characters the normaliser never writes at the start of a token in practice; :func:`split_mark` reads them back
for the character n-grams (each n-gram of a marked token carries its marker, so "¬awful" shares none with
"awful") and for the static embeddings (a block per marker).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

NEGATED = "¬"
SET_ASIDE = "¤"
MARKS = (NEGATED, SET_ASIDE)
MAX_SCOPE = 6

NEGATION_CUES = frozenset(
    {"not", "n't", "nt", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "nowhere", "cannot"}
)
# A negated opinion verb negates what follows to the end of the sentence ("I don't think, after all, that ...").
OPINION_VERBS = frozenset(
    {"think", "believe", "say", "feel", "find", "found", "thought", "consider", "call", "expect", "agree", "guess"}
)
SENTENCE_END = frozenset({".", "!", "?", ";", "..", "...", "…"})
CLAUSE_CONJUNCTIONS = frozenset(
    {"but", "and", "or", "because", "cause", "cuz", "so", "however", "although", "though", "while", "whereas",
     "yet", "unless", "except", "then", "until"}
)  # fmt: skip
CONTRAST_BEFORE = frozenset({"but", "however"})  # "X, but Y": X is set aside
CONTRAST_AFTER = frozenset({"although", "though", "despite"})  # "although X, Y": X is set aside
PRESENT = frozenset({"now", "nowadays", "anymore", "today"})
# Elliptical denials: "..., but it wasn't", "but it was not at all".
_ELLIPSIS_WORDS = frozenset(
    {"it", "that", "this", "they", "he", "she", "i", "we", "you", "was", "is", "were", "are", "did", "do", "does",
     "has", "have", "had", "would", "will", "could", "should", "ca", "wo", "can", "really", "at", "all", "even",
     "close", "actually", "in", "the", "end", "after", "honestly", "sadly", "unfortunately", "though", "one", "bit",
     "nope", "no", "and", "but", "turns", "out", "of", "course", "well"}
)  # fmt: skip
# Where an elliptical denial may start inside a sentence.
_ELLIPSIS_SPLIT = frozenset({",", "but", "and", "however", "-", "—"})
_NO_ANSWERS = frozenset(
    {("no",), ("nope",), ("nah",), ("not", "really"), ("not", "at", "all"), ("no", "way"), ("of", "course", "not"),
     ("definitely", "not"), ("absolutely", "not"), ("hell", "no"), ("certainly", "not")}
)  # fmt: skip
_YES_ANSWERS = frozenset(
    {("yes",), ("yep",), ("yeah",), ("yup",), ("absolutely",), ("definitely",), ("of", "course"), ("sure",),
     ("certainly",), ("hell", "yes"), ("indeed",)}
)  # fmt: skip

# What a post needs before any rule below can mark one of its tokens (:func:`needs_marking`): a negation cue or a
# contrast word; a question mark and a word that can start an answer; "used" and a word for now. Each token's part
# of this is a bit (:func:`trigger_bits`), so that a batch scorer can find the posts to mark with array operations.
CUE, QUESTION, ANSWER, USED, NOW = 1, 2, 4, 8, 16
_CONTRAST = CONTRAST_BEFORE | CONTRAST_AFTER
_CUES = NEGATION_CUES | _CONTRAST
_ANSWER_STARTS = frozenset(answer[0] for answer in _NO_ANSWERS | _YES_ANSWERS)
_PUNCTUATION: dict[str, bool] = {}  # token -> is_punctuation(token), bounded


def trigger_bits(token: str) -> int:
    """The bits (``CUE``, ``QUESTION``, ``ANSWER``, ``USED``, ``NOW``) that ``token`` contributes to
    :func:`bits_need_marking`."""
    bits = CUE if token in _CUES else 0
    if token == "?":
        bits |= QUESTION
    if token in _ANSWER_STARTS:
        bits |= ANSWER
    if token == "used":
        bits |= USED
    if token in PRESENT:
        bits |= NOW
    return bits


def bits_need_marking(bits: int) -> bool:
    """Whether a post whose tokens' :func:`trigger_bits` OR to ``bits`` may have something to mark."""
    return bool(bits & CUE) or bits & (QUESTION | ANSWER) == QUESTION | ANSWER or bits & (USED | NOW) == USED | NOW


def needs_marking(tokens: Sequence[str]) -> bool:
    """False when :func:`mark_tokens` returns ``tokens`` unchanged for certain: no negation cue or contrast word, no
    question with a word that may answer it, no "used" with a word for now (most posts)."""
    if not _CUES.isdisjoint(tokens):
        return True
    if "?" in tokens and not _ANSWER_STARTS.isdisjoint(tokens):
        return True
    return "used" in tokens and not PRESENT.isdisjoint(tokens)


def is_punctuation(token: str) -> bool:
    """A token with no letter or digit (``,``, ``!``, ``:)``, emoji)."""
    return not any(ch.isalnum() for ch in token)


def _punctuation_flags(tokens: Sequence[str]) -> list[bool]:
    """:func:`is_punctuation` of each token, memoised per distinct token."""
    cache = _PUNCTUATION
    flags: list[bool | None] = list(map(cache.get, tokens))
    if None in flags:
        for j, flag in enumerate(flags):
            if flag is None:
                token = tokens[j]
                flags[j] = flag = is_punctuation(token)
                if len(cache) < 100_000:
                    cache[token] = flag
    return flags  # type: ignore[return-value]  # every None was filled


def split_mark(token: str) -> tuple[str, str]:
    """``(marker, bare token)``: the scope marker of a marked token ("" if none) and the token without it."""
    if len(token) > 1 and token[0] in MARKS:
        return token[0], token[1:]
    return "", token


def _sentences(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` spans of sentences; the sentence-final punctuation belongs to its sentence."""
    spans, start, n = [], 0, len(tokens)
    for i in [i for i, token in enumerate(tokens) if token in SENTENCE_END]:
        if i + 1 == n or tokens[i + 1] not in SENTENCE_END:
            spans.append((start, i + 1))
            start = i + 1
    if start < n:
        spans.append((start, n))
    return spans


def _answer(tokens: Sequence[str], punct: Sequence[bool], start: int) -> tuple[str, int]:
    """``("no" | "yes" | "", end)``: whether the tokens from ``start`` to the next sentence end (or the post's end) are
    a bare yes or no answer, optionally followed by an elliptical clause ("No, it wasn't.")."""
    end = start
    while end < len(tokens) and tokens[end] not in SENTENCE_END:
        end += 1
    words = [tokens[j] for j in range(start, end) if not punct[j]]
    for size in (3, 2, 1):
        head = tuple(words[:size])
        rest = words[size:]
        if len(head) == size and (not rest or set(rest) <= _ELLIPSIS_WORDS | NEGATION_CUES):
            if head in _NO_ANSWERS:
                return "no", end
            if head in _YES_ANSWERS and not (set(rest) & NEGATION_CUES):
                return "yes", end
    return "", end


def _is_ellipsis(words: Sequence[str]) -> bool:
    """A clause that denies without content: "it wasn't", "it was not at all", "they didn't"."""
    return (
        0 < len(words) <= 6 and any(w in NEGATION_CUES for w in words) and set(words) <= _ELLIPSIS_WORDS | NEGATION_CUES
    )


def mark_tokens(tokens: Sequence[str]) -> list[str]:
    """``tokens`` with negated and set-aside tokens marked (module docstring); the question mark of a question
    answered yes is dropped."""
    if not needs_marking(tokens):  # most posts: nothing to mark
        return list(tokens)
    marked, drop = scope_marks(tokens)
    out = list(tokens)
    for j, mark in marked:
        out[j] = mark + out[j]
    return [out[j] for j in range(len(out)) if j not in drop] if drop else out


def scope_marks(tokens: Sequence[str], punct: Sequence[bool] | None = None) -> tuple[list[tuple[int, str]], set[int]]:
    """What :func:`mark_tokens` does to ``tokens``: the positions it marks with their marker, in order, and the
    positions it drops. ``punct``: :func:`is_punctuation` of each token, when the caller has it.

    Each rule runs only where the words it needs are: an elliptical denial holds a negation cue, a set-aside clause
    follows or precedes a contrast word, an answered question ends in a question mark, "used to" starts with
    "used"."""
    n = len(tokens)
    marks = [""] * n
    drop: set[int] = set()
    if punct is None:
        punct = _punctuation_flags(tokens)
    cues = [i for i, token in enumerate(tokens) if token in NEGATION_CUES]
    # 1. negation cues, clause by clause (a cue inside the scope of an earlier one opens none)
    i = 0
    for c in cues:
        if c < i:
            continue
        raising = (c + 1 < n and tokens[c + 1] in OPINION_VERBS) or (c + 2 < n and tokens[c + 2] in OPINION_VERBS)
        j, taken = c + 1, 0
        while j < n:
            t = tokens[j]
            if t in SENTENCE_END or (not raising and (punct[j] or t in CLAUSE_CONJUNCTIONS)):
                break
            if raising and t in CONTRAST_BEFORE:
                break
            if not raising and taken >= MAX_SCOPE:
                break
            if t not in NEGATION_CUES and not punct[j]:
                marks[j] = NEGATED
            taken += 1
            j += 1
        i = j if j > c + 1 else c + 1
    question = "?" in tokens
    contrasts = [j for j, token in enumerate(tokens) if token in _CONTRAST]
    sentences = _sentences(tokens) if question or cues or contrasts else []
    sentence_ends = [end for _, end in sentences]
    # 2. questions the writer answers: "Was it good? No." negates the question, "? Yes." asserts it
    for k, (start, end) in enumerate(sentences if question else ()):
        if tokens[end - 1] != "?" or k + 1 == len(sentences):
            continue
        answer, _ = _answer(tokens, punct, end)
        if answer == "no":
            for j in range(start, end - 1):
                if not punct[j] and tokens[j] not in NEGATION_CUES:
                    marks[j] = "" if marks[j] == NEGATED else NEGATED
        elif answer == "yes":
            drop.add(end - 1)
    # 3. elliptical denials: "I thought it would be awful, but it wasn't" / "... awful. It wasn't." deny what
    # comes before them in the sentence, or the sentence before; an ellipsis holds a negation cue, so only the
    # sentences with one are read
    denied: set[int] = set()
    for k in sorted({bisect_right(sentence_ends, c) for c in cues}):
        start, end = sentences[k]
        words = [tokens[j] for j in range(start, end) if not punct[j]]
        if k > 0 and _is_ellipsis(words):
            if tokens[sentences[k - 1][1] - 1] == "?":  # an answer to a question: step 2 took it
                continue
            target = range(*sentences[k - 1])
        else:
            cut = max((j for j in range(start + 1, end) if tokens[j] in _ELLIPSIS_SPLIT), default=None)
            if cut is None or not _is_ellipsis([tokens[j] for j in range(cut + 1, end) if not punct[j]]):
                continue
            target = range(start, cut)
            denied.add(k)
        for m in target:
            if not punct[m] and tokens[m] not in NEGATION_CUES and tokens[m] not in _ELLIPSIS_SPLIT:
                marks[m] = "" if marks[m] == NEGATED else NEGATED
    # 4. contrast and "used to ... now", sentence by sentence ("used to" may reach into the next sentence)
    for j in contrasts:
        k = bisect_right(sentence_ends, j)
        if k in denied:
            continue
        start, end = sentences[k]
        if tokens[j] in CONTRAST_BEFORE:
            if j > start and (j + 1 == end or tokens[j + 1] != "also") and not all(punct[j + 1 : end]):
                for m in range(start, j):  # a clause follows: the one before is set aside
                    if not punct[m]:
                        marks[m] = SET_ASIDE
        elif j == start or punct[j - 1]:
            comma = next((m for m in range(j + 1, end) if tokens[m] == ","), None)
            if comma is not None and not all(punct[comma + 1 : end]):
                for m in range(j + 1, comma):
                    marks[m] = SET_ASIDE
    for j in [j for j, token in enumerate(tokens) if token == "used"] if "used" in tokens else ():
        if j + 1 < n and tokens[j + 1] == "to":
            now = next((m for m in range(j + 2, n) if tokens[m] in PRESENT), None)
            if now is not None and tokens[now] != "anymore":
                for m in range(j, now):
                    if not punct[m] and tokens[m] != "but":
                        marks[m] = SET_ASIDE
    # Markers of the normaliser and of identity groups (xxuser, xxhashtag, xxreligion) stay as they are.
    return [(j, mark) for j, mark in enumerate(marks) if mark and not tokens[j].startswith("xx")], drop


def mark_scope(text: str) -> str:
    """A normalised text with its scopes marked (:func:`mark_tokens`)."""
    return " ".join(mark_tokens(text.split()))
