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


# Luma and two chroma axes (Rec. 601, unscaled) as one colour transform.
_YCC = np.array(
    [[0.299, -0.169, 0.500], [0.587, -0.331, -0.419], [0.114, 0.500, -0.081]], dtype=np.float32
)
# Chroma counts half as much as luma in a structure signature.
_CHROMA_WEIGHT = 0.5
# Added to the luma spread before dividing: a flat or dark frame's signature stays small, its
# grain is not blown up to full contrast.
_SPREAD_FLOOR = 4.0


def structure(image: np.ndarray) -> np.ndarray:
    """A frame's layout, blind to light: luma and chroma minus the mean luma, divided by the
    luma spread (float32, same height and width, 3 channels). A gain or offset change of
    the light (a slow dimming, most of a fade) leaves it unchanged; a new layout of the same
    colours (tiles rearranged, a reverse shot) changes it completely."""
    ycc = image.astype(np.float32) @ _YCC
    y = ycc[..., 0]
    mean = float(y.mean())
    spread = float(y.std()) + _SPREAD_FLOOR
    ycc[..., 0] -= mean
    ycc[..., 1:] *= _CHROMA_WEIGHT
    ycc *= 1.0 / spread
    return ycc


def tone(image: np.ndarray) -> np.ndarray:
    """The mean luma and chroma of a frame (what `structure` leaves out), float32 (3,)."""
    return image.reshape(-1, 3).mean(axis=0, dtype=np.float32) @ _YCC


def tone_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The largest change of mean luma or chroma between two tones, in 0..255 grey levels."""
    return float(np.abs(a - b).max())


def structure_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two structure signatures: ~0 same, ~1 unrelated."""
    return float(np.abs(a - b).mean())


def shifted_distance(a: np.ndarray, b: np.ndarray, max_dx: int, max_dy: int) -> float:
    """The smallest structure distance over whole-pixel shifts of `b` against `a` (camera
    motion compensated): a pan of up to `max_dx` analysis pixels costs ~0, a cut does not."""
    h, w = a.shape[:2]
    best = float("inf")
    for dy in range(-max_dy, max_dy + 1):
        ya, yb = slice(max(0, dy), h + min(0, dy)), slice(max(0, -dy), h + min(0, -dy))
        for dx in range(-max_dx, max_dx + 1):
            xa, xb = slice(max(0, dx), w + min(0, dx)), slice(max(0, -dx), w + min(0, -dx))
            best = min(best, float(np.abs(a[ya, xa] - b[yb, xb]).mean()))
    return best


def blend_fit(a: np.ndarray, mid: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Least-squares weights (wa, wb) with mid ~ wa * a + wb * b, and the residual's RMS
    divided by the RMS of (b - a): small when `mid` is a mix of `a` and `b` (a dissolve)."""
    x, y, m = a.ravel(), b.ravel(), mid.ravel()
    xx, yy, xy = float(x @ x), float(y @ y), float(x @ y)
    xm, ym = float(x @ m), float(y @ m)
    det = xx * yy - xy * xy
    if det <= 1e-6 * max(xx * yy, 1e-12):
        return 1.0, 0.0, float("inf")  # a and b are (nearly) the same picture
    wa = (xm * yy - ym * xy) / det
    wb = (ym * xx - xm * xy) / det
    residual = m - wa * x - wb * y
    change = float(np.sqrt(np.mean((y - x) ** 2)))
    return wa, wb, float(np.sqrt(np.mean(residual**2))) / max(change, 1e-6)
