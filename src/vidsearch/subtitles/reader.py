"""Every subtitle track of a video: its sidecar files, then the streams inside it.

Nothing here raises for a bad subtitle: each problem (a broken file, an unknown encoding, a
picture-only stream) becomes one warning naming the file and the reason, and the other tracks
are still read. A cue found twice (the same file muxed in and lying next to the video) is kept
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vidsearch.errors import SubtitleError
from vidsearch.subtitles.cues import Cue, SubtitleTrack
from vidsearch.subtitles.embedded import read_embedded
from vidsearch.subtitles.encoding import decode_subtitle_bytes
from vidsearch.subtitles.parse import parse_subtitle_text
from vidsearch.subtitles.sidecar import MAX_SIDECAR_BYTES, Sidecar, find_sidecars


@dataclass(slots=True)
class SubtitleReport:
    tracks: list[SubtitleTrack] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def cues(self) -> list[Cue]:
        """The cues of every track, each distinct (start, end, text) once, sorted by time."""
        seen: dict[tuple[float, float, str], Cue] = {}
        for track in self.tracks:
            for cue in track.cues:
                seen.setdefault((round(cue.start, 3), round(cue.end, 3), cue.text), cue)
        return sorted(seen.values(), key=lambda c: (c.start, c.end, c.text))


def read_sidecar(sidecar: Sidecar) -> SubtitleTrack:
    """One sidecar file's track, or SubtitleError saying why it cannot be read."""
    try:
        size = sidecar.path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise SubtitleError(f"{size} bytes is too large for a subtitle file")
        data = sidecar.path.read_bytes()
    except OSError as exc:
        raise SubtitleError(f"cannot read it ({exc.strerror or exc})") from None
    if not data.strip():
        raise SubtitleError("the file is empty")
    text, _ = decode_subtitle_bytes(data, language=sidecar.language)
    cues = parse_subtitle_text(text, sidecar.format, language=sidecar.language)
    return SubtitleTrack(sidecar.path.name, sidecar.language, tuple(cues))


def read_subtitles(video: Path, *, embedded: bool = True) -> SubtitleReport:
    """The tracks of `video` (sidecars, then streams unless `embedded` is False) and a
    warning for each one that could not be read."""
    report = SubtitleReport()
    for sidecar in find_sidecars(video):
        try:
            report.tracks.append(read_sidecar(sidecar))
        except SubtitleError as exc:
            report.warnings.append(f"subtitles {sidecar.path.name}: {exc}; skipped")
    if embedded:
        report.tracks.extend(read_embedded(video, report.warnings.append))
    return report
