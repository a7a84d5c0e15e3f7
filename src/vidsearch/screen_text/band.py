"""The subtitle band: where burned-in subtitles sit, how they are cleaned for OCR, and whether
the band changed since it was last read.

Burned-in subtitles sit in the bottom quarter of the frame, drawn bright (white, yellow) with
a dark outline, shadow or box so they stay readable over any footage. `outlined_text` keeps
exactly that: bright pixels with a dark pixel within OUTLINE_REACH, drawn black on white.
Over textured footage this is what makes Tesseract read them (measured on the generated
frames at 2x: CER 0.56 -> 0.03 for English, 0.81 -> 0.33 for Persian); the footage itself
mostly disappears, so the mask is also what the change test compares: moving footage
behind the same line leaves the mask unchanged, and the line's text is reused without OCR.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

BAND_FRACTION = 0.25  # the bottom quarter of the frame
# Frames are scaled so their height is this before OCR: Tesseract reads text best when
# letters are ~20-40 px tall, and subtitles are ~4-7% of the frame height.
OCR_FRAME_HEIGHT = 720
BRIGHT = 190
DARK = 90
OUTLINE_REACH = 3  # px at OCR_FRAME_HEIGHT
SOFTEN_RADIUS = 2
# The band counts as unchanged when its text masks overlap this much (intersection over union).
SAME_BAND_OVERLAP = 0.8


def band_top(height: int) -> int:
    """The first row of the subtitle band in a frame `height` rows tall."""
    return height - round(height * BAND_FRACTION)


def outlined_text(gray: np.ndarray, reach: int = OUTLINE_REACH) -> np.ndarray:
    """Bright pixels near dark ones as black (0) on white (255): outlined or boxed text,
    its edges softened by a box blur (Tesseract's LSTM reads anti-aliased letters better than
    hard-edged ones: measured CER en 0.050 -> 0.028, fa 0.47 -> 0.37 on generated bands)."""
    near_dark = _grow(gray <= DARK, reach)
    ink = np.where((gray >= BRIGHT) & near_dark, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(ink).filter(ImageFilter.BoxBlur(SOFTEN_RADIUS)))


class BandMemory:
    """Remembers the text mask of the band last sent to OCR."""

    def __init__(self, overlap: float = SAME_BAND_OVERLAP) -> None:
        self.overlap = overlap
        self._last: np.ndarray | None = None

    def same_as_last(self, mask: np.ndarray) -> bool:
        """Whether `mask` (from `outlined_text`) shows what the last remembered one showed."""
        ink, last = _coarse_ink(mask), self._last
        if last is None or last.shape != ink.shape:
            return False
        union = np.count_nonzero(ink | last)
        if union == 0:
            return True
        return np.count_nonzero(ink & last) / union >= self.overlap

    def remember(self, mask: np.ndarray) -> None:
        self._last = _coarse_ink(mask)

    def forget(self) -> None:
        self._last = None


def _coarse_ink(mask: np.ndarray) -> np.ndarray:
    """Ink at quarter resolution (any ink in a 4x4 cell): tolerant of a pixel's wobble."""
    h, w = mask.shape[0] // 4 * 4, mask.shape[1] // 4 * 4
    ink = mask[:h, :w] < 128
    return ink.reshape(h // 4, 4, w // 4, 4).any(axis=(1, 3))


def _grow(mask: np.ndarray, reach: int) -> np.ndarray:
    """Binary dilation by a (2*reach+1)^2 square, done separably."""
    out = mask.copy()
    for shift in range(1, reach + 1):
        out[shift:] |= mask[:-shift]
        out[:-shift] |= mask[shift:]
    rows = out.copy()
    for shift in range(1, reach + 1):
        out[:, shift:] |= rows[:, :-shift]
        out[:, :-shift] |= rows[:, shift:]
    return out
