"""Could this image hold a line of text? A numpy test that costs ~1 ms, against ~30-100 ms of OCR.

A line of text is a horizontal run of strong, closely spaced vertical edges (each stroke gives
two) a few pixels tall; smooth footage, gradients and sensor noise have few strong edges,
and those rarely line up. The image is first halved by 2x2 averaging, which halves noise
and keeps the contrast of strokes. A row "hits" when it has at least MIN_ROW_EDGES edges
stronger than EDGE_CONTRAST; the image may hold text when MIN_HIT_ROWS consecutive rows hit
(one row of edges is a horizon or a table's border, not text).

This is a recall-first filter: a false alarm costs one OCR call, a miss loses the text.
`benchmarks/screen_text.py` measures its recall on text frames and the share of textless
frames it skips.
"""

from __future__ import annotations

import numpy as np

EDGE_CONTRAST = 60
MIN_ROW_EDGES = 10
MIN_HIT_ROWS = 3


def text_likelihood(gray: np.ndarray) -> int:
    """The longest run of consecutive half-resolution rows dense with strong vertical edges
    (0: no sign of text)."""
    h, w = gray.shape[0] // 2 * 2, gray.shape[1] // 2 * 2
    if h < 4 or w < 4:
        return 0
    g = gray[:h, :w].astype(np.int16)
    half = (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) >> 2
    strong = np.abs(np.diff(half, axis=1)) > EDGE_CONTRAST
    hits = np.count_nonzero(strong, axis=1) >= MIN_ROW_EDGES
    return _longest_run(hits)


def may_hold_text(gray: np.ndarray) -> bool:
    """Whether `gray` (2-D uint8) is worth an OCR call."""
    return text_likelihood(gray) >= MIN_HIT_ROWS


def _longest_run(flags: np.ndarray) -> int:
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    changes = np.flatnonzero(np.diff(padded))
    return int((changes[1::2] - changes[0::2]).max())
