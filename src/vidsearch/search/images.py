"""A query image as RGB pixels, from a file, bytes, a PIL image or an array.

Every query image is held to the same bounds before any pixel is decoded, so a tiny file
cannot ask for gigabytes (a 196-byte 1x60000 PNG once cost 12.5 GB):

- its long side may be at most QUERY_MAX_ASPECT times its short side (CLIP sees only the
  centred square, so a 1x60000 strip carries one pixel of it);
- JPEGs larger than needed are decoded in Pillow's draft mode (DCT scaling, 1/2 to 1/8),
  and no image may need more than QUERY_MAX_PIXELS decoded pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vidsearch.errors import QueryError

QueryImage = str | Path | Image.Image | np.ndarray

QUERY_MAX_ASPECT = 20  # long side / short side
QUERY_MAX_PIXELS = 16_000_000  # decoded pixels (after draft mode): ~200 MB at most to decode
QUERY_DRAFT_SIDE = 1024  # JPEGs are decoded at the smallest scale keeping both sides >= this

# Pillow's own bomb limits (it warns above 89 MP, refuses above 179 MP); where warnings are
# errors the warning is raised
PILLOW_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
UNREADABLE = (UnidentifiedImageError, OSError, ValueError)


def too_many_pixels(name: str) -> QueryError:
    return QueryError(f"{name}: more than {QUERY_MAX_PIXELS:,} pixels, the limit for a query image")


def check_query_size(
    width: int, height: int, name: str = "the query image", *, decoded: bool = True
) -> None:
    """QueryError unless a width x height image is within the query bounds (the pixel
    count only when `decoded`: that many pixels would be decoded)."""
    short, long = min(width, height), max(width, height)
    if short < 1:
        raise QueryError(f"{name}: {width}x{height} has no pixels")
    if long > QUERY_MAX_ASPECT * short:
        raise QueryError(
            f"{name}: {width}x{height} is too elongated: the long side may be at most "
            f"{QUERY_MAX_ASPECT} times the short side (the model sees only the centred square)"
        )
    if decoded and width * height > QUERY_MAX_PIXELS:
        raise QueryError(
            f"{name}: {width}x{height} is {width * height:,} pixels, more than the limit of "
            f"{QUERY_MAX_PIXELS:,} (JPEGs are decoded at reduced size and may be larger)"
        )


def image_pixels(image: Image.Image, name: str) -> np.ndarray:
    """RGB pixels of an opened (not yet loaded) image, or QueryError if it is out of bounds.
    The size is checked from the header, before any pixel is decoded."""
    check_query_size(*image.size, name, decoded=False)  # the aspect ratio, as declared
    image.draft("RGB", (QUERY_DRAFT_SIDE, QUERY_DRAFT_SIDE))  # JPEG only; else a no-op
    check_query_size(*image.size, name)  # pixels as they will be decoded
    return np.asarray(image.convert("RGB"))


def decode_query_image(source: Path | bytes, name: str) -> np.ndarray:
    """RGB pixels of an image file or its bytes, or QueryError saying why it cannot be used."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return image_pixels(image, name)
    except PILLOW_BOMB:
        raise too_many_pixels(name) from None
    except UNREADABLE as exc:
        raise QueryError(f"{name}: not an image that can be read ({exc})") from None


def load_query_image(path: Path) -> np.ndarray:
    """RGB pixels of an image file, or QueryError saying why it cannot be used."""
    if not path.is_file():
        raise QueryError(f"query image {path}: no such file")
    return decode_query_image(path, f"query image {path}")


def query_pixels(image: QueryImage) -> tuple[np.ndarray, str]:
    """(H, W, 3) uint8 RGB pixels of a query image, and a label for the result."""
    if isinstance(image, str | Path):
        return load_query_image(Path(image)), str(image)
    if isinstance(image, Image.Image):
        check_query_size(*image.size)
        return np.asarray(image.convert("RGB")), "image"
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or min(pixels.shape[:2]) < 1:
        raise QueryError(
            f"a query image array must be (height, width, 3) RGB, not shape {pixels.shape}"
        )
    if pixels.dtype != np.uint8:
        raise QueryError(f"a query image array must hold uint8 pixels, not {pixels.dtype}")
    check_query_size(pixels.shape[1], pixels.shape[0])
    return np.ascontiguousarray(pixels[:, :, :3]), "image"
