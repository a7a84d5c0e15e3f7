"""Subtitle streams inside a video container, demuxed and decoded with PyAV (FFmpeg).

Text codecs (SubRip, ASS/SSA, WebVTT, MP4 timed text, ...) are decoded to ASS dialogue and
cleaned like sidecar files; each packet's time stamps give the cue's start and end. Picture
codecs (DVD, Blu-ray PGS, DVB) hold images of text and are skipped with a warning: reading
them would need OCR.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av

from vidsearch.subtitles.cues import MIN_CUE_S, Cue, SubtitleTrack, tidy_cues
from vidsearch.subtitles.languages import track_language
from vidsearch.subtitles.parse import clean_text, cue_language, has_words

Warn = Callable[[str], None]
BITMAP_CODECS = frozenset(
    "dvd_subtitle dvdsub hdmv_pgs_subtitle pgssub dvb_subtitle dvbsub xsub".split()
)


def read_embedded(path: Path, warn: Warn) -> list[SubtitleTrack]:
    """The text subtitle tracks of `path`; problems are passed to `warn`, never raised."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        warn(f"{path.name}: cannot open it to read its subtitle streams ({exc})")
        return []
    with container:
        streams = []
        for stream in container.streams.subtitles:
            codec = stream.codec_context.name if stream.codec_context else "unknown"
            if codec in BITMAP_CODECS:
                warn(
                    f"{path.name}: subtitle stream #{stream.index} ({codec}) holds pictures of "
                    "text, not text; skipped"
                )
                continue
            streams.append(stream)
        if not streams:
            return []
        cues: dict[int, list[Cue]] = {s.index: [] for s in streams}
        languages = {s.index: track_language(s.metadata.get("language")) for s in streams}
        try:
            for packet in container.demux(*streams):
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue
                index = packet.stream.index
                cues[index].extend(_packet_cues(packet, languages[index]))
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            warn(f"{path.name}: reading its subtitle streams stopped early ({exc})")
    tracks = []
    for index, found in cues.items():  # stream objects are unusable once the file is closed
        tidy = tidy_cues(found)
        if tidy:
            tracks.append(SubtitleTrack(f"stream #{index}", languages[index], tuple(tidy)))
    return tracks


def _packet_cues(packet: av.Packet, language: str) -> list[Cue]:
    start = float(packet.pts * packet.time_base)
    duration = float(packet.duration * packet.time_base) if packet.duration else 0.0
    end = start + (duration if duration > 0 else MIN_CUE_S)
    cues = []
    for subtitle in packet.decode():
        raw = getattr(subtitle, "dialogue", None) or getattr(subtitle, "text", None)
        if not raw:
            continue  # a picture
        text = clean_text(raw.decode("utf-8", errors="replace"))
        if has_words(text):
            cues.append(Cue(start, end, text, cue_language(text, language)))
    return cues
