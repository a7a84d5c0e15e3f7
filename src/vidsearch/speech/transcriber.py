"""A video's speech as subtitle cues: audio blocks -> speech spans (VAD) -> Whisper -> cues.

One pass over the audio, streamed: blocks are kept only until speech detection has moved
past them, so memory stays at a block plus the span being heard, whatever the video's
length. Each speech span (<= 30 s with its padding) is one ASR window; the backend's
segment times are mapped back to video time and kept inside the span, the first cue
starting where the span starts and the last ending where it ends, so a cue never claims
time that detection judged silent.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.errors import ModelError
from vidsearch.speech.audio import SAMPLE_RATE, AudioBlock, probe_audio, read_audio
from vidsearch.speech.recognizer import Recognizer, Transcription, check_language
from vidsearch.speech.vad import SileroVad, SpeechDetector, SpeechSpan, VadParams
from vidsearch.subtitles import Cue, tidy_cues

Progress = Callable[[float, float], None]  # (done_audio_s, total_audio_s)
MIN_CUE_S = 0.1
DEFAULT_VAD = VadParams()


@dataclass(slots=True)
class SpeechReport:
    cues: list[Cue]  # the transcript segments, absolute times, sorted, empty text dropped
    audio_seconds: float  # length of the audio track (0.0: the video has none)
    speech_seconds: float  # what VAD kept
    language: str | None  # detected / given main language
    warnings: list[str] = field(default_factory=list)


class SpeechTranscriber:
    """One per run; lazy: `load()` checks the model now, `transcribe()` loads on first use."""

    def __init__(
        self,
        recognizer: Recognizer,
        vad: SileroVad,
        *,
        language: str | None = None,
        vad_params: VadParams = DEFAULT_VAD,
    ) -> None:
        self._recognizer = recognizer
        self._vad = vad
        self._language = check_language(language)
        self._params = vad_params

    @property
    def identity(self) -> str:
        """Changes exactly when the transcript of the same video could change."""
        language = self._language or "auto"
        return f"{self._recognizer.identity}|language={language}|vad={self._params.key()}"

    def load(self) -> None:
        self._vad.load()
        self._recognizer.load()

    def close(self) -> None:
        self._recognizer.close()
        self._vad.close()

    def transcribe(self, path: Path, *, progress: Progress | None = None) -> SpeechReport:
        """The speech of `path` as cues. No audio stream: an empty report, no error.
        Raises MediaError/DecodeError for unreadable or truncated audio, ModelError."""
        path = Path(path)
        track = probe_audio(path)
        if track is None:
            return SpeechReport([], 0.0, 0.0, None)
        self.load()
        cues: list[Cue] = []
        spoken: dict[str, float] = defaultdict(float)
        clock = _Clock()

        def watched() -> Iterator[AudioBlock]:
            for block in read_audio(path):
                clock.see(block)
                if progress is not None:
                    progress(block.end - clock.first, max(track.duration, clock.seen))
                yield block

        speech_seconds = 0.0
        for span, audio in speech_spans_with_audio(watched(), self._vad, self._params):
            result = self._recognizer.transcribe(audio, language=self._language)
            spoken[result.language] += span.duration
            speech_seconds += span.duration
            cues.extend(_cues(result, span))
        audio_seconds = clock.seen
        if progress is not None:
            progress(audio_seconds, audio_seconds)
        language = max(spoken, key=spoken.__getitem__) if spoken else self._language
        return SpeechReport(tidy_cues(cues), audio_seconds, speech_seconds, language, [])


@dataclass(slots=True)
class _Clock:
    """How much audio has been read (for progress and the report)."""

    first: float = 0.0
    end: float | None = None

    def see(self, block: AudioBlock) -> None:
        if self.end is None:
            self.first = block.start
        self.end = block.end

    @property
    def seen(self) -> float:
        return 0.0 if self.end is None else self.end - self.first


def speech_spans_with_audio(
    blocks: Iterable[AudioBlock], vad: SileroVad | None = None, params: VadParams = DEFAULT_VAD
) -> Iterator[tuple[SpeechSpan, np.ndarray]]:
    """Each speech span of `blocks` with its samples, holding audio only until detection has
    moved past it (memory: a block plus the span being heard)."""
    detector = SpeechDetector(vad or SileroVad(), params)
    held: deque[AudioBlock] = deque()
    for block in blocks:
        held.append(block)
        for span in detector.feed(block):
            yield span, _samples(held, span)
        while held and held[0].end <= detector.keep_from:
            held.popleft()
    for span in detector.finish():
        yield span, _samples(held, span)


def _samples(held: deque[AudioBlock], span: SpeechSpan) -> np.ndarray:
    """The held audio from span.start to span.end."""
    pieces = []
    for block in held:
        if block.end <= span.start or block.start >= span.end:
            continue
        lo = max(0, int(round((span.start - block.start) * SAMPLE_RATE)))
        hi = min(len(block.samples), int(round((span.end - block.start) * SAMPLE_RATE)))
        pieces.append(block.samples[lo:hi])
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def _cues(result: Transcription, span: SpeechSpan) -> list[Cue]:
    """Segments in video time, inside the span: the first starts with it, the last ends with
    it, the others keep their order and times (clamped)."""
    segments = result.segments
    cues = []
    for index, segment in enumerate(segments):
        start = span.start if index == 0 else _clamp(span.start + segment.start, span)
        stop = span.end if index == len(segments) - 1 else _clamp(span.start + segment.end, span)
        if cues:
            start = max(start, cues[-1].start)
        stop = max(stop, min(span.end, start + MIN_CUE_S))
        cues.append(Cue(start, stop, segment.text, result.language))
    return cues


def _clamp(time: float, span: SpeechSpan) -> float:
    return min(max(time, span.start), span.end)


BACKENDS = ("auto", "faster-whisper", "transformers")


def open_transcriber(
    model: str,
    *,
    language: str | None = None,
    cache_dir: Path | None = None,
    threads: int | None = None,
    backend: str = "auto",
    max_new_tokens: int | None = None,
    offline: bool = False,
) -> SpeechTranscriber:
    """A transcriber for `model` (a size, a hub id or a local folder) on `backend`:
    "auto" picks faster-whisper when installed (a folder holding a transformers checkpoint
    picks transformers). `max_new_tokens` caps each window's decoding (tests, benchmarks);
    `offline` never tries the network (a model not cached is a ModelError at once).
    Nothing is loaded yet."""
    from vidsearch.encoders.torch_extra import available
    from vidsearch.speech.faster import NEEDS_FASTER_WHISPER, FasterWhisperRecognizer
    from vidsearch.speech.hf_whisper import TransformersWhisperRecognizer
    from vidsearch.speech.models import is_local

    if backend not in BACKENDS:
        raise ModelError(f"unknown speech backend {backend!r} (one of {', '.join(BACKENDS)})")
    language = check_language(language)
    threads = threads or os.cpu_count() or 1
    if backend == "auto":
        hf_folder = is_local(model) and not (Path(model).expanduser() / "model.bin").exists()
        if hf_folder and available("torch", "transformers"):
            backend = "transformers"
        elif available("faster_whisper", "ctranslate2"):
            backend = "faster-whisper"
        else:
            raise ModelError(NEEDS_FASTER_WHISPER)
    recognizer: Recognizer
    if backend == "faster-whisper":
        if not available("faster_whisper", "ctranslate2"):
            raise ModelError(NEEDS_FASTER_WHISPER)
        recognizer = FasterWhisperRecognizer(
            model,
            threads=threads,
            cache_dir=cache_dir,
            max_new_tokens=max_new_tokens,
            offline=offline,
        )
    else:
        recognizer = TransformersWhisperRecognizer(
            model,
            threads=threads,
            cache_dir=cache_dir,
            max_new_tokens=max_new_tokens,
            offline=offline,
        )
    return SpeechTranscriber(recognizer, SileroVad(), language=language)
