"""A generated video that speaks and shows text: spoken sentences (espeak-ng) at known times
over a picture with burned-in subtitles and a sign (real fonts), for the end-to-end test of
speech and screen text. The picture comes from `testing.screen_text`, the speech from
`testing.speech`; this module puts the sound track into the picture's file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsearch.testing.screen_text import BurnedLine, write_screen_text_video
from vidsearch.testing.speech import AUDIO_RATE, Placed, Utterance, background, synthesise

AUDIO_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class SpokenAndWritten:
    path: Path
    duration: float
    spoken: tuple[Placed, ...]  # where each sentence landed
    written: tuple[BurnedLine, ...]


def write_spoken_and_written_video(
    path: Path,
    utterances: Sequence[Utterance],
    lines: Sequence[BurnedLine],
    *,
    duration: float,
    noise: float = 0.002,
) -> SpokenAndWritten:
    """An MKV (H.264 + AAC) of `duration` seconds showing `lines` and speaking `utterances`
    at their start times over light noise. Needs espeak-ng and the fonts of
    `testing.screen_text`."""
    track = background(duration, noise=noise)
    placed = []
    for utterance in sorted(utterances, key=lambda u: u.start):
        audio = synthesise(utterance.text, utterance.language)
        first = int(round(utterance.start * AUDIO_RATE))
        piece = audio[: max(0, len(track) - first)]
        track[first : first + len(piece)] = piece
        end = utterance.start + len(piece) / AUDIO_RATE
        placed.append(Placed(utterance.text, utterance.language, utterance.start, end))
    with tempfile.TemporaryDirectory() as folder:
        picture = write_screen_text_video(Path(folder) / "picture.mp4", lines, duration=duration)
        _with_sound(picture.path, track, Path(path))
    return SpokenAndWritten(Path(path), picture.duration, tuple(placed), tuple(lines))


def _with_sound(picture: Path, track: np.ndarray, path: Path) -> None:
    """`picture`'s video stream, copied, and `track` (16 kHz mono) encoded as AAC."""
    with av.open(str(picture)) as source, av.open(str(path), "w") as out:
        video = out.add_stream_from_template(source.streams.video[0])
        sound = out.add_stream("aac", rate=AUDIO_RATE)
        sound.layout = "mono"
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = video
            out.mux(packet)
        for offset in range(0, len(track), AUDIO_CHUNK):
            piece = np.ascontiguousarray(track[offset : offset + AUDIO_CHUNK])[None, :]
            frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = offset
            frame.time_base = Fraction(1, AUDIO_RATE)
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
