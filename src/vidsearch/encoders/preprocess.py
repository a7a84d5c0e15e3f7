"""CLIP image preprocessing as pure functions over PIL and numpy (no torchvision).

Same steps as the reference CLIP transform: resize the short side (bicubic), centre crop,
scale to [0, 1], normalise per channel, channels first; the crop is taken before scaling, so
an image of any aspect ratio costs one size x size image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_SIZE = 224


@dataclass(frozen=True, slots=True)
class PreprocessConfig:
    size: int = CLIP_SIZE
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    @classmethod
    def from_processor_json(cls, data: dict[str, object], size: int) -> PreprocessConfig:
        """Read mean/std from a Hugging Face `preprocessor_config.json`; `size` is the model's."""
        mean = data.get("image_mean", CLIP_MEAN)
        std = data.get("image_std", CLIP_STD)
        return cls(size=size, mean=tuple(mean), std=tuple(std))  # type: ignore[arg-type]


def crop_box(width: int, height: int, size: int) -> tuple[float, float, float, float]:
    """The region of a width x height image that the reference transform keeps: the centred
    size x size square of the image scaled so its short side is `size`, in source pixels."""
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    sx, sy = new_w / width, new_h / height
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return left / sx, top / sy, (left + size) / sx, (top + size) / sy


def resize_and_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Short side to `size` (bicubic), then the centred size x size square.

    Only the square is ever scaled (Pillow's `box`, sampling the same source pixels as
    scaling the whole image and cropping), so the work is size x size whatever the aspect
    ratio: scaling a 1x60000 strip whole would make a 224 x 13,440,000 image (9 GB)."""
    pil = Image.fromarray(image)
    box = crop_box(*pil.size, size)
    return np.asarray(pil.resize((size, size), Image.Resampling.BICUBIC, box=box))


def to_pixel_values(images: Sequence[np.ndarray], config: PreprocessConfig) -> np.ndarray:
    """RGB uint8 images -> (N, 3, size, size) float32 normalised batch."""
    batch = np.stack([resize_and_crop(img, config.size) for img in images]).astype(np.float32)
    batch /= 255.0
    batch -= np.asarray(config.mean, dtype=np.float32)
    batch /= np.asarray(config.std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
