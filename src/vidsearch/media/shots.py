"""Shot boundaries: small detectors fed the decoded frames' analysis images, one at a time.

Every detector has the shape of `ShotDetector`: `push` a frame, get back the positions
(counted from the last `reset`) of frames that start a new shot. A detector may look a few
frames ahead: after frame n is pushed, every frame up to n - `lookahead` is decided, so the
caller holds at most `lookahead` frames back. `flush` decides the rest (end of the video, or
a black stretch). Decisions depend only on the frames pushed, never on the clock.

Detectors are chosen by name from a closed registry (`DetectorName`, `make_detector`):

- `structure` (the default): compares each frame's *structure* (luma and chroma over the
  luma spread: blind to light) with the previous one; a large change that survives camera
  motion compensation and is still there a few frames later is a hard cut (a flash or a pan
  is not); a frame that is a mix of the frames around it while the picture changes is inside
  a dissolve, and the first such pair of frames becomes the boundary.
- `histogram`: the first detector, kept for comparison: a colour-histogram jump *and* a pixel
  change between consecutive frames. It misses cuts between shots of similar colours.
- `none`: no cuts at all (sampling by interval alone).

benchmarks/shots.py measures them side by side with PySceneDetect and TransNetV2.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from vidsearch.media.quality import (
    blend_fit,
    color_histogram,
    histogram_distance,
    mean_abs_difference,
    shifted_distance,
    structure,
    structure_distance,
    tone,
    tone_distance,
)

DEFAULT_HIST_THRESHOLD = 0.30
DEFAULT_PIXEL_THRESHOLD = 20.0


class ShotDetector(Protocol):
    """Fed frames in order; reports which of them start a new shot."""

    @property
    def lookahead(self) -> int:
        """Frames pushed after a frame before that frame is decided."""
        ...

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        """Take the next (27, 48, 3) uint8 RGB analysis image; return the positions of newly
        found shot starts (each at least n - lookahead for the n-th frame pushed)."""
        ...

    def flush(self) -> list[int]:
        """Decide every frame still pending (no more frames until `reset`)."""
        ...

    def reset(self) -> None:
        """Start afresh: the next frame pushed is position 0, the first frame of a shot."""
        ...


class DetectorName(StrEnum):
    STRUCTURE = "structure"
    HISTOGRAM = "histogram"
    NONE = "none"


DEFAULT_DETECTOR = DetectorName.STRUCTURE


def make_detector(name: DetectorName | str = DEFAULT_DETECTOR) -> ShotDetector:
    """A fresh detector of the given name (ValueError for an unknown name)."""
    kind = DetectorName(name)
    if kind is DetectorName.STRUCTURE:
        return StructureDetector()
    if kind is DetectorName.HISTOGRAM:
        return HistogramDetector()
    return NoCuts()


@dataclass(slots=True)
class NoCuts:
    """Never a cut: a shot lasts until black or the end of the video."""

    lookahead: int = 0

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        return []

    def flush(self) -> list[int]:
        return []

    def reset(self) -> None:
        pass


@dataclass(slots=True)
class HistogramDetector:
    """A cut needs a large histogram jump *and* a large pixel change between two
    consecutive frames (the first detector; blind to cuts between similar colours)."""

    hist_threshold: float = DEFAULT_HIST_THRESHOLD
    pixel_threshold: float = DEFAULT_PIXEL_THRESHOLD
    lookahead: int = 0
    _previous: np.ndarray | None = None
    _previous_hist: np.ndarray | None = None
    _position: int = 0

    def reset(self) -> None:
        self._previous = None
        self._previous_hist = None
        self._position = 0

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        hist = color_histogram(image)
        previous, previous_hist = self._previous, self._previous_hist
        self._previous, self._previous_hist = image, hist
        position = self._position
        self._position += 1
        if previous is None or previous_hist is None:
            return []
        cut = (
            histogram_distance(hist, previous_hist) >= self.hist_threshold
            and mean_abs_difference(image, previous) >= self.pixel_threshold
        )
        return [position] if cut else []

    def flush(self) -> list[int]:
        return []


# --- the structure detector ---------------------------------------------------------------

# Frames looked at on each side of a frame to judge a dissolve, and ahead of a cut to tell
# it from a flash (a flash lasts 1-3 frames; in FAST decoding 4 frames span ~8).
WINDOW = 4
# Structure distance (0 same .. ~1.1 unrelated) between consecutive frames that makes a
# candidate cut, and what must remain once camera motion is compensated.
CUT_DISTANCE = 0.45
CUT_MOTION_DISTANCE = 0.32
# A jump of the mean luma or chroma (grey levels) that makes a cut by itself (flat frames,
# same layout in another colour); a fade through black changes less between two frames.
CUT_TONE = 60.0
# Camera motion compensated, in analysis pixels (48x27): x264's B-frames make FAST decoding
# see every other frame, so a fast pan moves ~4 px between decoded frames.
MAX_SHIFT_X, MAX_SHIFT_Y = 4, 2
# A dissolve: the picture changes across the window at least this much ...
DISSOLVE_CHANGE = 0.25
# ... and the middle frame is a mix of both ends (each weighing at least this much) with a
# small residual (relative to the change), on two frames in a row.
DISSOLVE_WEIGHT = 0.12
DISSOLVE_RESIDUAL = 0.45
# Frames darker than this (mean luma) are left to the black handling (fades through black).
DARK_LUMA = 40.0
# No second boundary within this long of the last one.
MIN_SHOT_S = 0.3


@dataclass(slots=True)
class _Seen:
    position: int
    timestamp: float
    signature: np.ndarray
    tone: np.ndarray
    dark: bool
    step: float  # structure distance from the previous frame (0 for the first)
    tone_step: float  # tone distance from the previous frame (0 for the first)


@dataclass(slots=True)
class StructureDetector:
    """Hard cuts and dissolves from light-blind structure signatures (see module docstring)."""

    window: int = WINDOW
    cut_distance: float = CUT_DISTANCE
    cut_motion_distance: float = CUT_MOTION_DISTANCE
    cut_tone: float = CUT_TONE
    dissolve_change: float = DISSOLVE_CHANGE
    _frames: deque[_Seen] = field(default_factory=deque)
    _position: int = 0
    _decided: int = 0  # frames before this position are decided
    _dissolving: bool = False  # the previous decided frame looked like a dissolve
    _in_dissolve: bool = False  # a boundary was already placed in the current dissolve
    _last_boundary: float = float("-inf")

    @property
    def lookahead(self) -> int:
        return self.window + 1

    def reset(self) -> None:
        self._frames.clear()
        self._position = self._decided = 0
        self._dissolving = self._in_dissolve = False
        self._last_boundary = float("-inf")

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        signature, shade = structure(image), tone(image)
        dark = float(shade[0]) < DARK_LUMA
        step = tone_step = 0.0
        if self._frames:
            step = structure_distance(self._frames[-1].signature, signature)
            tone_step = tone_distance(self._frames[-1].tone, shade)
        seen = _Seen(self._position, timestamp, signature, shade, dark, step, tone_step)
        self._frames.append(seen)
        self._position += 1
        while len(self._frames) > 2 * self.window + 2:
            self._frames.popleft()
        found: list[int] = []
        while self._decided <= self._position - 1 - self.window:
            found += self._decide(self._decided)
            self._decided += 1
        return found

    def flush(self) -> list[int]:
        found: list[int] = []
        while self._decided < self._position:
            found += self._decide(self._decided)
            self._decided += 1
        return found

    def _at(self, position: int) -> _Seen:
        position = max(0, min(position, self._position - 1))
        return self._frames[position - self._frames[0].position]

    def _decide(self, t: int) -> list[int]:
        """Is frame t (with up to `window` frames on each side available) a shot start?"""
        if t == 0:
            return []
        frame = self._at(t)
        if self._is_cut(t, frame):
            self._dissolving = self._in_dissolve = False
            return self._boundary(t, frame)
        mixing = self._is_mix(t)
        found: list[int] = []
        if mixing and self._dissolving and not self._in_dissolve:
            found = self._boundary(t - 1, self._at(t - 1))
            self._in_dissolve = bool(found)
        if not mixing:
            self._in_dissolve = False
        self._dissolving = mixing
        return found

    def _boundary(self, t: int, frame: _Seen) -> list[int]:
        if frame.timestamp - self._last_boundary < MIN_SHOT_S:
            return []
        self._last_boundary = frame.timestamp
        return [t]

    def _differs(self, a: _Seen, b: _Seen) -> bool:
        """Another picture, not the same one moved or lit differently."""
        if tone_distance(a.tone, b.tone) >= self.cut_tone:
            return True
        moved = shifted_distance(a.signature, b.signature, MAX_SHIFT_X, MAX_SHIFT_Y)
        return moved >= self.cut_motion_distance

    def _abrupt(self, frame: _Seen) -> bool:
        return frame.step >= self.cut_distance or frame.tone_step >= self.cut_tone

    def _is_cut(self, t: int, frame: _Seen) -> bool:
        if not self._abrupt(frame):
            return False
        before, later = self._at(t - 1), self._at(t + self.window)
        # Camera motion is not a cut, nor a flash or any brief disturbance: the new picture
        # must still differ from the old one a few frames later, and the old one must have
        # been there a while (the end of a flash is not a cut either).
        return (
            self._differs(before, frame)
            and self._differs(before, later)
            and self._differs(self._at(t - 1 - self.window), later)
        )

    def _is_mix(self, t: int) -> bool:
        first, last = self._at(t - self.window), self._at(t + self.window)
        if first.position == last.position or first.dark or last.dark:
            return False
        if structure_distance(first.signature, last.signature) < self.dissolve_change:
            return False
        # a dissolve changes the picture a little at every frame: anything abrupt in the
        # window (a cut, a flash) is not one
        if any(self._abrupt(self._at(i)) for i in range(first.position + 1, last.position + 1)):
            return False
        wa, wb, residual = blend_fit(first.signature, self._at(t).signature, last.signature)
        if wa < DISSOLVE_WEIGHT or wb < DISSOLVE_WEIGHT or residual > DISSOLVE_RESIDUAL:
            return False
        # a pan also looks like a mix of its ends: the change must survive motion compensation
        moved = shifted_distance(first.signature, last.signature, MAX_SHIFT_X, MAX_SHIFT_Y)
        return moved >= self.dissolve_change
