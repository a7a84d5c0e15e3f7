"""Background indexing jobs: one worker thread indexes uploaded files one at a time (writes to
an index are serialised anyway) and records progress that `GET /jobs/{id}` reports.

A job can be cancelled (its video is being deleted, or the server is stopping): the worker
notices at the next progress report and stops without rolling back, so the video stays
INDEXING in the catalog and the next start of the server resumes it.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from vidsearch.errors import ConflictError, VidsearchError
from vidsearch.ingest import IngestReport, IngestStatus
from vidsearch.media.probe import probe_video
from vidsearch.service.engine import Engine
from vidsearch.service.metrics import ServiceMetrics
from vidsearch.service.settings import INCOMING_DIR_NAME

log = logging.getLogger("vidsearch.service.jobs")

KEEP_FINISHED_JOBS = 1000
CANCEL_WAIT_S = 60.0


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(slots=True)
class Job:
    id: str
    file: str
    path: Path
    state: JobState = JobState.QUEUED
    frames_done: int = 0  # frames of the file behind the decoder; frames_total once done
    frames_total: int = 0  # frames in the file (from its header, else duration x fps)
    frames_kept: int = 0  # sampled for the index
    frames_indexed: int = 0  # stored in the index when done
    position: float = 0.0  # seconds of video decoded
    duration: float = 0.0
    stage: str = "frames"  # then "speech", "screen text" (the lines read after the frames)
    stage_progress: float = 0.0  # 0-1 through the stage
    video: str | None = None  # the name it is searchable under, once known
    content_id: str | None = None  # the video's content id, where known when submitted
    result: str | None = None  # "indexed" or "skipped" (already indexed)
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def progress(self) -> float:
        if self.state is JobState.DONE:
            return 1.0
        if self.frames_total <= 0:
            return 0.0
        return min(0.99, self.frames_done / self.frames_total)

    def advance(self, position: float, decoded: int, kept: int) -> None:
        """The decoder reached `position` seconds, having decoded `decoded` frames. The fast
        decoder skips non-reference frames (half of a typical H.264 file), so the frames done
        are counted by time; never fewer than those decoded."""
        self.position, self.frames_kept = position, kept
        if self.duration > 0:
            self.stage_progress = min(1.0, position / self.duration)
        passed = decoded
        if self.duration > 0 and self.frames_total > 0:
            passed = max(decoded, round(self.frames_total * min(1.0, position / self.duration)))
        self.frames_done = passed


class DuplicateContent(ConflictError):
    """The same video (by content id) is already queued or being indexed under `name`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the same video is already being indexed as {name!r}")
        self.name = name


class JobCancelled(Exception):  # noqa: N818 - not an error: a request to stop
    """Raised inside the indexing loop; not a VidsearchError, so nothing is rolled back."""


class _JobProgress:
    """The Ingestor's ProgressListener for one job."""

    def __init__(self, runner: JobRunner, job_id: str, cancel: threading.Event) -> None:
        self.runner = runner
        self.job_id = job_id
        self.cancel = cancel

    def video_started(self, path: Path, duration: float) -> None:
        self.runner._update(self.job_id, duration=duration)
        if self.cancel.is_set():
            raise JobCancelled

    def video_progress(self, position: float, decoded: int, kept: int) -> None:
        self.runner._advance(self.job_id, position, decoded, kept)
        if self.cancel.is_set():
            raise JobCancelled

    def text_progress(self, stage: str, done: float, total: float) -> None:
        share = min(1.0, done / total) if total > 0 else 0.0
        self.runner._update(self.job_id, stage=stage, stage_progress=share)
        if self.cancel.is_set():  # transcribing an hour of speech must stop when asked
            raise JobCancelled

    def video_finished(self, report: IngestReport) -> None:
        pass  # the runner reads the report that index_file returns


