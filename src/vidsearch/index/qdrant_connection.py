"""One qdrant-client connection and the collections vidsearch keeps on it.

`<collection>` holds the frame vectors, `<collection>_videos` the catalog and
`<collection>_dialogue` the subtitle cues. Open a server with
`QdrantConnection.open(url=...)`; `path=` (or `location=":memory:"`) opens qdrant-client's
local mode instead, which speaks the same API without a server (for tests and trials: it
searches by brute force and one process at a time owns a path). Exactly one of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from vidsearch.config import COLLECTION_PATTERN, DEFAULT_COLLECTION
from vidsearch.errors import ConfigError, IndexError_, IndexLockedError
from vidsearch.index.qdrant_errors import QdrantErrors, require_qdrant_client

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from vidsearch.index.dialogue_server import QdrantDialogueIndex
    from vidsearch.index.qdrant_catalog import QdrantCatalog
    from vidsearch.index.qdrant_server import QdrantServerIndex

CATALOG_SUFFIX = "_videos"
DIALOGUE_SUFFIX = "_dialogue"
DEFAULT_TIMEOUT_S = 30
MEMORY = ":memory:"
COLLECTION_NAME = re.compile(COLLECTION_PATTERN)


def check_collection_name(name: str) -> str:
    if not COLLECTION_NAME.match(name):
        raise ConfigError(
            f"invalid collection name {name!r}: use 1-200 letters, digits, '_' or '-'"
        )
    return name


class QdrantConnection:
    """Owns a QdrantClient; hands out the catalog and the vector index that use it."""

    def __init__(
        self, client: QdrantClient, collection: str = DEFAULT_COLLECTION, *, where: str
    ) -> None:
        self.client = client
        self.collection = check_collection_name(collection)
        self.where = where

    @classmethod
    def open(
        cls,
        *,
        url: str | None = None,
        path: Path | str | None = None,
        api_key: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        timeout: int = DEFAULT_TIMEOUT_S,
    ) -> QdrantConnection:
        """Connect to the server at `url` (checked at once), or open local mode at `path`."""
        if url is not None and path is not None:
            raise ConfigError(
                f"give a Qdrant server url ({url}) or a local-mode path ({path}), not both"
            )
        if url is None and path is None:
            raise ConfigError("give a Qdrant server url or a local-mode path")
        check_collection_name(collection)
        require_qdrant_client()
        from qdrant_client import QdrantClient

        if url is not None:
            client = QdrantClient(
                url=url, api_key=api_key, timeout=timeout, check_compatibility=False
            )
            try:
                with QdrantErrors(url):
                    client.get_collections()  # unreachable or refused: say so now
            except BaseException:
                client.close()
                raise
            return cls(client, collection, where=url)
        where = MEMORY if str(path) == MEMORY else f"local storage {path}"
        try:
            if str(path) == MEMORY:
                client = QdrantClient(location=MEMORY)
            else:
                client = QdrantClient(path=str(path))
        except RuntimeError as exc:  # portalocker: another client holds the folder
            _close_leaked_lock_file(exc)
            raise IndexLockedError(f"Qdrant {where} is open in another process ({exc})") from None
        return cls(client, collection, where=where)

    @property
    def catalog_collection(self) -> str:
        return self.collection + CATALOG_SUFFIX

    @property
    def description(self) -> str:
        """Where the index lives, for messages: collection and server."""
        return f"Qdrant collection '{self.collection}' at {self.where}"

    def catalog(self) -> QdrantCatalog:
        from vidsearch.index.qdrant_catalog import QdrantCatalog

        return QdrantCatalog(self.client, self.catalog_collection, where=self.where)

    def vectors(self, dim: int) -> QdrantServerIndex:
        from vidsearch.index.qdrant_server import QdrantServerIndex

        if dim < 1:
            raise IndexError_(f"a vector index needs at least one dimension, not {dim}")
        return QdrantServerIndex(self.client, self.collection, dim, where=self.where)

    def dialogue(self, dim: int) -> QdrantDialogueIndex:
        """Subtitle cues, in `<collection>_dialogue`."""
        from vidsearch.index.dialogue_server import QdrantDialogueIndex

        return QdrantDialogueIndex(
            self.client, self.collection + DIALOGUE_SUFFIX, dim, where=self.where
        )

    def drop_dialogue(self) -> None:
        """Delete `<collection>_dialogue` and its cues (a words-only one, to make it anew)."""
        name = self.collection + DIALOGUE_SUFFIX
        with QdrantErrors(self.where):
            if self.client.collection_exists(name):
                self.client.delete_collection(name)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> QdrantConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_leaked_lock_file(exc: BaseException) -> None:
    """qdrant-client's local mode (1.20) leaves its lock file open when another client holds
    the lock; close it, or the garbage collector complains about an unclosed file later."""
    tb = exc.__traceback__
    while tb is not None:
        handle = getattr(tb.tb_frame.f_locals.get("self"), "_flock_file", None)
        if handle is not None and not handle.closed:
            handle.close()
        tb = tb.tb_next
