"""Videos given as http(s) URLs, staged into a folder before indexing: resumable and bounded.

`STAGING/<12 hex of the URL's hash>-<file name>` is the finished file; `<that>.part` grows
while it downloads. A retry continues a `.part` with an HTTP Range request (a server that
ignores it sends the whole file again, which is then started over); a finished file is never
fetched again. A download larger than `max_bytes` (announced or actual) stops with a
permanent error and leaves nothing behind. Only the standard library is used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

from vidsearch.pipelines.errors import DownloadError

DEFAULT_MAX_BYTES = 8 * 1024**3
DEFAULT_TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 20
USER_AGENT = "vidsearch-pipelines/1"
PART_SUFFIX = ".part"
_RETRYABLE_STATUS = {408, 425, 429}


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def staged_path(url: str, staging: Path) -> Path:
    """Where `url` is (or will be) staged: one file per URL, named after it."""
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "video"
    safe = re.sub(r"[^\w.\-]+", "_", name).lstrip(".")[-100:] or "video"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(staging) / f"{digest}-{safe}"


def download(
    url: str,
    staging: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """The staged file of `url`, downloaded (or finished) now if it is not there yet."""
    if not is_url(url):
        raise DownloadError(f"not an http(s) URL: {url!r}", permanent=True)
    target = staged_path(url, staging)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with urlopen(Request(url, headers=headers), timeout=timeout) as response:
            resumed = have > 0 and response.status == 206 and _starts_at(response, have)
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            expected = have + int(length) if length and length.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise _too_large(url, expected, max_bytes)
            with part.open("ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK_BYTES):
                    have += len(chunk)
                    if have > max_bytes:
                        raise _too_large(url, have, max_bytes)
                    out.write(chunk)
    except DownloadError as exc:
        if exc.permanent:
            part.unlink(missing_ok=True)
        raise
    except HTTPError as exc:
        exc.close()  # it holds the answer's connection
        permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_STATUS
        if exc.code == 416:  # the range is past the end: the .part is useless, start over
            part.unlink(missing_ok=True)
            permanent = False
        message = f"cannot download {url}: HTTP {exc.code}"
        raise DownloadError(message, permanent=permanent) from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(
            f"cannot download {url}: {reason} ({have} bytes kept to resume)"
        ) from None
    if expected is not None and have < expected:
        raise DownloadError(
            f"download of {url} stopped at {have} of {expected} bytes (kept to resume)"
        )
    os.replace(part, target)
    return target


def _starts_at(response: http.client.HTTPResponse, offset: int) -> bool:
    """Whether a 206 answer's Content-Range starts where the .part ends."""
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range") or "")
    return match is not None and int(match[1]) == offset


def _too_large(url: str, size: int, limit: int) -> DownloadError:
    return DownloadError(
        f"{url} is larger than the {limit:,}-byte limit ({size:,} bytes or more); "
        "raise max_download_bytes to index it",
        permanent=True,
    )
