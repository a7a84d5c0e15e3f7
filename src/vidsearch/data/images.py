"""Image files of a dataset: checked with Pillow, stored as JPEG, identified by content hash.

A JPEG is kept byte for byte; any other format Pillow reads (PNG, WebP, GIF...) is converted
once to an RGB JPEG. `sha256` is always the hash of the bytes as they were imported or
downloaded, so the same picture fetched twice is recognised whatever became of it on disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from vidsearch.data.errors import DataError

JPEG_QUALITY = 95
KEPT_MODES = {"RGB", "L"}  # JPEGs in other modes (CMYK) are converted


@dataclass(frozen=True, slots=True)
class StoredImage:
    sha256: str
    width: int
    height: int


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open(data: bytes, what: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{what} is not a readable image ({type(exc).__name__}: {exc})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{what} is too large to be an image ({len(data)} bytes)") from None
    if image.width < 1 or image.height < 1:
        raise DataError(f"{what} is an empty image")
    return image


def write_image(data: bytes, destination: Path, *, what: str) -> StoredImage:
    """Check `data` is an image, store it at `destination` as JPEG (atomically)."""
    if not data:
        raise DataError(f"{what} is empty (0 bytes)")
    image = _open(data, what)
    if image.format == "JPEG" and image.mode in KEPT_MODES:
        payload = data
    else:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
        payload = buffer.getvalue()
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(destination.name + ".tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, destination)
    return StoredImage(content_hash(data), image.width, image.height)


def write_rendered(image: Image.Image, destination: Path) -> StoredImage:
    """Store an image made in memory (the synthetic world) as JPEG."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return write_image(buffer.getvalue(), destination, what=str(destination))
