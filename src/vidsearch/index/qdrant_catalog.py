"""The catalog of videos in a Qdrant collection, so that every machine sees the same one.

`<collection>_videos` beside the frames collection holds one point per video (the record as
payload, `kind: video`) and one point per metadata key (`kind: meta`: the model binding and
this catalog's schema version). Qdrant needs a vector on each point: a constant 1-d one.
Point ids derive from the video id or the key, so writes by several machines land on the same
points instead of duplicating them.

Names are unique as in the SQLite catalog, but no server-side constraint enforces it: two
machines that start different videos with the same name at the same moment both see the clash
right after writing, and each takes the `stem-<id prefix>.ext` form.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING

from qdrant_client import models

from vidsearch.errors import IndexError_
from vidsearch.index.catalog import now_iso
from vidsearch.index.qdrant_errors import QdrantErrors
from vidsearch.index.qdrant_server import SCROLL_PAGE, create_collection
from vidsearch.types import VideoRecord, VideoState

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

SCHEMA_VERSION = 1
META_SCHEMA = "catalog_schema_version"
CATALOG_NAMESPACE = uuid.UUID("0b7e8f64-4c3a-4a8e-9a51-6d2f1c9e5b17")
KIND_FIELD = "kind"
KIND_VIDEO = "video"
KIND_META = "meta"
DUMMY_VECTOR = [1.0]
INDEXED_FIELDS = ("kind", "video_id", "name", "path")


def _video_point(video_id: str) -> str:
    return str(uuid.uuid5(CATALOG_NAMESPACE, f"video/{video_id}"))


def _meta_point(key: str) -> str:
    return str(uuid.uuid5(CATALOG_NAMESPACE, f"meta/{key}"))


def _match(field: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


def _videos_where(field: str | None = None, value: str | None = None) -> models.Filter:
    must = [_match(KIND_FIELD, KIND_VIDEO)]
    if field is not None and value is not None:
        must.append(_match(field, value))
    return models.Filter(must=must)  # type: ignore[arg-type]


def _payload(record: VideoRecord) -> dict[str, object]:
    payload: dict[str, object] = asdict(record)
    payload["state"] = record.state.value
    payload[KIND_FIELD] = KIND_VIDEO
    return payload


def _record(payload: dict) -> VideoRecord:
    return VideoRecord(
        video_id=str(payload["video_id"]),
        name=str(payload["name"]),
        path=str(payload["path"]),
        size=int(payload["size"]),
        mtime_ns=int(payload["mtime_ns"]),
        duration=float(payload["duration"]),
        frames=int(payload["frames"]),
        state=VideoState(payload["state"]),
        model=str(payload["model"]),
        indexed_at=str(payload["indexed_at"]),
        sampling=str(payload.get("sampling", "")),
    )


class QdrantCatalog:
    """The `VideoCatalog` protocol on a Qdrant collection; the client is not owned."""

    def __init__(self, client: QdrantClient, collection: str, *, where: str) -> None:
        self.collection = collection
        self.where = where
        self._client: QdrantClient | None = client
        self._errors = QdrantErrors(where)
        with self._errors:
            create_collection(
                client, collection, models.VectorParams(size=1, distance=models.Distance.DOT)
            )
            for field in INDEXED_FIELDS:  # idempotent; ignored in local mode
                client.create_payload_index(
                    collection, field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True
                )
        version = self.get_meta(META_SCHEMA)
        if version is None:
            self.set_meta(META_SCHEMA, str(SCHEMA_VERSION))
        elif int(version) > SCHEMA_VERSION:
            raise IndexError_(
                f"the catalog '{collection}' at {where} has schema version {version}, newer than "
                f"this vidsearch understands ({SCHEMA_VERSION}); upgrade vidsearch"
            )

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            raise IndexError_(f"the catalog '{self.collection}' at {self.where} is closed")
        return self._client

    def close(self) -> None:
        self._client = None

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._errors:
            found = self.client.retrieve(self.collection, [_meta_point(key)], with_payload=True)
        return str(found[0].payload["value"]) if found and found[0].payload else None

    def set_meta(self, key: str, value: str) -> None:
        self._upsert(_meta_point(key), {KIND_FIELD: KIND_META, "key": key, "value": value})

    # -- videos -----------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        return sorted(self._scroll(_videos_where()), key=lambda r: r.name)

    def by_id(self, video_id: str) -> VideoRecord | None:
        with self._errors:
            found = self.client.retrieve(
                self.collection, [_video_point(video_id)], with_payload=True
            )
        return _record(found[0].payload) if found and found[0].payload else None

    def by_name(self, name: str) -> VideoRecord | None:
        """The video of that name (after a naming race, the one with the smallest id)."""
        matches = self._named(name)
        return matches[0] if matches else None

    def by_path(self, path: str) -> list[VideoRecord]:
        return sorted(self._scroll(_videos_where("path", path)), key=lambda r: r.name)

    def unique_name(self, wanted: str, video_id: str) -> str:
        other = self.by_name(wanted)
        if other is None or other.video_id == video_id:
            return wanted
        return _suffixed(wanted, video_id)

    def start(self, record: VideoRecord) -> None:
        """Insert or reset a video as INDEXING; a known video keeps its frames and indexed_at."""
        existing = self.by_id(record.video_id)
        payload = _payload(record)
        if existing is not None:
            payload["frames"] = existing.frames
            payload["indexed_at"] = existing.indexed_at
        self._upsert(_video_point(record.video_id), payload)
        self._settle_name(record.video_id, record.name)

    def complete(self, video_id: str, frames: int, duration: float) -> None:
        self._set(
            video_id,
            state=VideoState.COMPLETE.value,
            frames=frames,
            duration=duration,
            indexed_at=now_iso(),
        )

    def update_location(self, video_id: str, path: str, mtime_ns: int) -> None:
        self._set(video_id, path=path, mtime_ns=mtime_ns)

    def rename(self, video_id: str, name: str) -> None:
        self._set(video_id, name=name)
        self._settle_name(video_id, name)

    def delete(self, video_id: str) -> None:
        with self._errors:
            self.client.delete(
                self.collection,
                points_selector=models.FilterSelector(filter=_videos_where("video_id", video_id)),
                wait=True,
            )

    # -- internals --------------------------------------------------------------------
    def _upsert(self, point_id: str, payload: dict[str, object]) -> None:
        point = models.PointStruct(id=point_id, vector=DUMMY_VECTOR, payload=payload)
        with self._errors:
            self.client.upsert(self.collection, points=[point], wait=True)

    def _set(self, video_id: str, **fields: object) -> None:
        """Change fields of a video; a filter selector makes an unknown video a no-op."""
        with self._errors:
            self.client.set_payload(
                self.collection,
                payload=fields,
                points=_videos_where("video_id", video_id),
                wait=True,
            )

    def _scroll(self, flt: models.Filter) -> list[VideoRecord]:
        records: list[VideoRecord] = []
        offset = None
        with self._errors:
            while True:
                page, offset = self.client.scroll(
                    self.collection,
                    scroll_filter=flt,
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=True,
                    with_vectors=False,
                )
                records.extend(_record(p.payload) for p in page if p.payload)
                if offset is None:
                    return records

    def _named(self, name: str) -> list[VideoRecord]:
        return sorted(self._scroll(_videos_where("name", name)), key=lambda r: r.video_id)

    def _settle_name(self, video_id: str, name: str) -> None:
        """After writing `name`, give it up if another video holds it too (a race)."""
        if any(r.video_id != video_id for r in self._named(name)):
            self._set(video_id, name=_suffixed(name, video_id))


def _suffixed(name: str, video_id: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}-{video_id[:8]}.{ext}" if dot else f"{name}-{video_id[:8]}"
