"""The web page at `/`: plain HTML, CSS and JS from the package, no build step; and the
icon browsers ask `/favicon.ico` for (without this route the seed route answers it, 422)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
FAVICON = "favicon.ico"
FAVICON_CACHE = "public, max-age=86400"

router = APIRouter(tags=["web"])


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")


@router.get("/favicon.ico", response_class=FileResponse, include_in_schema=False)
async def favicon() -> FileResponse:
    return FileResponse(
        STATIC_DIR / FAVICON, media_type="image/x-icon", headers={"Cache-Control": FAVICON_CACHE}
    )


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
