"""Language tags as subtitle files and streams write them, to ISO 639-1 codes.

File names use two-letter codes (`film.fa.srt`), sometimes with a region (`film.pt-BR.srt`),
three-letter ones (`film.per.srt`) or names (`film.Persian.srt`); Matroska and MP4 streams use
ISO 639-2 (`per`/`fas`, `eng`, `und`).
"""

from __future__ import annotations

import re

from vidsearch.text.language import UNDETERMINED

_ISO_639_2 = {
    "eng": "en", "per": "fa", "fas": "fa", "ara": "ar", "urd": "ur", "fre": "fr", "fra": "fr",
    "ger": "de", "deu": "de", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "tur": "tr",
    "jpn": "ja", "chi": "zh", "zho": "zh", "kor": "ko", "heb": "he", "hin": "hi", "dut": "nl",
    "nld": "nl", "swe": "sv", "pol": "pl", "gre": "el", "ell": "el", "ukr": "uk", "kur": "ku",
    "pus": "ps", "tgk": "tg", "aze": "az", "arm": "hy", "hye": "hy", "geo": "ka", "kat": "ka",
}  # fmt: skip
_NAMES = {
    "english": "en", "persian": "fa", "farsi": "fa", "arabic": "ar", "urdu": "ur",
    "french": "fr", "german": "de", "spanish": "es", "italian": "it", "portuguese": "pt",
    "russian": "ru", "turkish": "tr", "japanese": "ja", "chinese": "zh", "korean": "ko",
    "hebrew": "he", "hindi": "hi", "dutch": "nl",
}  # fmt: skip
_TWO_LETTER = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]{2,4})?$")


def language_code(tag: str | None) -> str | None:
    """The ISO 639-1 code a tag names, or None when it names no language (`forced`, `und`)."""
    if not tag:
        return None
    tag = tag.strip().lower()
    match = _TWO_LETTER.match(tag)
    if match:
        return match.group(1)
    return _ISO_639_2.get(tag) or _NAMES.get(tag)


def track_language(tag: str | None) -> str:
    """`language_code`, or "und" (each cue then gets the language of its script)."""
    return language_code(tag) or UNDETERMINED
