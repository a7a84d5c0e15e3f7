"""The data directory as one object: lock, catalog, vector index and thumbnails together
(its layout: `config.DataDir`).

With a `QdrantConnection` (VIDSEARCH_QDRANT_URL), catalog and vectors live in two collections on
a Qdrant server instead (and the cues in a third, `<collection>_dialogue`), shared by every
process and machine that opens them: no lock is taken, and only the thumbnails stay in the
data directory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from vidsearch.config import DataDir
from vidsearch.errors import IndexError_, ModelMismatchError
from vidsearch.index.base import VectorIndex, VideoCatalog
from vidsearch.index.catalog import Catalog
from vidsearch.index.dialogue_base import DialogueIndex
from vidsearch.index.guarded import open_edge_dialogue, open_edge_index
from vidsearch.index.lock import IndexLock
from vidsearch.index.space import SpaceGuard
from vidsearch.index.thumbnails import ThumbnailStore

if TYPE_CHECKING:
    from vidsearch.index.qdrant_connection import QdrantConnection

META_MODEL_IDENTITY = "model_identity"
META_MODEL_REF = "model_ref"
META_DIM = "dim"
META_DIALOGUE_IDENTITY = "dialogue_model_identity"
META_DIALOGUE_REF = "dialogue_model_ref"
META_DIALOGUE_DIM = "dialogue_dim"


class IndexStore:
    """Open with `IndexStore(home)`; pass the encoder's identity to index or search."""

    def __init__(
        self,
        home: Path,
        *,
        holder: str | None = None,
        server: QdrantConnection | None = None,
        space: SpaceGuard | None = None,
    ) -> None:
        """`holder` describes this process in the lock file (the server writes its URL).
        `server`: keep catalog and vectors there, unlocked (the store closes it).
        `space`: how much free disk both shards need (default: `space.SpaceGuard`'s)."""
        self.home = home
        self.data_dir = DataDir(home)
        self.server = server
        self.space = space or SpaceGuard(home)
        if server is None:
            self.space.check_open()  # a full disk would crash the shard: say so first
        self._lock = (
            IndexLock(self.data_dir.lock, holder=holder).acquire() if server is None else None
        )
        try:
            self.catalog: VideoCatalog = (
                Catalog(self.data_dir.catalog) if server is None else server.catalog()
            )
        except BaseException:
            self._release()
            raise
        self.thumbnails = ThumbnailStore(self.data_dir.thumbnails)
        self._vectors: VectorIndex | None = None
        self._vectors_opening = threading.Lock()  # the shard opens once, even across threads
        self._dialogue: DialogueIndex | None = None

    @property
    def where(self) -> str:
        """Where the index lives, for messages."""
        return str(self.home) if self.server is None else self.server.description

    # -- model binding ----------------------------------------------------------------
    @property
    def model_identity(self) -> str | None:
        return self.catalog.get_meta(META_MODEL_IDENTITY)

    @property
    def model_ref(self) -> str | None:
        return self.catalog.get_meta(META_MODEL_REF)

    def bind_model(self, identity: str, ref: str, dim: int) -> None:
        """Tie an empty index to a model, or check that the index was built with this one."""
        stored = self.model_identity
        if stored is None:
            self.catalog.set_meta(META_MODEL_IDENTITY, identity)
            self.catalog.set_meta(META_MODEL_REF, ref)
            self.catalog.set_meta(META_DIM, str(dim))
            return
        if stored != identity:
            elsewhere = "VIDSEARCH_HOME" if self.server is None else "VIDSEARCH_COLLECTION"
            raise ModelMismatchError(
                f"the index in {self.where} was built with model '{self.model_ref}' "
                f"({stored}), not '{ref}' ({identity}). Use --model '{self.model_ref}' to search "
                f"it, or another {elsewhere} for a different model."
            )
        if self.model_ref != ref:
            self.catalog.set_meta(META_MODEL_REF, ref)

    @property
    def vectors(self) -> VectorIndex:
        """The vector index; exists once a model is bound."""
        with self._vectors_opening:
            if self._vectors is None:
                dim = self.catalog.get_meta(META_DIM)
                if dim is None:
                    raise IndexError_(
                        f"the index in {self.where} is empty: index some videos first"
                    )
                self._vectors = (
                    open_edge_index(self.data_dir, int(dim), self.catalog, self.space)
                    if self.server is None
                    else self.server.vectors(int(dim))
                )
            return self._vectors

    @property
    def has_vectors(self) -> bool:
        return self.catalog.get_meta(META_DIM) is not None

    # -- dialogue (subtitle cues) ------------------------------------------------------
    @property
    def dialogue_model_ref(self) -> str | None:
        return self.catalog.get_meta(META_DIALOGUE_REF)

    def bind_dialogue_model(self, identity: str, ref: str, dim: int) -> None:
        """Tie the dialogue index to its sentence encoder, or check that it is this one."""
        stored = self.catalog.get_meta(META_DIALOGUE_IDENTITY)
        if stored is None:
            self.catalog.set_meta(META_DIALOGUE_IDENTITY, identity)
            self.catalog.set_meta(META_DIALOGUE_REF, ref)
            self.catalog.set_meta(META_DIALOGUE_DIM, str(dim))
            return
        if stored != identity:
            raise ModelMismatchError(
                f"the dialogue in {self.where} was indexed with the sentence encoder "
                f"'{self.dialogue_model_ref}' ({stored}), not '{ref}' ({identity}); set "
                f"VIDSEARCH_DIALOGUE_MODEL='{self.dialogue_model_ref}'"
            )

    @property
    def has_dialogue(self) -> bool:
        """Whether any video's subtitles were ever indexed here."""
        return self.catalog.get_meta(META_DIALOGUE_DIM) is not None

    @property
    def dialogue(self) -> DialogueIndex:
        """The dialogue index; exists once a sentence encoder is bound."""
        with self._vectors_opening:
            if self._dialogue is None:
                dim = self.catalog.get_meta(META_DIALOGUE_DIM)
                if dim is None:
                    raise IndexError_(f"no dialogue is indexed in {self.where}")
                self._dialogue = (
                    open_edge_dialogue(self.data_dir, int(dim), self.space)
                    if self.server is None
                    else self.server.dialogue(int(dim))
                )
            return self._dialogue

    def remove_video(self, video_id: str) -> None:
        """Delete a video's points (flushed), cues, thumbnails and catalog row, in that order,
        so an interruption leaves a catalog row to retry the removal with."""
        if self.has_vectors:
            self.vectors.delete_video(video_id)
            self.vectors.flush()
        if self.has_dialogue:
            self.dialogue.delete_video(video_id)
            self.dialogue.flush()
        self.thumbnails.delete_video(video_id)
        self.catalog.delete(video_id)

    # -- life cycle -------------------------------------------------------------------
    def close(self) -> None:
        try:
            if self._vectors is not None:
                self._vectors.close()
                self._vectors = None
            if self._dialogue is not None:
                self._dialogue.close()
                self._dialogue = None
            self.catalog.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
