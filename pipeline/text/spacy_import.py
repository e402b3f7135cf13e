"""Import spaCy without paying for torch.

spaCy's ML layer (thinc) imports torch eagerly whenever it is installed, which adds about a second to every
``voc`` start once the ``transformer`` or ``topics-embed`` extra is present. The pipeline only uses spaCy's
tokenizer, matchers and stop words, none of which touch torch, so the first spaCy import runs with torch
hidden; torch stays importable afterwards (the transformer backend imports it directly, not via thinc).
"""

from __future__ import annotations

import sys
from types import ModuleType


def import_spacy() -> ModuleType:
    """``import spacy``, with thinc's optional torch import skipped when torch is not loaded yet."""
    loaded = sys.modules.get("spacy")
    if loaded is not None:
        return loaded
    hide_torch = "torch" not in sys.modules
    if hide_torch:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        if hide_torch and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
    return spacy
