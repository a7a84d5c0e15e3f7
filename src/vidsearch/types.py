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
    KEYFRAMES = "keyframes"  # keyframes only: one frame per shot (+ every GOP), ~5x faster


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
    sampling: str = ""  # how its frames were chosen (Ingestor.sampling); "" if not recorded

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


class TextSource(StrEnum):
    """Where a line of the text index comes from."""

    SUBTITLE = "subtitle"  # a subtitle file or stream
    SPEECH = "speech"  # the audio track, transcribed
    SCREEN = "screen text"  # text written in the frames, read by OCR


class SearchMode(StrEnum):
    """What a text search looks at."""

    VISUAL = "visual"  # the frames (CLIP)
    DIALOGUE = "dialogue"  # what is said: subtitles and transcribed speech
    SCREEN = "screen"  # what is written on screen
    TEXT = "text"  # every line: said and written
    HYBRID = "hybrid"  # the frames and every line, fused in time windows


# The lines each mode searches (the visual mode searches none).
MODE_SOURCES: dict[SearchMode, frozenset[TextSource]] = {
    SearchMode.VISUAL: frozenset(),
    SearchMode.DIALOGUE: frozenset({TextSource.SUBTITLE, TextSource.SPEECH}),
    SearchMode.SCREEN: frozenset({TextSource.SCREEN}),
    SearchMode.TEXT: frozenset(TextSource),
    SearchMode.HYBRID: frozenset(TextSource),
}

FRAME_EVIDENCE = "frame"


def why_matched(frame: bool, sources: frozenset[TextSource] | set[TextSource]) -> str:
    """What made a moment match, in one fixed order: "frame", "speech", "frame + subtitle",
    "subtitle + screen text"..."""
    parts = [FRAME_EVIDENCE] if frame else []
    parts.extend(str(s) for s in TextSource if s in sources)
    return " + ".join(parts) or FRAME_EVIDENCE


@dataclass(frozen=True, slots=True)
class DialogueHit:
    """One hit of the text index: a stored line (subtitle, speech, screen text) and its score
    in one channel."""

    cue_id: str
    video_id: str
    start: float
    end: float
    text: str
    language: str
    score: float
    shot: int  # the shot the cue's middle falls in (-1: none has a stored frame)
    shot_start: float
    shot_end: float
    anchor_pts: int | None  # the stored frame nearest the cue: its thumbnail
    anchor_timestamp: float | None
    source: TextSource = TextSource.SUBTITLE


@dataclass(frozen=True, slots=True)
class DialogueLine:
    """A line (said or written) that made a moment match, with its score in each text
    channel."""

    start: float
    end: float
    text: str
    language: str
    similarity: float | None  # cosine of sentence embeddings (meaning)
    keyword: float | None  # BM25 (the words themselves)
    source: TextSource = TextSource.SUBTITLE

    def to_json(self) -> dict[str, object]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "language": self.language,
            "source": str(self.source),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "keyword": None if self.keyword is None else round(self.keyword, 4),
        }


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
    thumbnail: str | None  # the file, where this machine has it
    frames: list[tuple[float, float]] = field(default_factory=list)  # (timestamp, score)
    why: str = FRAME_EVIDENCE  # `why_matched`: "frame", "speech", "frame + subtitle"...
    dialogue: list[DialogueLine] = field(default_factory=list)  # matching lines, best first
    thumbnail_pts: int | None = None  # the frame the thumbnail shows (None: no stored frame)

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
            "why": str(self.why),
            "dialogue": [line.to_json() for line in self.dialogue],
        }
