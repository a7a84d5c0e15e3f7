"""`GET /{video_name}/?search_entry=...`: the seed design's route, kept for old callers.

It answers with the top frames (not moments) of one video, each as a base64 JPEG, and the
video's lines that match (said or written, each with its source and time). Registered last:
its path would otherwise shadow the other routes.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from vidsearch.search import MAX_QUERY_CHARS
from vidsearch.service.auth import require_read
from vidsearch.service.context import ServiceContext, Urls, context
from vidsearch.service.routes.videos import find_video
from vidsearch.service.schemas import CompatFrameOut, CompatSearchOut, DialogueLineOut, errors
from vidsearch.types import DialogueLine, FrameHit

router = APIRouter(tags=["compatibility"], dependencies=[Depends(require_read)])
Ctx = Annotated[ServiceContext, Depends(context)]
DEFAULT_FRAMES = 5
MAX_FRAMES = 100


def _frames(
    ctx: ServiceContext, name: str, query: str, top_k: int
) -> tuple[str, list[tuple[FrameHit, str]], list[DialogueLine]]:
    record = find_video(ctx, name)
    hits = ctx.engine.top_frames(record, query, top_k)
    frames = []
    for hit in hits:
        path = ctx.engine.thumbnail(hit.video_id, hit.pts)
        if path is None:
            continue
        frames.append((hit, base64.b64encode(path.read_bytes()).decode("ascii")))
    return record.name, frames, ctx.engine.top_lines(record, query, top_k)


@router.get(
    "/{video_name}/",
    response_model=CompatSearchOut,
    responses=errors(400, 404, 422, 503),
)
async def video_frames(
    request: Request,
    ctx: Ctx,
    video_name: Annotated[str, Path(description="The video's name")],
    search_entry: Annotated[
        str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for")
    ],
    top_k: Annotated[int, Query(ge=1, le=MAX_FRAMES, description="Number of frames")] = (
        DEFAULT_FRAMES
    ),
) -> CompatSearchOut:
    """The frames of one video that best match the text, with timestamps, as base64 JPEGs,
    and its matching lines (subtitles, speech, text on screen) with their source and time."""
    name, frames, lines = await run_in_threadpool(_frames, ctx, video_name, search_entry, top_k)
    urls = Urls(request)
    return CompatSearchOut(
        video=name,
        query=search_entry.strip(),
        frames=[
            CompatFrameOut(
                timestamp=round(hit.timestamp, 3),
                score=round(hit.score, 4),
                shot=hit.shot_index,
                image=image,
                thumbnail_url=urls.thumbnail(hit.video_id, hit.pts),
            )
            for hit, image in frames
        ],
        lines=[DialogueLineOut(**line.to_json()) for line in lines],  # type: ignore[arg-type]
    )
