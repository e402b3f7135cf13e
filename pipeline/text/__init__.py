"""Text preparation: the tweet normaliser, first-name swaps, spaCy import."""
