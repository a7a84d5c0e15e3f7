"""Where people speak: Silero VAD (v6, ONNX Runtime) driven here, streamed over audio blocks.

Only the spans found here go to ASR, so silence and music cost nothing downstream. The
ONNX file ships inside faster-whisper's wheel (the `speech` extra); the `silero-vad`
package is not used because it depends on PyTorch.

The model scores 512-sample windows (32 ms at 16 kHz), each seen with the 64 samples before
it, and carries an LSTM state from window to window: a block of windows is scored in one
ONNX call, the state and the 64-sample context carried to the next block. A span opens at a
window scoring >= `threshold`, closes after `min_silence_s` of windows below
`neg_threshold`, is dropped when shorter than `min_speech_s`, is cut at `max_speech_s` (so
one span fits Whisper's 30 s window) and padded by `pad_s` on each side.

Change VAD_VERSION whenever the spans produced for the same audio could change.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.errors import ModelError
from vidsearch.speech.audio import SAMPLE_RATE, AudioBlock
from vidsearch.speech.models import SPEECH_INSTALL

VAD_VERSION = 1
WINDOW = 512  # samples per score at 16 kHz
CONTEXT = 64  # samples of the previous window each window is scored with
STATE_SHAPE = (1, 1, 128)
SILERO_ASSET = ("faster_whisper", "assets/silero_vad_v6.onnx")


@dataclass(frozen=True, slots=True)
class VadParams:
    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.25
    min_silence_s: float = 0.8
    pad_s: float = 0.2
    max_speech_s: float = 28.0

    def key(self) -> str:
        """A short text naming the parameters (part of the transcriber's identity)."""
        return (
            f"silero6-v{VAD_VERSION}:{self.threshold}/{self.neg_threshold}/{self.min_speech_s}"
            f"/{self.min_silence_s}/{self.pad_s}/{self.max_speech_s}"
        )


@dataclass(frozen=True, slots=True)
class SpeechSpan:
    """Seconds of video time, padding included."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def silero_model_path() -> Path:
    """The Silero VAD ONNX file in faster-whisper's package, or ModelError with the install."""
    package, relative = SILERO_ASSET
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"speech detection needs faster-whisper: {SPEECH_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelError(f"Silero VAD model missing from faster-whisper ({path}): reinstall it")
    return path


class SileroVad:
    """Scores audio windows. One per transcriber; `load()` opens the ONNX session."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        self._path = model_path
        self._threads = threads
        self._session: Any = None

    def load(self) -> None:
        if self._session is not None:
            return
        import onnxruntime as ort

        path = self._path or silero_model_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own unrelated classes
            raise ModelError(f"Silero VAD could not be loaded from {path}: {exc}") from None

    def close(self) -> None:
        self._session = None

    def score(self, windows: np.ndarray, state: _ModelState) -> np.ndarray:
        """Speech probabilities of `windows` (n, CONTEXT + WINDOW), carrying `state`."""
        self.load()
        probs, state.h, state.c = self._session.run(
            None, {"input": windows, "h": state.h, "c": state.c}
        )
        return np.asarray(probs, dtype=np.float32).reshape(-1)


@dataclass(slots=True)
class _ModelState:
    h: np.ndarray = field(default_factory=lambda: np.zeros(STATE_SHAPE, np.float32))
    c: np.ndarray = field(default_factory=lambda: np.zeros(STATE_SHAPE, np.float32))
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))
    remainder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


class SpeechDetector:
    """Turns a stream of audio blocks into speech spans, keeping no audio itself.

    `feed(block)` returns the spans that are closed by then; `finish()` the last one.
    """

    def __init__(self, vad: SileroVad, params: VadParams | None = None) -> None:
        params = params or VadParams()
        if params.min_silence_s < params.pad_s:
            raise ValueError("min_silence_s must be at least pad_s (a span's padding is read)")
        self._vad = vad
        self._params = params
        self._state = _ModelState()
        self._time: float | None = None  # time of the next window's first sample
        self._open: float | None = None  # start of the speech being heard
        self._quiet_since: float | None = None
        self._last_end = 0.0  # end of the last emitted span (padding included)
        self._end = 0.0  # end of the audio seen
        self.speech_seconds = 0.0  # total length of the spans emitted

    @property
    def keep_from(self) -> float:
        """Audio before this time can be dropped: no span to come will start earlier."""
        if self._time is None:
            return 0.0
        heard_from = self._open if self._open is not None else self._time
        return max(self._last_end, heard_from - self._params.pad_s)

    def feed(self, block: AudioBlock) -> list[SpeechSpan]:
        state = self._state
        if self._time is None:
            self._time = block.start
        samples = np.concatenate([state.remainder, block.samples])
        count = len(samples) // WINDOW
        state.remainder = samples[count * WINDOW :]
        self._end = block.end
        if count == 0:
            return []
        frames = samples[: count * WINDOW].reshape(count, WINDOW)
        previous = np.concatenate([state.context[None, :], frames[:-1, -CONTEXT:]])
        state.context = frames[-1, -CONTEXT:].copy()
        probs = self._vad.score(np.concatenate([previous, frames], axis=1), state)
        spans: list[SpeechSpan] = []
        for prob in probs:
            spans.extend(self._step(float(prob)))
            self._time += WINDOW / SAMPLE_RATE
        return spans

    def finish(self) -> list[SpeechSpan]:
        """The speech still open when the audio ends."""
        if self._open is None:
            return []
        end = self._quiet_since if self._quiet_since is not None else self._end
        return self._close(end, self._end)

    def _step(self, prob: float) -> list[SpeechSpan]:
        p, now = self._params, self._time
        assert now is not None
        if self._open is None:
            if prob >= p.threshold:
                self._open, self._quiet_since = now, None
            return []
        if prob >= p.threshold:
            self._quiet_since = None
        elif prob < p.neg_threshold and self._quiet_since is None:
            self._quiet_since = now
        if self._quiet_since is not None and now + WINDOW / SAMPLE_RATE - self._quiet_since >= (
            p.min_silence_s
        ):
            return self._close(self._quiet_since, now)
        if now - self._open >= p.max_speech_s:  # cut: the rest starts a new span
            speaking = self._quiet_since is None
            spans = self._close(now if speaking else self._quiet_since, now)
            self._open = now if speaking else None
            return spans
        return []

    def _close(self, end: float, now: float) -> list[SpeechSpan]:
        start, p = self._open, self._params
        assert start is not None
        self._open, self._quiet_since = None, None
        if end - start < p.min_speech_s:
            return []
        span = SpeechSpan(
            max(self._last_end, start - p.pad_s, 0.0), min(end + p.pad_s, max(now, end))
        )
        self._last_end = span.end
        self.speech_seconds += span.duration
        return [span]


def detect_speech(
    vad: SileroVad, blocks: Iterable[AudioBlock], params: VadParams | None = None
) -> Iterator[SpeechSpan]:
    """The speech spans of `blocks` (a convenience over SpeechDetector, for measuring)."""
    detector = SpeechDetector(vad, params)
    for block in blocks:
        yield from detector.feed(block)
    yield from detector.finish()
