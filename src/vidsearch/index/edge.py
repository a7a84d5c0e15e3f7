"""Vector index on an embedded Qdrant Edge shard (a data directory, no server).

Qdrant Edge has no background optimiser: new points land in plain segments searched by full
scan, and the HNSW graph (plus int8 scalar quantisation) is built only by a blocking
`optimize()`. vidsearch calls it after an indexing run once enough unindexed vectors have
piled up (`OPTIMIZE_MIN_POINTS`); below that, full scan is as fast (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from vidsearch.errors import IndexError_, IndexLockedError
from vidsearch.index.base import FramePoint, check_vectors, query_vector
from vidsearch.types import FrameHit

VIDEO_FIELD = "video_id"
SCROLL_PAGE = 1024
# Unindexed points worth an HNSW build; fewer are searched by full scan in a few ms.
OPTIMIZE_MIN_POINTS = 20_000


@dataclass(frozen=True, slots=True)
class EdgeTuning:
    """Index and search parameters, chosen from benchmarks/search_latency.py measurements."""

    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    search_ef: int = 256  # recall@10 0.885 at 128, 0.96 at 256, 0.99 at 512 (1M, hard queries)
    # segments smaller than this (KB of vectors) are scanned, not graph-searched
    full_scan_threshold_kb: int = 10_000
    # int8 copies of the vectors in RAM, originals on disk (mmap): ~4x less memory
    quantize: bool = True
    oversampling: float = 2.0  # candidates rescored with the original vectors

    def edge_config(self, dim: int) -> qe.EdgeConfig:
        quantization = (
            qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
            if self.quantize
            else None
        )
        return qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(
                size=dim,
                distance=qe.Distance.Cosine,
                on_disk=self.quantize,
                quantization_config=quantization,
            ),
            hnsw_config=qe.HnswIndexConfig(
                m=self.hnsw_m,
                ef_construct=self.hnsw_ef_construct,
                full_scan_threshold=self.full_scan_threshold_kb,
            ),
        )

    def search_params(self, exact: bool = False) -> qe.SearchParams:
        quantization = (
            qe.QuantizationSearchParams(rescore=True, oversampling=self.oversampling)
            if self.quantize
            else None
        )
        return qe.SearchParams(hnsw_ef=self.search_ef, exact=exact, quantization=quantization)


def open_shard(path: Path, config: qe.EdgeConfig, what: str) -> tuple[qe.EdgeShard, bool]:
    """Load the Edge shard at `path`, or create it with `config`; (shard, whether it is new).
    Another process holding it is IndexLockedError, any other failure IndexError_ naming the
    shard (`what`: "vector index", "dialogue index"); Qdrant Edge raises bare Exceptions."""
    exists = (path / "edge_config.json").is_file()
    try:
        if exists:
            return qe.EdgeShard.load(str(path), None), False
        path.mkdir(parents=True, exist_ok=True)
        return qe.EdgeShard.create(str(path), config), True
    except Exception as exc:
        message = str(exc)
        if "WouldBlock" in message:
            raise IndexLockedError(f"the {what} at {path} is open in another process") from None
        raise IndexError_(f"cannot open the {what} at {path}: {message}") from None


def _video_filter(video_ids: Sequence[str]) -> qe.Filter:
    match = qe.MatchValue(video_ids[0]) if len(video_ids) == 1 else qe.MatchAny(list(video_ids))
    return qe.Filter(must=[qe.FieldCondition(key=VIDEO_FIELD, match=match)])


class EdgeVectorIndex:
    """Cosine search over frame vectors, with a keyword payload index on the video id."""

    def __init__(self, path: Path, dim: int, tuning: EdgeTuning | None = None) -> None:
        self.path = path
        self._dim = dim
        self.tuning = tuning or EdgeTuning()
        config = self.tuning.edge_config(dim)
        self._shard, created = open_shard(path, config, "vector index")
        if not created:
            stored = self._stored_dim(path)
            if stored is not None and stored != dim:
                self._shard.close()
                raise IndexError_(
                    f"the vector index at {path} holds {stored}-d vectors, not {dim}-d"
                )
        else:
            self._shard.update(
                qe.UpdateOperation.create_field_index(VIDEO_FIELD, qe.PayloadSchemaType.Keyword)
            )

    @staticmethod
    def _stored_dim(path: Path) -> int | None:
        import json

        try:
            data = json.loads((path / "edge_config.json").read_text())
            return int(data["vectors"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @property
    def dim(self) -> int:
        return self._dim

    def unindexed_points(self) -> int:
        info = self._shard.info()
        return int(info.points_count) - int(info.indexed_vectors_count)

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        """Build the HNSW graph and quantised vectors if enough points are not yet indexed
        (blocking). Returns whether it ran."""
        if self.unindexed_points() < min_points:
            return False
        return bool(self._shard.optimize())

    def upsert(self, points: Sequence[FramePoint]) -> None:
        if not points:
            return
        check_vectors(points, self._dim)
        batch = [
            qe.Point(id=p.point_id, vector=p.vector.tolist(), payload=p.payload()) for p in points
        ]
        self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def point_ids(self, video_id: str) -> set[str]:
        return set(self.payloads(video_id, with_payload=False))

    def payloads(self, video_id: str, *, with_payload: bool = True) -> dict[str, dict]:
        """Every point of a video: id -> payload (empty dicts without `with_payload`)."""
        points: dict[str, dict] = {}
        offset = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(
                    offset=offset,
                    limit=SCROLL_PAGE,
                    filter=_video_filter([video_id]),
                    with_payload=with_payload,
                    with_vector=False,
                )
            )
            points.update((str(r.id), dict(r.payload or {})) for r in records)
            if offset is None:
                return points

    def count(self, video_id: str | None = None) -> int:
        flt = _video_filter([video_id]) if video_id else None
        return int(self._shard.count(qe.CountRequest(exact=True, filter=flt)))

    def delete_video(self, video_id: str) -> None:
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(_video_filter([video_id])))

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        min_score: float | None = None,
        exact: bool = False,
    ) -> list[FrameHit]:
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(query_vector(vector, self._dim)),
            filter=_video_filter(video_ids) if video_ids else None,
            with_payload=True,
            score_threshold=min_score,
            params=self.tuning.search_params(exact),
        )
        return [
            FrameHit(
                video_id=str(p.payload["video_id"]),
                timestamp=float(p.payload["timestamp"]),
                shot_index=int(p.payload["shot"]),
                shot_start=float(p.payload["shot_start"]),
                shot_end=float(p.payload["shot_end"]),
                score=float(p.score),
                pts=int(p.payload["pts"]),
            )
            for p in self._shard.query(request)
            if p.payload
        ]

    def flush(self) -> None:
        self._shard.flush()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None  # type: ignore[assignment]
