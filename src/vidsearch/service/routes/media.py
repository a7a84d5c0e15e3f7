"""The video files (with HTTP Range, so a browser can seek) and frame thumbnails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from vidsearch.service.auth import require_read
from vidsearch.service.context import ServiceContext, context
from vidsearch.service.errors import ApiError
from vidsearch.service.names import BadNameError, inside, thumbnail_parts, thumbnail_pts
from vidsearch.service.ranges import check_range
from vidsearch.service.routes.videos import find_video
from vidsearch.service.schemas import errors

router = APIRouter(tags=["media"], dependencies=[Depends(require_read)])
Ctx = Annotated[ServiceContext, Depends(context)]
THUMBNAIL_CACHE = "public, max-age=86400"  # named by content id and pts: never changes


STREAM_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"video/mp4": {}}, "description": "The whole file"},
    206: {"description": "The requested byte range"},
    **errors(400, 404),
    416: {"description": "The range is outside the file"},
}


@router.get("/videos/{name}/stream", response_class=FileResponse, responses=STREAM_RESPONSES)
@router.head(  # the headers (size, type, ranges) without the body: players and probes ask
    "/videos/{name}/stream", response_class=FileResponse, responses=STREAM_RESPONSES
)
async def stream_video(
    request: Request, ctx: Ctx, name: Annotated[str, PathParam()]
) -> FileResponse:
    """The video file, with `Range` support (`<video src>` can seek); `HEAD` answers the
    same headers without the body."""
    record = await run_in_threadpool(find_video, ctx, name)
    path = Path(record.path)
    try:
        size = path.stat().st_size
    except OSError:
        raise ApiError(404, f"the file of {name!r} is gone from the server ({path.name})") from None
    check_range(request.headers.get("range"), size)
    return FileResponse(path, filename=None, content_disposition_type="inline")


@router.get(
    "/thumbnails/{video_id}/{file}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **errors(404)},
)
async def thumbnail(
    ctx: Ctx,
    video_id: Annotated[str, PathParam(description="The video's content id")],
    file: Annotated[str, PathParam(description="<pts>.jpg")],
) -> Response:
    """A frame image, as the `thumbnail_url` of a moment names it."""
    try:
        pts = thumbnail_pts(video_id, file)
        inside(ctx.engine.store.thumbnails.root, *thumbnail_parts(video_id, file))
    except BadNameError as exc:
        raise ApiError(404, str(exc)) from None
    path = await run_in_threadpool(ctx.engine.thumbnail, video_id, pts)
    if path is None:
        raise ApiError(404, f"no thumbnail {video_id}/{file}, and no readable video to make it")
    try:  # read whole (a few KB): a video deleted meanwhile is a 404, not a response cut short
        data = await run_in_threadpool(path.read_bytes)
    except OSError:
        raise ApiError(404, f"no thumbnail {video_id}/{file}") from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": THUMBNAIL_CACHE})
