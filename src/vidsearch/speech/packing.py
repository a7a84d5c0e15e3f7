"""Several short speech spans in one Whisper window, and the segments mapped back to them.

Whisper's encoder always reads 30 s, so a window costs the same for a 1 s utterance as for
28 s of speech: dialogue (short lines between pauses longer than the VAD's join gap) would
pay one encoder pass per line. Consecutive spans are therefore packed into one window, their
audio joined with `gap_s` of silence, at most `window_s` long (a single longer span still
goes alone). Each segment the recogniser returns belongs to the span its middle falls in
(the nearest span when it falls in a gap), and is offset back to that span's video time.

Language: Whisper detects one language per window, so a window mixing English and Persian
lines would be transcribed as one of them. Detecting each span's language first would cost
the encoder pass packing saves, so spans are packed only while the transcript so far ends
with at least `language_run_s` seconds of cues in one language (or the language is given):
a video that changes language line by line keeps one window per span, a monolingual one
packs after its first few lines, and after a window detects another language packing waits
for a new run. The cost: a line in another language inside a packed window of a long
monolingual run is transcribed in the run's language.

Change PACK_VERSION whenever the windows formed for the same spans could change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidsearch.speech.audio import SAMPLE_RATE
from vidsearch.speech.recognizer import Segment
from vidsearch.speech.vad import SpeechSpan
from vidsearch.subtitles import Cue

PACK_VERSION = 1


@dataclass(frozen=True, slots=True)
class PackParams:
    window_s: float = 28.0  # a packed window's longest audio, gaps included (0: never pack)
    gap_s: float = 0.4  # silence between two spans (each already carries the VAD's padding)
    language_run_s: float = 6.0  # cue seconds in one language before packing starts

    def key(self) -> str:
        """A short text naming the parameters (part of the transcriber's identity)."""
        return f"pack-v{PACK_VERSION}:{self.window_s}/{self.gap_s}/{self.language_run_s}"


NO_PACKING = PackParams(window_s=0.0)


@dataclass(frozen=True, slots=True)
class Window:
    """What one recogniser call hears: `audio` holds `spans` in order, span i from
    `offsets[i]` seconds of the window on."""

    spans: tuple[SpeechSpan, ...]
    offsets: tuple[float, ...]
    audio: np.ndarray

    @property
    def end(self) -> float:
        """Video time up to which this window's speech reaches."""
        return self.spans[-1].end

    def split(self, segments: Sequence[Segment]) -> list[list[Segment]]:
        """`segments` (window times) per span, in span times (seconds from the span's start):
        each goes to the span its middle falls in, the nearest one when it falls in a gap."""
        per_span: list[list[Segment]] = [[] for _ in self.spans]
        for segment in segments:
            index = self._span_at((segment.start + segment.end) / 2)
            offset = self.offsets[index]
            per_span[index].append(
                Segment(segment.start - offset, segment.end - offset, segment.text)
            )
        return per_span

    def _span_at(self, time: float) -> int:
        best, distance = 0, float("inf")
        for index, (span, offset) in enumerate(zip(self.spans, self.offsets, strict=True)):
            away = max(offset - time, time - (offset + span.duration), 0.0)
            if away < distance:
                best, distance = index, away
        return best


class WindowPacker:
    """Collects consecutive spans; `add` returns the window the new span closes (it does not
    fit, or packing is not allowed now), `finish` the last one."""

    def __init__(self, params: PackParams) -> None:
        self._params = params
        self._pending: list[tuple[SpeechSpan, np.ndarray]] = []
        self._length = 0.0

    def add(self, span: SpeechSpan, audio: np.ndarray, *, may_pack: bool) -> Window | None:
        closed = None
        if self._pending and not (may_pack and self._fits(audio)):
            closed = self.finish()
        if self._pending:
            self._length += self._params.gap_s
        self._pending.append((span, audio))
        self._length += len(audio) / SAMPLE_RATE
        return closed

    def finish(self) -> Window | None:
        if not self._pending:
            return None
        pending, self._pending, self._length = self._pending, [], 0.0
        return _window(pending, self._params.gap_s)

    def _fits(self, audio: np.ndarray) -> bool:
        length = self._length + self._params.gap_s + len(audio) / SAMPLE_RATE
        return length <= self._params.window_s


def _window(pending: list[tuple[SpeechSpan, np.ndarray]], gap_s: float) -> Window:
    if len(pending) == 1:
        span, audio = pending[0]
        return Window((span,), (0.0,), audio)
    gap = np.zeros(int(round(gap_s * SAMPLE_RATE)), np.float32)
    pieces: list[np.ndarray] = []
    offsets: list[float] = []
    at = 0
    for index, (_, audio) in enumerate(pending):
        if index:
            pieces.append(gap)
            at += len(gap)
        offsets.append(at / SAMPLE_RATE)
        pieces.append(audio)
        at += len(audio)
    spans = tuple(span for span, _ in pending)
    return Window(spans, tuple(offsets), np.concatenate(pieces).astype(np.float32, copy=False))


def may_pack(cues: Sequence[Cue], language: str | None, params: PackParams) -> bool:
    """Whether the next span may share a window: the language is given, or the last cues
    hold at least `language_run_s` seconds in one language (a pure function of the
    transcript, so a resumed run packs as the first one did)."""
    if params.window_s <= 0:
        return False
    if language is not None:
        return True
    run, current = 0.0, None
    for cue in reversed(cues):
        if current is None:
            current = cue.language
        elif cue.language != current:
            return False
        run += cue.end - cue.start
        if run >= params.language_run_s:
            return True
    return False
