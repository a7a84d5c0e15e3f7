"""Decode videos on every core: spans of each video in a pool of worker processes.

`SerialDecoder` decodes a video in this process (FFmpeg's own threads). `DecodePool` cuts
each video at clean keyframes (`segments.py`) and decodes the spans in worker processes, one
decoder thread each, a few spans ahead of the consumer, across videos: while the last spans
of one video are being consumed, the next video's first spans are already decoding, so a
folder of short clips keeps every core busy too.

Frames come back in order, and exactly as `decode_frames` yields them for the whole file:
each span starts at an IDR frame (decoding from there is bit-exact), and the concatenation
keeps time monotonic the same way. The sampler downstream therefore sees the same frames,
whichever decoder feeds it. A worker sends each frame's analysis view and working image
(~110 KB at 256x144), never the full frame.

Faults: a worker that dies (SIGKILL, a crash in FFmpeg) breaks the pool; the pool is rebuilt
and the spans in flight are decoded again. A span that kills its worker twice fails its
video with a DecodeError naming the span; the other videos go on. Workers are spawned (not
forked), so they hold none of the parent's file descriptors, the index lock among them; a
killed parent's workers exit when their pipe closes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vidsearch.errors import DecodeError
from vidsearch.faults import FaultPoint, fault_point
from vidsearch.media.decode import DecodedFrame, Span, decode_frames
from vidsearch.media.segments import plan_segments
from vidsearch.types import DecodeMode

# Spans decoded ahead of the consumer, per worker (each ~8-30 s of video: ~10-45 MB at 720p).
SPANS_AHEAD_PER_WORKER = 1
# A span whose worker died this many times fails its video.
MAX_SPAN_ATTEMPTS = 2


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class FrameSource(Protocol):
    """Where the ingestor's decoded frames come from."""

    @property
    def mode(self) -> DecodeMode: ...

    def frames(self, path: Path, then: Path | None = None) -> Iterator[DecodedFrame]:
        """The frames of `path` in order; `then`: the video that will probably be asked for
        next (a decoder may start on it early)."""
        ...


@dataclass(frozen=True, slots=True)
class SerialDecoder:
    """Decodes in this process, with FFmpeg's frame threads."""

    mode: DecodeMode = DecodeMode.FAST

    def frames(self, path: Path, then: Path | None = None) -> Iterator[DecodedFrame]:
        return decode_frames(path, self.mode)


@dataclass(slots=True)
class SpanFrames:
    """What a worker sends back for one span: everything the sampler may need."""

    timestamps: list[float]
    pts: list[int]
    analysis: list[np.ndarray]
    working: list[np.ndarray]


def decode_span(path: str, mode: str, span: Span) -> SpanFrames:
    """Runs in a worker process: decode one span with one decoder thread."""
    out = SpanFrames([], [], [], [])
    for frame in decode_frames(Path(path), DecodeMode(mode), span=span, threads=1):
        out.timestamps.append(frame.timestamp)
        out.pts.append(frame.pts)
        out.analysis.append(frame.analysis)
        out.working.append(frame.working_image())
    fault_point(FaultPoint.SEGMENT)
    return out


def _worker_init() -> None:
    # Ctrl-C is the parent's to handle: it closes the pool, workers must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _lost(future: Future[SpanFrames]) -> bool:
    """Whether a span's result went down with a broken pool (and must be decoded again)."""
    if future.cancelled() or not future.done():
        return True
    return isinstance(future.exception(), BrokenProcessPool)


@dataclass(frozen=True, slots=True)
class _Ready:
    image: np.ndarray

    def __call__(self) -> np.ndarray:
        return self.image


@dataclass(slots=True)
class _Job:
    path: Path
    number: int  # the span's place in its video
    span: Span
    future: Future[SpanFrames] | None = None
    attempts: int = 0


@dataclass(slots=True)
class _Video:
    path: Path
    jobs: deque[_Job] = field(default_factory=deque)


