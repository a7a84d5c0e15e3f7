"""A Python client for the vidsearch server (`vidsearch serve`), on httpx.

    with Client("http://127.0.0.1:8000", api_key="...") as client:
        job = client.upload("film.mp4", wait=True, progress=True)
        for moment in client.search("a dog on a beach").moments:
            print(moment.video, moment.start, moment.play_url)

Failures are typed (all are VidsearchError, so one `except` catches them):

    ClientError
     ├── ServerUnreachable         no answer: wrong URL, server down, timeout
     ├── JobFailed                 upload(wait=True): the indexing job failed
     └── HTTPError                 the server answered with an error (status, message)
          ├── BadRequest           400, 422: the request is wrong (the message says how)
          ├── Unauthorized         401, 403: API key missing or wrong, or writes disabled
          ├── NotFound             404
          ├── Conflict             409: the name or the content is already indexed
          ├── PayloadTooLarge      413
          ├── UnsupportedMediaType 415: not a video (or not an image)
          └── Unavailable          503: the server is starting or stopping
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from vidsearch.errors import VidsearchError

if TYPE_CHECKING:
    from PIL.Image import Image

try:
    import httpx
except ModuleNotFoundError:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        "vidsearch.client needs httpx: pip install 'vidsearch[serve]'", name="httpx"
    ) from None

__all__ = [
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "Deleted",
    "DialogueLine",
    "Frame",
    "HTTPError",
    "Job",
    "JobFailed",
    "LocalJobs",
    "Moment",
    "NotFound",
    "PayloadTooLarge",
    "QueryEncoder",
    "SearchResult",
    "ServerUnreachable",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "Video",
]

DEFAULT_TIMEOUT_S = 30.0
UPLOAD_TIMEOUT_S = 600.0
POLL_INTERVAL_S = 0.5
API_KEY_HEADER = "X-API-Key"


# -- errors -----------------------------------------------------------------------------
class ClientError(VidsearchError):
    pass


class ServerUnreachable(ClientError):  # noqa: N818 - reads better than ...Error
    pass


class HTTPError(ClientError):
    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body or {}


class BadRequest(HTTPError):  # noqa: N818
    pass


class Unauthorized(HTTPError):  # noqa: N818
    pass


class NotFound(HTTPError):  # noqa: N818
    pass


class Conflict(HTTPError):  # noqa: N818
    pass


class PayloadTooLarge(HTTPError):  # noqa: N818
    pass


class UnsupportedMediaType(HTTPError):  # noqa: N818
    pass


class Unavailable(HTTPError):  # noqa: N818
    pass


_ERRORS: dict[int, type[HTTPError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: BadRequest,
    503: Unavailable,
}


# -- results ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DialogueLine:
    """A line that made a moment match: said (subtitle, speech) or written on screen."""

    start: float
    end: float
    text: str
    language: str
    similarity: float | None
    keyword: float | None
    source: str = "subtitle"  # "subtitle", "speech" or "screen text"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DialogueLine:
        fields = {k: data.get(k) for k in cls.__dataclass_fields__ if k != "source"}
        return cls(**fields, source=data.get("source") or "subtitle")


@dataclass(frozen=True, slots=True)
class Moment:
    video: str
    path: str
    start: float
    end: float
    timestamp: float
    score: float
    shot: int
    frames: list[tuple[float, float]]  # (timestamp, score)
    thumbnail_url: str | None
    play_url: str
    why: str = "frame"  # what matched: "frame", "speech", "frame + subtitle", "screen text"...
    dialogue: list[DialogueLine] = field(default_factory=list)  # matching lines, best first

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Moment:
        return cls(
            video=data["video"],
            path=data["path"],
            start=data["start"],
            end=data["end"],
            timestamp=data["timestamp"],
            score=data["score"],
            shot=data["shot"],
            frames=[(f["timestamp"], f["score"]) for f in data["frames"]],
            thumbnail_url=data.get("thumbnail_url"),
            play_url=data["play_url"],
            why=data.get("why", "frame"),
            dialogue=[DialogueLine.from_json(line) for line in data.get("dialogue", [])],
        )


@dataclass(frozen=True, slots=True)
class QueryEncoder:
    """Which encoder of the server's model bundle read the query."""

    bundle: str
    name: str
    language: str | None  # None for an image


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    moments: list[Moment]
    took_ms: float
    encoder: QueryEncoder | None = None
    mode: str | None = None  # what a text query searched: "visual", "dialogue" or "hybrid"
    notes: list[str] = field(default_factory=list)  # what could not be searched, and why


