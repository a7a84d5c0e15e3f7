"""The encoder interface every backend satisfies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Images and texts to unit vectors of `dim` float32 values.

    `identity` names the image space: two encoders with the same identity produce
    comparable image vectors, so an index built by one can be searched with the other.
    """

    @property
    def identity(self) -> str: ...

    @property
    def name(self) -> str:
        """How the user referred to the model (hub id or directory), for messages."""
        ...

    @property
    def dim(self) -> int: ...

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """RGB uint8 (H, W, 3) arrays of any size -> (N, dim) float32, rows of norm 1."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Strings -> (N, dim) float32, rows of norm 1."""
        ...

    def close(self) -> None: ...


class ImageEncoder(Protocol):
    """The image half of an `Encoder`: what a frame index is bound to (by `identity`)."""

    @property
    def identity(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray: ...

    def close(self) -> None: ...


class TextEncoder(Protocol):
    """The text half of an `Encoder`: any text tower trained into an image encoder's space."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def close(self) -> None: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
