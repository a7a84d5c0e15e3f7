"""SubRip, WebVTT and ASS/SSA text to cues (through pysubs2), and the cleaning every cue gets.

Cleaning: ASS override blocks (`{\\i1}`, `{\\an8}`), HTML-like tags (`<i>`, `<font>`,
WebVTT `<v Name>`, `<c.yellow>`, karaoke timestamps `<00:01.500>`) and entities (`&amp;`) go;
`\\N` line breaks and runs of white space become one space. ASS comments and vector drawings
are not dialogue and are dropped, as are cues left with no letter or digit (`♪`).
"""

from __future__ import annotations

import html
import re

from vidsearch.errors import SubtitleError
from vidsearch.subtitles.cues import Cue, tidy_cues
from vidsearch.text.language import UNDETERMINED, detect_language

FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa"}

_ASS_BLOCK = re.compile(r"\{[^}]*\}")
_TAG = re.compile(r"</?[A-Za-z0-9.:_ -][^<>]*>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>")
_ASS_BREAK = re.compile(r"\\[Nnh]")
_SPACES = re.compile(r"\s+")
_VTT_TIMING = re.compile(r"-->")
_VTT_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def clean_text(text: str) -> str:
    """A cue's words as a person reads them (see the module docstring)."""
    text = _ASS_BLOCK.sub("", text)
    text = _ASS_BREAK.sub(" ", text)
    text = html.unescape(_TAG.sub("", text))
    return _SPACES.sub(" ", text).strip()


def has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def cue_language(text: str, track_language: str) -> str:
    """The track's language when known, else the one the cue's script shows."""
    return track_language if track_language != UNDETERMINED else detect_language(text)


def parse_subtitle_text(text: str, format_: str | None, *, language: str) -> list[Cue]:
    """Cues of a whole subtitle file's text; `format_` ("srt", "vtt", "ass", "ssa") or None
    to detect it. SubtitleError when it is no subtitle format or holds no dialogue."""
    import pysubs2

    if format_ == "vtt" or (format_ is None and text.lstrip("\ufeff").startswith("WEBVTT")):
        text, format_ = _plain_vtt(text), "vtt"
    try:
        parsed = pysubs2.SSAFile.from_string(text, format_=format_)
    except pysubs2.exceptions.Pysubs2Error as exc:
        raise SubtitleError(f"not a subtitle file that can be read ({exc})") from None
    except (ValueError, KeyError, IndexError) as exc:  # malformed fields inside a known format
        raise SubtitleError(f"malformed subtitle file ({type(exc).__name__}: {exc})") from None
    cues = []
    for event in parsed:
        if event.is_comment or event.is_drawing:
            continue
        words = clean_text(event.text)
        if has_words(words):
            cues.append(
                Cue(event.start / 1000, event.end / 1000, words, cue_language(words, language))
            )
    if not cues:
        raise SubtitleError("no dialogue in it (no cue with words)")
    return tidy_cues(cues)


def _plain_vtt(text: str) -> str:
    """WebVTT without what pysubs2 would read as dialogue: cue identifiers, NOTE, STYLE and
    REGION blocks, and cue settings after the timing."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        if not lines or lines[0].startswith(_VTT_SKIPPED_BLOCKS):
            continue
        timing = next((i for i, line in enumerate(lines) if _VTT_TIMING.search(line)), None)
        if timing is None:
            if lines[0].startswith("WEBVTT"):
                kept.append("WEBVTT")
            continue
        start, _, end = lines[timing].partition("-->")
        end_time = end.split()[0] if end.split() else ""
        kept.append("\n".join([f"{start.strip()} --> {end_time}", *lines[timing + 1 :]]))
    return "\n\n".join(kept) + "\n"
