"""Moment retrieval on videos with known answers: each query names ground-truth time spans;
the videos are indexed with one sampling setting into a scratch data directory and searched
as `vidsearch search` would, so sampling choices (interval, shot-aware, dedup, decode mode)
are judged by accuracy as well as by speed.

Queries file, JSON (a list) or JSON Lines (one object a line):

    {"query": "a red car", "language": "en", "source": "frame",
     "spans": [{"video": "street.mp4", "start": 12.0, "end": 15.5}]}

`language` is optional (detected from the script); any span counts. `source` (optional) says
what should answer the query: "frame", "subtitle", "speech" or "screen text"; the metrics are
then also given per source. With `Lines` the videos' lines are indexed too (subtitles, speech,
text on screen) and queries are searched in the default (hybrid) mode. Metrics:

- Recall@k at tIoU >= 0.5: a query counts when one of its first k moments is in a span's
  video and overlaps that span with temporal IoU at least 0.5 (`evaluation.dialogue`'s rule);
- time error of the best hit: for the highest-ranked moment in one of the query's videos,
  the distance in seconds from its best frame (or, for a moment a line made, the start of its
  best line) to the nearest span of that video (0 inside); averaged over queries that have
  such a moment in their top k (`located` says how many).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.encoders.base import Encoder
from vidsearch.evaluation.dialogue import MIN_IOU, Target, first_hit
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.media.sampler import SamplerConfig
from vidsearch.media.shots import DetectorName
from vidsearch.types import DecodeMode, Moment, SearchMode

DEFAULT_KS = (1, 5, 10)


SOURCES = ("frame", "subtitle", "speech", "screen text")


@dataclass(frozen=True, slots=True)
class MomentQuery:
    text: str
    spans: tuple[Target, ...]
    language: str | None = None
    source: str | None = None  # what should answer it (SOURCES), for per-source metrics


@dataclass(frozen=True, slots=True)
class Lines:
    """Which lines the judged index holds besides the frames (settings of the same names)."""

    subtitles: bool = False
    speech: str = "off"  # auto, all, off
    screen_text: bool = False
    asr_model: str | None = None
    asr_language: str | None = None
    dialogue_model: str | None = None

    @property
    def any(self) -> bool:
        return self.subtitles or self.speech != "off" or self.screen_text


@dataclass(frozen=True, slots=True)
class Sampling:
    """How videos are sampled for the index being judged."""

    interval: float = 2.0
    decode: DecodeMode = DecodeMode.FAST
    shots: bool = True  # a frame at every cut (shot-aware); False: by interval alone
    dedup: bool = True  # skip near-duplicates of the last kept frame

    @property
    def label(self) -> str:
        parts = [f"every {self.interval:g}s", str(self.decode)]
        parts += [] if self.shots else ["no shots"]
        parts += [] if self.dedup else ["no dedup"]
        return ", ".join(parts)

    def sampler_config(self) -> SamplerConfig:
        config = SamplerConfig(interval=self.interval)
        changes: dict[str, float | DetectorName] = {}
        if not self.shots:
            changes["detector"] = DetectorName.NONE  # sampling by interval alone
        if not self.dedup:
            changes["duplicate_threshold"] = -1.0
        return replace(config, **changes)


def load_queries(path: Path) -> list[MomentQuery]:
    """Queries with their spans from a JSON list or a JSON Lines file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"cannot read the queries file {path}: {exc}") from None
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            rows = json.loads(stripped)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path} is not JSON or JSON Lines ({exc})") from None
    queries = []
    for number, row in enumerate(rows, 1):
        try:
            spans = tuple(
                Target(str(s["video"]), float(s["start"]), float(s["end"])) for s in row["spans"]
            )
            query = MomentQuery(
                str(row.get("query") or row["text"]).strip(),
                spans,
                row.get("language"),
                row.get("source"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvaluationError(
                f"{path}: query {number} needs 'query' and 'spans' of "
                f"{{'video', 'start', 'end'}} ({exc!r})"
            ) from None
        if not query.text or not spans or any(s.end <= s.start for s in spans):
            raise EvaluationError(f"{path}: query {number} has no text, no spans or an empty span")
        if query.source is not None and query.source not in SOURCES:
            raise EvaluationError(
                f"{path}: query {number}: source must be one of {', '.join(SOURCES)}, "
                f"not {query.source!r}"
            )
        queries.append(query)
    if not queries:
        raise EvaluationError(f"{path} has no queries")
    return queries


def time_error(moments: Sequence[Moment], spans: Sequence[Target]) -> float | None:
    """Seconds from the best frame of the highest-ranked moment in a span's video to the
    nearest span of that video (0 inside); None when no moment is in any span's video."""
    videos = {s.video for s in spans}
    for moment in moments:
        if moment.video in videos:
            t = moment.dialogue[0].start if moment.dialogue else moment.timestamp
            return min(max(s.start - t, 0.0, t - s.end) for s in spans if s.video == moment.video)
    return None


@dataclass(slots=True)
class MomentResult:
    label: str
    sampling: Sampling
    ks: tuple[int, ...]
    ranks: list[int | None] = field(default_factory=list)  # first hit at tIoU >= 0.5
    errors: list[float | None] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)  # what should answer each query
    frames: int = 0
    index_seconds: float = 0.0
    search_seconds: float = 0.0

    def hits(self, k: int) -> np.ndarray:
        return np.array([r is not None and r <= k for r in self.ranks], dtype=np.float64)

    def by_source(self) -> dict[str, dict[str, Any]]:
        """R@k and the mean time error of the queries of each source (those that name one)."""
        found: dict[str, dict[str, Any]] = {}
        for source in SOURCES:
            chosen = [i for i, s in enumerate(self.sources) if s == source]
            if not chosen:
                continue
            hits = {k: self.hits(k)[chosen] for k in self.ks}
            located = [e for i in chosen if (e := self.errors[i]) is not None]
            found[source] = {
                "queries": len(chosen),
                "recall": {f"R@{k}": float(h.mean()) for k, h in hits.items()},
                "mean_time_error": float(np.mean(located)) if located else None,
                "located": len(located),
            }
        return found

    def to_json(self) -> dict[str, Any]:
        located = [e for e in self.errors if e is not None]
        return {
            "label": self.label,
            "sampling": {
                "interval": self.sampling.interval,
                "decode": str(self.sampling.decode),
                "shots": self.sampling.shots,
                "dedup": self.sampling.dedup,
            },
            "queries": len(self.ranks),
            "min_iou": MIN_IOU,
            "recall": {f"R@{k}": float(self.hits(k).mean()) for k in self.ks},
            "mean_time_error": float(np.mean(located)) if located else None,
            "located": len(located),
            "frames_indexed": self.frames,
            "index_seconds": round(self.index_seconds, 3),
            "search_ms_per_query": round(1000 * self.search_seconds / max(1, len(self.ranks)), 2),
            "by_source": self.by_source(),
        }


def evaluate_moments(
    videos: Sequence[Path],
    queries: Sequence[MomentQuery],
    encoder: Encoder,
    home: Path,
    *,
    sampling: Sampling = Sampling(),
    ks: Sequence[int] = DEFAULT_KS,
    label: str | None = None,
    lines: Lines | None = None,
) -> MomentResult:
    """Index `videos` into the empty data directory `home` with `sampling` (and `lines`:
    frames only when None), then run every query; a video a query names must be among
    `videos` (by file name)."""
    import vidsearch
    from vidsearch.config import Settings

    names = {Path(v).name for v in videos}
    unknown = sorted({s.video for q in queries for s in q.spans} - names)
    if unknown:
        raise EvaluationError(f"queries name videos that are not given: {', '.join(unknown)}")
    ks = tuple(sorted(set(ks)))
    result = MomentResult(label or f"{encoder.name} ({sampling.label})", sampling, ks)
    # an embedded index of its own, decoded in this process as before
    lines = lines or Lines()
    text_settings = {
        "subtitles": lines.subtitles,
        "speech": lines.speech,
        "screen_text": lines.screen_text,
        "asr_language": lines.asr_language,
        **({"asr_model": lines.asr_model} if lines.asr_model else {}),
        **({"dialogue_model": lines.dialogue_model} if lines.dialogue_model else {}),
    }
    settings = Settings(
        home=home, decode=sampling.decode, workers=1, qdrant_url=None, **text_settings
    )
    mode = None if lines.any else SearchMode.VISUAL
    library = vidsearch.open(settings=settings, encoder=encoder, sampling=sampling.sampler_config())
    with library:
        started = time.perf_counter()
        report = library.index([Path(path) for path in videos], build_graph=False)
        for video in report.videos:
            if video.error:
                raise EvaluationError(f"{video.path}: {video.error}")
            result.frames += video.frames
        result.index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for query in queries:
            found = library.search(query.text, language=query.language, mode=mode, top_k=max(ks))
            result.ranks.append(first_hit(found.moments, query.spans))
            result.errors.append(time_error(found.moments, query.spans))
            result.sources.append(query.source)
        result.search_seconds = time.perf_counter() - started
    return result
