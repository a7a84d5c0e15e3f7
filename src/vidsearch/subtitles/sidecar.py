"""Subtitle files next to a video: same stem, an optional language and qualifiers between.

For `film.mkv`: `film.srt`, `film.fa.srt`, `film.en.forced.vtt`, `film.Persian.ass` (any case of
the extension). A name whose middle part is not a language or a known qualifier
(`film.part2.srt`) belongs to another video and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidsearch.subtitles.languages import language_code
from vidsearch.subtitles.parse import FORMATS
from vidsearch.text.language import UNDETERMINED

QUALIFIERS = frozenset({"forced", "sdh", "cc", "hi", "default", "full", "signs", "songs"})
# Larger files are not subtitles (a feature film's SRT is ~100 KB).
MAX_SIDECAR_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sidecar:
    path: Path
    format: str  # "srt", "vtt", "ass" or "ssa"
    language: str  # from the name; "und" when it names none


def find_sidecars(video: Path) -> list[Sidecar]:
    """The subtitle files that belong to `video`, sorted by name."""
    try:
        entries = sorted(video.parent.iterdir())
    except OSError:
        return []
    found = []
    prefix = video.stem + "."
    for entry in entries:
        format_ = FORMATS.get(entry.suffix.lower())
        if format_ is None or not entry.name.startswith(prefix) or entry == video:
            continue
        middle = entry.name[len(prefix) : -len(entry.suffix)]
        tags = [t for t in middle.split(".") if t] if middle else []
        language = _language(tags)
        if language is None or not entry.is_file():
            continue
        found.append(Sidecar(entry, format_, language))
    return found


def _language(tags: list[str]) -> str | None:
    """The language the tags name ("und" for none), or None when a tag is neither a language
    nor a qualifier."""
    language = UNDETERMINED
    for tag in tags:
        lowered = tag.lower()
        if lowered in QUALIFIERS:
            continue
        code = language_code(lowered)
        if code is None:
            return None
        if language == UNDETERMINED:
            language = code
    return language


def sidecar_signature(video: Path) -> str:
    """Names, sizes and modification times of `video`'s sidecars: changes when one is added,
    edited or removed (to index the dialogue of an unchanged video again)."""
    parts = []
    for sidecar in find_sidecars(video):
        try:
            stat = sidecar.path.stat()
        except OSError:
            continue
        parts.append(f"{sidecar.path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)
