"""A tiny Whisper fitted to a video's sentences really transcribes them, on both backends:
espeak-ng speech -> Silero VAD -> Whisper -> the sentences, in their language, at their times.

The fitted model MEMORISES these recordings (vidsearch.testing.tiny_whisper.fit_tiny_whisper):
it proves the pipeline carries words from speech to cues, not that Whisper generalises."""

from __future__ import annotations

from pathlib import Path

import pytest

from system_programs import require_program
from vidsearch.speech import open_transcriber
from vidsearch.testing.speech import Utterance, speech_windows, write_speech_video

pytest.importorskip("faster_whisper")
pytest.importorskip("transformers")

pytestmark = pytest.mark.slow

SENTENCES = [
    Utterance("two dogs are playing in the snow", "en", 1.0),
    Utterance("زنی در کافه کتاب می‌خواند", "fa", 6.0),
    Utterance("a man running on the beach at sunset", "en", 11.0),
]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    require_program("espeak-ng", "espeak-ng")
    from vidsearch.testing.tiny_whisper import fit_tiny_whisper

    folder = tmp_path_factory.mktemp("fitted-speech")
    video = write_speech_video(folder / "spoken.mkv", SENTENCES, music=True, noise=0.003)
    pairs = speech_windows(video)
    assert [text for _, text, _ in pairs] == [u.text for u in SENTENCES]
    return fit_tiny_whisper(folder / "whisper", pairs), video


@pytest.mark.parametrize("backend", ["faster-whisper", "transformers"])
def test_the_fitted_model_transcribes_its_sentences(fitted, backend: str) -> None:
    root, video = fitted
    folder = root / ("ct2" if backend == "faster-whisper" else "hf")
    report = open_transcriber(str(folder), backend=backend, max_new_tokens=40).transcribe(
        Path(video.path)
    )
    assert [(c.text, c.language) for c in report.cues] == [(u.text, u.language) for u in SENTENCES]
    for cue, placed in zip(report.cues, video.placed, strict=True):
        assert cue.start == pytest.approx(placed.start, abs=0.5)
        assert cue.end == pytest.approx(placed.end, abs=0.5)
    assert report.language == "en"  # the language spoken longest