@dataclass(frozen=True, slots=True)
class Video:
    name: str
    video_id: str
    path: str
    duration: float
    frames: int
    state: str
    complete: bool
    indexed_at: str
    uploaded: bool
    stream_url: str
    lines: dict[str, int] = field(default_factory=dict)  # per source: subtitle, speech...

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Video:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "lines"}
        return cls(**fields, lines=dict(data.get("lines") or {}))


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    url: str
    state: str  # queued, running, done, failed, cancelled
    file: str
    video: str | None
    result: str | None
    frames_done: int
    frames_total: int
    frames_kept: int
    frames_indexed: int
    progress: float
    position: float
    duration: float
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame from `Client.frames` (the seed design's route): its JPEG comes inline."""

    timestamp: float
    score: float
    shot: int
    thumbnail_url: str
    jpeg: bytes = field(repr=False)

    def image(self) -> Image:
        """The frame as a PIL image, decoded from the JPEG the server sent in base64."""
        from PIL import Image as PILImage

        image = PILImage.open(io.BytesIO(self.jpeg))
        image.load()
        return image


@dataclass(frozen=True, slots=True)
class Deleted:
    name: str
    file_deleted: bool
    cancelled_jobs: list[str]


@dataclass(frozen=True, slots=True)
class LocalJobs:
    """`Client.index_local`: a job per video file found, and the files refused."""

    files: list[tuple[str, Job]]  # (the file, resolved on the server; its job), in order
    refused: list[tuple[str, str]]  # (a file a folder walk found outside the roots, why)


class JobFailed(ClientError):
    def __init__(self, job: Job) -> None:
        super().__init__(f"indexing {job.file} {job.state}: {job.error or 'no reason given'}")
        self.job = job


# -- progress -----------------------------------------------------------------------------
class _CountingReader:
    """A binary file that reports how much of it httpx has read (for the upload bar)."""

    def __init__(self, file: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._file = file
        self._on_read = on_read
        self.name = getattr(file, "name", "upload")

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._on_read(len(data))
        return data

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


class _Bars:
    """`progress=True`: a tqdm bar for the bytes sent, then one for the frames decoded."""

    def __init__(self, name: str, size: int) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.name = name
        self.upload = tqdm(
            total=size, unit="B", unit_scale=True, desc=f"upload {name}"[:40], file=sys.stderr
        )
        self.index: Any = None

    def sent(self, n: int) -> None:
        self.upload.update(n)

    def job(self, job: Job) -> None:
        if self.index is None:
            self.upload.close()
            self.index = self._tqdm(
                total=job.frames_total or None,
                unit="frame",
                desc=f"index {self.name}"[:40],
                file=sys.stderr,
            )
        self.index.total = max(job.frames_total, job.frames_done) or None
        self.index.update(job.frames_done - self.index.n)

    def close(self) -> None:
        self.upload.close()
        if self.index is not None:
            self.index.close()


# -- the client -----------------------------------------------------------------------------
class Client:
    """Talks to one vidsearch server. Close it (or use `with`) when done.

    `transport` replaces the network (tests pass httpx.MockTransport or an ASGI transport).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"no answer from the vidsearch server at {self.url}: {exc or type(exc).__name__}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        message = (
            body.get("message") if isinstance(body, dict) and body.get("message") else None
        ) or response.reason_phrase
        error = _ERRORS.get(response.status_code, HTTPError)
        raise error(response.status_code, message, body if isinstance(body, dict) else None)

    @staticmethod
    def _search_params(
        top_k: int, videos: Sequence[str] | None, min_score: float | None
    ) -> list[tuple[str, str | int | float]]:
        params: list[tuple[str, str | int | float]] = [("top_k", top_k)]
        params += [("video", v) for v in videos or ()]
        if min_score is not None:
            params.append(("min_score", min_score))
        return params

    @staticmethod
    def _result(body: dict[str, Any]) -> SearchResult:
        encoder = body.get("encoder")
        return SearchResult(
            body["query"],
            [Moment.from_json(m) for m in body["moments"]],
            body["took_ms"],
            encoder=QueryEncoder(**encoder) if encoder else None,
            mode=body.get("mode"),
            notes=list(body.get("notes") or []),
        )

    # -- searching ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        top_k: int = 10,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
        mode: str | None = None,
        lang: str | None = None,
    ) -> SearchResult:
        """The moments that best match a sentence; `mode`: "visual", "dialogue" (what is
        said), "screen" (what is written), "text" (both) or "hybrid" (default where lines are
        indexed); `lang`: the query's language (ISO 639-1; default: from its script). Each
        moment's `dialogue` lines carry their `source`."""
        params = [("q", query), *self._search_params(top_k, videos, min_score)]
        if mode is not None:
            params.append(("mode", mode))
        if lang is not None:
            params.append(("lang", lang))
        return self._result(self._request("GET", "/search", params=params))

    def search_image(
        self,
        image: str | os.PathLike[str] | bytes | Any,
        *,
        top_k: int = 10,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """The moments that look most like an image: a path, encoded bytes or a PIL image."""
        if isinstance(image, str | os.PathLike):
            name, data = Path(image).name, Path(image).read_bytes()
        elif isinstance(image, bytes):
            name, data = "query.png", image
        else:  # a PIL image
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
            name, data = "query.png", buffer.getvalue()
        body = self._request(
            "POST",
            "/search",
            params=self._search_params(top_k, videos, min_score),
            files={"image": (name, data)},
        )
        return self._result(body)

    def frames(self, video: str, query: str, *, top_k: int = 5) -> list[Frame]:
        """The frames of one video most like the text, with their JPEGs (seed design route)."""
        body = self._request(
            "GET",
            f"/{quote(video, safe='')}/",
            params={"search_entry": query, "top_k": top_k},
        )
        return [
            Frame(
                f["timestamp"],
                f["score"],
                f["shot"],
                f["thumbnail_url"],
                base64.b64decode(f["image"]),
            )
            for f in body["frames"]
        ]

    # -- videos ---------------------------------------------------------------------------
    def videos(self) -> list[Video]:
        return [Video.from_json(v) for v in self._request("GET", "/videos")["videos"]]

    def video(self, name: str) -> Video:
        return Video.from_json(self._request("GET", f"/videos/{quote(name, safe='')}"))

    def delete(self, name: str) -> Deleted:
        """Remove a video from the index (an uploaded file is deleted too). Needs the key."""
        body = self._request("DELETE", f"/videos/{quote(name, safe='')}")
        return Deleted(body["name"], body["file_deleted"], body["cancelled_jobs"])

    def upload(
        self,
        path: str | os.PathLike[str],
        *,
        wait: bool = False,
        progress: bool | Callable[[Job], None] = False,
        timeout: float | None = None,
    ) -> Job:
        """Upload a video to be indexed (needs the key). With `wait`, return once the job has
        finished (JobFailed if it failed); `progress=True` draws bars on stderr, a callable
        is called with each Job polled."""
        path = Path(path)
        bars = _Bars(path.name, path.stat().st_size) if progress is True else None
        try:
            with path.open("rb") as file:
                reader = _CountingReader(file, bars.sent if bars else lambda n: None)
                body = self._request(
                    "POST",
                    "/videos",
                    files={"file": (path.name, reader, "application/octet-stream")},
                    timeout=UPLOAD_TIMEOUT_S,
                )
            job = Job.from_json(body)
            if not wait:
                return job
            report = bars.job if bars else progress if callable(progress) else None
            return self.wait(job, progress=report, timeout=timeout)
        finally:
            if bars is not None:
                bars.close()

    def index_local(self, paths: Sequence[str | os.PathLike[str]]) -> LocalJobs:
        """Have the server index files and folders on its own disk (absolute paths inside its
        VIDSEARCH_MEDIA_ROOTS); a job per video file. Needs the key."""
        body = self._request("POST", "/videos/local", json={"paths": [os.fspath(p) for p in paths]})
        return LocalJobs(
            [(f["path"], Job.from_json(f["job"])) for f in body["files"]],
            [(r["path"], r["reason"]) for r in body["refused"]],
        )

    # -- jobs -----------------------------------------------------------------------------
    def job(self, job_id: str) -> Job:
        return Job.from_json(self._request("GET", f"/jobs/{job_id}"))

    def wait(
        self,
        job: Job | str,
        *,
        progress: Callable[[Job], None] | None = None,
        timeout: float | None = None,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> Job:
        """Poll a job until it finishes; JobFailed unless it is done."""
        job_id = job if isinstance(job, str) else job.id
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.job(job_id)
            if progress is not None:
                progress(current)
            if current.finished:
                if current.state != "done":
                    raise JobFailed(current)
                return current
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(f"indexing {current.file} did not finish in {timeout:g}s")
            time.sleep(poll_interval)

    # -- health ---------------------------------------------------------------------------
    def ready(self) -> bool:
        """True when the server answers and has its model and index open."""
        try:
            return bool(self._request("GET", "/readyz").get("ready"))
        except (Unavailable, ServerUnreachable):
            return False
