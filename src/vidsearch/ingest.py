"""Index videos: decode → sample → embed → store, streamed, resumable and idempotent.

Per video:
1. probe it and compute its content id; a complete video with that id is skipped;
2. mark it INDEXING in the catalog; ask the index which of its frames are already stored
   (a killed run left them) so they are not embedded again;
3. stream sampled frames through the encoder in batches; a frame's point is written once
   its vector exists and its shot has ended (the payload carries the shot's end);
4. flush the vector index, then mark the video COMPLETE.
Point ids derive from (content id, pts), so a rerun after SIGKILL rewrites the same points:
no duplicates, and the deterministic sampler brings back exactly the missing ones.
A video that fails to decode is rolled back: its partial points and thumbnails are removed.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.indexer import DialogueIndexer
from vidsearch.dialogue.sources import LineReader
from vidsearch.encoders.base import Encoder
from vidsearch.errors import MediaError, VidsearchError
from vidsearch.faults import FaultPoint, fault_point
from vidsearch.index.base import FramePoint, frame_point_id
from vidsearch.index.catalog import now_iso
from vidsearch.index.store import IndexStore
from vidsearch.media.decode import DecodedFrame, DecodeMode
from vidsearch.media.pool import FrameSource, SerialDecoder
from vidsearch.media.probe import printable_path, probe_video
from vidsearch.media.sampler import FrameSampler, SamplerConfig
from vidsearch.prefetch import prefetch
from vidsearch.types import SampledFrame, ShotClosed, VideoInfo, VideoRecord, VideoState

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mkv .mov .avi .webm .mpg .mpeg .ts .mts .m2ts .wmv .flv .3gp .ogv .vob".split()
)
PROGRESS_EVERY_FRAMES = 25
# Sampled frames decoded ahead of the encoder (in batches): decoding overlaps embedding.
PREFETCH_BATCHES = 2


class IngestStatus(StrEnum):
    INDEXED = "indexed"
    SKIPPED = "skipped"  # already complete and unchanged
    FAILED = "failed"


@dataclass(slots=True)
class IngestReport:
    path: str
    status: IngestStatus
    name: str = ""
    frames: int = 0  # frames stored for this video
    encoded: int = 0  # frames embedded in this run (fewer than `frames` on resume)
    decoded: int = 0
    duration: float = 0.0
    seconds: float = 0.0
    error: str = ""
    cues: int = 0  # lines the video has in the dialogue index (every source)
    lines: dict[str, int] = field(default_factory=dict)  # lines stored in this run, by source
    warnings: list[str] = field(default_factory=list)  # unreadable subtitles and the like

    def to_json(self) -> dict[str, Any]:
        return {
            "path": printable_path(self.path),  # a refused name may not be UTF-8
            "name": self.name,
            "status": self.status.value,
            "frames": self.frames,
            "encoded": self.encoded,
            "decoded": self.decoded,
            "duration": round(self.duration, 3),
            "seconds": round(self.seconds, 3),
            "error": self.error or None,
            "cues": self.cues,
            "lines": dict(self.lines),
            "warnings": list(self.warnings),
        }


class ProgressListener(Protocol):
    """Told about progress; the CLI draws bars, the service counts, tests record."""

    def video_started(self, path: Path, duration: float) -> None: ...

    def video_progress(self, position: float, decoded: int, kept: int) -> None: ...

    def text_progress(self, stage: str, done: float, total: float) -> None:
        """After the frames: a reader's way through the video ("speech", "screen text"), in
        seconds."""
        ...

    def video_finished(self, report: IngestReport) -> None: ...


class _Silent:
    def video_started(self, path: Path, duration: float) -> None:
        pass

    def video_progress(self, position: float, decoded: int, kept: int) -> None:
        pass

    def text_progress(self, stage: str, done: float, total: float) -> None:
        pass

    def video_finished(self, report: IngestReport) -> None:
        pass


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, folders walked recursively for video extensions (sorted, no symlinked
    folders followed). Missing paths are passed through so that they are reported."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                        yield Path(root) / name
        else:
            yield path


@dataclass(slots=True)
class _Pending:
    frame: SampledFrame
    point_id: str
    vector: np.ndarray | None = None


@dataclass(slots=True)
class _Counters:
    decoded: int = 0
    kept: int = 0
    encoded: int = 0
    stored: int = 0
    position: float = 0.0


class Ingestor:
    """Indexes files into an open IndexStore with an encoder bound to it."""

    def __init__(
        self,
        store: IndexStore,
        encoder: Encoder,
        sampler: FrameSampler | None = None,
        *,
        batch_size: int = 32,
        progress: ProgressListener | None = None,
        decode_mode: DecodeMode = DecodeMode.FAST,
        dialogue: DialogueEncoder | None = None,
        readers: Sequence[LineReader] = (),
        subtitles: bool = True,
        decoder: FrameSource | None = None,
    ) -> None:
        """`dialogue`: also index each video's lines with this encoder, after its frames
        (None: frames only): its subtitles (unless `subtitles` is False) and what each of
        `readers` reads (speech, screen text). `decoder`: where decoded frames come from
        (default: this process; a `DecodePool` spreads decoding over worker processes); its
        mode wins over `decode_mode`."""
        self.decoder: FrameSource = decoder or SerialDecoder(decode_mode)
        decode_mode = self.decoder.mode
        self._upcoming: Path | None = None  # the video index_paths will ask for next
        self.store = store
        self.encoder = encoder
        self.progress = progress or _Silent()
        self.dialogue = (
            DialogueIndexer(
                store,
                dialogue,
                readers=readers,
                subtitles=subtitles,
                progress=self.progress.text_progress,
            )
            if dialogue is not None
            else None
        )
        self.sampler = sampler or FrameSampler()
        self.batch_size = batch_size
        self.decode_mode = decode_mode
        self.sampling = sampling_signature(self.sampler.config, decode_mode)
        store.bind_model(encoder.identity, encoder.name, encoder.dim)

    def index_paths(self, paths: Sequence[Path]) -> Iterator[IngestReport]:
        found = [(path, given) for given in paths for path in expand_paths([given])]
        for number, (path, given) in enumerate(found):
            self._upcoming = found[number + 1][0] if number + 1 < len(found) else None
            yield self._refuse_outside_link(path, given) or self.index_file(path)
        self._upcoming = None

    def _refuse_outside_link(self, path: Path, folder: Path) -> IngestReport | None:
        """A symbolic link met while walking a folder is followed only inside that folder:
        nothing outside the paths given is ever opened."""
        if path == folder or not path.is_symlink():
            return None
        try:
            target = path.resolve()
        except (OSError, RuntimeError):  # a loop of links: index_file reports it missing
            return None
        if target.is_relative_to(folder.resolve()):
            return None
        error = f"{path}: a symbolic link to {target}, outside {folder}: not followed"
        report = IngestReport(str(path), IngestStatus.FAILED, error=error)
        self.progress.video_finished(report)
        return report

    def build_search_index(self) -> bool:
        """After a batch of videos: build the HNSW graph over the new points if there are
        enough of them to make it worth the (blocking) wait. Whether it ran."""
        if self.dialogue is not None and self.store.has_dialogue:
            self.store.dialogue.optimize()
        return self.store.has_vectors and self.store.vectors.optimize()

    def index_file(self, path: Path) -> IngestReport:
        started = time.perf_counter()
        path = Path(os.path.abspath(path))
        try:
            info = probe_video(path)
        except MediaError as exc:
            report = IngestReport(str(path), IngestStatus.FAILED, error=str(exc))
            self.progress.video_finished(report)
            return report
        catalog = self.store.catalog
        existing = catalog.by_id(info.content_id)
        if existing is not None and existing.complete:
            main = Path(existing.path)
            if main != path and _unchanged(main, existing):
                # a copy: the entry stays with the original, the copy's subtitles count too
                if self.dialogue is not None:
                    self.dialogue.remember_copy(existing.video_id, path)
            elif existing.path != info.path or existing.mtime_ns != info.mtime_ns:
                catalog.update_location(existing.video_id, info.path, info.mtime_ns)  # moved
                main = path
            report = IngestReport(
                str(path),
                IngestStatus.SKIPPED,
                existing.name,
                existing.frames,
                duration=existing.duration,
                seconds=time.perf_counter() - started,
            )
            if self.dialogue is not None:
                locations = self.dialogue.locations(existing.video_id, main)
                if not self.dialogue.is_current(existing.video_id, locations):
                    # subtitles added since, a new ASR model...: what changed is read
                    self._index_dialogue(existing.video_id, locations, report, fresh=False)
            self.progress.video_finished(report)
            return report
        if existing is not None and existing.sampling != self.sampling:
            # An interrupted run sampled with other settings: resuming would mix two sets of
            # frames, so its partial frames go and the video starts over.
            self.store.remove_video(existing.video_id)
        name = existing.name if existing else catalog.unique_name(path.name, info.content_id)
        catalog.start(
            VideoRecord(
                info.content_id,
                name,
                info.path,
                info.size,
                info.mtime_ns,
                info.duration,
                0,
                VideoState.INDEXING,
                self.encoder.identity,
                now_iso(),
                self.sampling,
            )
        )
        self.progress.video_started(path, info.duration)
        counters = _Counters()
        try:
            self._index_frames(info, counters)
        except VidsearchError as exc:
            self.store.remove_video(info.content_id)
            report = IngestReport(
                str(path),
                IngestStatus.FAILED,
                name,
                error=str(exc),
                decoded=counters.decoded,
                seconds=time.perf_counter() - started,
            )
            self.progress.video_finished(report)
            return report
        vectors = self.store.vectors
        fault_point(FaultPoint.FLUSH)
        vectors.flush()
        fault_point(FaultPoint.FLUSHED)
        frames = vectors.count(info.content_id)
        duration = max(info.duration, counters.position)
        catalog.complete(info.content_id, frames, duration)
        fault_point(FaultPoint.COMPLETED)
        self._forget_replaced(info)
        report = IngestReport(
            str(path),
            IngestStatus.INDEXED,
            name,
            frames,
            counters.encoded,
            counters.decoded,
            duration,
            time.perf_counter() - started,
        )
        if self.dialogue is not None:
            locations = self.dialogue.locations(info.content_id, path)
            self._index_dialogue(info.content_id, locations, report)
            report.seconds = time.perf_counter() - started
        self.progress.video_finished(report)
        return report

    def _index_dialogue(
        self,
        video_id: str,
        locations: Sequence[Path],
        report: IngestReport,
        *,
        fresh: bool = True,
    ) -> None:
        """The video's lines, once its frames are complete: problems are warnings."""
        assert self.dialogue is not None
        dialogue = self.dialogue.index_video(video_id, locations, fresh=fresh)
        report.cues = dialogue.cues
        report.lines = {str(k): v for k, v in dialogue.lines.items()}
        report.warnings.extend(dialogue.warnings)

    # -- internals --------------------------------------------------------------------
    def _next_to_decode(self) -> Path | None:
        """The next video of index_paths, if it will be decoded (not indexed already): the
        decoder may start on it while this one is being embedded."""
        upcoming = self._upcoming
        if upcoming is None or upcoming.is_symlink():
            return None
        try:
            info = probe_video(Path(os.path.abspath(upcoming)))
        except MediaError:
            return None
        existing = self.store.catalog.by_id(info.content_id)
        return None if existing is not None and existing.complete else Path(info.path)

    def _decoded(self, path: Path, counters: _Counters) -> Iterator[DecodedFrame]:
        frames = self.decoder.frames(path, self._next_to_decode(), self.sampler.config)
        for frame in frames:
            counters.decoded += 1
            fault_point(FaultPoint.DECODE)
            counters.position = frame.timestamp
            if counters.decoded % PROGRESS_EVERY_FRAMES == 0:
                self.progress.video_progress(frame.timestamp, counters.decoded, counters.kept)
            yield frame

    def _index_frames(self, info: VideoInfo, counters: _Counters) -> None:
        video_id = info.content_id
        vectors = self.store.vectors
        thumbnails = self.store.thumbnails
        stored = vectors.point_ids(video_id)
        pending: deque[_Pending] = deque()
        unencoded: list[_Pending] = []
        shot_ends: dict[int, float] = {}

        def encode() -> None:
            if not unencoded:
                return
            embedded = self.encoder.encode_images([p.frame.image for p in unencoded])
            for p, vector in zip(unencoded, embedded, strict=True):
                p.vector = vector
                p.frame.image = np.empty((0, 0, 3), np.uint8)  # free the pixels
            counters.encoded += len(unencoded)
            unencoded.clear()

        def write_ready() -> None:
            ready: list[FramePoint] = []
            while pending and pending[0].vector is not None:
                shot_end = shot_ends.get(pending[0].frame.shot_index)
                if shot_end is None:
                    break
                p = pending.popleft()
                f = p.frame
                assert p.vector is not None
                ready.append(
                    FramePoint(
                        video_id, f.pts, f.timestamp, f.shot_index, f.shot_start, shot_end, p.vector
                    )
                )
            if ready:
                fault_point(FaultPoint.UPSERT)
                vectors.upsert(ready)
                fault_point(FaultPoint.UPSERTED)
            counters.stored += len(ready)

        events = self.sampler.sample(self._decoded(Path(info.path), counters))
        for event in prefetch(events, depth=PREFETCH_BATCHES * self.batch_size):
            if isinstance(event, ShotClosed):
                shot_ends[event.shot_index] = event.end
                write_ready()
                continue
            counters.kept += 1
            point_id = frame_point_id(video_id, event.pts)
            if point_id in stored:
                continue  # stored by an earlier, interrupted run
            thumbnails.save(video_id, event.pts, event.image)
            item = _Pending(event, point_id)
            pending.append(item)
            unencoded.append(item)
            if len(unencoded) >= self.batch_size:
                encode()
                write_ready()
        encode()
        write_ready()
        if pending:  # cannot happen: the sampler closes every shot it opens
            raise VidsearchError(f"{info.path}: {len(pending)} frames left without a shot end")

    def _forget_replaced(self, info: VideoInfo) -> None:
        """A file whose content changed: drop what was indexed for its old content."""
        for old in self.store.catalog.by_path(info.path):
            if old.video_id != info.content_id:
                self.store.remove_video(old.video_id)
        record = self.store.catalog.by_id(info.content_id)
        wanted = Path(info.path).name
        if (
            record is not None
            and record.name != wanted
            and self.store.catalog.by_name(wanted) is None
        ):
            self.store.catalog.rename(info.content_id, wanted)


def _unchanged(path: Path, record: VideoRecord) -> bool:
    """Whether the file the catalog names is still there as it was indexed."""
    try:
        status = path.stat()
    except OSError:
        return False
    return (status.st_size, status.st_mtime_ns) == (record.size, record.mtime_ns)


def sampling_signature(config: SamplerConfig, decode_mode: DecodeMode) -> str:
    """What decides which frames of a video are kept, as a stable string for the catalog."""
    settings = {"decode": decode_mode.value, **asdict(config)}
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))
