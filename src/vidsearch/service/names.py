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
# ASCII digits only (`\d` takes any Unicode digit), no leading zero (one name per frame), and
# at most 19 digits; thumbnail_pts bounds the value to a pts (int64)
_THUMBNAIL_FILE = re.compile(r"(?:0|[1-9][0-9]{0,18})\.jpg")
MAX_PTS = 2**63 - 1  # a frame's presentation time is a signed 64-bit integer


# Invisible formatting characters are refused in names (bidi overrides and isolates can make
# "gpj.mp4" read as something else; marks and the BOM make two names look alike), except the
# joiners, which Persian spelling needs (U+200C, the ZWNJ, in "می‌خواهم").
KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


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
    refused = _refused_character(name)
    if refused is not None:
        raise BadNameError(f"file name {raw!r} contains {refused}; rename the file")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise BadNameError(f"file name is too long (at most {MAX_NAME_BYTES} bytes)")
    suffix = Path(name).suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        accepted = " ".join(sorted(VIDEO_EXTENSIONS))
        raise UnsupportedTypeError(
            f"{name}: {suffix or 'no extension'} is not a video file type; accepted: {accepted}"
        )
    return name


def _refused_character(name: str) -> str | None:
    """The first character that may not be in a file name, described, or None."""
    for c in name:
        category = unicodedata.category(c)
        if category in _REFUSED_CATEGORIES and c not in KEPT_FORMAT_CHARACTERS:
            kind = "a control character" if category == "Cc" else "an invisible character"
            label = unicodedata.name(c, "unnamed")
            return f"{kind} (U+{ord(c):04X} {label})"
    return None


def lookup_name(name: str) -> str:
    """A video name from a URL, in the form uploads are stored under (NFC), so a name typed
    or sent decomposed (macOS file names are NFD) finds the same video."""
    return unicodedata.normalize("NFC", name)


def inside(root: Path, *parts: str) -> Path:
    """`root/parts...`, refusing anything that would resolve outside `root`."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        raise BadNameError(f"{'/'.join(parts)!r} is outside the data directory")
    return target


def thumbnail_parts(video_id: str, file: str) -> tuple[str, str]:
    """Check the two path segments of a thumbnail URL (`<content id>/<pts>.jpg`)."""
    thumbnail_pts(video_id, file)
    return video_id, file


def thumbnail_pts(video_id: str, file: str) -> int:
    """The frame time a thumbnail URL names, or BadNameError: an ASCII decimal from 0 to
    2^63 - 1 without leading zeros, so every frame has one name and no number overflows."""
    if not _VIDEO_ID.fullmatch(video_id) or not _THUMBNAIL_FILE.fullmatch(file):
        raise BadNameError(f"no thumbnail {video_id}/{file[:80]}")
    pts = int(file.removesuffix(".jpg"))
    if pts > MAX_PTS:
        raise BadNameError(f"no thumbnail {video_id}/{file}")
    return pts
