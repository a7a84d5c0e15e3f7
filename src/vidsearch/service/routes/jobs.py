"""Indexing jobs started by uploads, with their progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from vidsearch.service.auth import require_read
from vidsearch.service.context import ServiceContext, Urls, context
from vidsearch.service.errors import ApiError, redact
from vidsearch.service.jobs import Job
from vidsearch.service.schemas import JobListOut, JobOut, errors

router = APIRouter(tags=["jobs"], dependencies=[Depends(require_read)])
Ctx = Annotated[ServiceContext, Depends(context)]


def job_out(job: Job, urls: Urls, private: tuple[str, ...] = ()) -> JobOut:
    """`private`: the server's folders an error message may not show (`errors.redact`)."""
    return JobOut(
        id=job.id,
        url=urls.job(job.id),
        state=job.state,
        file=job.file,
        video=job.video,
        result=job.result,
        frames_done=job.frames_done,
        frames_total=job.frames_total,
        frames_kept=job.frames_kept,
        frames_indexed=job.frames_indexed,
        progress=round(job.progress, 4),
        position=round(job.position, 3),
        duration=round(job.duration, 3),
        stage=job.stage,
        stage_progress=round(job.stage_progress, 4),
        error=None if job.error is None else redact(job.error, private),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/jobs", response_model=JobListOut)
async def list_jobs(request: Request, ctx: Ctx) -> JobListOut:
    """Recent jobs, newest first."""
    urls = Urls(request)
    return JobListOut(jobs=[job_out(j, urls, ctx.private) for j in ctx.jobs.jobs()])


@router.get("/jobs/{job_id}", response_model=JobOut, responses=errors(404))
async def get_job(
    request: Request, ctx: Ctx, job_id: Annotated[str, Path(description="From POST /videos")]
) -> JobOut:
    """A job's state and progress: frames done / total, and the error if it failed."""
    job = ctx.jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r} (jobs are kept in memory until the server stops)")
    return job_out(job, Urls(request), ctx.private)
