"""Frame measures on the tiny analysis images: darkness, difference, histogram distance."""

from __future__ import annotations

import numpy as np

HIST_BINS = 16
# Rec. 601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) @ _LUMA


def is_black(image: np.ndarray, mean_threshold: float, bright_threshold: float) -> bool:
    """Near-black: dark on average and with hardly any bright pixel (so a night sky with
    stars is black, a dark room with a lamp is not)."""
    y = luma(image)
    if float(y.mean()) >= mean_threshold:
        return False  # the common case, decided without sorting pixels
    return float(np.percentile(y, 98)) < bright_threshold


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference, 0..255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def color_histogram(image: np.ndarray) -> np.ndarray:
    """Per-channel histograms, each normalised to sum 1, concatenated (3 * HIST_BINS)."""
    pixels = image.reshape(-1, 3)
    bins = (pixels // (256 // HIST_BINS)).astype(np.int64)
    offsets = np.arange(3) * HIST_BINS
    counts = np.bincount((bins + offsets).ravel(), minlength=3 * HIST_BINS).astype(np.float32)
    return counts / len(pixels)


def histogram_distance(h1: np.ndarray, h2: np.ndarray) -> float:
    """Total-variation distance averaged over channels, 0 (same) .. 1 (disjoint)."""
    return float(np.abs(h1 - h2).sum() / 6.0)
