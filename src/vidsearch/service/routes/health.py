"""Liveness and readiness, for orchestrators and for tests waiting on a start."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vidsearch.service.context import ServiceContext, context
from vidsearch.service.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["monitoring"])
Ctx = Annotated[ServiceContext, Depends(context)]


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    """The process answers."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(ctx: Ctx) -> JSONResponse:
    """Ready to serve: the model is loaded, the index open and the job worker running."""
    state = ctx.engine.readiness()
    videos = None
    if state.index_open:
        stats = await run_in_threadpool(ctx.engine.index_stats)
        videos = stats.videos if stats else None
    problems = [
        text
        for ok, text in (
            (state.index_open, "the index is not open"),
            (state.model_loaded, "the model is not loaded"),
            (ctx.jobs.alive, "the indexing worker is not running"),
        )
        if not ok
    ]
    out = ReadyOut(
        ready=not problems,
        model_loaded=state.model_loaded,
        index_open=state.index_open,
        jobs_worker=ctx.jobs.alive,
        model=state.model,
        videos=videos,
        error="; ".join(problems) or None,
    )
    return JSONResponse(out.model_dump(), status_code=200 if out.ready else 503)
