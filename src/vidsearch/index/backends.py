"""Which backend the settings choose: the embedded data directory, or a Qdrant server."""

from __future__ import annotations

from vidsearch.config import Settings
from vidsearch.index.qdrant_connection import QdrantConnection
from vidsearch.index.store import IndexStore


def open_store(settings: Settings, *, holder: str | None = None) -> IndexStore:
    """Qdrant Edge + SQLite in `settings.home` unless `settings.qdrant_url` names a server;
    thumbnails are kept in `settings.home` either way."""
    if settings.qdrant_url is None:
        return IndexStore(settings.home, holder=holder)
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    server = QdrantConnection.open(
        url=settings.qdrant_url, api_key=api_key, collection=settings.collection
    )
    return IndexStore(settings.home, server=server)
