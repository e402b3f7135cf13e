"""Word and character n-grams of normalised text (pure Python: shared by the featuriser and the cold-start path)."""

from __future__ import annotations

from pipeline.text.scope import split_mark


def word_ngrams(text: str, n_min: int, n_max: int) -> list[str]:
    """Word n-grams of already-normalised text (tokens separated by single spaces)."""
    tokens = text.split()
    grams = list(tokens) if n_min <= 1 else []
    for n in range(max(n_min, 2), n_max + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def token_char_ngrams(token: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams of one token padded with one space each side.

    A token marked by :mod:`pipeline.text.scope` (``¬awful``) gives the n-grams of the bare token, each prefixed by the
    marker: a negated word shares no character n-gram with the word itself.
    """
    mark, bare = split_mark(token)
    padded = f" {bare} "
    length = len(padded)
    grams: list[str] = []
    for n in range(n_min, n_max + 1):
        if n > length:
            break
        grams.extend(padded[i : i + n] for i in range(length - n + 1))
    return [mark + gram for gram in grams] if mark else grams


def char_ngrams(text: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams inside word boundaries (:func:`token_char_ngrams` of each token)."""
    grams: list[str] = []
    for token in text.split():
        grams.extend(token_char_ngrams(token, n_min, n_max))
    return grams
