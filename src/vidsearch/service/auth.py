"""API keys: writes always need one, reads only when `protect_reads` is set.

The key may come as `X-API-Key`, as `Authorization: Bearer <key>`, or as the
`vidsearch_api_key` cookie (the web page sets it, so that <img> and <video> can load media
when reads are protected).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from vidsearch.service.context import ServiceContext, context
from vidsearch.service.errors import ApiError

KEY_HEADER = "X-API-Key"
KEY_COOKIE = "vidsearch_api_key"

_key_header = APIKeyHeader(
    name=KEY_HEADER, auto_error=False, description="The server's VIDSEARCH_API_KEY"
)


def _supplied(request: Request, header: str | None) -> str | None:
    if header:
        return header
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(KEY_COOKIE) or None


def _check(ctx: ServiceContext, request: Request, header: str | None, action: str) -> None:
    expected = ctx.service.api_key
    if expected is None:
        raise ApiError(
            403, f"{action} is disabled: start the server with VIDSEARCH_API_KEY set to allow it"
        )
    supplied = _supplied(request, header)
    challenge = {"WWW-Authenticate": "Bearer"}
    if supplied is None:
        raise ApiError(
            401,
            f"{action} needs the API key: send it in the {KEY_HEADER} header",
            headers=challenge,
        )
    if not hmac.compare_digest(supplied.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "wrong API key", headers=challenge)


def require_write(
    request: Request,
    ctx: Annotated[ServiceContext, Depends(context)],
    header: Annotated[str | None, Security(_key_header)] = None,
) -> None:
    """Uploads and deletes."""
    _check(ctx, request, header, "changing the index")


def require_read(
    request: Request,
    ctx: Annotated[ServiceContext, Depends(context)],
    header: Annotated[str | None, Security(_key_header)] = None,
) -> None:
    """Searches, listings and media, when the server protects reads."""
    if ctx.service.protect_reads:
        _check(ctx, request, header, "reading the index")
