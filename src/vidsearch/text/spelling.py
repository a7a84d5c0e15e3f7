"""How text is spelled before it is compared: one rule for neural encoders, one for words.

Persian has several spellings of the same word (Arabic or Persian yeh and kaf, diacritics,
zero-width non-joiners); `normalize_persian` makes them one. Encoders get it for Persian and
for text without letters; word matching (BM25, phrases) gets it wherever the script is Persian,
the same rule for a dialogue line and for a query, so both are spelled alike.
"""

from __future__ import annotations

from vidsearch.text.language import PERSIAN, UNDETERMINED, detect_language
from vidsearch.text.persian import normalize_persian


def encoder_spelling(text: str, language: str) -> str:
    """The text a neural encoder is given for `language`: Persian (or undetermined) text
    normalised, anything else as it is."""
    return normalize_persian(text) if language in (PERSIAN, UNDETERMINED) else text


def words_spelling(text: str) -> str:
    """How a dialogue line (or a query) is spelled for word and phrase matching."""
    return normalize_persian(text) if detect_language(text) == PERSIAN else text.strip()
