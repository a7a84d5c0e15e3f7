"""Group frame hits into moments: one per (video, shot), ranked by their best frame."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vidsearch.types import FrameHit

# A shot longer than this is not returned whole: the moment is the span of its hits.
MAX_MOMENT_S = 60.0
# Context kept around the hits of a long shot.
MOMENT_PAD_S = 2.0


@dataclass(slots=True)
class MomentGroup:
    video_id: str
    shot: int
    start: float
    end: float
    best: FrameHit
    hits: list[FrameHit] = field(default_factory=list)


def group_hits(
    hits: Iterable[FrameHit],
    top_k: int,
    *,
    max_moment: float = MAX_MOMENT_S,
    pad: float = MOMENT_PAD_S,
) -> list[MomentGroup]:
    """Merge hits of the same video and shot; return the `top_k` best groups, best first.

    A group spans its whole shot when the shot is at most `max_moment` long; otherwise the
    span of its hits within `max_moment / 2` of the best one, padded by `pad`, inside the shot.
    """
    groups: dict[tuple[str, int], MomentGroup] = {}
    for hit in sorted(hits, key=lambda h: -h.score):
        key = (hit.video_id, hit.shot_index)
        group = groups.get(key)
        if group is None:
            group = groups[key] = MomentGroup(hit.video_id, hit.shot_index, 0.0, 0.0, hit)
        group.hits.append(hit)
    ranked = list(groups.values())[:top_k]  # dicts keep insertion order: best score first
    for group in ranked:
        best = group.best
        group.hits.sort(key=lambda h: h.timestamp)
        if best.shot_end - best.shot_start <= max_moment:
            group.start, group.end = best.shot_start, best.shot_end
        else:
            near = [
                h.timestamp
                for h in group.hits
                if abs(h.timestamp - best.timestamp) <= max_moment / 2
            ]
            group.start = max(best.shot_start, min(near) - pad)
            group.end = min(best.shot_end, max(near) + pad)
    return ranked
