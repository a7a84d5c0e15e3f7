"""What every route needs, held on `app.state` (no module globals): one per app."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request

from vidsearch.config import Settings
from vidsearch.service.engine import Engine
from vidsearch.service.hardening import origin
from vidsearch.service.jobs import JobRunner
from vidsearch.service.metrics import ServiceMetrics
from vidsearch.service.settings import ServiceSettings


@dataclass(frozen=True, slots=True)
class ServiceContext:
    settings: Settings
    service: ServiceSettings
    engine: Engine
    jobs: JobRunner
    metrics: ServiceMetrics
    private: tuple[str, ...] = ()  # folders no response shows the path of: `errors.redact`


def context(request: Request) -> ServiceContext:
    return request.app.state.vidsearch


class Urls:
    """Absolute URLs of the server's resources: under the configured public URL, else the
    address the request's connection came in on; never built from the Host header, which the
    client writes (see `hardening.origin`)."""

    def __init__(self, request: Request) -> None:
        self.base = origin(request.scope, context(request).service.public_url).rstrip("/")

    def stream(self, video: str) -> str:
        return f"{self.base}/videos/{quote(video, safe='')}/stream"

    def play(self, video: str, start: float) -> str:
        return f"{self.stream(video)}#t={start:.3f}"

    def thumbnail(self, video_id: str, pts: int | str) -> str:
        return f"{self.base}/thumbnails/{video_id}/{pts}.jpg"

    def job(self, job_id: str) -> str:
        return f"{self.base}/jobs/{job_id}"
