"""On-screen text read from a generated video with Tesseract: burned-in English and Persian
subtitles found at their times, a sign read at the frame sampler's times, a textless video
costing (almost) no OCR, Persian spelled as queries are, and clear errors when Tesseract, a
language or the video is unusable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from system_programs import require_fonts, require_program
from vidsearch.errors import DecodeError, ModelError
from vidsearch.screen_text import (
    ScreenTextReader,
    ScreenTextReport,
    TesseractEngine,
    open_screen_reader,
)
from vidsearch.screen_text.tesseract import APT_LINE
from vidsearch.subtitles import Cue
from vidsearch.testing.screen_text import (
    BurnedLine,
    ScreenTextVideo,
    character_error_rate,
    write_screen_text_video,
    write_textless_video,
)
from vidsearch.text.spelling import words_spelling

TOLERANCE_S = 0.6
MAX_CER = 0.25


@pytest.fixture(scope="module")
def reader() -> Iterator[ScreenTextReader]:
    require_program("tesseract", "tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas")
    require_fonts()  # the videos read here are drawn with them
    reader = open_screen_reader(("eng", "fas"))
    reader.load()
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> ScreenTextVideo:
    return write_screen_text_video(tmp_path_factory.mktemp("screen") / "subtitled.mp4")


@pytest.fixture(scope="module")
def report(reader: ScreenTextReader, video: ScreenTextVideo) -> ScreenTextReport:
    progress: list[tuple[float, float]] = []
    report = reader.read(
        video.path, frame_times=video.sign_times, progress=lambda d, t: progress.append((d, t))
    )
    done = [d for d, _ in progress]
    assert done == sorted(done) and progress[-1] == (video.duration, video.duration)
    return report


def best_cue(cues: list[Cue], text: str) -> tuple[Cue, float]:
    scored = [(cue, character_error_rate(cue.text, text)) for cue in cues]
    return min(scored, key=lambda pair: pair[1])


def test_every_burned_in_line_is_a_cue_at_its_time(
    report: ScreenTextReport, video: ScreenTextVideo
) -> None:
    for line in (line for line in video.lines if line.region == "band"):
        cue, cer = best_cue(report.cues, line.text)
        assert cer <= MAX_CER, (line.text, cue.text)
        assert cue.language == line.language
        assert abs(cue.start - line.start) <= TOLERANCE_S, (line, cue)
        assert abs(cue.end - line.end) <= TOLERANCE_S, (line, cue)
    assert report.cues == sorted(report.cues, key=lambda c: (c.start, c.end))
    assert report.warnings == []


def test_the_sign_is_read_on_the_frames_the_sampler_kept(
    report: ScreenTextReport, video: ScreenTextVideo
) -> None:
    sign = next(line for line in video.lines if line.region == "sign")
    cue, cer = best_cue(report.cues, sign.text)
    assert cer <= MAX_CER, cue.text
    assert cue.start <= min(video.sign_times) and cue.end >= max(video.sign_times)
    assert len(report.cues) == len(video.lines)  # nothing else: no garbage


def test_unchanged_bands_and_textless_frames_cost_no_ocr(
    report: ScreenTextReport, video: ScreenTextVideo
) -> None:
    band_samples = report.frames_sampled - len(video.sign_times)
    assert band_samples == pytest.approx(video.duration * 2, abs=1)
    # one OCR call per subtitle line (plus a wobble or two), one per frame with the sign
    assert report.frames_read <= len(video.lines) + len(video.sign_times) + 2


def test_a_sign_low_in_the_frame_is_read_on_the_whole_frame(
    reader: ScreenTextReader, tmp_path: Path
) -> None:
    """Dark text on a grey plate where subtitles sit: no outlined subtitle, so the band stream
    reads nothing, and the frames read at `frame_times` include the band."""
    lines = [BurnedLine("PLATFORM NINE", "en", 0.0, 4.0, "low sign")]
    video = write_screen_text_video(tmp_path / "low.mp4", lines, duration=4.0)
    report = reader.read(video.path, frame_times=video.sign_times)
    assert video.sign_times == (0.5, 1.5, 2.5, 3.5)
    assert [cue.text for cue in report.cues] == ["PLATFORM NINE"]
    assert report.cues[0].start <= 0.5 and report.cues[0].end == video.duration
    assert report.frames_read == len(video.sign_times)  # the band alone: no OCR call


def test_a_textless_video_gives_no_cues_and_few_ocr_calls(
    reader: ScreenTextReader, tmp_path: Path
) -> None:
    video = write_textless_video(tmp_path / "plain.mp4")
    report = reader.read(video.path, frame_times=[0.5, 2.5, 4.5, 6.5])
    assert report.cues == []
    assert report.frames_sampled == 16 + 4
    assert report.frames_read <= 2


def test_a_query_typed_on_a_persian_keyboard_matches_the_ocr_text(
    report: ScreenTextReport,
) -> None:
    persian = " ".join(cue.text for cue in report.cues if cue.language == "fa")
    # Arabic kaf and yeh, a half space, and a space where the OCR saw none
    for typed in ("كليدها را كجا", "مي\u200cرويم", "ساعت هفت", "مي كند"):
        assert words_spelling(typed) in persian, typed


def test_identity_names_the_engine_languages_and_band_rate(reader: ScreenTextReader) -> None:
    identity = reader.identity
    assert "tesseract-5" in identity and "eng+fas" in identity and "band2" in identity
    other = ScreenTextReader(TesseractEngine(("eng",)), band_rate=1.0)
    assert other.identity != identity


def test_missing_tesseract_is_a_model_error_with_the_install_line(tmp_path: Path) -> None:
    reader = ScreenTextReader(TesseractEngine(binary=tmp_path / "no-tesseract"))
    with pytest.raises(ModelError) as caught:
        reader.load()
    message = str(caught.value)
    assert "\n" not in message and "no-tesseract" in message and message.endswith(APT_LINE)
    assert APT_LINE == "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas"


def test_missing_language_data_is_a_model_error_naming_it(reader: ScreenTextReader) -> None:
    with pytest.raises(ModelError, match=r"no language data for xyz: sudo apt-get install"):
        TesseractEngine(("eng", "xyz")).load()


def test_a_truncated_video_is_a_decode_error(reader: ScreenTextReader, tmp_path: Path) -> None:
    whole = write_textless_video(tmp_path / "whole.mkv", duration=4.0).path
    cut = tmp_path / "cut.mkv"  # Matroska: still opens when cut (an MP4 loses its index)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DecodeError, match="truncated"):
        reader.read(cut)
