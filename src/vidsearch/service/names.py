"""Names and paths that come from requests: checked, and never resolved outside a root.

Video names are only ever looked up in the catalog; the one name that becomes a path is an
uploaded file's, and it must be a plain file name with a video extension.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from vidsearch.errors import ConfigError, MediaError
from vidsearch.ingest import VIDEO_EXTENSIONS

MAX_NAME_BYTES = 200
_VIDEO_ID = re.compile(r"[0-9a-f]{8,64}")
_THUMBNAIL_FILE = re.compile(r"\d{1,20}\.jpg")


class BadNameError(ConfigError):
    """A name from a request that cannot be used; the message says why."""


class UnsupportedTypeError(MediaError):
    """A file name whose extension is not one of a video."""


def upload_name(raw: str | None) -> str:
    """The file name an upload will be stored under, or an error saying what is wrong."""
    if not raw or not raw.strip():
        raise BadNameError("the upload has no file name")
    name = unicodedata.normalize("NFC", raw.strip())
    if "/" in name or "\\" in name or os.path.isabs(name):
        raise BadNameError(f"file name {raw!r} must be a plain name, not a path")
    if name in {".", ".."} or name.startswith("."):
        raise BadNameError(f"file name {raw!r} must not start with a dot")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise BadNameError(f"file name {raw!r} contains control characters")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise BadNameError(f"file name is too long (at most {MAX_NAME_BYTES} bytes)")
    suffix = Path(name).suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        accepted = " ".join(sorted(VIDEO_EXTENSIONS))
        raise UnsupportedTypeError(
            f"{name}: {suffix or 'no extension'} is not a video file type; accepted: {accepted}"
        )
    return name


def inside(root: Path, *parts: str) -> Path:
    """`root/parts...`, refusing anything that would resolve outside `root`."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        raise BadNameError(f"{'/'.join(parts)!r} is outside the data directory")
    return target


def thumbnail_parts(video_id: str, file: str) -> tuple[str, str]:
    """Check the two path segments of a thumbnail URL."""
    if not _VIDEO_ID.fullmatch(video_id) or not _THUMBNAIL_FILE.fullmatch(file):
        raise BadNameError(f"no thumbnail {video_id}/{file}")
    return video_id, file
