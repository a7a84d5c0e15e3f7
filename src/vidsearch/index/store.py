"""The data directory as one object: lock, catalog, vector index and thumbnails together
(its layout: `config.DataDir`).

With a `QdrantConnection` (VIDSEARCH_QDRANT_URL), catalog and vectors live in two collections on
a Qdrant server instead (and the cues in a third, `<collection>_dialogue`), shared by every
process and machine that opens them: no lock is taken, and only the thumbnails stay in the
data directory.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from vidsearch.config import DataDir
from vidsearch.errors import IndexError_, ModelMismatchError
from vidsearch.index.base import VectorIndex, VideoCatalog
from vidsearch.index.catalog import Catalog
from vidsearch.index.dialogue_base import WORDS_ONLY_DIM, DialogueIndex
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
DROPPED_SUFFIX = ".dropped"  # a dialogue shard on its way out, renamed first
WORDS_ONLY_IDENTITY = "words-only"  # the dialogue identity of an index without sentence vectors


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

    def bind_dialogue_model(self, identity: str, ref: str, dim: int) -> bool:
        """Tie the dialogue index to its sentence encoder, or check that it is this one.
        Over a words-only index (`bind_dialogue_words`) it upgrades: the words-only cues are
        deleted, for the indexer to store them again with their meaning. Whether it did."""
        stored_dim = self.catalog.get_meta(META_DIALOGUE_DIM)
        if stored_dim is None or int(stored_dim) == WORDS_ONLY_DIM:
            upgrade = stored_dim is not None
            if upgrade:  # shard first: an interruption leaves a words-only index, no shard
                self._drop_dialogue()
            self.catalog.set_meta(META_DIALOGUE_IDENTITY, identity)
            self.catalog.set_meta(META_DIALOGUE_REF, ref)
            self.catalog.set_meta(META_DIALOGUE_DIM, str(dim))  # last: the dim decides
            return upgrade
        stored = self.catalog.get_meta(META_DIALOGUE_IDENTITY)
        if stored != identity:
            raise ModelMismatchError(
                f"the dialogue in {self.where} was indexed with the sentence encoder "
                f"'{self.dialogue_model_ref}' ({stored}), not '{ref}' ({identity}); set "
                f"VIDSEARCH_DIALOGUE_MODEL='{self.dialogue_model_ref}'"
            )
        return False

    def bind_dialogue_words(self) -> None:
        """Make a words-only dialogue index (cues searchable by their words and phrases, not
        their meaning) unless there is one of either kind: for cues stored while the sentence
        encoder cannot be loaded."""
        if self.catalog.get_meta(META_DIALOGUE_DIM) is None:
            self.catalog.set_meta(META_DIALOGUE_IDENTITY, WORDS_ONLY_IDENTITY)
            self.catalog.set_meta(META_DIALOGUE_DIM, str(WORDS_ONLY_DIM))

    @property
    def has_dialogue(self) -> bool:
        """Whether any video's subtitles were ever indexed here."""
        return self.catalog.get_meta(META_DIALOGUE_DIM) is not None

    @property
    def dialogue_has_meaning(self) -> bool:
        """Whether the dialogue index holds sentence vectors (False: none, or words-only)."""
        dim = self.catalog.get_meta(META_DIALOGUE_DIM)
        return dim is not None and int(dim) != WORDS_ONLY_DIM

    def _drop_dialogue(self) -> None:
        """Delete the dialogue shard (or collection) and every cue in it."""
        with self._vectors_opening:
            if self._dialogue is not None:
                self._dialogue.close()
                self._dialogue = None
            if self.server is not None:
                self.server.drop_dialogue()
                return
            shard = self.data_dir.dialogue_shard
            dropped = shard.with_name(shard.name + DROPPED_SUFFIX)
            shutil.rmtree(dropped, ignore_errors=True)  # one an interruption left
            if shard.exists():
                try:
                    shard.rename(dropped)  # at once: never a half-deleted shard where one is read
                except OSError as exc:
                    raise IndexError_(
                        f"cannot replace the dialogue index at {shard}: {exc}"
                    ) from None
                shutil.rmtree(dropped, ignore_errors=True)

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
