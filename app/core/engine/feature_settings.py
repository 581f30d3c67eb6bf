"""The feature settings a bundle may give a block, and their validation (no scikit-learn needed).

Kept apart from the model and from the reference vectorisers so that both, the count-idf-sqrt
map (`app.core.engine.additive`) and training can share the same constants without importing one
another: the model only reads settings, the reference code builds scikit-learn objects from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.common.errors import ModelError

# Settings a bundle may give a vectoriser. Anything else is refused: a bundle is data, and an
# unknown key could mean features this code would not reproduce.
VECTORIZER_KEYS = (
    "analyzer",
    "ngram_range",
    "lowercase",
    "token_pattern",
    "token_pattern_name",
    "sublinear_tf",
    "norm",
    "use_idf",
    "smooth_idf",
    "strip_accents",
)
_ANALYZERS = {"word", "char", "char_wb"}
# Settings of a block with the count-idf-sqrt feature map (app.core.engine.additive). Its
# "weighting" key is unknown to apps older than the map, so they refuse such a bundle instead of
# scoring it with the wrong features.
ADDITIVE_KEYS = (
    "analyzer",
    "ngram_range",
    "lowercase",
    "token_pattern",
    "token_pattern_name",
    "strip_accents",
    "weighting",
)

WEIGHTING = (
    "count-idf-sqrt"  # the "weighting" setting of the additive map (app.core.engine.additive)
)


def check_settings(settings: dict[str, Any], vocabulary: list[str], idf: np.ndarray) -> None:
    """Refuse vectoriser settings this code would not reproduce (no scikit-learn needed)."""
    additive = "weighting" in settings
    if additive and settings["weighting"] != WEIGHTING:
        raise ModelError(f"feature weighting {settings['weighting']!r} is not supported")
    unknown = set(settings) - set(ADDITIVE_KEYS if additive else VECTORIZER_KEYS)
    if unknown:
        raise ModelError(f"vectoriser setting(s) not supported: {sorted(unknown)}")
    if settings.get("analyzer") not in _ANALYZERS:
        raise ModelError(f"vectoriser analyzer {settings.get('analyzer')!r} is not supported")
    if len(set(vocabulary)) != len(vocabulary):
        raise ModelError("vocabulary has duplicate terms")
    if idf.shape != (len(vocabulary),):
        raise ModelError(f"idf has shape {idf.shape}, vocabulary has {len(vocabulary)} terms")
