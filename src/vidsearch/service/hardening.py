"""Two ASGI middlewares that stand between the network and the routes.

`RequestGuard`:
- a request target (path or query) whose percent-escapes are not UTF-8 is refused with 400
  before routing (otherwise it would arrive as U+FFFD and be searched for);
- a request body must keep coming: no bytes for `idle_timeout_s`, or fewer than
  `min_bytes_per_s` on average once that long has passed, ends the request with 408 (a slow
  or stalled upload would otherwise hold a connection and a worker for ever).

`SecurityHeaders`: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
`X-Frame-Options: DENY` on every response; a Content-Security-Policy on HTML pages: the web
page loads only its own scripts, styles and media; the Swagger page at /docs needs its
inline script.

CORS stays off unless origins are configured (`VIDSEARCH_CORS_ORIGINS`): see app.py.
"""

from __future__ import annotations

import time
from urllib.parse import unquote_to_bytes

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsearch.service.errors import ApiError, error_response

DEFAULT_IDLE_TIMEOUT_S = 30.0
DEFAULT_MIN_BYTES_PER_S = 1024

COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        min_bytes_per_s: int = DEFAULT_MIN_BYTES_PER_S,
    ) -> None:
        self.app = app
        self.idle_timeout_s = idle_timeout_s
        self.min_bytes_per_s = min_bytes_per_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        for part, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
            if not _utf8(raw):
                message = f"the request's {part} is not valid UTF-8 once its %-escapes are decoded"
                await error_response(400, message)(scope, receive, send)
                return
        await self.app(scope, self._paced(receive), send)

    def _paced(self, receive: Receive) -> Receive:
        started = time.monotonic()
        received = 0
        complete = False  # after the body, receive() only waits for a disconnect: unpaced

        async def paced() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            with anyio.move_on_after(self.idle_timeout_s) as scope:
                message = await receive()
            if scope.cancelled_caught:
                raise ApiError(
                    408, f"the request body stalled: no data for {self.idle_timeout_s:g} s"
                )
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                elapsed = time.monotonic() - started
                if elapsed > self.idle_timeout_s and received < self.min_bytes_per_s * elapsed:
                    raise ApiError(
                        408,
                        f"the request body arrives too slowly: {received / elapsed:.0f} bytes/s, "
                        f"at least {self.min_bytes_per_s} needed",
                    )
            return message

        return paced


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in COMMON_HEADERS if k not in present]
                ctype = dict(headers).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in present:
                    policy = PAGE_POLICY if scope["path"] == "/" else DOCS_POLICY
                    headers.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
