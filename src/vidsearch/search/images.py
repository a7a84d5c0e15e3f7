"""A query image as RGB pixels, from a file, a PIL image or an array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vidsearch.errors import QueryError

QueryImage = str | Path | Image.Image | np.ndarray


def load_query_image(path: Path) -> np.ndarray:
    """RGB pixels of an image file, or QueryError saying why it cannot be used."""
    if not path.is_file():
        raise QueryError(f"query image {path}: no such file")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise QueryError(f"query image {path}: not an image that can be read ({exc})") from None


def query_pixels(image: QueryImage) -> tuple[np.ndarray, str]:
    """(H, W, 3) uint8 RGB pixels of a query image, and a label for the result."""
    if isinstance(image, str | Path):
        return load_query_image(Path(image)), str(image)
    if isinstance(image, Image.Image):
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
    return np.ascontiguousarray(pixels[:, :, :3]), "image"
