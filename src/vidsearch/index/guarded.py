"""The embedded shards as the rest of vidsearch sees them: both the frame shard (`index/`) and
the dialogue shard (`dialogue/`) are opened, guarded and told apart the same way, by one
`ShardGuard` each.

- On open, a shard that does not load is IndexCorruptError naming it and `vidsearch doctor`
  (another process holding it: IndexLockedError). The frame shard must also agree with the
  catalog: the frames the catalog records for complete videos are all in it (a damaged shard
  that silently lost points is caught here, cheaply: two counts). Points of videos still
  being indexed may add to the shard's count.
- Before adding points or building the search graph, there must be free disk space
  (`space.SpaceGuard`): a full disk crashes Qdrant Edge instead of failing a write. Deleting
  is never refused: it frees space.
- Qdrant Edge raises bare `Exception`s; they become IndexError_ naming the shard and
  `vidsearch doctor`, so callers catch only vidsearch errors.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from vidsearch.config import DataDir
from vidsearch.errors import IndexCorruptError, IndexError_, IndexLockedError, VidsearchError
from vidsearch.index.base import FramePoint, VectorIndex, VideoCatalog
from vidsearch.index.dialogue_base import CuePoint, DialogueIndex
from vidsearch.index.dialogue_edge import EdgeDialogueIndex
from vidsearch.index.edge import OPTIMIZE_MIN_POINTS, EdgeVectorIndex
from vidsearch.index.space import SpaceGuard, allocated_bytes
from vidsearch.text.keywords import SparseTerms
from vidsearch.types import DialogueHit, FrameHit, TextSource

DOCTOR_HINT = "`vidsearch doctor` checks it, `vidsearch doctor --repair` repairs or rebuilds it"
FRAMES = "vector index"
DIALOGUE = "dialogue index"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ShardGuard:
    """What both embedded shards share: free space before writes, and Qdrant Edge's failures
    told as IndexError_ naming the shard (`what`, at `path`). `adding` says what a write does,
    for the message that refuses it on a full disk."""

    what: str
    path: Path
    space: SpaceGuard
    adding: str

    def call(self, doing: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except VidsearchError:
            raise
        except Exception as exc:  # qdrant_edge raises bare Exception
            raise IndexError_(
                f"the {self.what} at {self.path} failed to {doing}: {exc}; it may be damaged: "
                f"{DOCTOR_HINT}"
            ) from None

    def write(self, doing: str, count: int, action: Callable[[], None]) -> None:
        """Add `count` points (checking free space first unless there are none)."""
        if count:
            self.space.check_write(self.adding)
        self.call(doing, action)

    def optimize(self, unindexed: int, min_points: int, action: Callable[[], bool]) -> bool:
        if unindexed >= min_points:  # it will run: segments are rewritten, up to all of them,
            # before the old ones go
            extra = allocated_bytes(self.path)
            self.space.check_write("build the search graph", extra=extra)
        return self.call("build the search graph", action)


def open_guarded(what: str, path: Path, opener: Callable[[], T]) -> T:
    """`opener()` (an Edge shard's constructor), a shard that does not open told as damaged."""
    try:
        return opener()
    except IndexLockedError:
        raise
    except IndexError_ as exc:
        raise IndexCorruptError(f"{exc}; {DOCTOR_HINT}") from None
    except VidsearchError:
        raise
    except Exception as exc:  # qdrant_edge raises bare Exception
        raise IndexCorruptError(f"cannot open the {what} at {path}: {exc}; {DOCTOR_HINT}") from None


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

    def __init__(self, inner: VectorIndex, guard: ShardGuard) -> None:
        self.inner = inner
        self.guard = guard

    @property
    def dim(self) -> int:
        return self.inner.dim

    def upsert(self, points: Sequence[FramePoint]) -> None:
        self.guard.write("store frames", len(points), lambda: self.inner.upsert(points))

    def point_ids(self, video_id: str) -> set[str]:
        return self.guard.call("read points", lambda: self.inner.point_ids(video_id))

    def payloads(self, video_id: str, *, with_payload: bool = True) -> dict[str, dict]:
        return self.guard.call(
            "read points", lambda: self.inner.payloads(video_id, with_payload=with_payload)
        )

    def count(self, video_id: str | None = None) -> int:
        return self.guard.call("count points", lambda: self.inner.count(video_id))

    def delete_video(self, video_id: str) -> None:
        self.guard.call("delete points", lambda: self.inner.delete_video(video_id))

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[FrameHit]:
        return self.guard.call(
            "search",
            lambda: self.inner.search(vector, limit, video_ids=video_ids, min_score=min_score),
        )

    def flush(self) -> None:
        self.guard.call("flush", self.inner.flush)

    def unindexed_points(self) -> int:
        return self.guard.call("count points", self.inner.unindexed_points)

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        return self.guard.optimize(
            self.unindexed_points(), min_points, lambda: self.inner.optimize(min_points=min_points)
        )

    def close(self) -> None:
        self.guard.call("close", self.inner.close)


class GuardedDialogueIndex:
    """A DialogueIndex around another one (Qdrant Edge), guarding its writes."""

    def __init__(self, inner: DialogueIndex, guard: ShardGuard) -> None:
        self.inner = inner
        self.guard = guard

    @property
    def dim(self) -> int:
        return self.inner.dim

    def upsert(self, cues: Sequence[CuePoint]) -> None:
        self.guard.write("store cues", len(cues), lambda: self.inner.upsert(cues))

    def search_meaning(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        return self.guard.call(
            "search",
            lambda: self.inner.search_meaning(
                vector, limit, video_ids=video_ids, phrases=phrases, sources=sources
            ),
        )

    def search_words(
        self,
        words: SparseTerms,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        return self.guard.call(
            "search",
            lambda: self.inner.search_words(
                words, limit, video_ids=video_ids, phrases=phrases, sources=sources
            ),
        )

    def count(
        self, video_id: str | None = None, *, sources: Collection[TextSource] | None = None
    ) -> int:
        return self.guard.call("count cues", lambda: self.inner.count(video_id, sources=sources))

    def delete_video(self, video_id: str, *, sources: Collection[TextSource] | None = None) -> None:
        self.guard.call("delete cues", lambda: self.inner.delete_video(video_id, sources=sources))

    def flush(self) -> None:
        self.guard.call("flush", self.inner.flush)

    def unindexed_points(self) -> int:
        return self.guard.call("count cues", self.inner.unindexed_points)

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        return self.guard.optimize(
            self.unindexed_points(), min_points, lambda: self.inner.optimize(min_points=min_points)
        )

    def close(self) -> None:
        self.guard.call("close", self.inner.close)


def open_edge_index(
    data_dir: DataDir, dim: int, catalog: VideoCatalog, space: SpaceGuard
) -> VectorIndex:
    """The frame shard of `data_dir`, guarded and checked against the catalog."""
    path = data_dir.frames_shard
    edge = open_guarded(FRAMES, path, lambda: EdgeVectorIndex(path, dim))
    guard = ShardGuard(FRAMES, path, space, adding="add frames to the index")
    vectors = GuardedVectorIndex(edge, guard)
    try:
        check_counts(catalog, vectors, path)
    except BaseException:
        vectors.close()
        raise
    return vectors


def open_edge_dialogue(data_dir: DataDir, dim: int, space: SpaceGuard) -> DialogueIndex:
    """The dialogue shard of `data_dir`, guarded (made by its first cues)."""
    path = data_dir.dialogue_shard
    edge = open_guarded(DIALOGUE, path, lambda: EdgeDialogueIndex(path, dim))
    guard = ShardGuard(DIALOGUE, path, space, adding="add subtitle cues to the dialogue index")
    return GuardedDialogueIndex(edge, guard)
