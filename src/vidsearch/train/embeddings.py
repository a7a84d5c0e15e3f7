"""Frozen embeddings, computed once and cached: the image encoder never changes while a text
encoder is trained into its space, so each image is embedded once (by the same code that
indexes videos), not once per epoch; likewise the teacher's embeddings of parallel captions.

Cache files are keyed by the encoder's identity and a hash of what was embedded, so a changed
dataset or encoder is never served stale vectors.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from vidsearch.data.dataset import Dataset
from vidsearch.encoders.base import ImageEncoder, TextEncoder

BATCH = 64
Progress = Callable[[int, int], None]  # (done, total)


def _cached(path: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    if path.is_file():
        return np.load(path)
    vectors = np.ascontiguousarray(compute(), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp.npy")
    np.save(temporary, vectors)
    os.replace(temporary, path)
    return vectors


def _key(identity: str, items: Sequence[str]) -> str:
    digest = hashlib.sha256(identity.encode())
    for item in items:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()[:20]


def load_rgb(dataset: Dataset, image_id: str) -> np.ndarray:
    with Image.open(dataset.image_path(image_id)) as image:
        return np.asarray(image.convert("RGB"))


def image_vectors(
    encoder: ImageEncoder,
    dataset: Dataset,
    image_ids: Sequence[str],
    cache_dir: Path,
    progress: Progress | None = None,
) -> np.ndarray:
    """(len(image_ids), dim) unit vectors of the dataset's images."""
    records = [dataset.image(i) for i in image_ids]
    hashes = [f"{i}:{r.sha256 if r else ''}" for i, r in zip(image_ids, records, strict=True)]
    path = cache_dir / f"images-{_key(encoder.identity, hashes)}.npy"

    def compute() -> np.ndarray:
        out = []
        for start in range(0, len(image_ids), BATCH):
            batch = [load_rgb(dataset, i) for i in image_ids[start : start + BATCH]]
            out.append(encoder.encode_images(batch))
            if progress is not None:
                progress(start + len(batch), len(image_ids))
        return np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)

    return _cached(path, compute)


def text_vectors(
    encoder: TextEncoder, identity: str, texts: Sequence[str], cache_dir: Path
) -> np.ndarray:
    """(len(texts), dim) unit vectors of `texts` by a frozen text encoder (the teacher)."""
    path = cache_dir / f"texts-{_key(identity, texts)}.npy"

    def compute() -> np.ndarray:
        out = [
            encoder.encode_texts(list(texts[start : start + BATCH]))
            for start in range(0, len(texts), BATCH)
        ]
        return np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)

    return _cached(path, compute)
