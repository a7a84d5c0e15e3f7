"""Small JPEG thumbnails of indexed frames, one folder per video, named by pts."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from vidsearch.errors import DiskFullError

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
        pil = Image.fromarray(image)
        pil.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
        tmp = target.with_name(f"{target.stem}.{uuid.uuid4().hex}.tmp")  # writers may race
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            pil.save(tmp, format="JPEG", quality=THUMBNAIL_QUALITY)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(f"cannot write thumbnails in {self.root}: disk full") from None
            raise
        return target

    def delete_video(self, video_id: str) -> None:
        shutil.rmtree(self.root / video_id, ignore_errors=True)
