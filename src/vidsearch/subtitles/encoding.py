"""The text of a subtitle file, whatever encoding it was saved in.

Tried in order, each decisive when it applies:
1. a byte-order mark: UTF-8, UTF-16 LE/BE, UTF-32 LE/BE;
2. UTF-16 without a mark: NUL bytes in every other position (ASCII text saved as UTF-16);
3. strict UTF-8 (ASCII is UTF-8);
4. Windows-1256 (Persian, Arabic, Urdu), when the file's language says so or most of its
   high bytes are Arabic-script letters in that code page;
5. charset-normalizer's cleanest guess among legacy code pages (Windows-1252 when it fits as
   well as any other, else -1251, ...); when nothing reads cleanly, SubtitleError ("cannot
   tell the text encoding").
A file with NUL bytes that is not UTF-16/32 is not text at all: SubtitleError as well.
"""

from __future__ import annotations

import codecs
import unicodedata

from vidsearch.errors import SubtitleError

ARABIC_SCRIPT_LANGUAGES = frozenset({"fa", "ar", "ur", "ps", "ku"})
_BOMS = (  # longest first: a UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Share of odd (LE) or even (BE) bytes that must be NUL to call a mark-less file UTF-16.
UTF16_NUL_SHARE = 0.3
# ... and of its characters that must then be printable (binary data has NULs too).
PRINTABLE_SHARE = 0.9
# Share of a file's high bytes that must be Arabic-script letters in Windows-1256.
ARABIC_LETTER_SHARE = 0.6
# charset-normalizer's "chaos" (0 = clean text) above which its guess is not trusted.
MAX_CHAOS = 0.2
PREFERRED_LEGACY = ("cp1252",)


def decode_subtitle_bytes(data: bytes, *, language: str | None = None) -> tuple[str, str]:
    """The text of `data` and the name of the encoding it was read with.

    `language` (from the file's name, e.g. "fa" in `film.fa.srt`) tips legacy 8-bit files
    towards Windows-1256."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], encoding), encoding
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return _decode(data, utf16), utf16
    if b"\x00" in data:
        raise SubtitleError("not a text file (it holds NUL bytes and is not UTF-16)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if language in ARABIC_SCRIPT_LANGUAGES or _looks_like_cp1256(data):
        return _decode(data, "cp1256"), "cp1256"
    return _guess_legacy(data)


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SubtitleError(f"not valid {encoding} text (byte {exc.start}: {exc.reason})") from None


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nul = sum(1 for i in range(0, 2 * pairs, 2) if sample[i] == 0) / pairs
    odd_nul = sum(1 for i in range(1, 2 * pairs, 2) if sample[i] == 0) / pairs
    guess = None
    if odd_nul >= UTF16_NUL_SHARE and even_nul < odd_nul / 4:
        guess = "utf-16-le"
    elif even_nul >= UTF16_NUL_SHARE and odd_nul < even_nul / 4:
        guess = "utf-16-be"
    if guess is None:
        return None
    text = sample[: 2 * pairs].decode(guess, errors="replace")
    readable = sum(ch.isprintable() or ch.isspace() for ch in text)
    return guess if readable >= PRINTABLE_SHARE * len(text) else None


def _looks_like_cp1256(data: bytes) -> bool:
    high = bytes(b for b in data if b >= 0x80)
    if not high:
        return False
    letters = sum(
        1
        for ch in high.decode("cp1256", errors="replace")
        if ch.isalpha() and unicodedata.name(ch, "").startswith("ARABIC")
    )
    return letters / len(high) >= ARABIC_LETTER_SHARE


def _guess_legacy(data: bytes) -> tuple[str, str]:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency of vidsearch
        from_bytes = None
    if from_bytes is not None:
        matches = [m for m in from_bytes(data) if m.chaos <= MAX_CHAOS]
        if matches:
            cleanest = min(m.chaos for m in matches)
            tied = [m for m in matches if m.chaos == cleanest]
            # short texts fit several code pages equally well: Western European first
            best = next((m for m in tied if m.encoding in PREFERRED_LEGACY), tied[0])
            return str(best), best.encoding
    raise SubtitleError(
        "cannot tell the text encoding (not UTF-8, UTF-16 or Windows-1256); "
        "save it as UTF-8 and index the video again"
    )
