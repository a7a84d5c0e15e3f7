"""Subtitle cues as vidsearch keeps them: plain text, a start and an end, a language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# A cue whose end is missing or not after its start is given this much time.
MIN_CUE_S = 1.0
# Two cues with the same text this close together (or overlapping) are one line shown twice.
MERGE_GAP_S = 0.25


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle line: what is said (tags removed, lines joined) from `start` to `end`."""

    start: float
    end: float
    text: str
    language: str  # ISO 639-1 code, or "und"


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """The cues of one sidecar file or one subtitle stream, sorted by start."""

    source: str  # file name, or "stream #N" of the video
    language: str  # the track's language ("und" when unknown: each cue has its own)
    cues: tuple[Cue, ...]


def tidy_cues(cues: Iterable[Cue]) -> list[Cue]:
    """Sorted by time, empty ones dropped, impossible times fixed, and a line repeated across
    overlapping or touching cues (rolling captions, split events) merged into one cue.
    Cues with different text keep their own times even where they overlap (two speakers)."""
    ordered = sorted(
        (_fix_times(c) for c in cues if c.text.strip()), key=lambda c: (c.start, c.end)
    )
    merged: list[Cue] = []
    open_by_text: dict[str, int] = {}  # text -> index in `merged` of its latest cue
    for cue in ordered:
        index = open_by_text.get(cue.text)
        if index is not None and cue.start <= merged[index].end + MERGE_GAP_S:
            previous = merged[index]
            merged[index] = replace(previous, end=max(previous.end, cue.end))
            continue
        open_by_text[cue.text] = len(merged)
        merged.append(cue)
    return merged


def _fix_times(cue: Cue) -> Cue:
    start = max(0.0, cue.start)
    end = cue.end if cue.end > start else start + MIN_CUE_S
    return cue if (start, end) == (cue.start, cue.end) else replace(cue, start=start, end=end)
