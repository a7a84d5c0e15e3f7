"""One frame of a video by its pts: seek to the keyframe before it, decode up to it.

For thumbnails made after the fact (a frame indexed on another machine, a thumbnail lost);
indexing never seeks, it decodes in order.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from vidsearch.errors import DecodeError
from vidsearch.media.probe import open_video

STILL_MAX_SIDE = 640  # enough for any thumbnail; saves scaling a 4K frame at full size


def read_frame(path: Path, pts: int, max_side: int = STILL_MAX_SIDE) -> np.ndarray:
    """The frame shown at `pts` (the first at or after it) as RGB, at most `max_side` pixels
    on its longer side."""
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        try:
            container.seek(pts, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= pts:
                    scale = min(1.0, max_side / max(frame.width, frame.height))
                    width = max(2, round(frame.width * scale))
                    height = max(2, round(frame.height * scale))
                    return frame.to_ndarray(width=width, height=height, format="rgb24")
        except av.FFmpegError as exc:
            raise DecodeError(f"{path}: cannot decode the frame at pts {pts}: {exc}") from None
    raise DecodeError(f"{path}: no frame at pts {pts} (the file ends before it)")
