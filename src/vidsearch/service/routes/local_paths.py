"""POST /videos/local: index video files already on the server's disk, as jobs.

This is how `vidsearch index PATH` adds to an index that a running server holds. Reading the
server's disk on request is a write *and* a read of files the server can see, so it needs the
API key and is limited to the folders named in `VIDSEARCH_MEDIA_ROOTS`: every path is resolved
(symbolic links followed, `..` folded) and must land inside one of them. A path given outside
them refuses the whole request; a file found by walking a folder that resolves outside (a
symbolic link out) is listed as refused and the others are queued.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vidsearch.ingest import expand_paths
from vidsearch.service.auth import require_write
from vidsearch.service.context import ServiceContext, Urls, context
from vidsearch.service.errors import ApiError
from vidsearch.service.routes.jobs import job_out
from vidsearch.service.schemas import JobOut, errors

router = APIRouter(tags=["videos"])
Ctx = Annotated[ServiceContext, Depends(context)]
MAX_PATHS = 1000
UPLOAD_INSTEAD = "or upload the videos (POST /videos)"


class LocalPathsIn(BaseModel):
    paths: list[str] = Field(
        min_length=1,
        max_length=MAX_PATHS,
        description="Absolute paths of video files or folders (walked recursively)",
    )


class LocalFileOut(BaseModel):
    path: str = Field(description="The file, resolved")
    job: JobOut


class RefusedOut(BaseModel):
    path: str
    reason: str


class LocalJobsOut(BaseModel):
    files: list[LocalFileOut] = Field(description="A job per video file found, in order")
    refused: list[RefusedOut] = Field(
        description="Files found in a folder that lead outside the media roots (not indexed)"
    )


def _roots(ctx: ServiceContext) -> list[Path]:
    roots = [root.resolve() for root in ctx.service.media_roots]
    if not roots:
        raise ApiError(
            403,
            "this server indexes no files from its own disk: start it with "
            f"VIDSEARCH_MEDIA_ROOTS naming the folders it may read, {UPLOAD_INSTEAD}",
        )
    return roots


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _outside(given: str, resolved: Path, roots: list[Path]) -> str:
    where = ", ".join(str(r) for r in roots)
    via = "" if str(resolved) == given else f" (it leads to {resolved})"
    return (
        f"{given}{via} is outside the server's media roots ({where}): add its folder to "
        f"VIDSEARCH_MEDIA_ROOTS on the server, {UPLOAD_INSTEAD}"
    )


def _find(paths: list[str], roots: list[Path]) -> tuple[list[Path], list[RefusedOut]]:
    """The video files the paths name, each resolved inside a root; what a walk found outside."""
    given: list[Path] = []
    for raw in paths:
        if not Path(raw).is_absolute():
            raise ApiError(400, f"{raw}: give an absolute path (the server has its own folder)")
        try:
            resolved = Path(raw).resolve()
        except (OSError, RuntimeError):  # a loop of symbolic links
            raise ApiError(400, f"{raw}: the path cannot be resolved") from None
        if not _inside(resolved, roots):
            raise ApiError(403, _outside(raw, resolved, roots))
        if not resolved.exists():
            raise ApiError(404, f"{raw}: no such file or folder on the server")
        given.append(resolved)
    files: list[Path] = []
    refused: list[RefusedOut] = []
    for found in expand_paths(given):
        resolved = found.resolve()
        if not _inside(resolved, roots):
            refused.append(
                RefusedOut(path=str(found), reason=_outside(str(found), resolved, roots))
            )
        elif resolved not in files:
            files.append(resolved)
    return files, refused


@router.post(
    "/videos/local",
    status_code=202,
    response_model=LocalJobsOut,
    responses=errors(400, 401, 403, 404, 422),
    dependencies=[Depends(require_write)],
)
async def index_local(request: Request, ctx: Ctx, body: LocalPathsIn) -> JSONResponse:
    """Index video files (and folders, walked) that are on the server's own disk, inside the
    folders of VIDSEARCH_MEDIA_ROOTS; a job per file (follow each `job.url`). Needs the key."""
    roots = _roots(ctx)
    files, refused = await run_in_threadpool(_find, body.paths, roots)
    urls = Urls(request)
    out = LocalJobsOut(
        files=[LocalFileOut(path=str(p), job=job_out(ctx.jobs.submit(p), urls)) for p in files],
        refused=refused,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=202)
