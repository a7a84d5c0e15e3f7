"""`create_app(settings, service)`: the FastAPI application, wired.

The app owns an Engine (index + model) for its lifetime: the lifespan starts it (unless the
caller already did, as `vidsearch serve` does to fail fast), starts the job worker, resumes
uploads left unfinished by a previous run, keeps the process's temporary files under the data
directory (`uploads/.incoming`, emptied at start), and on shutdown stops jobs and closes the index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from vidsearch import __version__
from vidsearch.config import Settings
from vidsearch.errors import ConfigError
from vidsearch.service.context import ServiceContext
from vidsearch.service.docs import install_docs
from vidsearch.service.engine import Engine
from vidsearch.service.errors import install_error_handlers, private_forms
from vidsearch.service.hardening import (
    BodyLimit,
    RequestGuard,
    SecurityHeaders,
    TrustedLocations,
    spool_under,
)
from vidsearch.service.jobs import JobRunner
from vidsearch.service.metrics import ServiceMetrics
from vidsearch.service.routes import compat, health, jobs, local_paths, media, search, videos, web
from vidsearch.service.settings import INCOMING_DIR_NAME, ServiceSettings

DESCRIPTION = """Find the moment in a video that a sentence describes.

Search by text (`GET /search`) or by image (`POST /search`); upload videos (`POST /videos`,
indexed in the background: follow `GET /jobs/{id}`); play a moment from its `play_url`.
Uploads and deletes need the API key (`X-API-Key` header); errors are JSON
`{"error", "message", "status"}`.
"""


def private_folders(settings: Settings) -> list[Path]:
    """The server's folders that responses name only relatively: the data directory, and the
    model directory when the model is one."""
    folders = [settings.data_dir.home]
    if settings.model and Path(settings.model).expanduser().is_dir():
        folders.append(Path(settings.model).expanduser())
    return folders


def create_app(
    settings: Settings | None = None,
    service: ServiceSettings | None = None,
    *,
    engine: Engine | None = None,
    holder: str | None = None,
) -> FastAPI:
    """`engine`: an Engine to own (started or not); by default one is built from `settings`.
    `holder`: how the index lock describes this server to other processes."""
    settings = settings or Settings()
    service = service or ServiceSettings()
    if service.protect_reads and service.api_key is None:
        raise ConfigError("VIDSEARCH_PROTECT_READS needs VIDSEARCH_API_KEY to be set")
    if engine is None:
        engine = Engine(settings, ServiceMetrics(), holder=holder)
    metrics = engine.metrics
    runner = JobRunner(engine, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(engine.start)
        runner.start()
        await anyio.to_thread.run_sync(runner.resume_uploads)
        try:
            with spool_under(engine.uploads_dir / INCOMING_DIR_NAME):
                yield
        finally:
            await anyio.to_thread.run_sync(runner.stop)
            await anyio.to_thread.run_sync(engine.close)

    app = FastAPI(
        title="vidsearch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves them from local files
        redoc_url=None,
        openapi_tags=[
            {"name": "search", "description": "Moments that match a text or an image"},
            {"name": "videos", "description": "The indexed videos; uploads"},
            {"name": "jobs", "description": "Background indexing of uploads"},
            {"name": "media", "description": "Video files and frame images"},
            {"name": "monitoring", "description": "Health, readiness, Prometheus metrics"},
            {"name": "compatibility", "description": "The seed design's route"},
        ],
    )
    private = private_folders(settings)
    app.state.vidsearch = ServiceContext(
        settings, service, engine, runner, metrics, private_forms(private)
    )
    install_error_handlers(app, private=private)
    metrics.instrument(app)
    if service.cors_origins:  # off unless asked for
        app.add_middleware(
            CORSMiddleware,
            allow_origins=service.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "Range"],
        )
    app.add_middleware(
        BodyLimit,
        forms={
            ("POST", "/search"): service.max_image_bytes,
            ("POST", "/videos"): service.max_upload_bytes,
        },
    )
    app.add_middleware(
        RequestGuard,
        idle_timeout_s=service.body_idle_timeout_s,
        min_bytes_per_s=service.body_min_bytes_per_s,
    )
    app.add_middleware(TrustedLocations, public_url=service.public_url)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, errors included
    metrics.watch_index(engine.index_stats)
    for module in (health, search, videos, jobs, media, web):
        app.include_router(module.router)
    app.include_router(local_paths.router)  # POST /videos/local: files on the server's disk
    install_docs(app)  # mounts /static/docs: before /static
    app.mount("/static", web.static_files(), name="static")
    app.include_router(compat.router)  # last: `/{video_name}/` matches almost anything
    return app
