"""Fuse frame hits and dialogue hits that fall in the same time window into ranked moments.

Three channels rank candidates: `frames` (CLIP cosine of the frames), `meaning` (sentence
cosine of the subtitle lines) and `words` (BM25 of the lines). A *window* is where they meet:
frame hits of one shot form one (as `moments.group_hits` does); a line joins the window of
its shot when it has one, else opens its own on that shot (or, in a shot longer than
`MAX_MOMENT_S`, on the line itself, padded); a window always spans its lines whole, so a line
that runs over a cut widens it. Each window keeps its best score per channel,
and the channels' rankings of the windows are fused by one of

- **RRF** (reciprocal rank fusion): sum over channels of `weight / (k + rank)`; scores of
  different kinds never meet, only ranks;
- **score sum** (calibrated): each channel's scores mapped to [0, 1] against their own spread
  in this query (distribution-based: mean ± 3 standard deviations, clipped), then summed; a
  window missing from a channel gets 0 there.

Either way a window's `score` is its fused value as a share of the most the query's channels
can give (0-1), the scale every search mode reports. docs/dialogue.md has the measurements
behind `DEFAULT_FUSION`. Pure functions: no index, no model.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from vidsearch.search.moments import MAX_MOMENT_S, group_hits
from vidsearch.types import DialogueHit, DialogueLine, FrameHit, why_matched

RRF_K = 60
# A line belongs to a long shot's frame window when its middle is this close to the window.
WINDOW_PAD_S = 2.0
MAX_LINES = 3  # dialogue lines reported per moment


class FusionMethod(StrEnum):
    RRF = "rrf"
    SCORE_SUM = "score-sum"


class Channel(StrEnum):
    FRAMES = "frames"
    MEANING = "meaning"
    WORDS = "words"


DEFAULT_FUSION = FusionMethod.SCORE_SUM


@dataclass(slots=True)
class _Line:
    hit: DialogueHit
    scores: dict[Channel, float] = field(default_factory=dict)
    ranks: dict[Channel, int] = field(default_factory=dict)


@dataclass(slots=True)
class Window:
    """A candidate moment: a span of one video and what matched in it."""

    video_id: str
    shot: int
    start: float
    end: float
    frames: list[FrameHit] = field(default_factory=list)  # by time
    best_frame: FrameHit | None = None
    lines: dict[str, _Line] = field(default_factory=dict)  # cue id -> line
    scores: dict[Channel, float] = field(default_factory=dict)  # best per channel
    fused: float = 0.0  # what ranks the windows
    score: float = 0.0  # `fused` as a share of the most the query's channels can give: 0-1

    @property
    def why(self) -> str:
        """What matched in this window: "frame", "speech", "frame + subtitle"..."""
        sources = {ln.hit.source for ln in self.lines.values()}
        return why_matched(self.best_frame is not None, sources)

    def best_lines(self, limit: int = MAX_LINES, rrf_k: int = RRF_K) -> list[DialogueLine]:
        def strength(line: _Line) -> tuple[float, float]:
            return (sum(1 / (rrf_k + r) for r in line.ranks.values()), line.hit.start)

        ranked = sorted(self.lines.values(), key=lambda ln: (-strength(ln)[0], strength(ln)[1]))
        return [
            DialogueLine(
                ln.hit.start,
                ln.hit.end,
                ln.hit.text,
                ln.hit.language,
                ln.scores.get(Channel.MEANING),
                ln.scores.get(Channel.WORDS),
                ln.hit.source,
            )
            for ln in ranked[:limit]
        ]

    @property
    def anchor(self) -> tuple[int | None, float | None]:
        """(pts, timestamp) of the frame to show: the best frame, else the best line's."""
        if self.best_frame is not None:
            return self.best_frame.pts, self.best_frame.timestamp
        if not self.lines:
            return None, None
        best = max(
            self.lines.values(), key=lambda ln: sum(1 / (RRF_K + r) for r in ln.ranks.values())
        )
        return best.hit.anchor_pts, best.hit.anchor_timestamp


def fuse(
    frames: Sequence[FrameHit],
    meaning: Sequence[DialogueHit],
    words: Sequence[DialogueHit],
    top_k: int,
    *,
    method: FusionMethod = DEFAULT_FUSION,
    rrf_k: int = RRF_K,
    weights: Mapping[Channel, float] | None = None,
    max_moment: float = MAX_MOMENT_S,
) -> list[Window]:
    """The `top_k` best windows, best first (see the module docstring). Each hit list is one
    channel's ranking, best first."""
    windows = frame_windows(frames, max_moment=max_moment)
    add_dialogue(windows, {Channel.MEANING: meaning, Channel.WORDS: words}, max_moment)
    weights = weights or {}
    scored = rrf_scores if method is FusionMethod.RRF else score_sums
    fused = scored(windows, weights, rrf_k)
    # the best a window can get: first (RRF) or calibrated 1 (score sum) in every channel
    best = 1 / (rrf_k + 1) if method is FusionMethod.RRF else 1.0
    ceiling = best * sum(weights.get(c, 1.0) for c in _channels(windows)) or 1.0
    for window, value in zip(windows, fused, strict=True):
        window.fused = value
        window.score = min(1.0, max(0.0, value / ceiling))
    windows.sort(key=lambda w: (-w.fused, w.video_id, w.start))
    return windows[:top_k]


