"""Small JPEG thumbnails of indexed frames, one folder per video, named by pts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_QUALITY = 82


class ThumbnailStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, video_id: str, pts: int) -> Path:
        return self.root / video_id / f"{pts}.jpg"

    def save(self, video_id: str, pts: int, image: np.ndarray) -> Path:
        """Write atomically (temp file + rename) so a kill never leaves half a JPEG."""
        target = self.path_for(video_id, pts)
        target.parent.mkdir(parents=True, exist_ok=True)
        pil = Image.fromarray(image)
        pil.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
        tmp = target.with_suffix(".tmp")
        pil.save(tmp, format="JPEG", quality=THUMBNAIL_QUALITY)
        os.replace(tmp, target)
        return target

    def delete_video(self, video_id: str) -> None:
        shutil.rmtree(self.root / video_id, ignore_errors=True)