class JobRunner:
    """Start with `start()`; `submit()` queues a file; `stop()` cancels everything."""

    def __init__(self, engine: Engine, metrics: ServiceMetrics) -> None:
        self.engine = engine
        self.metrics = metrics
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cancels: dict[str, threading.Event] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="vidsearch-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = CANCEL_WAIT_S) -> None:
        with self._lock:
            for event in self._cancels.values():
                event.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- requests ---------------------------------------------------------------------
    def submit(
        self,
        path: Path,
        frames_total: int = 0,
        duration: float = 0.0,
        content_id: str | None = None,
    ) -> Job:
        """Queue `path`; with its `content_id`, DuplicateContent when an unfinished job
        already has the same content (checked and queued under one lock, so of two identical
        uploads at once exactly one is queued)."""
        job = Job(
            uuid.uuid4().hex,
            path.name,
            path,
            frames_total=frames_total,
            duration=duration,
            content_id=content_id,
        )
        with self._lock:
            if content_id is not None:
                for other in self._jobs.values():
                    if other.content_id == content_id and not other.state.finished:
                        raise DuplicateContent(other.file)
            self._jobs[job.id] = job
            self._cancels[job.id] = threading.Event()
            self._forget_old()
        self.metrics.jobs_queued.inc()
        self._queue.put(job.id)
        return dataclasses.replace(job)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return dataclasses.replace(job) if job else None

    def jobs(self) -> list[Job]:
        with self._lock:
            return [dataclasses.replace(j) for j in reversed(self._jobs.values())]

    def cancel_path(self, path: Path, timeout: float = CANCEL_WAIT_S) -> list[str]:
        """Cancel the unfinished jobs of a file and wait until none of them is running."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.path == path and not j.state.finished]
            for job_id in ids:
                self._cancels[job_id].set()
            self._idle.wait_for(
                lambda: all(self._jobs[i].state is not JobState.RUNNING for i in ids), timeout
            )
        return ids

    def resume_uploads(self) -> list[Job]:
        """Queue the uploads a previous run left unindexed (stopped or killed mid-job);
        the index resumes them where they stopped."""
        uploads = self.engine.uploads_dir
        shutil.rmtree(uploads / INCOMING_DIR_NAME, ignore_errors=True)  # partial uploads
        catalog = self.engine.store.catalog
        resumed = []
        for path in sorted(uploads.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            if not any(r.complete for r in catalog.by_path(str(path))):
                try:
                    resumed.append(self._resubmit(path))
                except DuplicateContent as exc:  # left by a version without the upload rule
                    self.engine.delete_upload(path)
                    log.warning("deleted %s: %s", path.name, exc)
                    continue
                log.info("resuming the indexing of %s", path.name)
        return resumed

    def _resubmit(self, path: Path) -> Job:
        """Queue a left-over upload with its content id, so that the upload rule (the same
        video under another name is refused) holds for it too; a file that no longer probes
        is queued as it is, and its job fails and deletes it."""
        try:
            info = probe_video(path)
        except VidsearchError:
            return self.submit(path)
        frames = info.frame_count or round(info.duration * info.fps)
        return self.submit(path, frames, info.duration, content_id=info.content_id)

    # -- the worker -------------------------------------------------------------------
    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for key, value in changes.items():
                    setattr(job, key, value)

    def _advance(self, job_id: str, position: float, decoded: int, kept: int) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.advance(position, decoded, kept)

    def _finish(self, job_id: str, state: JobState, **changes: object) -> None:
        with self._lock:
            job = self._jobs[job_id]
            for key, value in changes.items():
                setattr(job, key, value)
            job.state = state
            job.finished_at = time.time()
            self._cancels.pop(job_id, None)
            self._idle.notify_all()
        self.metrics.jobs_finished.labels(state.value).inc()

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state.finished]
        for job_id in finished[: max(0, len(self._jobs) - KEEP_FINISHED_JOBS)]:
            del self._jobs[job_id]

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            self.metrics.jobs_queued.dec()
            with self._lock:
                cancel = self._cancels.get(job_id)
                job = self._jobs.get(job_id)
                if job is None or cancel is None:
                    continue
                if cancel.is_set():
                    cancelled = True
                else:
                    cancelled = False
                    job.state = JobState.RUNNING
                    job.started_at = time.time()
            if cancelled:
                self._finish(job_id, JobState.CANCELLED, error="cancelled before it started")
                continue
            self.metrics.jobs_running.inc()
            try:
                self._run(job_id, job.path, cancel)
            except JobCancelled:
                self._finish(job_id, JobState.CANCELLED, error="cancelled")
            except Exception as exc:  # a bug or an I/O failure: report it, keep the worker alive
                log.exception("indexing job %s failed", job_id)
                self._finish(job_id, JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
            finally:
                self.metrics.jobs_running.dec()

    def _run(self, job_id: str, path: Path, cancel: threading.Event) -> None:
        try:
            info = probe_video(path)
        except VidsearchError as exc:
            self._failed_upload(path)
            self._finish(job_id, JobState.FAILED, error=str(exc))
            return
        frames_total = info.frame_count or round(info.duration * info.fps)
        self._update(job_id, frames_total=frames_total, duration=info.duration)
        report = self.engine.index_file(path, _JobProgress(self, job_id, cancel))
        if report.status is IngestStatus.FAILED:
            self._failed_upload(path)
            self._finish(job_id, JobState.FAILED, error=report.error, video=report.name or None)
            return
        self.metrics.frames_indexed.inc(report.encoded)
        frames_total = max(frames_total, report.decoded)  # the header's count may fall short
        self._finish(
            job_id,
            JobState.DONE,
            video=report.name,
            result=report.status.value,
            frames_indexed=report.frames,
            frames_done=frames_total,  # the whole file, decoded or skipped by the decoder
            frames_total=frames_total,
            position=report.duration,
            duration=report.duration,
        )

    def _failed_upload(self, path: Path) -> None:
        """An upload that cannot be indexed is deleted, so its name can be used again."""
        if self.engine.delete_upload(path):
            log.info("deleted %s: it could not be indexed", path.name)
