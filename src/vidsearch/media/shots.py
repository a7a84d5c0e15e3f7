"""Hard-cut detection between consecutive frames.

A cut changes both the colour distribution and the pixels at once; camera motion changes
pixels but keeps the colours, a lighting change shifts colours gradually. So a cut needs a
large histogram jump *and* a large pixel change between two consecutive frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidsearch.media.quality import color_histogram, histogram_distance, mean_abs_difference

DEFAULT_HIST_THRESHOLD = 0.30
DEFAULT_PIXEL_THRESHOLD = 20.0


@dataclass(slots=True)
class CutDetector:
    """Feed frames in order; `is_cut` says whether a frame starts a new shot."""

    hist_threshold: float = DEFAULT_HIST_THRESHOLD
    pixel_threshold: float = DEFAULT_PIXEL_THRESHOLD
    _previous: np.ndarray | None = None
    _previous_hist: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (after a black stretch, the next frame is a new shot)."""
        self._previous = None
        self._previous_hist = None

    def is_cut(self, image: np.ndarray) -> bool:
        hist = color_histogram(image)
        previous, previous_hist = self._previous, self._previous_hist
        self._previous, self._previous_hist = image, hist
        if previous is None or previous_hist is None:
            return False
        return (
            histogram_distance(hist, previous_hist) >= self.hist_threshold
            and mean_abs_difference(image, previous) >= self.pixel_threshold
        )
