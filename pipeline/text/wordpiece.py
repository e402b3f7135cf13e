"""BERT's uncased WordPiece tokenisation in pure Python (no numpy), for :mod:`pipeline.models.static_embeddings`.

Kept apart from that module so that the cold-start path (:mod:`pipeline.models.coldstart`) can use it without importing
numpy or scipy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from pipeline.text.identity import PLACEHOLDERS
from pipeline.text.scope import split_mark

# Normaliser markers (pipeline.text.normalise) in the natural forms a pretrained vocabulary knows; token by token,
# so that a post's vector is a sum of per-token vectors.
# Identity placeholders (pipeline.text.identity) have no vector: which group a post names moves no static feature.
_TOKEN_VIEW = {"xxuser": "@user", "xxurl": "http", "xxhashtag": "#", "xxcaps": "", "n't": "not"} | {
    placeholder: "" for placeholder in PLACEHOLDERS
}


def token_view(token: str) -> str:
    """The natural form of one normalised token (markers mapped back; ``n't`` read as ``not``; a scope marker of
    :mod:`pipeline.text.scope` left out)."""
    token = split_mark(token)[1]
    return _TOKEN_VIEW.get(token, token)


# -- WordPiece ------------------------------------------------------------------------------------------------
def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT treats every ASCII non-alphanumeric printable character as punctuation, and Unicode P* categories.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _is_control(char: str) -> bool:
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


class WordPieceTokenizer:
    """BERT's uncased tokenisation: clean, split CJK, lowercase, strip accents, split on whitespace and
    punctuation, then greedy longest-match-first word pieces (``##`` continuations; a word that cannot be
    covered, or longer than ``max_word_chars``, is ``[UNK]``)."""

    def __init__(self, vocab: Sequence[str], *, unk_token: str = "[UNK]", max_word_chars: int = 100) -> None:
        self.vocab = list(vocab)
        self.ids = {piece: i for i, piece in enumerate(self.vocab)}
        if unk_token not in self.ids:
            raise ValueError(f"the vocabulary has no {unk_token!r} piece")
        self.unk_id = self.ids[unk_token]
        self.max_word_chars = max_word_chars

    @classmethod
    def from_lookup(cls, ids: Any, *, unk_token: str = "[UNK]", max_word_chars: int = 100) -> WordPieceTokenizer:
        """A tokenizer over a piece -> id mapping that has ``get`` (e.g. a sorted table searched on demand) rather
        than a vocabulary list; ``vocab`` is then empty."""
        tokenizer = cls.__new__(cls)
        tokenizer.vocab = []
        tokenizer.ids = ids
        unk_id = ids.get(unk_token)
        if unk_id is None:
            raise ValueError(f"the vocabulary has no {unk_token!r} piece")
        tokenizer.unk_id = int(unk_id)
        tokenizer.max_word_chars = max_word_chars
        return tokenizer

    def _basic(self, text: str) -> list[str]:
        chars: list[str] = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD or _is_control(char):
                continue
            if char.isspace():
                chars.append(" ")
            elif _is_cjk(code):
                chars.extend((" ", char, " "))
            else:
                chars.append(char)
        text = unicodedata.normalize("NFD", "".join(chars).lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words: list[str] = []
        for chunk in text.split():
            start = 0
            for i, char in enumerate(chunk):
                if _is_punctuation(char):
                    if i > start:
                        words.append(chunk[start:i])
                    words.append(char)
                    start = i + 1
            if start < len(chunk):
                words.append(chunk[start:])
        return words

    def _pieces(self, word: str) -> list[int]:
        if len(word) > self.max_word_chars:
            return [self.unk_id]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            pieces.append(found)
            start = end
        return pieces

    def encode(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` (no special tokens)."""
        return [i for word in self._basic(text) for i in self._pieces(word)]
