"""The indexed videos: list, describe, delete, and upload a new one (indexed as a job)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vidsearch.errors import MediaError
from vidsearch.media.probe import probe_video
from vidsearch.service.auth import require_read, require_write
from vidsearch.service.context import ServiceContext, Urls, context
from vidsearch.service.errors import ApiError
from vidsearch.service.jobs import DuplicateContent, Job
from vidsearch.service.names import (
    BadNameError,
    UnsupportedTypeError,
    inside,
    lookup_name,
    upload_name,
)
from vidsearch.service.routes.common import multipart_body
from vidsearch.service.routes.jobs import job_out
from vidsearch.service.schemas import DeletedOut, JobOut, VideoListOut, VideoOut, errors
from vidsearch.service.settings import INCOMING_DIR_NAME
from vidsearch.service.uploads import FILE_FIELD, ReceivedFile, receive_upload
from vidsearch.types import VideoRecord

router = APIRouter(tags=["videos"])
Ctx = Annotated[ServiceContext, Depends(context)]
VideoName = Annotated[str, PathParam(description="The video's name, as GET /videos lists it")]


def video_out(record: VideoRecord, ctx: ServiceContext, urls: Urls) -> VideoOut:
    path = Path(record.path)
    lines = ctx.engine.line_counts(record)
    return VideoOut(
        name=record.name,
        video_id=record.video_id,
        path=record.path,
        duration=round(record.duration, 3),
        frames=record.frames,
        state=record.state,
        complete=record.complete,
        indexed_at=record.indexed_at,
        uploaded=path.parent == ctx.engine.uploads_dir,
        stream_url=urls.stream(record.name),
        subtitle_lines=sum(lines.values()),  # every source's, as counted per source
        lines=lines,
    )


def find_video(ctx: ServiceContext, name: str) -> VideoRecord:
    record = ctx.engine.video(name) or ctx.engine.video(lookup_name(name))
    if record is None:
        raise ApiError(404, f"no indexed video named {name!r}; GET /videos lists them")
    return record


@router.get("/videos", response_model=VideoListOut, dependencies=[Depends(require_read)])
async def list_videos(request: Request, ctx: Ctx) -> VideoListOut:
    """Every indexed video (complete or still being indexed)."""
    urls = Urls(request)
    videos = await run_in_threadpool(lambda: [video_out(r, ctx, urls) for r in ctx.engine.videos()])
    return VideoListOut(videos=videos)


@router.get(
    "/videos/{name}",
    response_model=VideoOut,
    responses=errors(404),
    dependencies=[Depends(require_read)],
)
async def get_video(request: Request, ctx: Ctx, name: VideoName) -> VideoOut:
    """One video."""
    record = await run_in_threadpool(find_video, ctx, name)
    return await run_in_threadpool(video_out, record, ctx, Urls(request))


@router.delete(
    "/videos/{name}",
    response_model=DeletedOut,
    responses=errors(401, 403, 404),
    dependencies=[Depends(require_write)],
)
async def delete_video(ctx: Ctx, name: VideoName) -> DeletedOut:
    """Forget a video; an uploaded file is deleted too, a file indexed from disk is not.
    A job still indexing it is stopped first; an upload still queued (not in the catalog
    yet) is cancelled and its file deleted."""
    return await run_in_threadpool(_delete, ctx, name)


def _delete(ctx: ServiceContext, name: str) -> DeletedOut:
    """Deletes exactly what `name` names: its catalog row and its own uploaded file (so a
    restart, which resumes the files left in the uploads folder, cannot bring it back)."""
    record = ctx.engine.video(name) or ctx.engine.video(lookup_name(name))
    if record is not None:
        cancelled = ctx.jobs.cancel_path(Path(record.path))
        record = ctx.engine.video(record.name) or record  # a cancelled job may have changed it
        file_deleted = ctx.engine.remove(record)
        return DeletedOut(name=record.name, file_deleted=file_deleted, cancelled_jobs=cancelled)
    try:
        queued = inside(ctx.engine.uploads_dir, upload_name(lookup_name(name)))
    except (BadNameError, UnsupportedTypeError):
        queued = None
    cancelled = ctx.jobs.cancel_path(queued) if queued is not None else []
    if not cancelled:
        find_video(ctx, name)  # the 404
    record = ctx.engine.video(queued.name)  # a job cancelled while running left a row
    if record is not None:
        file_deleted = ctx.engine.remove(record)
    else:
        file_deleted = ctx.engine.delete_upload(queued)
    return DeletedOut(name=queued.name, file_deleted=file_deleted, cancelled_jobs=cancelled)


def _name_checker(ctx: ServiceContext):
    """Checks an upload's file name as soon as its part headers arrive."""

    def check(raw: str) -> str:
        try:
            name = upload_name(raw)
        except UnsupportedTypeError as exc:
            raise ApiError(415, str(exc)) from None
        except BadNameError as exc:
            raise ApiError(400, str(exc)) from None
        if ctx.engine.video(name) is not None or (ctx.engine.uploads_dir / name).exists():
            raise ApiError(
                409, f"a video named {name!r} already exists; delete it first or rename the file"
            )
        return name

    return check


def _accept(ctx: ServiceContext, received: ReceivedFile) -> Job:
    """Check the content, move the file into the uploads folder (never replacing one) and
    queue its job. One rule for the same content under another name, decided here, before
    any job starts: 409 naming the video it already is (indexed, or queued or being indexed),
    and no second file is kept."""
    try:
        try:
            info = probe_video(received.path)
        except MediaError as exc:
            reason = str(exc).replace(str(received.path), received.name)
            raise ApiError(415, reason) from None
        existing = ctx.engine.store.catalog.by_id(info.content_id)
        if existing is not None:
            raise ApiError(
                409, f"{received.name}: the same video is already indexed as {existing.name!r}"
            )
        final = ctx.engine.uploads_dir / received.name
        try:
            os.link(received.path, final)
        except FileExistsError:
            raise ApiError(409, f"a video named {received.name!r} is already uploaded") from None
        frames = info.frame_count or round(info.duration * info.fps)
        try:
            return ctx.jobs.submit(final, frames, info.duration, content_id=info.content_id)
        except DuplicateContent as exc:
            final.unlink(missing_ok=True)
            raise ApiError(409, f"{received.name}: {exc}") from None
    finally:
        received.path.unlink(missing_ok=True)


@router.post(
    "/videos",
    status_code=202,
    response_model=JobOut,
    responses=errors(400, 401, 403, 409, 413, 415),
    dependencies=[Depends(require_write)],
    openapi_extra=multipart_body(FILE_FIELD, "The video file"),
)
async def upload_video(request: Request, ctx: Ctx) -> JSONResponse:
    """Upload a video (multipart/form-data `file`) and index it in the background.

    The answer (202) is the indexing job; follow its `url` (GET /jobs/{id}) for progress.
    """
    incoming = ctx.engine.uploads_dir / INCOMING_DIR_NAME
    received = await receive_upload(
        request, incoming, ctx.service.max_upload_bytes, _name_checker(ctx)
    )
    job = await run_in_threadpool(_accept, ctx, received)
    out = job_out(job, Urls(request))
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.url})
