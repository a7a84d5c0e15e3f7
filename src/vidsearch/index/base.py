"""The vector-index interface: frames in, nearest frames out. Backends: Qdrant Edge (embedded)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidsearch.types import FrameHit

# Fixed namespace: point ids depend only on the video's content and the frame's pts.
POINT_NAMESPACE = uuid.UUID("6f1d3c1e-8a57-4d1b-9d0e-3b8a1f0c7a42")


def frame_point_id(video_id: str, pts: int) -> str:
    """Deterministic id, so re-indexing the same frame overwrites instead of duplicating."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{video_id}/{pts}"))


@dataclass(frozen=True, slots=True)
class FramePoint:
    """One sampled frame ready to store."""

    video_id: str
    pts: int
    timestamp: float
    shot_index: int
    shot_start: float
    shot_end: float
    vector: np.ndarray

    @property
    def point_id(self) -> str:
        return frame_point_id(self.video_id, self.pts)

    def payload(self) -> dict[str, object]:
        return {
            "video_id": self.video_id,
            "pts": self.pts,
            "timestamp": round(self.timestamp, 6),
            "shot": self.shot_index,
            "shot_start": round(self.shot_start, 6),
            "shot_end": round(self.shot_end, 6),
        }


class VectorIndex(Protocol):
    @property
    def dim(self) -> int: ...

    def upsert(self, points: Sequence[FramePoint]) -> None: ...

    def point_ids(self, video_id: str) -> set[str]:
        """Ids of the points already stored for a video (to resume without re-encoding)."""
        ...

    def payloads(self, video_id: str, *, with_payload: bool = True) -> dict[str, dict]: ...

    def count(self, video_id: str | None = None) -> int: ...

    def delete_video(self, video_id: str) -> None: ...

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[FrameHit]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
