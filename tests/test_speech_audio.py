"""Audio for speech: 16 kHz mono blocks at video times, no audio -> nothing, truncation ->
DecodeError; and the silence/music side of speech detection (no espeak-ng needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidsearch.errors import DecodeError
from vidsearch.speech.audio import SAMPLE_RATE, probe_audio, read_audio
from vidsearch.speech.vad import SileroVad, SpeechDetector, VadParams, detect_speech
from vidsearch.testing.speech import write_speech_video

pytest.importorskip("faster_whisper")


@pytest.fixture(scope="module")
def music_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech-audio") / "music.mkv"
    return write_speech_video(path, [], duration=6.0, music=True, noise=0.003).path


def test_blocks_are_16khz_mono_and_cover_the_track(music_video: Path) -> None:
    blocks = list(read_audio(music_video, block_seconds=2.0))
    assert [len(b.samples) for b in blocks[:-1]] == [2 * SAMPLE_RATE] * (len(blocks) - 1)
    assert all(b.samples.dtype == np.float32 and b.samples.ndim == 1 for b in blocks)
    for before, after in zip(blocks, blocks[1:], strict=False):
        assert after.start == pytest.approx(before.end)
    assert blocks[-1].end == pytest.approx(6.0, abs=0.1)
    assert 0.05 < float(np.abs(np.concatenate([b.samples for b in blocks])).max()) < 1.0


def test_a_video_without_audio_has_no_blocks(tmp_path: Path) -> None:
    video = write_speech_video(tmp_path / "silent.mkv", [], duration=2.0, with_audio=False)
    assert probe_audio(video.path) is None
    assert list(read_audio(video.path)) == []


@pytest.mark.parametrize("codec", ["aac", "libopus"])
def test_a_truncated_audio_track_raises_decode_error(
    tmp_path: Path, music_video: Path, codec: str
) -> None:
    whole = write_speech_video(
        tmp_path / f"whole-{codec}.mkv", [], duration=6.0, music=True, audio_codec=codec
    ).path
    data = whole.read_bytes()
    cut = tmp_path / f"cut-{codec}.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError, match=r"cut-\w+\.mkv: truncated or corrupt audio"):
        list(read_audio(cut))


def test_music_and_noise_are_not_speech(music_video: Path) -> None:
    vad = SileroVad()
    assert list(detect_speech(vad, read_audio(music_video))) == []
    silence = np.zeros(SAMPLE_RATE * 3, np.float32)
    from vidsearch.speech.audio import AudioBlock

    detector = SpeechDetector(vad, VadParams())
    assert detector.feed(AudioBlock(0.0, silence)) == [] and detector.finish() == []
    assert detector.speech_seconds == 0.0
    vad.close()


class ConstantScorer:
    """A fake VAD model: every window scores `probability`."""

    def __init__(self, probability: float) -> None:
        self.probability = probability

    def score(self, windows: np.ndarray, state) -> np.ndarray:
        return np.full(len(windows), self.probability, np.float32)


def test_long_speech_is_cut_into_windows_whisper_can_take() -> None:
    from vidsearch.speech.audio import AudioBlock

    params = VadParams()
    detector = SpeechDetector(ConstantScorer(0.9), params)  # type: ignore[arg-type]
    spans = []
    for index in range(7):  # 70 s of uninterrupted speech, in 10 s blocks
        block = AudioBlock(10.0 * index, np.zeros(10 * SAMPLE_RATE, np.float32))
        spans += detector.feed(block)
    spans += detector.finish()
    assert len(spans) == 3
    assert all(s.duration <= params.max_speech_s + 2 * params.pad_s for s in spans)
    assert spans[0].start == 0.0 and spans[-1].end == pytest.approx(70.0, abs=0.05)
    for before, after in zip(spans, spans[1:], strict=False):
        assert after.start == pytest.approx(before.end)  # contiguous: no word lost at a cut
