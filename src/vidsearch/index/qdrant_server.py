"""Vector index in a collection on a Qdrant server, through qdrant-client.

The same behaviour as the embedded `EdgeVectorIndex` (cosine distance, a keyword payload index
on the video id, deterministic point ids), but any number of processes on any number of
machines may write and search at once: the server orders their writes. Every write waits for
the server to apply it (`wait=True`), so `flush` has nothing left to do.

A new collection keeps int8-quantised vectors in RAM and the originals on disk (used to rescore
the best candidates): about a quarter of the memory of plain float32 vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from qdrant_client import models

from vidsearch.errors import IndexError_
from vidsearch.index.base import FramePoint, check_vectors, query_vector
from vidsearch.index.qdrant_errors import QdrantErrors
from vidsearch.types import FrameHit

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

VIDEO_FIELD = "video_id"
SCROLL_PAGE = 1024
UPSERT_BATCH = 256
QUANTILE = 0.99


def video_filter(video_ids: Sequence[str], *extra: models.Condition) -> models.Filter:
    match: models.MatchValue | models.MatchAny = (
        models.MatchValue(value=video_ids[0])
        if len(video_ids) == 1
        else models.MatchAny(any=list(video_ids))
    )
    return models.Filter(must=[models.FieldCondition(key=VIDEO_FIELD, match=match), *extra])


def create_collection(
    client: QdrantClient, name: str, params: models.VectorParams, **options: object
) -> bool:
    """Create a collection unless it exists; False when another process created it first."""
    if client.collection_exists(name):
        return False
    try:
        client.create_collection(name, vectors_config=params, **options)  # type: ignore[arg-type]
    except Exception:
        if client.collection_exists(name):  # lost a race with another worker: fine
            return False
        raise
    return True


def stored_dim(client: QdrantClient, name: str, where: str) -> int:
    """The vector size of an existing single-vector cosine collection, else IndexError_."""
    params = client.get_collection(name).config.params.vectors
    if not isinstance(params, models.VectorParams) or params.distance != models.Distance.COSINE:
        raise IndexError_(
            f"the collection '{name}' at {where} is not a vidsearch collection "
            "(it needs one unnamed cosine vector per point); choose another VIDSEARCH_COLLECTION"
        )
    return int(params.size)


class QdrantServerIndex:
    """Cosine search over frame vectors in one Qdrant collection; the client is not owned."""

    def __init__(self, client: QdrantClient, collection: str, dim: int, *, where: str) -> None:
        self.collection = collection
        self.where = where
        self._client: QdrantClient | None = client
        self._dim = dim
        self._errors = QdrantErrors(where)
        with self._errors:
            create_collection(
                client,
                collection,
                models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=True),
                quantization_config=models.ScalarQuantization(
                    scalar=models.ScalarQuantizationConfig(
                        type=models.ScalarType.INT8, quantile=QUANTILE, always_ram=True
                    )
                ),
            )
            stored = stored_dim(client, collection, where)
            if stored != dim:
                raise IndexError_(
                    f"the collection '{collection}' at {where} holds {stored}-d vectors, "
                    f"not {dim}-d"
                )
            # Idempotent on a server; accepted (with a warning) and ignored in local mode.
            client.create_payload_index(
                collection, VIDEO_FIELD, field_schema=models.PayloadSchemaType.KEYWORD, wait=True
            )

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            raise IndexError_(f"the vector index '{self.collection}' at {self.where} is closed")
        return self._client

    @property
    def dim(self) -> int:
        return self._dim

    def upsert(self, points: Sequence[FramePoint]) -> None:
        check_vectors(points, self._dim)
        batch = [
            models.PointStruct(id=p.point_id, vector=p.vector.tolist(), payload=p.payload())
            for p in points
        ]
        with self._errors:
            for start in range(0, len(batch), UPSERT_BATCH):
                self.client.upsert(
                    self.collection, points=batch[start : start + UPSERT_BATCH], wait=True
                )

    def point_ids(self, video_id: str) -> set[str]:
        return set(self.payloads(video_id, with_payload=False))

    def payloads(self, video_id: str, *, with_payload: bool = True) -> dict[str, dict]:
        """Every point of a video: id -> payload (empty dicts without `with_payload`)."""
        points: dict[str, dict] = {}
        offset = None
        with self._errors:
            while True:
                records, offset = self.client.scroll(
                    self.collection,
                    scroll_filter=video_filter([video_id]),
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=with_payload,
                    with_vectors=False,
                )
                points.update((str(r.id), dict(r.payload or {})) for r in records)
                if offset is None:
                    return points

    def count(self, video_id: str | None = None) -> int:
        flt = video_filter([video_id]) if video_id else None
        with self._errors:
            return int(self.client.count(self.collection, count_filter=flt, exact=True).count)

    def delete_video(self, video_id: str) -> None:
        with self._errors:
            self.client.delete(
                self.collection,
                points_selector=models.FilterSelector(filter=video_filter([video_id])),
                wait=True,
            )

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[FrameHit]:
        query = query_vector(vector, self._dim)
        with self._errors:
            response = self.client.query_points(
                self.collection,
                query=query,
                limit=limit,
                query_filter=video_filter(video_ids) if video_ids else None,
                with_payload=True,
                score_threshold=min_score,
            )
        return [_hit(p.payload, p.score) for p in response.points if p.payload]

    def flush(self) -> None:
        """Nothing to do: every write waited for the server to apply it."""

    def unindexed_points(self) -> int:
        return 0  # a Qdrant server indexes in the background

    def optimize(self, *, min_points: int = 0) -> bool:
        """Nothing to do: the server's own optimiser builds the graph."""
        return False

    def close(self) -> None:
        self._client = None


def _hit(payload: dict, score: float) -> FrameHit:
    return FrameHit(
        video_id=str(payload["video_id"]),
        timestamp=float(payload["timestamp"]),
        shot_index=int(payload["shot"]),
        shot_start=float(payload["shot_start"]),
        shot_end=float(payload["shot_end"]),
        score=float(score),
        pts=int(payload["pts"]),
    )
