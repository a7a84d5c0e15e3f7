"""Decode videos on every core: spans of each video in a pool of worker processes.

`SerialDecoder` decodes a video in this process (FFmpeg's own threads). `DecodePool` cuts
each video at clean keyframes (`segments.py`) and decodes the spans in worker processes, one
decoder thread each, a few spans ahead of the consumer, across videos: while the last spans
of one video are being consumed, the next video's first spans are already decoding, so a
folder of short clips keeps every core busy too.

Frames come back in order, and exactly as `decode_frames` yields them for the whole file:
each span starts at an IDR frame (decoding from there is bit-exact), and the concatenation
keeps time monotonic the same way. The sampler downstream therefore sees the same frames,
whichever decoder feeds it. A worker sends each frame's analysis view, and a working image
only where the sampler may keep that frame (`span_decoding.py`), never the full frame.

Faults: a worker that dies (SIGKILL, a crash in FFmpeg) breaks the pool; the pool is rebuilt
and the spans that were in flight are decoded again, one at a time. A span that kills its
worker while running alone fails its video with a DecodeError naming the span; the other
videos go on. Workers are spawned (not
forked), so they hold none of the parent's file descriptors, the index lock among them; a
killed parent's workers exit when their pipe closes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    CancelledError,
    Future,
    ProcessPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from vidsearch.errors import DecodeError
from vidsearch.media.decode import WHOLE_FILE, DecodedFrame, Span, decode_frames
from vidsearch.media.sampler import SamplerConfig
from vidsearch.media.segments import plan_segments
from vidsearch.media.span_decoding import Redecoder, SpanFrames, decode_span
from vidsearch.types import DecodeMode

# Spans decoded ahead of the consumer, per worker (each ~8-30 s of video: ~10-45 MB at 720p).
SPANS_AHEAD_PER_WORKER = 1
# How often a worker checks that its parent is alive.
PARENT_POLL_S = 0.5


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

    def frames(
        self, path: Path, then: Path | None = None, sampling: SamplerConfig | None = None
    ) -> Iterator[DecodedFrame]:
        """The frames of `path` in order; `then`: the video that will probably be asked for
        next (a decoder may start on it early); `sampling`: the settings of the sampler the
        frames go to (a decoder may then prepare working images only where it may keep one).
        """
        ...


@dataclass(frozen=True, slots=True)
class SerialDecoder:
    """Decodes in this process, with FFmpeg's frame threads."""

    mode: DecodeMode = DecodeMode.FAST

    def frames(
        self, path: Path, then: Path | None = None, sampling: SamplerConfig | None = None
    ) -> Iterator[DecodedFrame]:
        return decode_frames(path, self.mode)

    def __enter__(self) -> SerialDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (the same life cycle as DecodePool)."""


def open_decoder(workers: int | None, mode: DecodeMode) -> SerialDecoder | DecodePool:
    """The decoder for `workers` processes (None: the usable cores; 1: this process)."""
    count = workers or usable_cores()
    return DecodePool(count, mode) if count > 1 else SerialDecoder(mode)


SpanDecoder = Callable[[str, str, Span, SamplerConfig | None], SpanFrames]


def _worker_init(parent: int) -> None:
    # Ctrl-C is the parent's to handle: it closes the pool, workers must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's pid comes from the parent: one killed while this worker started must
    # not be mistaken for init (or a subreaper) adopting it.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed would wait for work forever (it holds both ends
    of its task queue, so it never sees the end of it): it exits instead, within
    PARENT_POLL_S, and lets go of the file and the pipes it inherited."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


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
    suspect: bool = False  # in flight when a worker died: runs again, alone
    fatal: bool = False  # killed a worker while running alone: fails its video


@dataclass(slots=True)
class _Video:
    path: Path
    sampling: SamplerConfig | None
    jobs: deque[_Job] = field(default_factory=deque)


class DecodePool:
    """Decodes spans of videos in `workers` processes; use as a context manager."""

    def __init__(
        self,
        workers: int | None = None,
        mode: DecodeMode = DecodeMode.FAST,
        *,
        decode: SpanDecoder = decode_span,
    ) -> None:
        """`decode`: what a worker runs for one span (a module-level function, so that a
        spawned worker can import it; tests hand in one that crashes)."""
        self.workers = workers or usable_cores()
        self.mode = mode
        self._decode = decode
        self._executor: ProcessPoolExecutor | None = None
        self._videos: deque[_Video] = deque()  # registered, in the order they are consumed
        self.rebuilds = 0  # times a dead worker broke the pool (for tests and logs)
        self.redecoded = 0  # spans decoded again here for an image a worker did not send

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
    def frames(
        self, path: Path, then: Path | None = None, sampling: SamplerConfig | None = None
    ) -> Iterator[DecodedFrame]:
        video = self._take(path, sampling)
        if then is not None and then != path:
            self._register(then, sampling)
        last_time: float | None = None
        try:
            while video.jobs:
                job = video.jobs[0]
                result = self._result(job)
                video.jobs.popleft()
                redecoder = Redecoder(path, self.mode, job.span)
                for i, timestamp in enumerate(result.timestamps):
                    if last_time is not None and timestamp <= last_time:
                        continue  # as decode_frames does within a span
                    last_time = timestamp
                    image, pts = result.working[i], result.pts[i]
                    render = _Ready(image) if image is not None else partial(redecoder.image, pts)
                    yield DecodedFrame(timestamp, pts, result.analysis[i], render)
                self.redecoded += redecoder.passes
                del result
        finally:
            self._cancel(video)
            if self._videos and self._videos[0] is video:
                self._videos.popleft()

    def _take(self, path: Path, sampling: SamplerConfig | None) -> _Video:
        """The registered video for `path` (registering it if need be); videos registered
        before it are not going to be asked for: their spans are dropped."""
        while self._videos and (
            self._videos[0].path != path or self._videos[0].sampling != sampling
        ):
            self._cancel(self._videos.popleft())
        if not self._videos:
            self._register(path, sampling)
        return self._videos[0]

    def _register(self, path: Path, sampling: SamplerConfig | None) -> None:
        if any(v.path == path for v in self._videos):
            return
        # keyframes alone decode in a blink: not worth reading every packet to cut them
        keyframes_only = self.mode is DecodeMode.KEYFRAMES
        spans = [WHOLE_FILE] if keyframes_only else plan_segments(path).spans(self.workers)
        video = _Video(path, sampling, deque(_Job(path, n, s) for n, s in enumerate(spans)))
        self._videos.append(video)
        self._fill()

    def _result(self, job: _Job) -> SpanFrames:
        while True:
            self._fill()
            if job.fatal:
                raise DecodeError(
                    f"{job.path}: the decoder process died on {self._describe(job)}; "
                    "the file may be damaged there"
                )
            if job.future is None:  # suspects ahead of it run first, one at a time
                busy = [j.future for v in self._videos for j in v.jobs if j.future is not None]
                wait([f for f in busy if not f.done()], return_when=FIRST_COMPLETED)
                continue
            try:
                result = job.future.result()
            except (BrokenProcessPool, CancelledError):
                self._broken()
                continue
            except BaseException:
                job.suspect = False
                raise
            job.suspect = False
            return result

    def _fill(self) -> None:
        """Submit spans in order until SPANS_AHEAD_PER_WORKER per worker are in flight;
        after a worker died, the spans it may have died on run one at a time."""
        while True:
            try:
                self._submit_ahead()
                return
            except BrokenProcessPool:  # broke since the last look
                self._broken()

    def _submit_ahead(self) -> None:
        jobs = [(job, v.sampling) for v in self._videos for job in v.jobs if not job.fatal]
        for job, _ in jobs:
            if job.suspect and job.future is not None and job.future.done():
                if not _lost(job.future):
                    job.suspect = False  # it ran alone and survived
        solo = any(job.suspect for job, _ in jobs)
        limit = 1 if solo else self.workers * (1 + SPANS_AHEAD_PER_WORKER)
        in_flight = sum(1 for job, _ in jobs if job.future is not None and not job.future.done())
        for job, sampling in jobs:
            if in_flight >= limit:
                return
            if job.future is None and (job.suspect or not solo):
                job.future = self._pool().submit(
                    self._decode, str(job.path), self.mode.value, job.span, sampling
                )
                in_flight += 1

    def _broken(self) -> None:
        """A worker died and took the pool with it. Which span killed it is unknown when
        several ran: they all become suspects and run again one at a time; a suspect that
        kills a worker while running alone fails its video."""
        self.rebuilds += 1
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        lost = [
            job
            for video in self._videos
            for job in video.jobs
            if job.future is not None and _lost(job.future)
        ]
        alone = len(lost) == 1 and lost[0].suspect
        for job in lost:
            job.future = None
            job.suspect = True
            job.fatal = alone

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(os.getpid(),),
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
