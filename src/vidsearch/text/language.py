"""Which language a query is in, from the scripts of its letters: no model, no dictionary.

Script is enough to tell Persian from English. Any Arabic-script letter makes a query Persian
("fa"): a Persian-capable text encoder also reads the English words mixed into it, while an
English one cannot read Persian at all. Otherwise the script with the most letters decides
(Latin -> English); a query without letters (only digits or signs) is undetermined ("und").
Arabic and Urdu also use the Arabic script: pass the language explicitly for those.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

UNDETERMINED = "und"
PERSIAN = "fa"
ENGLISH = "en"

# The first word of a letter's Unicode name is its script.
SCRIPT_LANGUAGES = {
    "ARABIC": PERSIAN,
    "LATIN": ENGLISH,
    "CYRILLIC": "ru",
    "GREEK": "el",
    "HEBREW": "he",
    "ARMENIAN": "hy",
    "GEORGIAN": "ka",
    "DEVANAGARI": "hi",
    "THAI": "th",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
}
LANGUAGE_NAMES = {
    UNDETERMINED: "undetermined",
    PERSIAN: "Persian",
    ENGLISH: "English",
    "ar": "Arabic",
    "ur": "Urdu",
    "ru": "Russian",
    "el": "Greek",
    "he": "Hebrew",
    "hy": "Armenian",
    "ka": "Georgian",
    "hi": "Hindi",
    "th": "Thai",
    "ko": "Korean",
    "ja": "Japanese",
    "zh": "Chinese",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "tr": "Turkish",
}


def letter_scripts(text: str) -> Counter[str]:
    """How many letters of each script `text` has."""
    return Counter(unicodedata.name(ch, "?").split(" ", 1)[0] for ch in text if ch.isalpha())


def detect_language(text: str) -> str:
    """An ISO 639-1 code for `text` (see the module docstring), or "und"."""
    scripts = letter_scripts(unicodedata.normalize("NFKC", text))
    if scripts["ARABIC"]:
        return PERSIAN
    if scripts["HIRAGANA"] or scripts["KATAKANA"]:
        return "ja"  # Japanese mixes kana with Chinese characters
    for script, _ in scripts.most_common():
        if script in SCRIPT_LANGUAGES:
            return SCRIPT_LANGUAGES[script]
    return UNDETERMINED


def language_name(code: str) -> str:
    """ "Persian (fa)" for messages; an unknown code is shown as itself."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code
