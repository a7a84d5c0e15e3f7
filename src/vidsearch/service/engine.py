"""The library, owned by the server process for its whole life.

An embedded shard has one owner, so the server opens one `Library` at start-up (index first,
then the model) and every request shares it. Reads (searches, listings) run concurrently from
the threadpool; writes (indexing, removal) take `write_lock`, one at a time. Searching is the
library's: the engine adds the timings, the empty-index answer and the uploads folder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import vidsearch
from vidsearch.config import Settings
from vidsearch.encoders.base import Encoder
from vidsearch.errors import IndexError_, VidsearchError
from vidsearch.index.store import IndexStore
from vidsearch.ingest import IngestReport, ProgressListener
from vidsearch.library import Library
from vidsearch.media.still import read_frame
from vidsearch.search import EmptyIndexError, SearchResult
from vidsearch.service.disk_usage import allocated_bytes
from vidsearch.service.metrics import IndexStats, ServiceMetrics
from vidsearch.types import DialogueLine, FrameHit, SearchMode, VideoRecord

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
        self._encoder = encoder  # a model already in memory (tests); else the settings'
        self._library: Library | None = None
        self.write_lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> Engine:
        """Open the index and load the model; a second call does nothing."""
        if self._library is not None:
            return self
        library = vidsearch.open(
            settings=self.settings,
            encoder=self._encoder,
            holder=self.holder,
            notify=log.info,
            timer=self.metrics.timed,
        )
        try:
            started = time.perf_counter()
            library.load()
            self.metrics.model_load_seconds.set(time.perf_counter() - started)
        except BaseException:
            library.close()
            raise
        self._library = library
        self.metrics.model_loaded.set(1)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        return self

    def close(self) -> None:
        library, self._library = self._library, None
        self.metrics.model_loaded.set(0)
        if library is not None:
            with self.write_lock:
                library.close()

    def readiness(self) -> Readiness:
        library = self._library
        return Readiness(
            model_loaded=library is not None and library.model_loaded,
            index_open=library is not None,
            model=library.encoder.name if library is not None else self.settings.model,
        )

    @property
    def library(self) -> Library:
        if self._library is None:
            raise IndexError_("the index is not open (the server is starting or stopping)")
        return self._library

    @property
    def store(self) -> IndexStore:
        return self.library.store

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir.uploads.absolute()

    # -- reads ------------------------------------------------------------------------
    def search_text(
        self,
        query: str,
        language: str | None = None,
        mode: SearchMode | None = None,
        *,
        top_k: int,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """Frames (visual), lines (dialogue, screen, text) or both (hybrid; the default
        where lines are indexed). An empty index answers with no moments."""
        with self.metrics.timed("total"), self._empty_is_nothing(query):
            return self.library.search(
                query,
                language=language,
                mode=mode,
                top_k=top_k,
                videos=videos,
                min_score=min_score,
            )
        return SearchResult(query.strip(), [])

    def search_image(
        self,
        pixels: np.ndarray,
        label: str,
        *,
        top_k: int,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        with self.metrics.timed("total"), self._empty_is_nothing(label):
            result = self.library.search(
                image=pixels, top_k=top_k, videos=videos, min_score=min_score
            )
            result.query = label
            return result
        return SearchResult(label, [])

    @contextmanager
    def _empty_is_nothing(self, label: str) -> Iterator[None]:
        """A server that has indexed nothing yet answers searches with no moments."""
        try:
            yield
        except EmptyIndexError:
            pass

    def top_frames(self, video: VideoRecord, query: str, top_k: int) -> list[FrameHit]:
        """The frames of one video most like the text, best first (not grouped into shots)."""
        return self.library.top_frames(video.name, query, top_k)

    def top_lines(self, video: VideoRecord, query: str, top_k: int) -> list[DialogueLine]:
        """The lines of one video (said or written) that best match the text, best first;
        none when the video has no lines."""
        if self.library.subtitle_lines(video) == 0:
            return []
        result = self.library.search(query, mode=SearchMode.TEXT, top_k=top_k, videos=[video.name])
        lines = [line for moment in result.moments for line in moment.dialogue]
        return lines[:top_k]

    def videos(self) -> list[VideoRecord]:
        return self.library.videos()

    def video(self, name: str) -> VideoRecord | None:
        return self.library.video(name)

    def line_counts(self, video: VideoRecord) -> dict[str, int]:
        return self.library.line_counts(video)

    def thumbnail(self, video_id: str, pts: int) -> Path | None:
        """The frame's thumbnail file; made from the video when it is missing (indexed on
        another machine, or lost), but only for a frame the index holds: a URL naming any
        other time writes nothing. None when there is no such thumbnail to give."""
        path = self.store.thumbnails.path_for(video_id, pts)
        if path.is_file():
            return path
        record = self.store.catalog.by_id(video_id)
        if record is None or not record.complete or not self.library.has_frame(video_id, pts):
            return None
        try:
            image = read_frame(Path(record.path), pts)
            return self.store.thumbnails.save(video_id, pts, image)
        except (VidsearchError, OSError):
            return None

    def index_stats(self) -> IndexStats | None:
        library = self._library
        if library is None:
            return None
        records = library.videos()
        data_dir = self.settings.data_dir
        size = allocated_bytes(data_dir.part(name) for name in data_dir.INDEX_PARTS)
        return IndexStats(len(records), sum(r.frames for r in records), size)

    # -- writes -----------------------------------------------------------------------
    def index_file(self, path: Path, progress: ProgressListener) -> IngestReport:
        with self.write_lock:
            [report] = self.library.index([path], progress=progress).videos
        for warning in report.warnings:  # unreadable subtitles: the frames are indexed
            log.warning("%s: %s", report.name or path.name, warning)
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
