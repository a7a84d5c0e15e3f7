"""Subtitles of a video, as plain cues: sidecar files (.srt, .vtt, .ass) in any encoding met in
the wild, and the text subtitle streams inside the container.

    read_subtitles(path) -> SubtitleReport(tracks, warnings)

Problems are warnings, never exceptions: subtitles must not stop a video's frames from being
indexed.
"""

from vidsearch.subtitles.cues import Cue, SubtitleTrack, tidy_cues
from vidsearch.subtitles.encoding import decode_subtitle_bytes
from vidsearch.subtitles.parse import clean_text, parse_subtitle_text
from vidsearch.subtitles.reader import SubtitleReport, read_sidecar, read_subtitles
from vidsearch.subtitles.sidecar import Sidecar, find_sidecars, sidecar_signature

__all__ = [
    "Cue",
    "Sidecar",
    "SubtitleReport",
    "SubtitleTrack",
    "clean_text",
    "decode_subtitle_bytes",
    "find_sidecars",
    "parse_subtitle_text",
    "read_sidecar",
    "read_subtitles",
    "sidecar_signature",
    "tidy_cues",
]
