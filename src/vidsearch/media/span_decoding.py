"""What a decoder worker does with one span, and how the parent fills what it left out.

A worker sends back every frame's time and 48x27 analysis view (4 KB), but a frame's working
image (~350 KB at 455x256) only where the sampler may keep that frame: sending them all
costs as much CPU as the parallelism saves (measured: ~2.6 GB of pixels per 10 minutes of
720p). Which frames the sampler keeps depends on what came before (the last kept frame, the
shot detector's recent frames), which a worker starting mid-video does not know. But a shot
start resets all of it: from the first cut the worker's own sampler finds after a warm-up
longer than the detector's memory, its choices are the parent's. So a worker sends images
for every frame up to that point, and after it only for the frames its sampler keeps.

The parent's sampler still decides everything, over every frame. Should it keep a frame
that came without an image (a detector disagreeing near a span's start), the span is decoded
again in the parent, once, up to that frame (`Redecoder`): slower, never different.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.errors import DecodeError
from vidsearch.faults import FaultPoint, fault_point
from vidsearch.media.decode import DecodedFrame, Span, decode_frames
from vidsearch.media.sampler import FrameSampler, SamplerConfig
from vidsearch.types import DecodeMode, SampledFrame

# A worker's sampler is trusted from the first shot start after this many frames and
# seconds of its span (the structure detector remembers 2 * window + 2 frames, and keeps
# boundaries MIN_SHOT_S apart).
SYNC_AFTER_FRAMES = 32
SYNC_AFTER_S = 1.0


@dataclass(slots=True)
class SpanFrames:
    """What a worker sends back for one span."""

    timestamps: list[float] = field(default_factory=list)
    pts: list[int] = field(default_factory=list)
    analysis: list[np.ndarray] = field(default_factory=list)
    working: list[np.ndarray | None] = field(default_factory=list)  # None: not sent

    def add(self, frame: DecodedFrame, working: np.ndarray | None) -> None:
        self.timestamps.append(frame.timestamp)
        self.pts.append(frame.pts)
        self.analysis.append(frame.analysis)
        self.working.append(working)


def decode_span(
    path: str, mode: str, span: Span, sampling: SamplerConfig | None = None
) -> SpanFrames:
    """Runs in a worker process: decode one span with one decoder thread. `sampling`: the
    consumer's sampler settings (None: send every frame's working image)."""
    frames = decode_frames(Path(path), DecodeMode(mode), span=span, threads=1)
    out = SpanFrames()
    if sampling is None:
        for frame in frames:
            out.add(frame, frame.working_image())
    else:
        _sample_span(frames, sampling, out, synced=span.start_pts is None)
    fault_point(FaultPoint.SEGMENT)
    return out


def _sample_span(
    frames: Iterator[DecodedFrame], sampling: SamplerConfig, out: SpanFrames, synced: bool
) -> None:
    """`synced`: the span starts the file, so this sampler is the parent's from frame 0."""
    place: dict[int, int] = {}  # pts -> index in out

    def recorded() -> Iterator[DecodedFrame]:
        for frame in frames:
            place[frame.pts] = len(out.pts)
            out.add(frame, None if synced else frame.working_image())
            yield frame

    for event in FrameSampler(sampling).sample(recorded()):
        if not isinstance(event, SampledFrame):
            continue
        index = place[event.pts]
        if out.working[index] is None:
            out.working[index] = event.image
        if (
            not synced
            and event.timestamp == event.shot_start
            and index >= SYNC_AFTER_FRAMES
            and event.timestamp - out.timestamps[0] >= SYNC_AFTER_S
        ):
            synced = True


class Redecoder:
    """Working images of a span's frames that its worker did not send, made in this process
    by decoding the span forward (frames are asked for in order: one pass)."""

    def __init__(self, path: Path, mode: DecodeMode, span: Span) -> None:
        self.path, self.mode, self.span = path, mode, span
        self._frames: Iterator[DecodedFrame] | None = None
        self._last_pts: int | None = None
        self.passes = 0

    def image(self, pts: int) -> np.ndarray:
        if self._frames is None or (self._last_pts is not None and pts <= self._last_pts):
            self._frames = decode_frames(self.path, self.mode, span=self.span)
            self.passes += 1
        for frame in self._frames:
            self._last_pts = frame.pts
            if frame.pts == pts:
                return frame.working_image()
            if frame.pts > pts:
                break
        raise DecodeError(f"{self.path}: the frame at pts {pts} did not decode again")
