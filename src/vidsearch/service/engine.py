"""The index and the model, owned by the server process for its whole life.

An embedded shard has one owner, so the server opens one IndexStore and one encoder at
start-up and every request shares them. Reads (searches, listings) run concurrently from
the threadpool; writes (indexing, removal) take `write_lock`, one at a time. Text encoding is
serialised as well: a Hugging Face fast tokenizer must not be used by two threads at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidsearch.config import Settings
from vidsearch.dialogue.encoder import DialogueEncoder, open_sentence_encoder
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.model_bundle import (
    EncoderChoice,
    EncoderOptions,
    encode_query,
    image_choice,
    open_bundle,
)
from vidsearch.errors import IndexError_, ModelMismatchError, QueryError, VidsearchError
from vidsearch.index import open_store
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestReport, ProgressListener
from vidsearch.media.pool import DecodePool, SerialDecoder, open_decoder
from vidsearch.media.sampler import FrameSampler, sampler_config
from vidsearch.media.still import read_frame
from vidsearch.search import Searcher, SearchResult
from vidsearch.service.metrics import IndexStats, ServiceMetrics
from vidsearch.service.settings import UPLOADS_DIR_NAME
from vidsearch.types import FrameHit, SearchMode, VideoRecord

log = logging.getLogger("vidsearch.service")


@dataclass(frozen=True, slots=True)
class Readiness:
    model_loaded: bool
    index_open: bool
    model: str | None

    @property
    def ready(self) -> bool:
        return self.model_loaded and self.index_open


class Engine:
    """Open with `start()` (index first, then the model), release with `close()`."""

    def __init__(
        self,
        settings: Settings,
        metrics: ServiceMetrics,
        *,
        holder: str | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.holder = holder
        self._encoder = encoder
        self._store: IndexStore | None = None
        self._dialogue: DialogueEncoder | None = None
        # Decoder processes start with the first indexing job and stay for the next ones.
        self._decoder: SerialDecoder | DecodePool | None = None
        self.write_lock = threading.Lock()
        self._text_lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> Engine:
        """Open the index and load the model; a second call does nothing."""
        if self._store is not None:
            return self
        store = open_store(self.settings, holder=self.holder)
        try:
            started = time.perf_counter()
            encoder = self._encoder or self._build_encoder(store)
            if hasattr(encoder, "load"):
                encoder.load()
            self.metrics.model_load_seconds.set(time.perf_counter() - started)
            if store.model_identity is not None and store.model_identity != encoder.identity:
                raise ModelMismatchError(
                    f"the index in {store.where} was built with model '{store.model_ref}', not "
                    f"'{encoder.name}'; start the server with --model '{store.model_ref}'"
                )
        except BaseException:
            store.close()
            raise
        self._encoder = encoder
        self._store = store
        if self.settings.subtitles:  # its sentence encoder loads with the first subtitles
            self._dialogue = DialogueEncoder(
                self.settings.dialogue_model_for(store.dialogue_model_ref),
                open_encoder=lambda ref: open_sentence_encoder(ref, threads=self.settings.threads),
            )
        self.metrics.model_loaded.set(1)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        return self

    def _build_encoder(self, store: IndexStore) -> Encoder:
        """The model bundle: its image encoder plus the text encoders of each language."""
        settings = self.settings
        options = EncoderOptions(
            cache_dir=settings.cache_dir,
            backend=settings.backend,
            int8=settings.int8,
            batch_size=settings.batch_size,
            threads=settings.threads,
            notify=log.info,
        )
        return open_bundle(settings.model_for(store.model_ref), options)

    def close(self) -> None:
        store, self._store = self._store, None
        self.metrics.model_loaded.set(0)
        if store is not None:
            with self.write_lock:
                store.close()
                if self._decoder is not None:
                    self._decoder.close()
                    self._decoder = None
        if self._encoder is not None:
            self._encoder.close()
        if self._dialogue is not None:
            self._dialogue.close()

    def readiness(self) -> Readiness:
        return Readiness(
            model_loaded=self._store is not None and self._encoder is not None,
            index_open=self._store is not None,
            model=self._encoder.name if self._encoder is not None else self.settings.model,
        )

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            raise IndexError_("the index is not open (the server is starting or stopping)")
        return self._store

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None or self._store is None:
            raise IndexError_("the model is not loaded (the server is starting or stopping)")
        return self._encoder

    @property
    def uploads_dir(self) -> Path:
        return (self.settings.home / UPLOADS_DIR_NAME).absolute()

    # -- reads ------------------------------------------------------------------------
    def encode_text(
        self, query: str, language: str | None = None
    ) -> tuple[np.ndarray, EncoderChoice]:
        """The query's vector from the text encoder for its language (detected from the
        script unless given), and which encoder that was."""
        query = query.strip()
        if not query:
            raise QueryError("empty query: type some words to search for")
        with self.metrics.timed("encode"), self._text_lock:
            return encode_query(self.encoder, query, language)

    def encode_image(self, pixels: np.ndarray) -> np.ndarray:
        with self.metrics.timed("encode"):
            return self.encoder.encode_images([pixels])[0]

    def search_text(
        self,
        query: str,
        language: str | None = None,
        mode: SearchMode | None = None,
        **options: object,
    ) -> SearchResult:
        """Frames (visual), subtitles (dialogue) or both (hybrid; the default where
        subtitles are indexed)."""
        store = self.store
        if store.has_vectors and mode is not SearchMode.VISUAL:
            searcher = Searcher(
                store, self.encoder, dialogue=self._dialogue, encode_text=self.encode_text
            )
            resolved = searcher.resolve_mode(mode, options.get("videos"))  # type: ignore[arg-type]
            if resolved is not SearchMode.VISUAL:
                with self.metrics.timed("total"):
                    return searcher.search_text(query, language=language, mode=resolved, **options)
        elif mode is SearchMode.DIALOGUE:
            raise QueryError("no subtitles are indexed: dialogue search has nothing to search")
        with self.metrics.timed("total"):
            vector, choice = self.encode_text(query, language)
            result = self._search(vector, query.strip(), **options)
        result.encoder = choice
        result.mode = SearchMode.VISUAL
        return result

    def search_image(self, pixels: np.ndarray, label: str, **options: object) -> SearchResult:
        with self.metrics.timed("total"):
            result = self._search(self.encode_image(pixels), label, **options)
        result.encoder = image_choice(self.encoder)
        return result

    def _search(self, vector: np.ndarray, label: str, **options: object) -> SearchResult:
        store = self.store
        if not store.has_vectors:
            videos = options.get("videos")
            if videos:
                raise QueryError(f"no indexed video named {', '.join(map(repr, videos))}")  # type: ignore[arg-type]
            return SearchResult(label, [])
        with self.metrics.timed("vector_search"):
            return Searcher(store, self.encoder).search_vector(vector, label, **options)  # type: ignore[arg-type]

    def top_frames(self, video: VideoRecord, query: str, top_k: int) -> list[FrameHit]:
        """The frames of one video most like the text, best first (not grouped into shots)."""
        vector, _ = self.encode_text(query)
        if not self.store.has_vectors:
            return []
        with self.metrics.timed("vector_search"):
            return self.store.vectors.search(vector, top_k, video_ids=[video.video_id])

    def videos(self) -> list[VideoRecord]:
        return self.store.catalog.videos()

    def video(self, name: str) -> VideoRecord | None:
        return self.store.catalog.by_name(name)

    def thumbnail(self, video_id: str, pts: int) -> Path | None:
        """The frame's thumbnail file; made from the video when it is missing (indexed on
        another machine, or lost). None when neither exists."""
        path = self.store.thumbnails.path_for(video_id, pts)
        if path.is_file():
            return path
        record = self.store.catalog.by_id(video_id)
        if record is None or not record.complete:
            return None
        try:
            image = read_frame(Path(record.path), pts)
            return self.store.thumbnails.save(video_id, pts, image)
        except (VidsearchError, OSError):
            return None

    def index_stats(self) -> IndexStats | None:
        store = self._store
        if store is None:
            return None
        records = store.catalog.videos()
        size = 0
        for root, _, files in os.walk(store.home / "index"):
            for name in files:
                try:
                    size += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    pass  # a segment replaced while we walked
        return IndexStats(len(records), sum(r.frames for r in records), size)

    # -- writes -----------------------------------------------------------------------
    def index_file(self, path: Path, progress: ProgressListener) -> IngestReport:
        with self.write_lock:
            if self._decoder is None:
                self._decoder = open_decoder(self.settings.workers, self.settings.decode)
            ingestor = Ingestor(
                self.store,
                self.encoder,
                FrameSampler(sampler_config(self.settings.interval, self.settings.shot_detector)),
                batch_size=self.settings.batch_size,
                progress=progress,
                decode_mode=self.settings.decode,
                dialogue=self._dialogue,
                decoder=self._decoder,
            )
            report = ingestor.index_file(path)
            for warning in report.warnings:  # unreadable subtitles: the frames are indexed
                log.warning("%s: %s", report.name or path.name, warning)
            ingestor.build_search_index()  # the HNSW graph, once enough new frames wait
            return report

    def remove(self, record: VideoRecord) -> bool:
        """Forget a video; delete its file too when it was uploaded (the server owns it).
        Returns whether the file was deleted."""
        with self.write_lock:
            self.store.remove_video(record.video_id)
        return self.delete_upload(Path(record.path))

    def delete_upload(self, path: Path) -> bool:
        """Delete `path` if it is a file in the uploads folder; anything else is left alone."""
        uploads = self.uploads_dir.resolve()
        try:
            resolved = path.resolve()
        except OSError:
            return False
        if resolved.parent != uploads or not resolved.is_file():
            return False
        resolved.unlink(missing_ok=True)
        return True
