"""Working beside `vidsearch serve`: while a server holds the index, commands go through it.

A running server owns the embedded index (its lock). `running_server(home)` reads the lock's
holder record, and trusts it only when the lock is held (the caller found it so), the
recorded process is alive and the URL it names answers `/readyz`: a record left by a server
that was killed, or a URL that does not answer, is not a server.

`ServerLibrary` then answers the calls the commands make on a `Library` (`videos`, `search`,
`remove`, `index`) with `vidsearch.client.Client`, mapping the server's JSON back into the
library's own records, so that each command prints exactly what it prints locally. Writes need
the server's API key (VIDSEARCH_API_KEY in this environment too); indexing hands the paths to
the server as jobs (`POST /videos/local`, only inside its VIDSEARCH_MEDIA_ROOTS) and follows
each job as local indexing would.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidsearch.config import DataDir
from vidsearch.errors import (
    ConfigError,
    ConflictError,
    MediaError,
    NotFoundError,
    QueryError,
    VidsearchError,
)
from vidsearch.index.lock import LockHolder, read_holder

if TYPE_CHECKING:
    from vidsearch.client import Client, Job
    from vidsearch.client import Moment as ServerMoment
    from vidsearch.ingest import IngestReport, ProgressListener
    from vidsearch.library import IndexReport
    from vidsearch.search import SearchResult
    from vidsearch.types import Moment, SearchMode, VideoRecord

API_KEY_ENV = "VIDSEARCH_API_KEY"
PROBE_TIMEOUT_S = 3.0
POLL_INTERVAL_S = 0.5
# `vidsearch.service.server.holder_text`: "vidsearch server at http://host:port: search it..."
_SERVER_RECORD = re.compile(r"vidsearch server at (https?://\S+?): ")
_THUMBNAIL_URL = re.compile(r"/thumbnails/([^/]+)/(\d+)\.jpg$")
# the library error each HTTP status stands for (what the command would have raised locally)
_ERRORS: dict[int, type[VidsearchError]] = {
    400: QueryError,
    422: QueryError,
    404: NotFoundError,
    409: ConflictError,
    413: MediaError,
    415: MediaError,
}


def server_url(holder: LockHolder) -> str | None:
    """The URL a lock holder record names, when a vidsearch server wrote it."""
    match = _SERVER_RECORD.search(holder.text)
    return match[1] if match else None


def api_key() -> str | None:
    return os.environ.get(API_KEY_ENV) or None


def running_server(home: Path) -> str | None:
    """The URL of the vidsearch server that holds the index in `home`: its record is in the
    lock file, its process alive and its URL answering. None otherwise (a stale record)."""
    holder = read_holder(DataDir(home).lock)
    if holder is None or not holder.alive:
        return None
    url = server_url(holder)
    if url is None:
        return None
    try:
        from vidsearch.client import Client, ClientError
    except ModuleNotFoundError:  # no httpx: the core install cannot talk to a server
        return None
    with Client(url, api_key(), timeout=PROBE_TIMEOUT_S) as client:
        try:
            return url if client.ready() else None
        except ClientError:
            return None


class ServerLibrary:
    """The `Library` calls of the CLI commands, answered by a running vidsearch server."""

    def __init__(self, url: str, home: Path, *, client: Client | None = None) -> None:
        from vidsearch.client import Client

        self.url = url
        self.home = home
        self.client = client or Client(url, api_key())
        self._lines: dict[str, dict[str, int]] = {}  # video id -> lines per source

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ServerLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        from vidsearch.types import VideoRecord, VideoState

        with self._asking("listing the videos"):
            videos = self.client.videos()
        self._lines = {v.video_id: dict(v.lines) for v in videos}
        return [
            VideoRecord(
                video_id=v.video_id,
                name=v.name,
                path=v.path,
                size=0,  # the server does not say: nothing the commands print
                mtime_ns=0,
                duration=v.duration,
                frames=v.frames,
                state=VideoState(v.state),
                model="",
                indexed_at=v.indexed_at,
            )
            for v in sorted(videos, key=lambda v: v.name)
        ]

    def line_counts(self, video: VideoRecord) -> dict[str, int]:
        """As the server counted them when the videos were last listed."""
        if video.video_id not in self._lines:
            self.videos()
        return self._lines.get(video.video_id, {})

    def search(
        self,
        query: str | None = None,
        *,
        image: str | PathLike[str] | None = None,
        language: str | None = None,
        mode: SearchMode | None = None,
        top_k: int = 10,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        from vidsearch.encoders.model_bundle import EncoderChoice
        from vidsearch.search import SearchResult
        from vidsearch.search.images import load_query_image
        from vidsearch.types import SearchMode

        with self._asking("searching"):
            if image is not None:
                load_query_image(Path(image))  # the local check and its message
                answer = self.client.search_image(
                    Path(image), top_k=top_k, videos=videos, min_score=min_score
                )
            else:
                answer = self.client.search(
                    query or "",
                    top_k=top_k,
                    videos=videos,
                    min_score=min_score,
                    mode=None if mode is None else str(mode),
                    lang=language,
                )
        encoder = answer.encoder
        return SearchResult(
            query=answer.query if image is None else str(image),
            moments=[self._moment(m) for m in answer.moments],
            encoder=EncoderChoice(encoder.bundle, encoder.name, encoder.language)
            if encoder is not None
            else None,
            mode=SearchMode(answer.mode) if answer.mode else None,
            notes=list(answer.notes),
        )

    def _moment(self, moment: ServerMoment) -> Moment:
        from vidsearch.types import DialogueLine, Moment, TextSource

        video_id, pts, thumbnail = "", None, None
        found = _THUMBNAIL_URL.search(moment.thumbnail_url or "")
        if found:  # the same data directory: the thumbnail file is here too
            video_id, pts = found[1], int(found[2])
            path = DataDir(self.home).thumbnails / video_id / f"{pts}.jpg"
            thumbnail = str(path) if path.is_file() else None
        return Moment(
            video=moment.video,
            path=moment.path,
            video_id=video_id,
            start=moment.start,
            end=moment.end,
            timestamp=moment.timestamp,
            score=moment.score,
            shot=moment.shot,
            thumbnail=thumbnail,
            frames=list(moment.frames),
            why=moment.why,
            dialogue=[
                DialogueLine(
                    line.start,
                    line.end,
                    line.text,
                    line.language,
                    line.similarity,
                    line.keyword,
                    TextSource(line.source),
                )
                for line in moment.dialogue
            ],
            thumbnail_pts=pts,
        )

    # -- writes -----------------------------------------------------------------------
    def remove(self, name: str) -> None:
        self._need_key("removing a video")
        with self._asking("removing a video"):
            self.client.delete(name)

    def index(
        self, paths: Iterable[str | PathLike[str]], *, progress: ProgressListener
    ) -> IndexReport:
        """Queue the files on the server (a job each) and follow the jobs one by one."""
        from vidsearch.ingest import IngestReport, IngestStatus
        from vidsearch.library import IndexReport

        self._need_key("indexing files")
        with self._asking("indexing files"):
            jobs = self.client.index_local([Path(p).absolute() for p in paths])
        report = IndexReport()
        for path, reason in jobs.refused:
            refused = IngestReport(path, IngestStatus.FAILED, error=reason)
            progress.video_finished(refused)
            report.videos.append(refused)
        for path, job in jobs.files:
            with self._asking("indexing files"):
                report.videos.append(self._follow(Path(path), job, progress))
        return report

    def _follow(self, path: Path, job: Job, progress: ProgressListener) -> IngestReport:
        started = False
        while True:
            if job.state != "queued" and not started:
                progress.video_started(path, job.duration)
                started = True
            if job.finished:
                break
            if started:
                progress.video_progress(job.position, job.frames_done, job.frames_kept)
            time.sleep(POLL_INTERVAL_S)
            job = self.client.job(job.id)
        result = _report(path, job)
        progress.video_finished(result)
        return result

    # -- failures ---------------------------------------------------------------------
    def _need_key(self, action: str) -> None:
        if api_key() is None:
            raise ConfigError(
                f"the vidsearch server at {self.url} holds the index; {action} through it "
                f"needs its API key: set {API_KEY_ENV} (or stop the server)"
            )

    @contextmanager
    def _asking(self, action: str) -> Iterator[None]:
        """The client's errors as the library errors the command would have met locally,
        and a refused key as what to set."""
        from vidsearch.client import HTTPError, ServerUnreachable, Unauthorized

        try:
            yield
        except Unauthorized as exc:
            raise ConfigError(
                f"the vidsearch server at {self.url} holds the index and refused {action}: "
                f"{exc.message} ({API_KEY_ENV} here must be the server's key)"
            ) from None
        except HTTPError as exc:
            error = _ERRORS.get(exc.status, VidsearchError)
            raise error(f"{exc.message} (the vidsearch server at {self.url})") from None
        except ServerUnreachable as exc:
            raise VidsearchError(f"{exc} (it holds the index)") from None


def _report(path: Path, job: Job) -> IngestReport:
    """A finished job as the report local indexing gives for the file."""
    from vidsearch.ingest import IngestReport, IngestStatus

    seconds = (job.finished_at or 0.0) - (job.started_at or job.finished_at or 0.0)
    common: dict[str, Any] = {
        "name": job.video or "",
        "decoded": job.frames_done,
        "duration": job.duration,
        "seconds": max(0.0, seconds),
    }
    if job.state != "done":
        error = job.error or job.state
        return IngestReport(str(path), IngestStatus.FAILED, error=error, **common)
    status = IngestStatus(job.result or IngestStatus.INDEXED.value)
    encoded = job.frames_indexed if status is IngestStatus.INDEXED else 0
    return IngestReport(str(path), status, frames=job.frames_indexed, encoded=encoded, **common)
