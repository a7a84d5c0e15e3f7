"""Shot-aware frame sampling: which decoded frames are worth embedding.

Rules, in order, for each decoded frame:
1. near-black frames are dropped; a black stretch also ends the current shot;
2. the first frame of every shot is kept (a cut or dissolve found by the shot detector, or
   the first frame after black);
3. inside a shot, a frame is kept once `interval` seconds have passed since the last kept
   one, unless it is a near-duplicate of that frame (a static stretch yields one frame).

The sampler yields kept frames as soon as they are chosen and a `ShotClosed` event when a
shot ends, so the caller never holds more than one shot's worth of *vectors*, not images.
The shot detector may look a few frames ahead (`ShotDetector.lookahead`): the sampler holds
that many decoded frames back, so its output depends only on the sequence of frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

from vidsearch.config import DEFAULT_INTERVAL_S
from vidsearch.media.decode import DecodedFrame
from vidsearch.media.quality import is_black, mean_abs_difference
from vidsearch.media.shots import DEFAULT_DETECTOR, DetectorName, ShotDetector, make_detector
from vidsearch.types import SampledFrame, ShotClosed

# Floating-point slack when comparing elapsed time with the interval.
_TIME_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    interval: float = DEFAULT_INTERVAL_S
    black_mean: float = 18.0  # mean luma below this ...
    black_bright: float = 40.0  # ... and 98th percentile below this: near-black
    duplicate_threshold: float = 3.0  # mean abs difference (0..255) below this: duplicate
    detector: DetectorName = DEFAULT_DETECTOR  # which shot detector finds the cuts


def sampler_config(interval: float, shot_detector: str) -> SamplerConfig:
    """The sampler settings from Settings' plain values (`shot_detector` by name)."""
    return SamplerConfig(interval=interval, detector=DetectorName(shot_detector))


class FrameSampler:
    """Turns a stream of decoded frames into kept frames and shot boundaries."""

    def __init__(
        self,
        config: SamplerConfig | None = None,
        detector: Callable[[], ShotDetector] | None = None,
    ) -> None:
        """`detector` makes the shot detector for each video; by default the one that
        `config.detector` names (benchmarks pass others, e.g. PySceneDetect's)."""
        self.config = config or SamplerConfig()
        self._make_detector = detector or partial(make_detector, self.config.detector)

    def sample(self, frames: Iterable[DecodedFrame]) -> Iterator[SampledFrame | ShotClosed]:
        cfg = self.config
        detector = self._make_detector()
        pending: deque[DecodedFrame] = deque()  # pushed to the detector, not yet decided
        starts: set[int] = set()  # positions (since the detector's last reset) of shot starts
        position = 0  # position of pending[0]
        shot_index = -1
        shot_start = 0.0
        in_shot = False
        last_kept: np.ndarray | None = None
        last_kept_time = float("-inf")
        previous_time: float | None = None
        frame_step = 0.0

        def emit(frame: DecodedFrame, starts_shot: bool) -> Iterator[SampledFrame | ShotClosed]:
            nonlocal shot_index, shot_start, in_shot, last_kept, last_kept_time
            if not in_shot or starts_shot:
                if in_shot:
                    yield ShotClosed(shot_index, shot_start, frame.timestamp)
                shot_index += 1
                shot_start = frame.timestamp
                in_shot = True
            elif frame.timestamp - last_kept_time + _TIME_EPSILON < cfg.interval:
                return
            elif (
                last_kept is not None
                and mean_abs_difference(frame.analysis, last_kept) < cfg.duplicate_threshold
            ):
                return
            last_kept, last_kept_time = frame.analysis, frame.timestamp
            yield SampledFrame(
                timestamp=frame.timestamp,
                pts=frame.pts,
                shot_index=shot_index,
                shot_start=shot_start,
                image=frame.working_image(),
            )

        def release(keep: int) -> Iterator[SampledFrame | ShotClosed]:
            """Emit decided frames until `keep` remain pending."""
            nonlocal position
            while len(pending) > keep:
                yield from emit(pending.popleft(), position in starts)
                starts.discard(position)
                position += 1

        for frame in frames:
            if previous_time is not None:
                frame_step = frame.timestamp - previous_time
            previous_time = frame.timestamp
            if is_black(frame.analysis, cfg.black_mean, cfg.black_bright):
                starts.update(detector.flush())
                yield from release(0)
                if in_shot:
                    yield ShotClosed(shot_index, shot_start, frame.timestamp)
                    in_shot = False
                detector.reset()
                starts.clear()
                position = 0
                continue
            starts.update(detector.push(frame.analysis, frame.timestamp))
            pending.append(frame)
            yield from release(detector.lookahead)
        starts.update(detector.flush())
        yield from release(0)
        if in_shot and previous_time is not None:
            yield ShotClosed(shot_index, shot_start, previous_time + frame_step)