class DecodePool:
    """Decodes spans of videos in `workers` processes; use as a context manager."""

    def __init__(self, workers: int | None = None, mode: DecodeMode = DecodeMode.FAST) -> None:
        self.workers = workers or usable_cores()
        self.mode = mode
        self._executor: ProcessPoolExecutor | None = None
        self._videos: deque[_Video] = deque()  # registered, in the order they are consumed
        self.rebuilds = 0  # times a dead worker broke the pool (for tests and logs)

    # -- life cycle --------------------------------------------------------------------
    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for video in self._videos:
            self._cancel(video)
        self._videos.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- decoding ----------------------------------------------------------------------
    def frames(self, path: Path, then: Path | None = None) -> Iterator[DecodedFrame]:
        video = self._take(path)
        if then is not None and then != path:
            self._register(then)
        last_time: float | None = None
        try:
            while video.jobs:
                job = video.jobs[0]
                result = self._result(job)
                video.jobs.popleft()
                for i, timestamp in enumerate(result.timestamps):
                    if last_time is not None and timestamp <= last_time:
                        continue  # as decode_frames does within a span
                    last_time = timestamp
                    image = result.working[i]
                    yield DecodedFrame(timestamp, result.pts[i], result.analysis[i], _Ready(image))
                del result
        finally:
            self._cancel(video)
            if self._videos and self._videos[0] is video:
                self._videos.popleft()

    def _take(self, path: Path) -> _Video:
        """The registered video for `path` (registering it if need be); videos registered
        before it are not going to be asked for: their spans are dropped."""
        while self._videos and self._videos[0].path != path:
            self._cancel(self._videos.popleft())
        if not self._videos:
            self._register(path)
        return self._videos[0]

    def _register(self, path: Path) -> None:
        if any(v.path == path for v in self._videos):
            return
        plan = plan_segments(path)
        spans = plan.spans(self.workers) if self.mode is not DecodeMode.KEYFRAMES else []
        if not spans or len(spans) == 1:
            spans = [Span(None, None, None)]
        video = _Video(path, deque(_Job(path, n, s) for n, s in enumerate(spans)))
        self._videos.append(video)
        self._fill()

    def _result(self, job: _Job) -> SpanFrames:
        while True:
            self._fill()
            assert job.future is not None
            try:
                return job.future.result()
            except (BrokenProcessPool, CancelledError):
                if job.attempts >= MAX_SPAN_ATTEMPTS:
                    raise DecodeError(
                        f"{job.path}: the decoder process died {job.attempts} times on "
                        f"{self._describe(job)}; the file may be damaged there"
                    ) from None
                self._rebuild()

    def _fill(self) -> None:
        """Submit spans in order until SPANS_AHEAD_PER_WORKER per worker are in flight."""
        limit = self.workers * (1 + SPANS_AHEAD_PER_WORKER)
        in_flight = 0
        for video in self._videos:
            for job in video.jobs:
                if job.future is not None and not job.future.done():
                    in_flight += 1
                elif job.future is None:
                    if in_flight >= limit:
                        return
                    job.future = self._pool().submit(
                        decode_span, str(job.path), self.mode.value, job.span
                    )
                    job.attempts += 1
                    in_flight += 1

    def _rebuild(self) -> None:
        """A worker died: every span in flight is lost with the pool; decode them again."""
        self.rebuilds += 1
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        for video in self._videos:
            for job in video.jobs:
                if job.future is not None and _lost(job.future):
                    job.future = None
        self._fill()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
            )
        return self._executor

    def _cancel(self, video: _Video) -> None:
        for job in video.jobs:
            if job.future is not None:
                job.future.cancel()
        video.jobs.clear()

    @staticmethod
    def _describe(job: _Job) -> str:
        return f"the segment from {job.span.start_time:.2f}s (segment {job.number + 1})"
