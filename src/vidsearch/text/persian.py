"""One spelling for the many ways the same Persian text is typed.

`normalize_persian` is used for queries, training captions and evaluation alike, so that a
phrase typed on an Arabic keyboard, with or without half spaces, with Persian or Arabic-Indic
digits, reaches an encoder as the same string. In order:

1. NFKC: Arabic presentation forms (text copied from PDFs) and full-width or other
   compatibility characters become their plain letters.
2. Letters: Arabic yeh and alef maksura (ي ى) -> Persian yeh (ی); Arabic kaf (ك ڪ) -> Persian
   kaf (ک); teh marbuta (ة) and other heh forms -> ه; hamza-carrying alef and waw (أ إ ٱ ؤ)
   -> ا و; the ezafe written as heh with hamza (ۀ هٔ) -> هی, its other spelling.
3. Diacritics (tashkeel, superscript alef, Quranic marks) and tatweel (ـ) are removed.
4. Digits: Persian (۰-۹) and Arabic-Indic (٠-٩) -> ASCII 0-9, and the Arabic decimal
   separator, thousands separator and percent sign -> . , %
5. Invisible characters (ZWNJ, ZWJ, zero-width space, bidi marks, soft hyphen) are removed,
   whitespace collapses to single spaces.
6. Affixes typed as separate words are joined to their word: the verb prefixes می and نمی,
   the plural ها (های، هایی، هایم ...), the superlative ترین, and after a word ending in ه
   the suffixes ی ای ام ات اش ایم اید اند.

Why joined and not half-spaced: «می‌خواهم», «می خواهم» and «میخواهم» are all common, and only
the joined spelling can be reached from all three without a dictionary (splitting «میخواهم»
would need to know that «میدان» and «میوه» are not verbs). Multilingual BERT tokenizers drop
the ZWNJ anyway. The comparative تر is left alone: as a word it also means "wet".
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ = "\u200c"

_LETTERS = {
    "ي": "ی",  # Arabic yeh
    "ى": "ی",  # alef maksura
    "ك": "ک",  # Arabic kaf
    "ڪ": "ک",  # swash kaf
    "ة": "ه",  # teh marbuta
    "ە": "ه",  # ae
    "ہ": "ه",  # heh goal
    "ۀ": "هی",  # heh with yeh above: the ezafe
    "ۂ": "هی",
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "ؤ": "و",
    "٫": ".",  # Arabic decimal separator
    "٬": ",",  # Arabic thousands separator
    "٪": "%",
}
_DIGITS = {chr(0x06F0 + i): str(i) for i in range(10)} | {
    chr(0x0660 + i): str(i) for i in range(10)
}
_DIACRITICS = [
    *range(0x064B, 0x0660),  # fathatan ... wavy hamza below (incl. hamza above/below)
    0x0670,  # superscript alef
    *range(0x0610, 0x061B),  # honorifics and small high marks
    *range(0x06D6, 0x06DD),
    *range(0x06DF, 0x06E5),
    0x06E7,
    0x06E8,
    *range(0x06EA, 0x06EE),
    0x0640,  # tatweel
]
_INVISIBLE = [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0x00AD, 0x2060, 0xFEFF]
_INVISIBLE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]  # bidi embeddings, isolates
_TABLE = str.maketrans(_LETTERS | _DIGITS | dict.fromkeys(map(chr, _DIACRITICS + _INVISIBLE)))

_EZAFE_HAMZA = re.compile("\u0647\u0654")  # heh + hamza above, before diacritics go
_SPACES = re.compile(r"\s+")
_LETTER = "[\u0621-\u063a\u0641-\u064a\u067e-\u06d5]"  # Persian/Arabic letters
_PREFIX = re.compile(rf"(?<!\w)(ن?می) (?={_LETTER})")
_PLURAL = re.compile(rf"(?<={_LETTER}) (ها(?:یی|یم|یت|یش|یمان|یتان|یشان|ی)?|ترین)(?!\w)")
_AFTER_HEH = re.compile(r"(?<=ه) (ی|ای|ام|ات|اش|ایم|اید|اند)(?!\w)")


def normalize_persian(text: str) -> str:
    """`text` in vidsearch's canonical Persian spelling (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _EZAFE_HAMZA.sub("هی", text).translate(_TABLE)
    text = _SPACES.sub(" ", text).strip()
    text = _PREFIX.sub(r"\1", text)
    text = _PLURAL.sub(r"\1", text)
    return _AFTER_HEH.sub(r"\1", text)
