"""GET /search (text) and POST /search (image): the best moments of the indexed videos."""

from __future__ import annotations

import io
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from vidsearch.config import DEFAULT_TOP_K
from vidsearch.search import MAX_QUERY_CHARS, MAX_TOP_K, SearchResult
from vidsearch.search.images import PILLOW_BOMB, UNREADABLE, image_pixels, too_many_pixels
from vidsearch.service.auth import require_read
from vidsearch.service.context import ServiceContext, Urls, context
from vidsearch.service.errors import ApiError
from vidsearch.service.routes.common import moment_out, multipart_body
from vidsearch.service.schemas import EncoderOut, SearchOut, errors
from vidsearch.types import SearchMode

router = APIRouter(tags=["search"], dependencies=[Depends(require_read)])
IMAGE_FIELD = "image"

TopK = Annotated[int, Query(ge=1, le=MAX_TOP_K, description="Number of moments")]
Videos = Annotated[list[str] | None, Query(description="Only these videos, by name (repeatable)")]
MinScore = Annotated[
    float | None, Query(ge=-1.0, le=1.0, description="Drop frames scoring below this")
]
Ctx = Annotated[ServiceContext, Depends(context)]


def _out(result: SearchResult, request: Request, started: float) -> SearchOut:
    urls = Urls(request)
    encoder = result.encoder
    return SearchOut(
        query=result.query,
        moments=[moment_out(m, urls) for m in result.moments],
        encoder=EncoderOut(**encoder.to_json()) if encoder is not None else None,
        mode=result.mode,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=result.notes,
    )


@router.get("/search", response_model=SearchOut, responses=errors(400, 422, 503))
async def search_text(
    request: Request,
    ctx: Ctx,
    q: Annotated[
        str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for")
    ],
    top_k: TopK = DEFAULT_TOP_K,
    video: Videos = None,
    min_score: MinScore = None,
    lang: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=8,
            pattern=r"^[A-Za-z-]+$",
            description="The query's language (ISO 639-1), if not the one its script implies",
        ),
    ] = None,
    mode: Annotated[
        SearchMode | None,
        Query(
            description="visual (frames), dialogue (what is said: subtitles and speech), "
            "screen (text written on screen), text (every line) or hybrid (frames and every "
            "line, fused); default: hybrid where lines are indexed, else visual"
        ),
    ] = None,
) -> SearchOut:
    """The moments that best match a sentence, in any language the model bundle reads: the
    query's script picks the text encoder (the response says which). Where lines are
    indexed (subtitles, transcribed speech, text on screen) they are searched too; each moment
    says why it matched and shows the matching lines with their source. Quoted words ("never
    come back") must occur in a matching line."""
    started = time.perf_counter()
    result = await run_in_threadpool(
        ctx.engine.search_text, q, lang, mode, top_k=top_k, videos=video, min_score=min_score
    )
    return _out(result, request, started)


def _decode_image(data: bytes, name: str) -> np.ndarray:
    """Pixels of an uploaded query image: 415 if it is not an image, 400 (QueryError) if it
    is outside the bounds of `search/images.py` (checked before any pixel is decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image_pixels(image, name)
    except PILLOW_BOMB:
        raise too_many_pixels(name) from None
    except UNREADABLE:
        raise ApiError(415, f"{name}: not an image that can be read (JPEG, PNG, WebP...)") from None


@router.post(
    "/search",
    response_model=SearchOut,
    responses=errors(400, 413, 415, 422, 503),
    openapi_extra=multipart_body(IMAGE_FIELD, "The query image (JPEG, PNG, WebP...)"),
)
async def search_image(
    request: Request,
    ctx: Ctx,
    top_k: TopK = DEFAULT_TOP_K,
    video: Videos = None,
    min_score: MinScore = None,
) -> SearchOut:
    """The moments that look most like an image, sent as multipart/form-data `image`."""
    started = time.perf_counter()
    limit = ctx.service.max_image_bytes
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(
            415,
            f"send the image as multipart/form-data with an '{IMAGE_FIELD}' field, "
            f"not {content_type or 'no content type'}",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, f"the image is larger than the limit of {limit} bytes")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get(IMAGE_FIELD)
        if not isinstance(upload, UploadFile):
            raise ApiError(422, f"the form has no '{IMAGE_FIELD}' field with a file")
        data = await upload.read(limit + 1)
        name = upload.filename or IMAGE_FIELD
    if len(data) > limit:
        raise ApiError(413, f"the image is larger than the limit of {limit} bytes")
    if not data:
        raise ApiError(400, f"{name}: the image is empty (0 bytes)")
    pixels = await run_in_threadpool(_decode_image, data, name)
    result = await run_in_threadpool(
        ctx.engine.search_image, pixels, name, top_k=top_k, videos=video, min_score=min_score
    )
    return _out(result, request, started)
