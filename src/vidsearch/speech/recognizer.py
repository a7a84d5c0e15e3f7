"""What an ASR backend must do: turn one window of speech (<= 30 s) into timed text.

Backends (faster-whisper on CTranslate2, transformers' Whisper on PyTorch) implement
`Recognizer`; the transcriber feeds them only the spans speech detection kept, so they never
see silence or long music. Times in a `Transcription` count from the window's first sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidsearch.errors import ConfigError
from vidsearch.speech.models import WHISPER_LANGUAGES

WINDOW_SECONDS = 30.0  # Whisper's input window
TIMESTAMP_STEP = 0.02  # seconds per timestamp token


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds from the window's start
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcription:
    segments: list[Segment]
    language: str  # ISO 639-1, given or detected


class Recognizer(Protocol):
    """Lazy like every model: `load()` finds the files and builds the model once."""

    @property
    def identity(self) -> str:
        """Backend, model (with a content hash where cheap), compute type: changes exactly
        when the text for the same audio could change."""
        ...

    def load(self) -> None: ...

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, max_new_tokens: int | None = None
    ) -> Transcription:
        """`audio`: float32 mono 16 kHz, at most WINDOW_SECONDS long; `max_new_tokens`
        caps this window's decoding (else the recogniser's own cap, else Whisper's)."""
        ...

    def close(self) -> None: ...


def check_language(language: str | None) -> str | None:
    """`language` lower-cased if Whisper knows it (None: detect), else ConfigError."""
    if language is None:
        return None
    code = language.strip().lower()
    if code not in WHISPER_LANGUAGES:
        raise ConfigError(
            f"speech language {language!r} is not one Whisper knows "
            "(use an ISO 639-1 code such as 'en' or 'fa', or leave it unset to detect it)"
        )
    return code


def segments_from_tokens(
    tokens: list[int],
    *,
    timestamp_begin: int,
    eot: int,
    duration: float,
    decode,  # Callable[[list[int]], str]
) -> list[Segment]:
    """Split Whisper's output (text tokens between <|t|> timestamp tokens) into segments.

    A segment left open at the end (no closing timestamp: the decoder hit its length cap)
    ends at `duration`; text with no timestamps at all is one segment over the window."""
    segments: list[Segment] = []
    start: float | None = None
    text: list[int] = []
    for token in tokens:
        if token >= timestamp_begin:
            time = (token - timestamp_begin) * TIMESTAMP_STEP
            if text:
                segments.append(Segment(start or 0.0, time, decode(text)))
                text = []
            start = time
        elif token < eot:
            text.append(token)
    if text:
        segments.append(Segment(start or 0.0, max(duration, start or 0.0), decode(text)))
    return [s for s in segments if s.text.strip()]
