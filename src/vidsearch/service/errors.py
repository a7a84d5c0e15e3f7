"""Every failure becomes a JSON body `{"error", "message", "status"}` with the right status.

Library errors map by type, in one table (`HTTP_STATUSES`: a bad query is the client's fault,
a missing model is the server's); an `ApiError` carries its own status; anything unexpected is
logged and answered with a plain 500, never a traceback.
What an error body may show: names, and paths relative to the server's own folders
(`redact`: the data directory, the model directory), never their absolute paths: a reader
needs no key to see a 404 or a failed job, and the layout of the server's disk is not theirs.
Install with `install_error_handlers(app, private=...)` before other middleware, so that
metrics count the 500s too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsearch.errors import (
    ConfigError,
    ConflictError,
    IndexError_,
    MediaError,
    ModelError,
    ModelMismatchError,
    NotFoundError,
    QueryError,
    VidsearchError,
    most_specific,
)

log = logging.getLogger("vidsearch.service")


class ApiError(VidsearchError):
    """Raised by routes: an HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_body(status: int, message: str, **extra: object) -> dict[str, object]:
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return {"error": code, "message": message, "status": status, **extra}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    return JSONResponse(error_body(status, message, **extra), status_code=status, headers=headers)


# The HTTP status per library error class; the most specific entry wins (a ModelMismatchError
# is an IndexError_: 409, not 503). Errors of no entry (training, data...) answer 500.
HTTP_STATUSES: dict[type[VidsearchError], int] = {
    QueryError: 400,
    ConfigError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    ModelMismatchError: 409,
    MediaError: 415,
    ModelError: 503,
    IndexError_: 503,
}


def status_for(exc: VidsearchError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    status = most_specific(HTTP_STATUSES, exc)
    return 500 if status is None else status


def _location(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header", "form")]
    return ".".join(parts) or "request"


def private_forms(folders: Sequence[Path]) -> tuple[str, ...]:
    """The spellings of `folders` a message may carry (as given, absolute, symlinks
    resolved), longest first, so that a folder inside another is taken out first."""
    forms = set()
    for folder in folders:
        for form in (folder, folder.absolute(), folder.resolve()):
            text = str(form).rstrip(os.sep)
            if len(text) > 1:
                forms.add(text)
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, private: Sequence[str]) -> str:
    """`text` with the server's own folders (`private_forms`) taken out: a path under one
    becomes relative to it (`uploads/x.mp4`), the folder itself its name."""
    for folder in private:
        text = text.replace(folder + os.sep, "")
        text = text.replace(folder, os.path.basename(folder) or folder)
    return text


def install_error_handlers(app: FastAPI, *, private: Sequence[Path] = ()) -> None:
    """`private`: folders whose absolute paths no error body shows (see `redact`)."""
    hidden = private_forms(private)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, redact(exc.message, hidden), exc.headers)

    @app.exception_handler(VidsearchError)
    async def _library(_: Request, exc: VidsearchError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return error_response(status, redact(str(exc), hidden))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": _location(e.get("loc", ())), "problem": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        message = "; ".join(f"{d['field']}: {d['problem']}" for d in details) or "invalid request"
        return error_response(422, message, details=details)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such resource: {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, redact(message, hidden), exc.headers)

    app.add_middleware(_CatchAll)


class _CatchAll:
    """Unexpected exceptions become a JSON 500 here, inside the app, so the connection stays
    usable (Starlette's own last-resort handler re-raises, and the server then drops it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # half a response is on the wire: nothing better to do
            response = error_response(500, "internal error; the server log has the details")
            await response(scope, receive, send)
