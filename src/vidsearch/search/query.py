"""A text query, read once: every branch of a search (frames, dialogue meaning, dialogue words)
takes the same `TextQuery` instead of detecting, normalising and parsing the text again.

Quoted parts ("never come back", «...», “...”) are phrases a dialogue line must contain; the
quote marks themselves are not searched for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vidsearch.errors import QueryError
from vidsearch.text.language import detect_language
from vidsearch.text.spelling import encoder_spelling, words_spelling

MAX_QUERY_CHARS = 1000
_PHRASE = re.compile(r'"([^"]+)"|«([^»]+)»|“([^”]+)”')


@dataclass(frozen=True, slots=True)
class TextQuery:
    """What a sentence asks for, in the forms each branch reads."""

    text: str  # as typed, without surrounding space
    language: str  # ISO 639-1: as given, else detected from the script ("und": no letters)
    plain: str  # the text without its quote marks
    phrases: tuple[str, ...]  # quoted phrases, spelled as dialogue lines are for word matching
    for_encoders: str  # `plain` as a neural text encoder reads it (Persian normalised)
    for_words: str  # `plain` spelled as dialogue lines are for BM25 word matching


def split_phrases(text: str) -> tuple[str, list[str]]:
    """`text` without its quote marks, and its quoted phrases (as typed)."""
    phrases = [next(g for g in m.groups() if g).strip() for m in _PHRASE.finditer(text)]
    plain = _PHRASE.sub(lambda m: next(g for g in m.groups() if g), text)
    return plain.strip(), [p for p in phrases if p]


def read_query(text: str, language: str | None = None) -> TextQuery:
    """The query `text` (in `language`, ISO 639-1, when given), or QueryError saying why it
    cannot be searched."""
    text = text.strip()
    if not text:
        raise QueryError("empty query: type some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(text)} characters, at most {MAX_QUERY_CHARS})")
    language = (language or "").strip().lower() or detect_language(text)
    plain, phrases = split_phrases(text)
    plain = plain or text
    return TextQuery(
        text=text,
        language=language,
        plain=plain,
        phrases=tuple(words_spelling(p) for p in phrases),
        for_encoders=encoder_spelling(plain, language),
        for_words=words_spelling(plain),
    )
