"""The embedded vector index as the rest of vidsearch sees it: checked on open, guarded on
writes, and with the shard's own failures turned into messages that say what to do.

- On open, the catalog and the shard must agree: the frames the catalog records for complete
  videos are all in the shard (a damaged shard that silently lost points is caught here,
  cheaply: two counts). Points of videos still being indexed may add to the shard's count.
- Before adding frames or building the search graph, there must be free disk space
  (`space.SpaceGuard`): a full disk crashes Qdrant Edge instead of failing a write.
- Qdrant Edge raises bare `Exception`s; they become IndexError_ naming the index and
  `vidsearch doctor`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from vidsearch.config import DataDir
from vidsearch.errors import IndexCorruptError, IndexError_, IndexLockedError, VidsearchError
from vidsearch.index.base import FramePoint, VectorIndex, VideoCatalog
from vidsearch.index.edge import OPTIMIZE_MIN_POINTS, EdgeVectorIndex
from vidsearch.index.space import SpaceGuard, allocated_bytes
from vidsearch.types import FrameHit

DOCTOR_HINT = "`vidsearch doctor` checks it, `vidsearch doctor --repair` repairs or rebuilds it"
T = TypeVar("T")


def check_counts(catalog: VideoCatalog, vectors: VectorIndex, where: Path) -> None:
    """Raise IndexCorruptError if the shard holds fewer points than the catalog's complete
    videos were indexed with."""
    recorded = sum(r.frames for r in catalog.videos() if r.complete)
    stored = vectors.count()
    if stored < recorded:
        raise IndexCorruptError(
            f"the vector index at {where} is damaged: the catalog records {recorded} frames "
            f"for its complete videos but the index holds {stored}; {DOCTOR_HINT}"
        )


class GuardedVectorIndex:
    """A VectorIndex around another one (Qdrant Edge), guarding its writes."""

    def __init__(self, inner: VectorIndex, guard: SpaceGuard, where: Path) -> None:
        self.inner = inner
        self.guard = guard
        self.where = where

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except VidsearchError:
            raise
        except Exception as exc:  # qdrant_edge raises bare Exception
            raise IndexError_(
                f"the vector index at {self.where} failed to {what}: {exc}; it may be damaged: "
                f"{DOCTOR_HINT}"
            ) from None

    @property
    def dim(self) -> int:
        return self.inner.dim

    def upsert(self, points: Sequence[FramePoint]) -> None:
        if points:
            self.guard.check_write()
        self._call("store frames", lambda: self.inner.upsert(points))

    def point_ids(self, video_id: str) -> set[str]:
        return self._call("read points", lambda: self.inner.point_ids(video_id))

    def payloads(self, video_id: str, *, with_payload: bool = True) -> dict[str, dict]:
        return self._call(
            "read points", lambda: self.inner.payloads(video_id, with_payload=with_payload)
        )

    def count(self, video_id: str | None = None) -> int:
        return self._call("count points", lambda: self.inner.count(video_id))

    def delete_video(self, video_id: str) -> None:  # never refused: it frees space
        self._call("delete points", lambda: self.inner.delete_video(video_id))

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[FrameHit]:
        return self._call(
            "search",
            lambda: self.inner.search(vector, limit, video_ids=video_ids, min_score=min_score),
        )

    def flush(self) -> None:
        self._call("flush", self.inner.flush)

    def unindexed_points(self) -> int:
        return self._call("count points", self.inner.unindexed_points)

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        if self.unindexed_points() >= min_points:  # it will run: segments are rewritten,
            # up to all of them, before the old ones go
            extra = allocated_bytes(self.where)
            self.guard.check_write("build the search graph", extra=extra)
        return self._call(
            "build the search graph", lambda: self.inner.optimize(min_points=min_points)
        )

    def close(self) -> None:
        self._call("close", self.inner.close)


def open_edge_index(data_dir: DataDir, dim: int, catalog: VideoCatalog) -> VectorIndex:
    """The frame shard of `data_dir`, guarded and checked against the catalog."""
    path = data_dir.frames_shard
    try:
        edge = EdgeVectorIndex(path, dim)
    except IndexLockedError:
        raise
    except IndexError_ as exc:
        raise IndexCorruptError(f"{exc}; {DOCTOR_HINT}") from None
    vectors = GuardedVectorIndex(edge, SpaceGuard(data_dir.home), path)
    try:
        check_counts(catalog, vectors, path)
    except BaseException:
        vectors.close()
        raise
    return vectors
