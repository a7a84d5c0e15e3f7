"""The encoder interface every backend satisfies, life cycle included.

Life cycle, the same for every backend (ONNX Runtime, PyTorch, sentence-transformers):

1. construct: nothing is read; a hub id is not even looked up.
2. `load()`: locate the files (downloading a hub id once) and check they can be used (the
   configuration read, the tower files present). Cheap: no weights, no inference session.
   Call it to fail early, before any work starts; it returns the encoder.
3. `encode_images` / `encode_texts`: the tower they need loads on first use, only that one:
   a text query never loads an image tower and indexing never loads a text tower.
4. `close()`: frees what was loaded; the encoder may load again on the next use.

Encoders are context managers only where they say so; `close()` is always there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self, runtime_checkable

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

    def load(self) -> Self:
        """Locate the files and check they can be used; towers load on first use."""
        ...

    def close(self) -> None:
        """Free the loaded towers (sessions, weights, tokenizers)."""
        ...


class ImageEncoder(Protocol):
    """The image half of an `Encoder`: what a frame index is bound to (by `identity`)."""

    @property
    def identity(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray: ...

    def load(self) -> Self: ...

    def close(self) -> None: ...


class TextEncoder(Protocol):
    """The text half of an `Encoder`: any text tower trained into an image encoder's space."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def load(self) -> Self: ...

    def close(self) -> None: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
