"""Where a cue sits among a video's stored frames: its shot, and the frame that shows it.

Done once at indexing time from the frame index's payloads, so that a dialogue hit becomes a
moment (a shot span and a thumbnail) at search time without another lookup.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredFrame:
    timestamp: float
    pts: int
    shot: int
    shot_start: float
    shot_end: float


@dataclass(frozen=True, slots=True)
class Placement:
    shot: int  # -1: no stored frame in the video
    shot_start: float
    shot_end: float
    anchor_pts: int | None
    anchor_timestamp: float | None


class FrameTimeline:
    """A video's stored frames in time order."""

    def __init__(self, frames: Iterable[StoredFrame]) -> None:
        self.frames = sorted(frames, key=lambda f: f.timestamp)
        self._times = [f.timestamp for f in self.frames]

    @classmethod
    def from_payloads(cls, payloads: Iterable[Mapping[str, object]]) -> FrameTimeline:
        return cls(
            StoredFrame(
                float(p["timestamp"]),  # type: ignore[arg-type]
                int(p["pts"]),  # type: ignore[call-overload]
                int(p["shot"]),  # type: ignore[call-overload]
                float(p["shot_start"]),  # type: ignore[arg-type]
                float(p["shot_end"]),  # type: ignore[arg-type]
            )
            for p in payloads
        )

    def place(self, start: float, end: float) -> Placement:
        """The shot holding the cue's middle (its frame nearest the middle is the anchor);
        when no stored frame's shot holds it (a black stretch), the nearest frame's shot."""
        if not self.frames:
            return Placement(-1, start, end, None, None)
        middle = (start + end) / 2
        i = bisect.bisect_left(self._times, middle)
        nearby = self.frames[max(0, i - 1) : i + 1]
        nearest = min(nearby, key=lambda f: abs(f.timestamp - middle))
        holding = [f for f in nearby if f.shot_start <= middle <= f.shot_end]
        if not holding:  # the frames just around it are in other shots: look further
            holding = [f for f in self.frames if f.shot_start <= middle <= f.shot_end]
        anchor = min(holding, key=lambda f: abs(f.timestamp - middle)) if holding else nearest
        return Placement(
            anchor.shot, anchor.shot_start, anchor.shot_end, anchor.pts, anchor.timestamp
        )
