"""Speech transcription end to end, offline: espeak-ng speech in a generated video, the real
Silero VAD, and a tiny random Whisper on both backends (faster-whisper, transformers).

The tiny model writes garbage, so the tests check what does not depend on its words: cues
land where the sentences are spoken, carry a language, and the whole path runs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from system_programs import require_program
from vidsearch.errors import ConfigError, ModelError
from vidsearch.speech import SpeechReport, open_transcriber
from vidsearch.speech.packing import NO_PACKING
from vidsearch.speech.recognizer import Segment, Transcription
from vidsearch.speech.transcriber import SpeechTranscriber
from vidsearch.speech.vad import SileroVad
from vidsearch.testing.speech import Utterance, write_speech_video

pytest.importorskip("faster_whisper")

TOLERANCE_S = 0.5
MAX_TOKENS = 6
SENTENCES = [
    Utterance("the red car is parked in the street", "en", 1.0),
    Utterance("یک ماشین قرمز در خیابان پارک شده است", "fa", 6.0),
    Utterance("two dogs are playing in the snow", "en", 11.5),
]
BACKEND_FOLDERS = {"faster-whisper": "ct2", "transformers": "hf"}


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from vidsearch.testing.tiny_whisper import ensure_tiny_whisper

    return ensure_tiny_whisper(tmp_path_factory.getbasetemp() / "tiny-whisper")


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory: pytest.TempPathFactory):
    require_program("espeak-ng", "espeak-ng")
    path = tmp_path_factory.mktemp("speech") / "spoken.mkv"
    return write_speech_video(path, SENTENCES, music=True, noise=0.003)


@pytest.fixture(scope="module", params=sorted(BACKEND_FOLDERS))
def report(request, tiny_whisper: Path, speech_video) -> tuple[str, SpeechReport]:
    backend = request.param
    model = tiny_whisper / BACKEND_FOLDERS[backend]
    transcriber = open_transcriber(str(model), backend=backend, max_new_tokens=MAX_TOKENS)
    transcriber.load()
    seen: list[tuple[float, float]] = []
    try:
        result = transcriber.transcribe(
            speech_video.path, progress=lambda d, t: seen.append((d, t))
        )
    finally:
        transcriber.close()
    assert seen and seen[-1][0] == pytest.approx(seen[-1][1])
    return backend, result


def test_cues_land_where_the_sentences_are_spoken(report, speech_video) -> None:
    backend, result = report
    assert result.audio_seconds == pytest.approx(speech_video.duration, abs=0.2)
    spoken = sum(p.end - p.start for p in speech_video.placed)
    assert spoken <= result.speech_seconds < spoken + 2 * TOLERANCE_S * len(SENTENCES)
    for placed in speech_video.placed:
        mine = [c for c in result.cues if c.end > placed.start and c.start < placed.end]
        assert mine, f"{backend}: no cue for {placed.text!r} at {placed.start:.2f}s"
        assert min(c.start for c in mine) == pytest.approx(placed.start, abs=TOLERANCE_S)
        assert max(c.end for c in mine) == pytest.approx(placed.end, abs=TOLERANCE_S)
    assert all(c.text.strip() for c in result.cues)
    assert result.cues == sorted(result.cues, key=lambda c: (c.start, c.end))
    assert result.language in {c.language for c in result.cues}


def test_a_given_language_is_kept(tiny_whisper: Path, speech_video) -> None:
    transcriber = open_transcriber(
        str(tiny_whisper / "ct2"), language="fa", max_new_tokens=MAX_TOKENS
    )
    result = transcriber.transcribe(speech_video.path)
    assert result.language == "fa" and {c.language for c in result.cues} == {"fa"}


def test_a_video_without_audio_has_no_speech(tmp_path: Path, tiny_whisper: Path) -> None:
    video = write_speech_video(tmp_path / "mute.mkv", [], duration=2.0, with_audio=False)
    transcriber = open_transcriber(str(tiny_whisper / "ct2"), max_new_tokens=MAX_TOKENS)
    assert transcriber.transcribe(video.path) == SpeechReport([], 0.0, 0.0, None, [])


def test_a_missing_model_names_the_setting(tmp_path: Path) -> None:
    for backend in BACKEND_FOLDERS:
        transcriber = open_transcriber("tiny", backend=backend, cache_dir=tmp_path, offline=True)
        with pytest.raises(ModelError, match="VIDSEARCH_ASR_MODEL") as caught:
            transcriber.load()
        assert "\n" not in str(caught.value) and "'tiny'" in str(caught.value)


def test_a_folder_that_is_no_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="VIDSEARCH_ASR_MODEL"):
        open_transcriber(str(tmp_path), backend="faster-whisper").load()


def test_identity_follows_model_language_and_backend(tiny_whisper: Path, tmp_path: Path) -> None:
    ct2 = str(tiny_whisper / "ct2")
    base = open_transcriber(ct2).identity
    assert base == open_transcriber(ct2).identity
    assert open_transcriber(ct2, language="fa").identity != base
    assert open_transcriber(ct2, language="en").identity != base
    assert open_transcriber(str(tiny_whisper / "hf"), backend="transformers").identity != base
    other = tmp_path / "other"
    shutil.copytree(ct2, other)
    before = open_transcriber(str(other)).identity
    assert before != base  # another folder
    with (other / "model.bin").open("r+b") as handle:  # same folder, other weights
        handle.seek(200)
        handle.write(b"\x01\x02\x03\x04")
    assert open_transcriber(str(other)).identity != before


def test_an_unknown_language_is_a_config_error(tiny_whisper: Path) -> None:
    with pytest.raises(ConfigError, match="'xx'"):
        open_transcriber(str(tiny_whisper / "ct2"), language="xx")


class ScriptedRecognizer:
    """A fake backend: answers each window with the segments it was given."""

    identity = "scripted"

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.windows: list[int] = []

    def load(self) -> None:
        pass

    def transcribe(self, audio, *, language, max_new_tokens=None):
        self.windows.append(len(audio))
        return Transcription(list(self.segments), language or "en")

    def close(self) -> None:
        pass


def test_segment_times_stay_inside_the_speech_span(speech_video) -> None:
    wild = [Segment(-3.0, 0.5, "one"), Segment(0.4, 99.0, "two"), Segment(99.0, 120.0, " ")]
    fake = ScriptedRecognizer(wild)
    transcriber = SpeechTranscriber(fake, SileroVad(), packing=NO_PACKING)
    result = transcriber.transcribe(speech_video.path)
    assert len(fake.windows) == len(SENTENCES)  # one window per sentence: music never sent
    assert max(fake.windows) <= 30 * 16_000
    assert [c.text for c in result.cues] == ["one", "two"] * len(SENTENCES)
    for first, second in zip(result.cues[::2], result.cues[1::2], strict=True):
        assert first.start < first.end and second.start < second.end
        assert first.start <= second.start


def test_a_missing_extra_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    with pytest.raises(ModelError, match=r"pip install -c constraints\.txt 'vidsearch\[speech\]'"):
        open_transcriber("base")
    with pytest.raises(ModelError, match=r"vidsearch\[speech\]"):
        open_transcriber("base", backend="faster-whisper")


def test_the_transformers_backend_without_torch_names_the_torch_extra(
    monkeypatch: pytest.MonkeyPatch, tiny_whisper: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    transcriber = open_transcriber(str(tiny_whisper / "hf"), backend="transformers")
    with pytest.raises(ModelError, match=r"vidsearch\[torch\]"):
        transcriber.load()


class EdgesRecognizer(ScriptedRecognizer):
    """A fake backend saying "first" over a window's first second and "last" over its last."""

    def __init__(self) -> None:
        super().__init__([])

    def transcribe(self, audio, *, language, max_new_tokens=None):
        self.windows.append(len(audio))
        seconds = len(audio) / 16_000
        segments = [Segment(0.0, 1.0, "first"), Segment(seconds - 1.0, seconds, "last")]
        return Transcription(segments, language or "en")


