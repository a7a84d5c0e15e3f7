"""A video made of still pictures (the proof's rendered shape scenes), each shown for a while,
with a short black gap between them so that each picture is its own shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

DEFAULT_FPS = 10
DEFAULT_SECONDS = 2.0
DEFAULT_GAP = 0.4


@dataclass(frozen=True, slots=True)
class Slide:
    """Where a picture is in the video, in seconds."""

    start: float
    end: float

    def contains(self, seconds: float) -> bool:
        return self.start <= seconds < self.end


def write_slideshow(
    path: Path,
    pictures: Sequence[np.ndarray],
    *,
    seconds: float = DEFAULT_SECONDS,
    gap: float = DEFAULT_GAP,
    fps: int = DEFAULT_FPS,
) -> list[Slide]:
    """Encode RGB uint8 pictures (all one even-sided size) as H.264 in `path`."""
    import av

    if not pictures:
        raise ValueError("a slideshow needs at least one picture")
    height, width = pictures[0].shape[:2]
    if height % 2 or width % 2 or any(p.shape != pictures[0].shape for p in pictures):
        raise ValueError("pictures must share one size with even sides")
    shown, black = max(1, round(seconds * fps)), round(gap * fps)
    dark = np.zeros_like(pictures[0])
    slides: list[Slide] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        index = 0
        for number, picture in enumerate(pictures):
            if number and black:
                frames = [dark] * black
            else:
                frames = []
            slides.append(Slide((index + len(frames)) / fps, (index + len(frames) + shown) / fps))
            for rgb in [*frames, *[picture] * shown]:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts = index
                frame.time_base = Fraction(1, fps)
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return slides
