"""voc-pipeline: intent, sentiment and topics of customer posts to brands, ranked for the quality programme.

Importing the package does no work: heavy modules (spaCy, scikit-learn, pyarrow) load on first use.
"""

__version__ = "0.1.0"

INTENT_LABELS: tuple[str, ...] = ("complaint", "question", "praise", "favour-seeking", "other")
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

__all__ = ["INTENT_LABELS", "SENTIMENT_LABELS", "__version__"]
