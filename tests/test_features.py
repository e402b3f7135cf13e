from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.models.features import NgramFeaturiser, char_ngrams, word_ngrams

TEXTS = [
    "my bag never arrived",
    "xxuser thanks for the help !",
    "bag bag bag lost",
    "do you fly to lima ?",
    "🙂 great",
    "the bag arrived late",
]


def test_ngram_helpers() -> None:
    assert word_ngrams("a b c", 1, 2) == ["a", "b", "c", "a b", "b c"]
    assert char_ngrams("ab", 2, 3) == [" a", "ab", "b ", " ab", "ab "]


def test_transform_matches_scikit_learn() -> None:
    featuriser = NgramFeaturiser(word_ngrams=(1, 2), char_ngrams=(2, 4), min_df=1).fit(TEXTS)
    ours = featuriser.transform(TEXTS + ["unseen words only zzz"]).toarray()
    word = TfidfVectorizer(analyzer=lambda t: word_ngrams(t, 1, 2), sublinear_tf=True, lowercase=False)
    char = TfidfVectorizer(analyzer=lambda t: char_ngrams(t, 2, 4), sublinear_tf=True, lowercase=False)
    word.fit(TEXTS)
    char.fit(TEXTS)
    probe = [*TEXTS, "unseen words only zzz"]
    reference = np.hstack([word.transform(probe).toarray(), char.transform(probe).toarray()])
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_state_round_trip() -> None:
    featuriser = NgramFeaturiser(min_df=1).fit(TEXTS)
    vocabularies, arrays = featuriser.get_state()
    rebuilt = NgramFeaturiser.from_state(featuriser.get_params(), vocabularies, arrays)
    assert (featuriser.transform(TEXTS) != rebuilt.transform(TEXTS)).nnz == 0


def test_empty_text_gives_zero_row() -> None:
    featuriser = NgramFeaturiser(min_df=1).fit(TEXTS)
    assert featuriser.transform([""]).nnz == 0