def test_a_given_language_packs_the_spans_into_one_window(speech_video) -> None:
    fake = EdgesRecognizer()
    result = SpeechTranscriber(fake, SileroVad(), language="en").transcribe(speech_video.path)
    assert len(fake.windows) == 1  # three sentences, one encoder pass
    first, last = result.cues
    spoken_first, spoken_last = speech_video.placed[0], speech_video.placed[-1]
    assert (first.text, last.text) == ("first", "last")
    assert first.start == pytest.approx(spoken_first.start, abs=TOLERANCE_S)
    assert first.end < spoken_first.end + TOLERANCE_S  # mapped into the first span
    assert last.start > spoken_last.start - TOLERANCE_S  # and into the last
    assert last.end == pytest.approx(spoken_last.end, abs=TOLERANCE_S)
    spoken = sum(p.end - p.start for p in speech_video.placed)
    assert spoken <= result.speech_seconds < spoken + 2 * TOLERANCE_S * len(SENTENCES)
    assert identity_of(language="en") != identity_of(language="en", packing=NO_PACKING)


def identity_of(**options) -> str:
    return SpeechTranscriber(ScriptedRecognizer([]), SileroVad(), **options).identity


def test_a_resumed_run_goes_on_where_the_checkpoint_left(speech_video) -> None:
    segments = [Segment(0.0, 0.6, "one"), Segment(0.6, 2.0, "two")]
    full = SpeechTranscriber(ScriptedRecognizer(segments), SileroVad())
    saved: list[tuple[list, float]] = []
    whole = full.transcribe(speech_video.path, checkpoint=lambda c, t: saved.append((c, t)))
    assert len(saved) == len(SENTENCES)  # one window each: never 6 s of one language before
    assert saved[-1][0] == whole.cues
    assert [t for _, t in saved] == sorted(t for _, t in saved)
    cues, done_until = saved[0]
    again = ScriptedRecognizer(segments)
    later: list[float] = []
    resumed = SpeechTranscriber(again, SileroVad()).transcribe(
        speech_video.path,
        resume=cues,
        resume_at=done_until,
        checkpoint=lambda c, t: later.append(t),
    )
    assert len(again.windows) == len(SENTENCES) - 1
    assert later == [t for _, t in saved[1:]]
    assert [c.text for c in resumed.cues] == [c.text for c in whole.cues]
    for mine, theirs in zip(resumed.cues, whole.cues, strict=True):
        assert mine.start == pytest.approx(theirs.start, abs=0.05)
        assert mine.end == pytest.approx(theirs.end, abs=0.05)
    assert resumed.language == whole.language


