"""On-screen text without Tesseract: span merging, the pre-filter, the band mask and its
memory, reading Tesseract's TSV (order, confidences, spelling), and a sample stream fed to a
fake engine."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest
from PIL import Image

import vidsearch.screen_text as screen_text
from system_programs import require_fonts
from vidsearch.screen_text.band import BandMemory, band_top, outlined_text
from vidsearch.screen_text.prefilter import may_hold_text
from vidsearch.screen_text.spans import Sample, drop_repeats, merge_samples, similarity
from vidsearch.screen_text.streams import SampleStream
from vidsearch.screen_text.tsv import OcrLine, parse_tsv
from vidsearch.subtitles import Cue
from vidsearch.testing.screen_text import (
    ENGLISH_FONTS,
    PERSIAN_FONTS,
    background,
    draw_line,
    textless_frames,
)
from vidsearch.text.spelling import words_spelling


def band_samples(*readings: list[str], step: float = 0.5) -> list[Sample]:
    return [Sample(i * step, [(text, 90.0) for text in texts]) for i, texts in enumerate(readings)]


def test_all_is_honest() -> None:
    assert sorted(screen_text.__all__) == screen_text.__all__
    for name in screen_text.__all__:
        assert hasattr(screen_text, name), name


def test_wobbling_readings_are_one_span_with_the_most_common_text() -> None:
    spans = merge_samples(
        band_samples([], ["Open the window"], ["Open the wlndow"], ["Open the window"], []),
        max_reach=0.25,
    )
    assert len(spans) == 1
    span = spans[0]
    assert span.text == "Open the window"
    assert (span.start, span.end) == (0.25, 1.75)  # halfway to the samples without it
    assert span.samples == 3


def test_one_missed_sample_does_not_split_a_span_but_two_do() -> None:
    once = merge_samples(band_samples(["Hello there"], [], ["Hello there"]), max_reach=0.25)
    assert [(s.start, s.end) for s in once] == [(0.0, 1.25)]
    twice = merge_samples(band_samples(["Hello there"], [], [], ["Hello there"]), max_reach=0.25)
    assert len(twice) == 2


def test_different_lines_and_a_dropped_word_are_told_apart() -> None:
    spans = merge_samples(
        band_samples(["Where are the keys"], ["Where the keys"], ["Call me tonight"]),
        max_reach=0.25,
    )
    assert [s.text for s in spans] == ["Where are the keys", "Call me tonight"]
    assert spans[0].end == spans[1].start == 0.75


def test_garbage_is_dropped_and_a_lone_reading_needs_confidence() -> None:
    samples = [
        Sample(0.0, [("ae", 90.0), ("Quite sure", 70.0)]),
        Sample(0.5, []),
        Sample(1.0, []),
        Sample(1.5, [("Certainly", 95.0)]),
    ]
    assert [s.text for s in merge_samples(samples, max_reach=0.25)] == ["Certainly"]
    frames = merge_samples(samples, max_reach=1.0, single_sample_ok=True)
    assert [s.text for s in frames] == ["Quite sure", "Certainly"]
    assert frames[0].start == 0.0 and frames[0].end == 0.25


def test_a_line_read_in_the_band_is_not_repeated_from_the_full_frames() -> None:
    band = [Cue(1.0, 3.0, "Open the window please", "en")]
    frames = [
        Cue(1.5, 2.5, "Open the wlndow please", "en"),  # the subtitle, read on a frame
        Cue(5.0, 6.0, "Open the window please", "en"),  # the same words later: kept
        Cue(1.5, 2.5, "MUSEUM ENTRANCE", "en"),
    ]
    assert drop_repeats(frames, band) == frames[1:]


def test_similarity_tolerates_a_letter_and_a_missing_word() -> None:
    assert similarity("The train leaves", "The traln leaves") > 0.9
    assert similarity("کلیدها را کجا گذاشتی", "کلیدها کجا") >= 0.75
    assert similarity("Open the window", "Call me tonight") < 0.5


def _text_image(text: str, font, size: int, kind: str, outline: bool) -> np.ndarray:
    require_fonts()
    rng = np.random.default_rng(4)
    image = Image.fromarray(background(kind, (640, 180), rng))
    draw_line(image, text, font, size, center=(320, 90), outline=outline)
    return np.asarray(image.convert("L"))


@pytest.mark.parametrize("kind", ["noise", "gradient", "photo"])
def test_prefilter_passes_text_and_skips_plain_footage(kind: str) -> None:
    assert may_hold_text(_text_image("Where did you leave", ENGLISH_FONTS[0], 20, kind, True))
    assert may_hold_text(_text_image("کلیدها را کجا گذاشتی", PERSIAN_FONTS[0], 24, kind, False))
    for frame in textless_frames(8):
        assert not may_hold_text(np.asarray(Image.fromarray(frame).convert("L")))


def test_band_mask_keeps_outlined_text_and_its_memory_ignores_moving_footage() -> None:
    assert band_top(360) == 270
    rng = np.random.default_rng(0)
    texture = background("photo", (1280, 180), rng)

    require_fonts()

    def band(text: str, shift: int) -> np.ndarray:
        image = Image.fromarray(np.ascontiguousarray(texture[:, shift : shift + 640]))
        draw_line(image, text, ENGLISH_FONTS[0], 40, center=(320, 90))
        return outlined_text(np.asarray(image.convert("L")))

    first = band("Open the window please", 0)
    assert 0.01 < np.mean(first < 128) < 0.3  # ink: the letters, not the footage
    memory = BandMemory()
    assert not memory.same_as_last(first)
    memory.remember(first)
    assert memory.same_as_last(band("Open the window please", 30))
    assert not memory.same_as_last(band("Call me when you get home", 30))


TSV_HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def _word(page: int, line: int, word: int, left: int, conf: float, text: str) -> str:
    top = 10 if line < 3 else 100
    return f"5\t{page}\t1\t1\t{line}\t{word}\t{left}\t{top}\t50\t30\t{conf}\t{text}"


def test_tsv_lines_come_in_reading_order_and_spelled_for_queries() -> None:
    rows = [
        TSV_HEADER,
        # one row split in two lines, listed left to right: read right to left; within a
        # line Tesseract's (logical) order is kept even where a word's box is wrong
        _word(1, 1, 1, 10, 90, "گذاشتي"),
        _word(1, 2, 1, 130, 91, "\u200fکلیدها"),
        _word(1, 2, 2, 40, 91, "را"),  # a wrong box: left of "كجا"
        _word(1, 2, 3, 70, 90, "كجا"),
        _word(1, 3, 1, 10, 20, "~~"),  # garbage: low confidence
        _word(2, 1, 1, 10, 95, "The"),
        _word(2, 1, 2, 70, 30, "tr@in"),  # dropped word
        _word(2, 1, 3, 130, 96, "leaves"),
    ]
    pages = parse_tsv("\n".join(rows), 3)
    assert [line.text for line in pages[0]] == ["کلیدها را کجا گذاشتی"]
    assert pages[0][0].text == words_spelling("كليدها را كجا گذاشتي")
    assert [line.text for line in pages[1]] == ["The leaves"]
    assert pages[2] == []


class FakeEngine:
    """Reads an image as the text its first pixel names; counts the batches it was given."""

    workers = 1
    names = {1: "Where are the keys", 2: "کلیدها را کجا گذاشتی"}

    def __init__(self) -> None:
        self.batches: list[int] = []

    def submit(self, images, mode, *, halve_empty=False) -> Future:
        self.batches.append(len(images))
        future: Future = Future()
        future.set_result(
            [[OcrLine(self.names[int(image[0, 0])], 90.0, (0, 0, 1, 1))] for image in images]
        )
        return future


def test_a_stream_reuses_readings_and_sends_batches() -> None:
    engine = FakeEngine()
    stream = SampleStream(engine, 6, batch_size=2, reach=0.25)  # type: ignore[arg-type]
    english, persian = np.full((4, 4), 1, np.uint8), np.full((4, 4), 2, np.uint8)
    stream.add(0.0)  # nothing to read
    stream.add(0.5, english)
    stream.add(1.0, same_as_last=True)
    stream.add(1.5, same_as_last=True)
    stream.add(2.0, persian)  # the second image: a batch of 2 is sent
    stream.add(2.5, same_as_last=True)
    stream.add(3.0)
    assert engine.batches == [2] and stream.images_sent == 2
    assert stream.cues() == [
        Cue(0.25, 1.75, "Where are the keys", "en"),
        Cue(1.75, 2.75, "کلیدها را کجا گذاشتی", "fa"),
    ]
