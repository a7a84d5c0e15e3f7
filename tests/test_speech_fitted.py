"""A tiny Whisper fitted to a video's sentences really transcribes them, on both backends:
espeak-ng speech -> Silero VAD -> Whisper -> the sentences, in their language, at their times;
short lines of one language packed into shared windows still come back each at its own time,
and a run resumed from a checkpoint ends with the transcript of an uninterrupted one.

The fitted model MEMORISES these recordings (vidsearch.testing.tiny_whisper.fit_tiny_whisper):
it proves the pipeline carries words from speech to cues, not that Whisper generalises."""

from __future__ import annotations

from pathlib import Path

import pytest

from system_programs import require_program
from vidsearch.speech import SpeechTranscriber, open_transcriber
from vidsearch.speech.vad import SileroVad
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


DIALOGUE = [  # one language throughout: packing starts once 6 s of it are transcribed
    Utterance("a man running on the beach at sunset", "en", 1.0),
    Utterance("the red car is parked in the street", "en", 5.0),
    Utterance("two dogs are playing in the snow", "en", 9.0),
    Utterance("a woman reads a book in the cafe", "en", 13.0),
    Utterance("children laugh in a green park", "en", 17.0),
]
MAX_TOKENS = 100  # a packed window holds several sentences


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory):
    require_program("espeak-ng", "espeak-ng")
    from vidsearch.testing.tiny_whisper import fit_tiny_whisper

    folder = tmp_path_factory.mktemp("fitted-dialogue")
    video = write_speech_video(folder / "dialogue.mkv", DIALOGUE, music=True, noise=0.003)
    heard = speech_windows(video)
    packed = [said for _, said, _ in heard if not isinstance(said, str)]
    assert packed and len(heard) < len(DIALOGUE)  # some sentences share a window
    said = [t for _, s, _ in heard for t in ([s] if isinstance(s, str) else [x.text for x in s])]
    assert said == [u.text for u in DIALOGUE]
    return fit_tiny_whisper(folder / "whisper", heard), video, len(heard)


@pytest.mark.parametrize("backend", ["faster-whisper", "transformers"])
def test_packed_sentences_each_keep_their_own_time(dialogue, backend: str) -> None:
    root, video, windows = dialogue
    folder = root / ("ct2" if backend == "faster-whisper" else "hf")
    transcriber = open_transcriber(str(folder), backend=backend, max_new_tokens=MAX_TOKENS)
    report = transcriber.transcribe(Path(video.path))
    assert [(c.text, c.language) for c in report.cues] == [(u.text, u.language) for u in DIALOGUE]
    for cue, placed in zip(report.cues, video.placed, strict=True):
        assert cue.start == pytest.approx(placed.start, abs=0.5)
        assert cue.end == pytest.approx(placed.end, abs=0.5)


class CountingRecognizer:
    """A recogniser that counts the windows it is asked to transcribe (wraps a real one)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.windows = 0

    @property
    def identity(self) -> str:
        return self.inner.identity

    def load(self) -> None:
        self.inner.load()

    def transcribe(self, audio, *, language, max_new_tokens=None):
        self.windows += 1
        return self.inner.transcribe(audio, language=language, max_new_tokens=max_new_tokens)

    def close(self) -> None:
        self.inner.close()


def test_a_resumed_run_ends_with_the_transcript_of_a_whole_one(dialogue) -> None:
    from vidsearch.speech.faster import FasterWhisperRecognizer

    root, video, windows = dialogue

    def transcriber() -> tuple[SpeechTranscriber, CountingRecognizer]:
        counting = CountingRecognizer(
            FasterWhisperRecognizer(str(root / "ct2"), max_new_tokens=MAX_TOKENS)
        )
        return SpeechTranscriber(counting, SileroVad()), counting

    whole_run, whole_count = transcriber()
    whole = whole_run.transcribe(video.path)
    recording, _ = transcriber()
    saved: list[tuple[list, float]] = []
    recorded = recording.transcribe(video.path, checkpoint=lambda c, t: saved.append((c, t)))
    assert recorded == whole and whole_count.windows == windows == len(saved)
    middle = len(saved) // 2 - 1
    cues, done_until = saved[middle]
    resumed_run, resumed_count = transcriber()
    resumed = resumed_run.transcribe(video.path, resume=cues, resume_at=done_until)
    assert resumed_count.windows == windows - middle - 1 < windows
    assert [(c.text, c.language) for c in resumed.cues] == [
        (c.text, c.language) for c in whole.cues
    ]
    for mine, theirs in zip(resumed.cues, whole.cues, strict=True):
        assert mine.start == pytest.approx(theirs.start, abs=0.05)
        assert mine.end == pytest.approx(theirs.end, abs=0.05)
    assert resumed.language == whole.language == "en"
