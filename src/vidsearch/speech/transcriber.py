"""A video's speech as subtitle cues: audio blocks -> speech spans (VAD) -> Whisper -> cues.

One pass over the audio, streamed: blocks are kept only until speech detection has moved
past them, so memory stays at a block plus the window being filled, whatever the video's
length. Consecutive short spans share one ASR window (`packing`: Whisper's encoder reads
30 s whatever the speech); each segment is mapped back to its own span's video time and
kept inside it, the span's first cue starting where the span starts and its last ending
where it ends, so a cue never claims time that detection judged silent.

A run can go on where a killed one stopped: `checkpoint(cues, done_until)` after each
window, and `transcribe(..., resume=cues, resume_at=done_until)` later. The resumed run
decodes the audio before `resume_at` only to skip it; speech detection restarts
RESUME_CONTEXT_S earlier, on the same 32 ms grid, so it settles into the spans the first
run found (from the start only when speech ran unbroken through that context).
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.errors import ModelError
from vidsearch.speech.audio import SAMPLE_RATE, AudioBlock, probe_audio, read_audio
from vidsearch.speech.packing import PackParams, Window, WindowPacker, may_pack
from vidsearch.speech.recognizer import Recognizer, Segment, check_language
from vidsearch.speech.vad import WINDOW, SileroVad, SpeechDetector, SpeechSpan, VadParams
from vidsearch.subtitles import Cue, tidy_cues

Progress = Callable[[float, float], None]  # (done_audio_s, total_audio_s)
Checkpoint = Callable[[list[Cue], float], None]  # (every cue so far, done until)
MIN_CUE_S = 0.1
DEFAULT_VAD = VadParams()
DEFAULT_PACK = PackParams()
# Audio speech detection hears before `resume_at` when resuming: its LSTM state settles
# (a span ending at `resume_at` is found again) for ~0.1 s of VAD work.
RESUME_CONTEXT_S = 60.0


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
        packing: PackParams = DEFAULT_PACK,
    ) -> None:
        self._recognizer = recognizer
        self._vad = vad
        self._language = check_language(language)
        self._params = vad_params
        self._packing = packing

    @property
    def identity(self) -> str:
        """Changes exactly when the transcript of the same video could change."""
        language = self._language or "auto"
        return (
            f"{self._recognizer.identity}|language={language}|vad={self._params.key()}"
            f"|{self._packing.key()}"
        )

    def load(self) -> None:
        self._vad.load()
        self._recognizer.load()

    def close(self) -> None:
        self._recognizer.close()
        self._vad.close()

    def transcribe(
        self,
        path: Path,
        *,
        progress: Progress | None = None,
        resume: Sequence[Cue] = (),
        resume_at: float = 0.0,
        checkpoint: Checkpoint | None = None,
    ) -> SpeechReport:
        """The speech of `path` as cues. No audio stream: an empty report, no error.

        `resume`, `resume_at`: the speech before `resume_at` (video seconds) is already in
        `resume`, returned as it is; spans ending by then are not transcribed again, a span
        crossing it is, whole, and the cues of `resume` inside it are dropped.
        `checkpoint(cues, done_until)` is called after each window with every cue so far
        (`resume` included) and the time up to which all speech is transcribed: passing them
        back as `resume`, `resume_at` goes on without loss or duplicates.
        Raises MediaError/DecodeError for unreadable or truncated audio, ModelError."""
        path = Path(path)
        track = probe_audio(path)
        if track is None:
            return SpeechReport(tidy_cues(resume), 0.0, 0.0, None)
        self.load()
        clock = _Clock()

        def watched() -> Iterator[AudioBlock]:
            for block in read_audio(path):
                further = clock.see(block)  # a second pass (see _spans) reports nothing new
                if progress is not None and further:
                    progress(block.end - clock.first, max(track.duration, clock.seen))
                yield block

        run = _Run(self._recognizer, self._language, list(resume), checkpoint)
        packer = WindowPacker(self._packing)
        for span, audio in self._spans(watched, resume_at):
            if span.end <= resume_at:
                continue
            if span.start < resume_at:
                run.forget(span)
            pack = may_pack(run.cues, self._language, self._packing)
            window = packer.add(span, audio, may_pack=pack)
            if window is not None:
                run.hear(window)
        window = packer.finish()
        if window is not None:
            run.hear(window)
        audio_seconds = clock.seen
        if progress is not None:
            progress(audio_seconds, audio_seconds)
        return run.report(audio_seconds)

    def _spans(
        self, blocks: Callable[[], Iterator[AudioBlock]], resume_at: float
    ) -> Iterator[tuple[SpeechSpan, np.ndarray]]:
        """The speech spans a run from the start finds, those ending by `resume_at` perhaps
        left out: detection starts RESUME_CONTEXT_S before it, and again from the start when
        it heard one unbroken stretch of speech from there up to `resume_at` (speech longer
        than max_speech_s is cut counting from where it began, which only a run from its
        beginning knows)."""
        start_at = max(0.0, resume_at - RESUME_CONTEXT_S)
        spans = speech_spans_with_audio(blocks(), self._vad, self._params, start_at=start_at)
        if start_at == 0.0:
            yield from spans
            return
        chain_end = start_at  # a span starting by then continues speech heard from the start
        for span, audio in spans:
            chained = span.start <= chain_end
            if span.end > resume_at:
                if chained:
                    spans.close()
                    spans = speech_spans_with_audio(blocks(), self._vad, self._params)
                else:
                    yield span, audio
                break
            chain_end = span.end if chained else -1.0
        yield from spans


class _Run:
    """One transcribe call's transcript so far: the resumed cues, then each window's."""

    def __init__(
        self,
        recognizer: Recognizer,
        language: str | None,
        resumed: list[Cue],
        checkpoint: Checkpoint | None,
    ) -> None:
        self._recognizer = recognizer
        self._language = language
        self._resumed = resumed
        self._checkpoint = checkpoint
        self.cues: list[Cue] = list(resumed)
        self._spoken: dict[str, float] = defaultdict(float)  # language -> speech seconds
        self._speech_seconds = 0.0

    def forget(self, span: SpeechSpan) -> None:
        """Drop the resumed cues inside `span`, which is transcribed again (it crosses
        `resume_at`; only the first span heard can, before any window is)."""
        self._resumed = [c for c in self._resumed if not _inside(c, span)]
        self.cues = list(self._resumed)

    def hear(self, window: Window) -> None:
        result = self._recognizer.transcribe(window.audio, language=self._language)
        for span, segments in zip(window.spans, window.split(result.segments), strict=True):
            self._spoken[result.language] += span.duration
            self._speech_seconds += span.duration
            self.cues.extend(_cues(segments, result.language, span))
        if self._checkpoint is not None:
            self._checkpoint(list(self.cues), window.end)

    def report(self, audio_seconds: float) -> SpeechReport:
        spoken = defaultdict(float, self._spoken)
        for cue in self._resumed:  # their spans are not known: their cues stand for them
            spoken[cue.language] += cue.end - cue.start
        speech_seconds = self._speech_seconds + _covered(self._resumed)
        language = max(spoken, key=spoken.__getitem__) if spoken else self._language
        return SpeechReport(tidy_cues(self.cues), audio_seconds, speech_seconds, language, [])


def _inside(cue: Cue, span: SpeechSpan) -> bool:
    return span.start <= (cue.start + cue.end) / 2 <= span.end


def _covered(cues: Iterable[Cue]) -> float:
    """Seconds of video time under at least one cue."""
    total, reach = 0.0, float("-inf")
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, reach)
        if cue.end > start:
            total += cue.end - start
            reach = cue.end
    return total


@dataclass(slots=True)
class _Clock:
    """How much audio has been read (for progress and the report)."""

    first: float = 0.0
    end: float | None = None

    def see(self, block: AudioBlock) -> bool:
        """Whether `block` reaches further than any block seen before."""
        if self.end is None:
            self.first = block.start
        elif block.end <= self.end:
            return False
        self.end = block.end
        return True

    @property
    def seen(self) -> float:
        return 0.0 if self.end is None else self.end - self.first


def speech_spans_with_audio(
    blocks: Iterable[AudioBlock],
    vad: SileroVad | None = None,
    params: VadParams = DEFAULT_VAD,
    *,
    start_at: float = 0.0,
) -> Iterator[tuple[SpeechSpan, np.ndarray]]:
    """Each speech span of `blocks` with its samples, holding audio only until detection has
    moved past it (memory: a block plus the span being heard). Detection starts at the VAD
    window at or before `start_at` (the audio before it is skipped)."""
    detector = SpeechDetector(vad or SileroVad(), params)
    held: deque[AudioBlock] = deque()
    for block in _from_window_at(blocks, start_at):
        held.append(block)
        for span in detector.feed(block):
            yield span, _samples(held, span)
        while held and held[0].end <= detector.keep_from:
            held.popleft()
    for span in detector.finish():
        yield span, _samples(held, span)


def _from_window_at(blocks: Iterable[AudioBlock], start_at: float) -> Iterator[AudioBlock]:
    """`blocks` from the VAD window holding `start_at` on, windows counted from the first
    sample: detection then scores the very windows a run from the start scores."""
    skip: int | None = None
    for block in blocks:
        if skip is None:
            skip = max(0, int((start_at - block.start) * SAMPLE_RATE) // WINDOW * WINDOW)
        if skip >= len(block.samples):
            skip -= len(block.samples)
            continue
        if skip:
            block = AudioBlock(block.start + skip / SAMPLE_RATE, block.samples[skip:])
            skip = 0
        yield block


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


def _cues(segments: list[Segment], language: str, span: SpeechSpan) -> list[Cue]:
    """A span's segments (times from its start) in video time, inside the span: the first
    starts with it, the last ends with it, the others keep their order and times (clamped)."""
    cues: list[Cue] = []
    for index, segment in enumerate(segments):
        start = span.start if index == 0 else _clamp(span.start + segment.start, span)
        stop = span.end if index == len(segments) - 1 else _clamp(span.start + segment.end, span)
        if cues:
            start = max(start, cues[-1].start)
        stop = max(stop, min(span.end, start + MIN_CUE_S))
        cues.append(Cue(start, stop, segment.text, language))
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
