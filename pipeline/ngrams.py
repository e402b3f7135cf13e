"""Word and character n-grams of normalised text (pure Python: shared by the featuriser and the cold-start path)."""

from __future__ import annotations


def word_ngrams(text: str, n_min: int, n_max: int) -> list[str]:
    """Word n-grams of already-normalised text (tokens separated by single spaces)."""
    tokens = text.split()
    grams = list(tokens) if n_min <= 1 else []
    for n in range(max(n_min, 2), n_max + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(text: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams inside word boundaries (each token padded with one space each side)."""
    grams: list[str] = []
    for token in text.split():
        padded = f" {token} "
        length = len(padded)
        for n in range(n_min, n_max + 1):
            if n > length:
                break
            grams.extend(padded[i : i + n] for i in range(length - n + 1))
    return grams
