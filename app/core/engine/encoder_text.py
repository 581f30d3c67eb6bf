"""The text an encoder model (abuse-mini) sees, written once for training and for scoring.

The linear models' normaliser (`app.core.engine.normalize`) maps links and mentions to the
placeholders ``xxurl`` and ``xxuser``. A pretrained WordPiece vocabulary splits those into
meaningless pieces ("xx", "##ur", "##l"), so for the encoder they become words it already
knows ("url", "@user"). Everything else (entities, retweet markers, whitespace) is the same.
"""

from __future__ import annotations

from app.core.engine.normalize import URL_TOKEN, USER_TOKEN, normalize_text

# Tokens per text the encoder reads ([CLS] and [SEP] included); longer texts are truncated.
MAX_TOKENS = 256


def encoder_text(text: str) -> str:
    """`normalize_text`, with the placeholders spelled as words the vocabulary holds."""
    return placeholders_as_words(normalize_text(text))


def placeholders_as_words(normalized: str) -> str:
    """An already normalised text with ``xxurl``/``xxuser`` spelled "url"/"@user"."""
    if URL_TOKEN in normalized or USER_TOKEN in normalized:
        normalized = normalized.replace(URL_TOKEN, "url").replace(USER_TOKEN, "@user")
    return normalized
