"""Polite HTTP for the pipeline's web steps (translation endpoint, crawler): one client with a
user agent, a rate limit per host, and retries with exponential backoff.

A 408, 425, 429 or 5xx answer and a network error are retried after `backoff * 2**attempt`
seconds (at most `MAX_BACKOFF_S`; longer if the server's `Retry-After` asks for it); any other
4xx is permanent at once. httpx is imported on first use: it comes with the `data` extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vidsearch.data.errors import DataError

if TYPE_CHECKING:
    import httpx

DATA_EXTRA_HINT = "this step needs the data extra: pip install -c constraints.txt 'vidsearch[data]'"
DEFAULT_USER_AGENT = "vidsearch-data/0.1 (dataset builder; polite: robots.txt, rate-limited)"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpError(DataError):
    """A request that failed; `permanent` when retrying cannot help (a 4xx other than 429)."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status = status
        self.permanent = permanent


class RateLimiter:
    """At most `rate` calls of `wait()` a second (None: no limit), spaced evenly. The rate
    may change at any time; the next call keeps the new spacing from the last one."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._last = float("-inf")
        self.rate = rate

    @property
    def rate(self) -> float | None:
        return self._rate

    @rate.setter
    def rate(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise DataError(f"a rate limit must be positive, not {rate}")
        self._rate = rate

    def wait(self) -> None:
        now = self._clock()
        if self._rate is not None and now < self._last + 1.0 / self._rate:
            self._sleep(self._last + 1.0 / self._rate - now)
            now = self._last + 1.0 / self._rate
        self._last = now


def import_httpx():  # -> the httpx module
    try:
        import httpx
    except ImportError:
        raise DataError(DATA_EXTRA_HINT) from None
    return httpx


class PoliteHttp:
    """An httpx client that waits its turn per host and retries what is worth retrying.

    `transport` replaces the network (tests); `sleep` replaces waiting between retries."""

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        rate: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise DataError("retries and backoff must be >= 0 and the timeout > 0")
        self.user_agent = user_agent
        self.rate = rate
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.requests = 0  # sent, retries included
        self.retried = 0
        self._transport = transport
        self._sleep = sleep
        self._limiters: dict[str, RateLimiter] = {}
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            httpx = import_httpx()
            self._client = httpx.Client(
                headers={"User-Agent": self.user_agent},
                timeout=self.timeout,
                transport=self._transport,
                follow_redirects=True,
            )
        return self._client

    def limit_host(self, url: str, rate: float | None) -> None:
        """Use `rate` (requests/s) for the host of `url` from now on."""
        self._limiter(url).rate = rate

    def _limiter(self, url: str) -> RateLimiter:
        host = urlsplit(url).netloc
        if host not in self._limiters:
            self._limiters[host] = RateLimiter(self.rate)
        return self._limiters[host]

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """The response (status < 400), or HttpError once retries are spent."""
        httpx = import_httpx()
        client = self.client
        for attempt in range(self.retries + 1):
            self._limiter(url).wait()
            self.requests += 1
            retry_after = None
            try:
                response = client.request(method, url, **options)
            except httpx.TransportError as exc:
                error = HttpError(f"{method} {url} failed: {type(exc).__name__}: {exc}")
            else:
                status = response.status_code
                if status < 400:
                    return response
                message = f"{method} {url} answered {status} {response.reason_phrase}"
                if status not in RETRY_STATUSES:
                    raise HttpError(message, status=status, permanent=True)
                error = HttpError(message, status=status)
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt == self.retries:
                raise HttpError(f"{error} (after {attempt + 1} attempts)", status=error.status)
            delay = min(MAX_BACKOFF_S, self.backoff * 2**attempt)
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_BACKOFF_S))
            self.retried += 1
            self._sleep(delay)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> PoliteHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
