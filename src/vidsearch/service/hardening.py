"""Two ASGI middlewares that stand between the network and the routes.

`RequestGuard`:
- a request target (path or query) whose percent-escapes are not UTF-8 is refused with 400
  before routing (otherwise it would arrive as U+FFFD and be searched for);
- a request body must keep coming: no bytes for `idle_timeout_s`, or fewer than
  `min_bytes_per_s` on average once that long has passed, ends the request with 408 (a slow
  or stalled upload would otherwise hold a connection and a worker for ever).

`BodyLimit`: a request body is counted while it streams, against its route's limit (a query
image, an upload, a small default elsewhere): a declared Content-Length over the limit, or
the byte that passes it in a chunked body, is answered 413 at once; the rest of the body is
never read into memory or onto disk (a little is read and dropped so the client sees the
answer). `spool_under` keeps the temporary files of Starlette's form parser in the data
directory instead of the system temp folder.

`TrustedLocations`: an absolute `Location` (Starlette's slash redirects build theirs from the
Host header) is rewritten onto the server's own origin (`origin`: the configured public URL,
else the address the connection came in on), so a forged Host never comes back to a client.

`SecurityHeaders`: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
`X-Frame-Options: DENY` on every response; a Content-Security-Policy on HTML pages: the web
page loads only its own scripts, styles and media; the Swagger page at /docs needs its
inline script.

CORS stays off unless origins are configured (`VIDSEARCH_CORS_ORIGINS`): see app.py.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsearch.service.errors import ApiError, error_response

DEFAULT_IDLE_TIMEOUT_S = 30.0
DEFAULT_MIN_BYTES_PER_S = 1024
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # routes without a limit of their own (JSON bodies)
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and part headers around a file
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024  # of a refused body, read and dropped so the answer arrives

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


class BodyLimit:
    """`forms`: the largest file per (method, path) of a route that takes a multipart form
    (the form's boundaries and headers are allowed on top); `default`: the largest body of any
    other request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        forms: Mapping[tuple[str, str], int],
        default: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.forms = dict(forms)
        self.default = default

    def limit_for(self, scope: Scope) -> tuple[int, int]:
        """(the limit to name, the bytes allowed) for a request."""
        limit = self.forms.get((scope.get("method", ""), scope["path"]))
        if limit is None:
            return self.default, self.default
        return limit, limit + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, allowed = self.limit_for(scope)
        message = f"the request body is larger than the limit of {human_size(limit)}"
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isascii() and declared.isdigit() and int(declared) > allowed:
            await _drain(receive)
            await error_response(413, message)(scope, receive, send)
            return
        received = 0
        refused = False  # the body passed the limit: the app's own answer is dropped
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:  # a route that reads on after the refusal finds the body ended
                return {"type": "http.request", "body": b"", "more_body": False}
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > allowed:
                    refused = True
                    if event.get("more_body", False):
                        await _drain(receive)
                    raise ApiError(413, message)
            return event

        async def unless_refused(event: Message) -> None:
            nonlocal started
            if not refused or started:
                started = started or event["type"] == "http.response.start"
                await send(event)

        try:
            await self.app(scope, counted, unless_refused)
        except Exception:
            if not refused or started:
                raise
        # The 413 goes out once the app has cleaned up (a partial upload deleted), whatever
        # the route made of the failing read (FastAPI answers 400 for a JSON body's).
        if refused and not started:
            await error_response(413, message)(scope, receive, send)


def human_size(n: float) -> str:
    """1536 -> '1.5 KiB'; bytes below 1 KiB as a count."""
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


async def _drain(receive: Receive) -> None:
    """Read and drop up to DRAIN_LIMIT_BYTES of a refused body: a client still sending can
    then read the answer instead of a connection reset; a larger body is cut off."""
    seen = 0
    while seen <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


@contextlib.contextmanager
def spool_under(folder: Path) -> Iterator[None]:
    """Temporary files made while the block runs (Starlette's form parser spools a file part
    over 1 MiB to `tempfile`, which has no per-call folder) go to `folder`, not the system temp
    folder: they count against the data directory's disk, where the limits are known."""
    folder.mkdir(parents=True, exist_ok=True)
    before = tempfile.tempdir
    ours = tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        if tempfile.tempdir == ours:  # apps in one process (tests) may stop in any order
            gone = before is not None and not Path(before).is_dir()
            tempfile.tempdir = None if gone else before


def origin(scope: Scope, public_url: str | None = None) -> str:
    """Where this server's URLs start: `public_url` if configured, else the scheme and the
    local address of the request's connection (a unix socket: "", relative URLs); never
    anything the client wrote in a header (the scheme comes from a trusted proxy at most)."""
    if public_url:
        return public_url
    root = scope.get("root_path", "")
    server = scope.get("server")
    if not server or server[1] is None:
        return root
    scheme = scope.get("scheme") if scope.get("scheme") in ("http", "https") else "http"
    host, port = str(server[0]), int(server[1])
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port == {"http": 80, "https": 443}[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{root}"


class TrustedLocations:
    def __init__(self, app: ASGIApp, *, public_url: str | None = None) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def rewritten(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, self._trusted(scope, v) if k.lower() == b"location" else v)
                    for k, v in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, rewritten)

    def _trusted(self, scope: Scope, location: bytes) -> bytes:
        parts = urlsplit(location.decode("latin-1"))
        if not parts.netloc:
            return location  # relative: on this server already
        path = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
        base = origin(scope, self.public_url)
        root = scope.get("root_path", "")
        if root and base.endswith(root) and path.startswith(root):
            path = path[len(root) :]
        return (base + path).encode("latin-1")


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
