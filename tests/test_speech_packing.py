"""Packing speech spans into shared Whisper windows: which spans share one, and where each
segment the recogniser returns lands (no audio or model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from vidsearch.speech.packing import NO_PACKING, PackParams, WindowPacker, may_pack
from vidsearch.speech.recognizer import Segment
from vidsearch.speech.vad import SpeechSpan
from vidsearch.subtitles import Cue

RATE = 16_000


def spoken(start: float, end: float) -> tuple[SpeechSpan, np.ndarray]:
    return SpeechSpan(start, end), np.full(int(round((end - start) * RATE)), 0.1, np.float32)


def test_spans_share_a_window_up_to_its_length() -> None:
    packer = WindowPacker(PackParams(window_s=9.0, gap_s=0.5))
    closed = [packer.add(*spoken(t, t + 2.0), may_pack=True) for t in (0.0, 4.0, 8.0, 12.0)]
    assert closed[:3] == [None, None, None]  # 2 + 0.5 + 2 + 0.5 + 2 = 7 s; a fourth: 9.5 s
    window = closed[3]
    assert window is not None and [s.start for s in window.spans] == [0.0, 4.0, 8.0]
    assert window.offsets == pytest.approx((0.0, 2.5, 5.0))
    assert len(window.audio) == int(7.0 * RATE) and window.end == 10.0
    assert not window.audio[2 * RATE : int(2.5 * RATE)].any()  # the gap is silence
    last = packer.finish()
    assert last is not None and last.spans == (SpeechSpan(12.0, 14.0),)
    assert packer.finish() is None


def test_a_span_goes_alone_when_packing_is_not_allowed() -> None:
    packer = WindowPacker(PackParams())
    assert packer.add(*spoken(0.0, 2.0), may_pack=False) is None
    window = packer.add(*spoken(3.0, 5.0), may_pack=False)
    assert window is not None and window.spans == (SpeechSpan(0.0, 2.0),)


def test_each_segment_goes_to_the_span_its_middle_falls_in() -> None:
    packer = WindowPacker(PackParams(gap_s=0.5))
    for start in (10.0, 20.0):
        packer.add(*spoken(start, start + 2.0), may_pack=True)
    window = packer.finish()
    assert window is not None  # span one: 0-2 s of the window, span two: 2.5-4.5 s
    segments = [
        Segment(0.0, 1.5, "a"),
        Segment(1.5, 2.7, "b"),  # middle 2.1: in the gap, nearer span one
        Segment(2.3, 4.0, "c"),  # middle 3.15: span two
        Segment(4.0, 9.0, "d"),  # past the end: the last span
    ]
    one, two = window.split(segments)
    assert [s.text for s in one] == ["a", "b"] and [s.text for s in two] == ["c", "d"]
    assert (two[0].start, two[0].end) == pytest.approx((-0.2, 1.5))  # span two's own time


def test_packing_waits_for_a_run_of_one_language() -> None:
    params = PackParams(language_run_s=6.0)

    def cues(*spec: tuple[str, float]) -> list[Cue]:
        out, at = [], 0.0
        for language, seconds in spec:
            out.append(Cue(at, at + seconds, "x", language))
            at += seconds + 1.0
        return out

    assert not may_pack([], None, params)
    assert may_pack([], "fa", params)  # a given language: always
    assert not may_pack(cues(("en", 3.0), ("en", 2.0)), None, params)
    assert may_pack(cues(("fa", 9.0), ("en", 3.0), ("en", 3.0)), None, params)
    assert not may_pack(cues(("en", 9.0), ("fa", 3.0), ("en", 3.0)), None, params)
    assert not may_pack(cues(("en", 9.0)), "en", NO_PACKING)
    assert PackParams().key() != NO_PACKING.key()
