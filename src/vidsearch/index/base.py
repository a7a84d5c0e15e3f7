"""The two interfaces of an index: vectors (frames in, nearest frames out) and the catalog of
videos. Backends: Qdrant Edge + SQLite in a data directory (embedded), or two collections on a
Qdrant server (shared by many machines)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidsearch.errors import IndexError_
from vidsearch.types import FrameHit, VideoRecord

# Fixed namespace: point ids depend only on the video's content and the frame's pts.
POINT_NAMESPACE = uuid.UUID("6f1d3c1e-8a57-4d1b-9d0e-3b8a1f0c7a42")


def check_vectors(points: Sequence[FramePoint], dim: int) -> None:
    """Every point's vector fits the index, checked before anything is written."""
    for p in points:
        if p.vector.shape != (dim,):
            raise IndexError_(f"vector of shape {p.vector.shape} does not fit a {dim}-d index")


def query_vector(vector: np.ndarray, dim: int) -> list[float]:
    """A query as the index takes it, or IndexError_ if its size does not fit."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    if vector.shape != (dim,):
        raise IndexError_(
            f"query vector has {vector.shape[0]} values; the index holds {dim}-d vectors"
        )
    return vector.tolist()


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

    def unindexed_points(self) -> int:
        """Points not yet in the search graph (searched by full scan until optimised)."""
        ...

    def optimize(self, *, min_points: int = ...) -> bool:
        """Build the search graph if at least `min_points` points are unindexed (blocking);
        whether it ran."""
        ...

    def close(self) -> None: ...


class VideoCatalog(Protocol):
    """Which videos an index holds, their state, and key/value metadata (the model binding).

    Methods that change a video the catalog does not hold do nothing.
    """

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def videos(self) -> list[VideoRecord]:
        """Every video, ordered by name."""
        ...

    def by_id(self, video_id: str) -> VideoRecord | None: ...

    def by_name(self, name: str) -> VideoRecord | None: ...

    def by_path(self, path: str) -> list[VideoRecord]: ...

    def unique_name(self, wanted: str, video_id: str) -> str:
        """`wanted`, or `stem-<id prefix>.ext` if another video already uses that name."""
        ...

    def start(self, record: VideoRecord) -> None:
        """Insert or reset a video as INDEXING; a known video keeps its frames and indexed_at."""
        ...

    def complete(self, video_id: str, frames: int, duration: float) -> None: ...

    def update_location(self, video_id: str, path: str, mtime_ns: int) -> None: ...

    def rename(self, video_id: str, name: str) -> None: ...

    def delete(self, video_id: str) -> None: ...

    def close(self) -> None: ...
