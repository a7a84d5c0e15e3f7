"""Lines read on successive samples, merged into spans of time: one span per line on screen.

OCR wobbles: the same subtitle read on two frames may differ by a letter, and a line may be
missed on one frame. So a line continues a span when its similarity ratio with the span's
last reading is at least SIMILARITY, and a span stays open through MAX_MISSES samples that
do not show it. A span starts halfway between the last sample without it and the first with
it (the line appeared somewhere in between), and ends likewise, within `max_reach` of a
sample. Its text is the reading seen most often. Spans with too few letters, and spans seen
on a single sample with low confidence where lines are expected on several, are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from vidsearch.subtitles.cues import Cue

SIMILARITY = 0.75
COVERAGE_LENGTH = 0.4
MAX_MISSES = 1
MIN_SPAN_LETTERS = 3
SINGLE_SAMPLE_MIN_CONFIDENCE = 80.0


@dataclass(frozen=True, slots=True)
class Sample:
    """What one sample showed: its time and the lines read there (text, confidence)."""

    time: float
    lines: Sequence[tuple[str, float]] = ()


@dataclass(frozen=True, slots=True)
class TextSpan:
    text: str
    start: float
    end: float
    samples: int  # how many samples showed it
    confidence: float  # mean over its readings


@dataclass(slots=True)
class _Open:
    first: int  # index of the first sample showing it
    last: int
    latest: str
    readings: Counter[str] = field(default_factory=Counter)
    confidences: list[float] = field(default_factory=list)
    misses: int = 0


def merge_samples(
    samples: Sequence[Sample],
    *,
    max_reach: float,
    single_sample_ok: bool = False,
) -> list[TextSpan]:
    """Spans of the lines in `samples` (one stream, e.g. the subtitle band), sorted by start.

    `max_reach`: the most a span extends before its first and after its last sample (half
    the sampling interval for a regular stream). `single_sample_ok`: keep spans seen once
    whatever their confidence (a stream of sparse frames, where once is the norm).
    """
    ordered = sorted(samples, key=lambda s: s.time)
    times = [s.time for s in ordered]
    open_spans: list[_Open] = []
    closed: list[_Open] = []
    for index, sample in enumerate(ordered):
        matched: set[int] = set()
        for text, confidence in sample.lines:
            best = _best_match(open_spans, matched, text)
            if best is None:
                open_spans.append(_Open(index, index, text))
                best = len(open_spans) - 1
            span = open_spans[best]
            span.last, span.latest, span.misses = index, text, 0
            span.readings[text] += 1
            span.confidences.append(confidence)
            matched.add(best)
        still_open = []
        for i, span in enumerate(open_spans):
            if i not in matched:
                span.misses += 1
            (closed if span.misses > MAX_MISSES else still_open).append(span)
        open_spans = still_open
    closed.extend(open_spans)
    spans = [_finish(span, times, max_reach) for span in closed]
    return sorted((s for s in spans if _keep(s, single_sample_ok)), key=lambda s: (s.start, s.end))


def similarity(a: str, b: str) -> float:
    """0..1: how alike two readings are: difflib's ratio of matching characters, or, when the
    shorter reading has at least COVERAGE_LENGTH of the longer's length, the share of it found
    in the longer (a line read whole on one frame and with a word missing on the next)."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    ratio = matcher.ratio()
    shorter, longer = sorted((len(a), len(b)))
    if shorter == 0 or shorter < COVERAGE_LENGTH * longer:
        return ratio
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return max(ratio, matched / shorter)


def _best_match(spans: list[_Open], taken: set[int], text: str) -> int | None:
    best, best_ratio = None, SIMILARITY
    for i, span in enumerate(spans):
        if i in taken:
            continue
        ratio = similarity(span.latest, text)
        if ratio >= best_ratio:
            best, best_ratio = i, ratio
    return best


def _finish(span: _Open, times: list[float], max_reach: float) -> TextSpan:
    first, last = times[span.first], times[span.last]
    before = (first - times[span.first - 1]) / 2 if span.first > 0 else max_reach
    after = (times[span.last + 1] - last) / 2 if span.last + 1 < len(times) else max_reach
    top = max(span.readings.values())
    text = next(t for t, n in span.readings.most_common() if n == top)
    return TextSpan(
        text=text,
        start=max(0.0, first - min(before, max_reach)),
        end=last + min(after, max_reach),
        samples=span.last - span.first + 1,
        confidence=sum(span.confidences) / len(span.confidences),
    )


def _keep(span: TextSpan, single_sample_ok: bool) -> bool:
    if sum(c.isalpha() for c in span.text) < MIN_SPAN_LETTERS:
        return False
    return single_sample_ok or span.samples > 1 or span.confidence >= SINGLE_SAMPLE_MIN_CONFIDENCE


def drop_repeats(cues: list[Cue], kept: Sequence[Cue]) -> list[Cue]:
    """`cues` without those that repeat one of `kept`: a similar text at an overlapping time
    (a subtitle read on a full frame and in the band)."""
    return [
        cue
        for cue in cues
        if not any(
            other.start < cue.end
            and cue.start < other.end
            and similarity(other.text, cue.text) >= SIMILARITY
            for other in kept
        )
    ]