def frame_windows(frames: Sequence[FrameHit], *, max_moment: float) -> list[Window]:
    """One window per moment `group_hits` makes of the frame hits, best first."""
    if not frames:
        return []
    windows = []
    for group in group_hits(frames, len(frames), max_moment=max_moment):
        window = Window(group.video_id, group.shot, group.start, group.end)
        window.frames = group.hits
        window.best_frame = group.best
        window.scores[Channel.FRAMES] = group.best.score
        windows.append(window)
    return windows


def add_dialogue(
    windows: list[Window],
    channels: Mapping[Channel, Sequence[DialogueHit]],
    max_moment: float,
) -> None:
    """Put each line into its window (opening one when needed), keeping its channel scores
    and ranks and each window's best score per channel."""
    by_cue: dict[str, Window] = {}
    for channel, hits in channels.items():
        for rank, hit in enumerate(hits, 1):
            window = by_cue.get(hit.cue_id)
            if window is None:
                window = _window_for(windows, hit, max_moment)
                by_cue[hit.cue_id] = window
                # a line that runs over a cut (a sign held across shots) keeps all its time
                window.start, window.end = min(window.start, hit.start), max(window.end, hit.end)
            line = window.lines.setdefault(hit.cue_id, _Line(hit))
            if channel not in line.scores:
                line.scores[channel] = hit.score
                line.ranks[channel] = rank
            window.scores[channel] = max(window.scores.get(channel, hit.score), hit.score)


def _window_for(windows: list[Window], hit: DialogueHit, max_moment: float) -> Window:
    middle = (hit.start + hit.end) / 2
    long_shot = hit.shot < 0 or hit.shot_end - hit.shot_start > max_moment
    for window in windows:
        if window.video_id != hit.video_id or window.shot != hit.shot:
            continue
        if not long_shot or window.start - WINDOW_PAD_S <= middle <= window.end + WINDOW_PAD_S:
            return window
    if long_shot:
        low = max(0.0, hit.start - WINDOW_PAD_S)
        high = hit.end + WINDOW_PAD_S
        if hit.shot >= 0:
            low, high = max(hit.shot_start, low), min(hit.shot_end, high)
        window = Window(hit.video_id, hit.shot, low, max(high, low))
    else:
        window = Window(hit.video_id, hit.shot, hit.shot_start, hit.shot_end)
    windows.append(window)
    return window


def _channels(windows: Sequence[Window]) -> list[Channel]:
    return [c for c in Channel if any(c in w.scores for w in windows)]


def rrf_scores(
    windows: Sequence[Window], weights: Mapping[Channel, float], rrf_k: int
) -> list[float]:
    """Reciprocal rank fusion of the channels' rankings of the windows."""
    fused = [0.0] * len(windows)
    for channel in _channels(windows):
        present = [i for i, w in enumerate(windows) if channel in w.scores]
        present.sort(key=lambda i: -windows[i].scores[channel])
        weight = weights.get(channel, 1.0)
        for rank, i in enumerate(present, 1):
            fused[i] += weight / (rrf_k + rank)
    return fused


def calibrate(scores: Sequence[float]) -> list[float]:
    """Scores mapped to [0, 1] against their own spread: mean ± 3 standard deviations, clipped
    to the observed range (distribution-based score fusion). One score, or equal ones: 1."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if len(scores) > 1:
        mean, spread = statistics.fmean(scores), statistics.pstdev(scores)
        low, high = max(low, mean - 3 * spread), min(high, mean + 3 * spread)
    if high - low <= 1e-12:
        return [1.0] * len(scores)
    return [min(1.0, max(0.0, (s - low) / (high - low))) for s in scores]


def score_sums(
    windows: Sequence[Window], weights: Mapping[Channel, float], rrf_k: int = RRF_K
) -> list[float]:
    """Calibrated score sum: each channel's best scores per window calibrated, then summed
    (`rrf_k` is unused: the signature matches `rrf_scores`)."""
    fused = [0.0] * len(windows)
    for channel in _channels(windows):
        present = [i for i, w in enumerate(windows) if channel in w.scores]
        calibrated = calibrate([windows[i].scores[channel] for i in present])
        weight = weights.get(channel, 1.0)
        for i, value in zip(present, calibrated, strict=True):
            fused[i] += weight * value
    return fused
