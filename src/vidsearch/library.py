"""The public Python API: one object that indexes videos and answers queries.

    import vidsearch

    with vidsearch.open(home="~/videos-index") as library:
        library.index(["film.mp4", "folder/"])
        for moment in library.search("a man running on the beach").moments:
            print(moment.video, moment.start, moment.end, moment.score, moment.thumbnail)

The CLI, the HTTP service, the Airflow tasks and the evaluation all work through `Library`.
It opens the index at once (taking its lock) and the model only when it is first needed:
listing or removing videos never loads a model; indexing and searching load it before any
work, so a missing model fails first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidsearch import assembly
from vidsearch.config import DEFAULT_TOP_K, Settings
from vidsearch.errors import ConfigError, ModelMismatchError, NotFoundError
from vidsearch.types import FrameHit, SearchMode, TextSource, VideoRecord

if TYPE_CHECKING:  # the rest loads with the first index or search: `videos` stays light
    from vidsearch.dialogue.sources import LineReader
    from vidsearch.encoders.base import Encoder
    from vidsearch.index.store import IndexStore
    from vidsearch.ingest import IngestReport, ProgressListener
    from vidsearch.media.pool import FrameSource
    from vidsearch.media.sampler import SamplerConfig
    from vidsearch.search.images import QueryImage
    from vidsearch.search.searcher import Searcher, SearchResult, StageTimer

__all__ = ["IndexReport", "Library", "open"]


@dataclass(slots=True)
class IndexReport:
    """What one `Library.index` call did, a report per video file found."""

    videos: list[IngestReport] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.videos)  # IngestStatus.FAILED

    @property
    def indexed(self) -> int:
        return sum(r.status == "indexed" for r in self.videos)  # IngestStatus.INDEXED

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.videos]


class Library:
    """An open index and the model that reads it. Use as a context manager, or `close()`.

    Safe to search from several threads at once; index and remove from one at a time."""

    def __init__(
        self,
        settings: Settings,
        store: IndexStore,
        *,
        encoder: Encoder | None = None,
        sampling: SamplerConfig | None = None,
        notify: assembly.Notify | None = None,
        timer: StageTimer | None = None,
    ) -> None:
        """Prefer `vidsearch.open`. `encoder` replaces the model the settings name (a model
        already in memory, a test's); it stays the caller's to close. `sampling` replaces
        the sampler settings (interval, shot detector) with a whole `SamplerConfig` (the
        evaluation compares them). `notify` hears one-line notes meant for a person (an ONNX
        export starting, the search graph being built); `timer` wraps the stages of each
        search (the service's metrics)."""
        self.settings = settings
        self.store = store
        self._encoder = encoder
        self._owns_encoder = encoder is None
        self._sampling = sampling
        self._notify = notify or (lambda _: None)
        self._timer = timer
        self._dialogue = assembly.open_dialogue(settings, store, self._notify)  # loads when used
        self._readers: list[LineReader] | None = None  # speech, screen text: made to index
        self._searcher: Searcher | None = None
        self._decoder: FrameSource | None = None
        self._loading = threading.Lock()

    # -- life cycle -------------------------------------------------------------------
    def load(self) -> Library:
        """Load the model now (it otherwise loads with the first index or search call)."""
        _ = self.encoder
        return self

    @property
    def encoder(self) -> Encoder:
        """The model, loaded; refused when the index was built with another one."""
        with self._loading:
            if self._encoder is None:
                encoder = assembly.open_model(self.settings, self.store.model_ref, self._notify)
                try:
                    encoder.load()
                except BaseException:
                    encoder.close()
                    raise
                self._encoder = encoder
            self._check_model(self._encoder)
            return self._encoder

    @property
    def model_loaded(self) -> bool:
        return self._encoder is not None

    def close(self) -> None:
        """Release the index (its lock), the decoder processes and the models."""
        decoder, self._decoder = self._decoder, None
        try:
            if decoder is not None:
                decoder.close()
        finally:
            self.store.close()
            if self._encoder is not None and self._owns_encoder:
                self._encoder.close()
            if self._dialogue is not None:
                self._dialogue.close()
            for reader in self._readers or []:
                reader.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- indexing -----------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | PathLike[str]],
        *,
        progress: ProgressListener | None = None,
        build_graph: bool = True,
    ) -> IndexReport:
        """Index video files and folders (walked recursively); resumable and idempotent: an
        unchanged video already indexed is skipped, an interrupted one resumes. A file that
        cannot be indexed is reported (status failed) and the others go on. Builds the
        search graph over the new frames at the end when there are enough of them (unless
        `build_graph` is False: a batch of calls may build it once, at its end)."""
        from vidsearch.index.edge import OPTIMIZE_MIN_POINTS

        encoder = self.encoder
        if self._decoder is None:
            self._decoder = assembly.open_frame_source(self.settings)
        ingestor = assembly.make_ingestor(
            self.settings,
            self.store,
            encoder,
            dialogue=self._dialogue,
            readers=self._line_readers(),
            decoder=self._decoder,
            progress=progress,
            sampling=self._sampling,
        )
        report = IndexReport(list(ingestor.index_paths([Path(p) for p in paths])))
        if not build_graph:
            return report
        pending = self.store.vectors.unindexed_points() if self.store.has_vectors else 0
        if pending >= OPTIMIZE_MIN_POINTS:
            self._notify(f"building the search graph for {pending} new frames...")
        ingestor.build_search_index()
        return report

    def _line_readers(self) -> list[LineReader]:
        """Made with the first index call: listing and searching never import them."""
        if self._readers is None:
            self._readers = assembly.open_line_readers(self.settings) if self._dialogue else []
        return self._readers

    # -- searching ----------------------------------------------------------------------
    @property
    def searcher(self) -> Searcher:
        encoder = self.encoder
        if self._searcher is None:
            self._searcher = assembly.make_searcher(
                self.store, encoder, dialogue=self._dialogue, timer=self._timer
            )
        return self._searcher

    def search(
        self,
        query: str | None = None,
        *,
        image: QueryImage | None = None,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
        language: str | None = None,
        mode: SearchMode | None = None,
    ) -> SearchResult:
        """The best `top_k` moments for a sentence or an image (a file, a PIL image or RGB
        pixels; give exactly one). `videos` limits the search to these names; `language`
        (ISO 639-1) overrides the one read from the query's script; `mode` picks frames
        (visual), subtitles (dialogue) or both (hybrid; the default where subtitles are
        indexed). An empty index raises `EmptyIndexError`."""
        return self.searcher.search(
            query,
            image=image,
            top_k=top_k,
            videos=videos,
            min_score=min_score,
            language=language,
            mode=mode,
        )

    def top_frames(self, video: str, query: str, top_k: int) -> list[FrameHit]:
        """The frames of one video most like the text, best first (not grouped into shots)."""
        return self.searcher.top_frames(query, self._named(video).video_id, top_k)

    # -- the catalog --------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        """Every indexed video (complete or not), by name."""
        return self.store.catalog.videos()

    def video(self, name: str) -> VideoRecord | None:
        return self.store.catalog.by_name(name)

    def subtitle_lines(self, video: VideoRecord) -> int:
        """How many lines of `video` are indexed: subtitles, speech, text on screen (0: none)."""
        return self.store.dialogue.count(video.video_id) if self.store.has_dialogue else 0

    def line_counts(self, video: VideoRecord) -> dict[str, int]:
        """The lines of `video` indexed per source ("subtitle", "speech", "screen text"), the
        sources it has none of left out."""
        if not self.store.has_dialogue:
            return {}
        index = self.store.dialogue
        counts = {str(s): index.count(video.video_id, sources={s}) for s in TextSource}
        return {source: n for source, n in counts.items() if n}

    def has_frame(self, video_id: str, pts: int) -> bool:
        """Whether the index holds the frame of video `video_id` (content id) at `pts`: the
        frames a thumbnail may be made for."""
        from vidsearch.index.base import frame_point_id

        if not self.store.has_vectors:
            return False
        return frame_point_id(video_id, pts) in self.store.vectors.point_ids(video_id)

    def remove(self, name: str) -> VideoRecord:
        """Forget a video (its frames, subtitles and thumbnails; the file is not touched)."""
        record = self._named(name)
        self.store.remove_video(record.video_id)
        return record

    # -- helpers ------------------------------------------------------------------------
    def _named(self, name: str) -> VideoRecord:
        record = self.store.catalog.by_name(name)
        if record is None:
            raise NotFoundError(f"no indexed video named {name!r}; `vidsearch videos` lists them")
        return record

    def _check_model(self, encoder: Encoder) -> None:
        built_with = self.store.model_identity
        if built_with is not None and built_with != encoder.identity:
            raise ModelMismatchError(
                f"the index in {self.store.where} was built with model "
                f"'{self.store.model_ref}', not '{encoder.name}'; open it with "
                f"--model '{self.store.model_ref}' (VIDSEARCH_MODEL)"
            )


def open(  # noqa: A001 - vidsearch.open, as io.open and dbm.open
    home: str | PathLike[str] | None = None,
    model: str | None = None,
    *,
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    sampling: SamplerConfig | None = None,
    holder: str | None = None,
    notify: assembly.Notify | None = None,
    timer: StageTimer | None = None,
    **overrides: Any,
) -> Library:
    """Open the library in `home` (default: VIDSEARCH_HOME, else the per-user data folder)
    with `model` (default: the one that built the index, else clip-b32).

    Other settings are keyword overrides (`interval`, `workers`, `decode`, `subtitles`,
    `qdrant_url`... see `vidsearch.config.Settings`; None leaves a setting to the
    environment), or pass a whole `settings` object instead. `holder` names this process in
    the index's lock file; `encoder`, `sampling`, `notify` and `timer`: see `Library`."""
    if settings is not None and (home is not None or model is not None or overrides):
        raise ConfigError("give settings or keyword overrides (home, model, ...), not both")
    if settings is None:
        settings = assembly.make_settings(home=home, model=model, **overrides)
    store = assembly.open_store(settings, holder=holder)
    return Library(settings, store, encoder=encoder, sampling=sampling, notify=notify, timer=timer)