def test_a_span_crossing_resume_at_is_transcribed_again_whole(speech_video) -> None:
    segments = [Segment(0.0, 0.6, "one"), Segment(0.6, 2.0, "two")]
    saved: list[tuple[list, float]] = []
    whole = SpeechTranscriber(ScriptedRecognizer(segments), SileroVad()).transcribe(
        speech_video.path, checkpoint=lambda c, t: saved.append((c, t))
    )
    second = speech_video.placed[1]
    cues, _ = saved[1]  # the second sentence is transcribed, but resume in its middle
    again = ScriptedRecognizer(segments)
    resumed = SpeechTranscriber(again, SileroVad()).transcribe(
        speech_video.path, resume=cues, resume_at=(second.start + second.end) / 2
    )
    assert len(again.windows) == 2  # the second sentence again, then the third
    assert [c.text for c in resumed.cues] == [c.text for c in whole.cues]  # no duplicate
    for mine, theirs in zip(resumed.cues, whole.cues, strict=True):
        assert mine.start == pytest.approx(theirs.start, abs=0.05)


class CountingVad(SileroVad):
    """The real Silero VAD, counting the 32 ms windows it scores."""

    def __init__(self) -> None:
        super().__init__()
        self.scored = 0

    def score(self, windows, state):
        self.scored += len(windows)
        return super().score(windows, state)


def resumed_from(video_path, checkpoint_index: int, **options):
    """A whole run, and a run resumed from its `checkpoint_index`th checkpoint."""
    segments = [Segment(0.0, 0.6, "one"), Segment(0.6, 2.0, "two")]
    saved: list[tuple[list, float]] = []
    first_vad = options.pop("vad")()
    vad = options.pop("resume_vad", None) or CountingVad()
    whole = SpeechTranscriber(ScriptedRecognizer(segments), first_vad, **options)
    full = whole.transcribe(video_path, checkpoint=lambda c, t: saved.append((c, t)))
    cues, done_until = saved[checkpoint_index]
    again = ScriptedRecognizer(segments)
    resumed = SpeechTranscriber(again, vad, **options).transcribe(
        video_path, resume=cues, resume_at=done_until
    )
    assert [c.text for c in resumed.cues] == [c.text for c in full.cues]
    for mine, theirs in zip(resumed.cues, full.cues, strict=True):
        assert mine.start == pytest.approx(theirs.start, abs=0.05)
        assert mine.end == pytest.approx(theirs.end, abs=0.05)
    return len(saved), len(again.windows), vad, done_until


def test_a_resumed_run_hears_only_a_little_before_where_it_stopped(tmp_path: Path) -> None:
    require_program("espeak-ng", "espeak-ng")
    late = [Utterance(u.text, u.language, u.start + 80.0) for u in SENTENCES]
    video = write_speech_video(tmp_path / "late.mkv", late, noise=0.003)
    windows, again, vad, done_until = resumed_from(video.path, 1, vad=SileroVad)
    assert windows == len(SENTENCES) and again == 1
    from vidsearch.speech.transcriber import RESUME_CONTEXT_S

    heard = vad.scored * 512 / 16_000  # detection restarted RESUME_CONTEXT_S before
    assert heard == pytest.approx(video.duration - done_until + RESUME_CONTEXT_S, abs=0.1)


class ConstantVad:
    """A fake VAD model hearing speech everywhere (one unbroken stretch, cut every 28 s)."""

    def load(self) -> None:
        pass

    def close(self) -> None:
        pass

    def score(self, windows, state):
        import numpy as np

        return np.full(len(windows), 0.9, np.float32)


def test_unbroken_speech_is_cut_where_the_first_run_cut_it(tmp_path: Path) -> None:
    video = write_speech_video(tmp_path / "unbroken.mkv", [], duration=150.0, noise=0.01)
    windows, again, _, done_until = resumed_from(
        video.path, 3, vad=ConstantVad, resume_vad=ConstantVad()
    )
    assert windows == 6 and again == 2 and done_until > 100.0
