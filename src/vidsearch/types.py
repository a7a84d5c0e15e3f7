"""Records passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What probing a file tells before any frame is decoded."""

    path: str
    content_id: str
    size: int
    mtime_ns: int
    duration: float
    width: int
    height: int
    fps: float
    frame_count: int  # from the container; 0 when unknown


@dataclass(slots=True)
class SampledFrame:
    """A frame kept by the sampler, in presentation order.

    `image` is RGB uint8 (H, W, 3), already reduced to the sampler's working size.
    `shot_end` stays None until the sampler has seen the next cut or the end of the video.
    """

    timestamp: float
    pts: int
    shot_index: int
    shot_start: float
    image: np.ndarray
    shot_end: float | None = None


@dataclass(frozen=True, slots=True)
class ShotClosed:
    """Emitted by the sampler when a shot ends: frames of that shot now know their end."""

    shot_index: int
    start: float
    end: float


class DecodeMode(StrEnum):
    FAST = "fast"  # skip non-reference frames and deblocking (see media/decode.py)
    EXACT = "exact"  # every frame, as the encoder meant it


class EncoderBackend(StrEnum):
    AUTO = "auto"  # ONNX Runtime when installed (exported once, on first use), else PyTorch
    ONNX = "onnx"
    TORCH = "torch"


class VideoState(StrEnum):
    INDEXING = "indexing"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class VideoRecord:
    """One row of the catalog: a video known to the index."""

    video_id: str
    name: str
    path: str
    size: int
    mtime_ns: int
    duration: float
    frames: int
    state: VideoState
    model: str
    indexed_at: str

    @property
    def complete(self) -> bool:
        return self.state is VideoState.COMPLETE


@dataclass(frozen=True, slots=True)
class FrameHit:
    """One vector-search hit: a stored frame and its similarity to the query."""

    video_id: str
    timestamp: float
    shot_index: int
    shot_start: float
    shot_end: float
    score: float
    pts: int


@dataclass(slots=True)
class Moment:
    """A span of one video that matches the query; hits of one shot merge into one moment."""

    video: str
    path: str
    video_id: str
    start: float
    end: float
    timestamp: float
    score: float
    shot: int
    thumbnail: str | None
    frames: list[tuple[float, float]] = field(default_factory=list)  # (timestamp, score)

    def to_json(self) -> dict[str, object]:
        return {
            "video": self.video,
            "path": self.path,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "timestamp": round(self.timestamp, 3),
            "score": round(self.score, 4),
            "shot": self.shot,
            "thumbnail": self.thumbnail,
            "frames": [{"timestamp": round(t, 3), "score": round(s, 4)} for t, s in self.frames],
        }
