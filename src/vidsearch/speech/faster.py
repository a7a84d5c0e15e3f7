"""Whisper on CTranslate2 through faster-whisper: int8 on CPU, the default backend.

faster-whisper's own VAD is off (ours already chose the speech) and decoding is greedy at
temperature 0 without the fallback ladder, so the cost per window is predictable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.encoders.loading import hub_unreachable
from vidsearch.errors import ModelError
from vidsearch.speech.models import (
    ASR_MODEL_SETTING,
    SPEECH_INSTALL,
    folder_fingerprint,
    is_local,
)
from vidsearch.speech.recognizer import Segment, Transcription

DEFAULT_COMPUTE_TYPE = "int8"
NEEDS_FASTER_WHISPER = f"speech transcription needs faster-whisper: {SPEECH_INSTALL}"
CT2_FILES = ("model.bin", "config.json", "vocabulary.json", "vocabulary.txt", "tokenizer.json")


def offline_hint(model: str) -> str:
    return (
        f"Whisper model {model!r} is not on this machine and could not be downloaded; "
        f"set {ASR_MODEL_SETTING} to a local folder holding it (the offline way: a "
        "CTranslate2 conversion for faster-whisper, a checkpoint for transformers)"
    )


class FasterWhisperRecognizer:
    """A CTranslate2 Whisper: `model` is a size, a hub id or a local conversion's folder."""

    backend = "faster-whisper"

    def __init__(
        self,
        model: str,
        *,
        compute_type: str = DEFAULT_COMPUTE_TYPE,
        threads: int | None = None,
        cache_dir: Path | None = None,
        max_new_tokens: int | None = None,
        offline: bool = False,
    ) -> None:
        self._name = model
        self._offline = offline
        self._compute_type = compute_type
        self._threads = threads or os.cpu_count() or 1
        self._cache_dir = cache_dir
        self._max_new_tokens = max_new_tokens
        self._folder: Path | None = None
        self._fingerprint = ""
        self._model: Any = None

    @property
    def identity(self) -> str:
        self._resolve()
        cap = f":max{self._max_new_tokens}" if self._max_new_tokens else ""
        return f"{self.backend}:{self._name}@{self._fingerprint}:{self._compute_type}{cap}"

    def _resolve(self) -> Path:
        if self._folder is not None:
            return self._folder
        folder = Path(self._name).expanduser() if is_local(self._name) else self._download()
        if not (folder / "model.bin").is_file():
            raise ModelError(
                f"{folder} is not a CTranslate2 Whisper conversion (no model.bin); "
                f"set {ASR_MODEL_SETTING} to one, or use the transformers backend"
            )
        self._folder = folder
        self._fingerprint = folder_fingerprint(folder, CT2_FILES)
        return folder

    def _download(self) -> Path:
        """The hub model from the local cache, else downloaded; ModelError when neither."""
        try:
            from faster_whisper.utils import download_model
        except ImportError:
            raise ModelError(NEEDS_FASTER_WHISPER) from None
        cache = str(self._cache_dir) if self._cache_dir else None
        try:
            return Path(download_model(self._name, local_files_only=True, cache_dir=cache))
        except Exception:  # not cached (hub errors come in many classes)
            reason = "offline" if self._offline else hub_unreachable()
            if reason is not None:  # told now, not after the hub client's retries
                raise ModelError(f"{offline_hint(self._name)} ({reason})") from None
        try:
            return Path(download_model(self._name, cache_dir=cache))
        except Exception as exc:
            raise ModelError(f"{offline_hint(self._name)} ({type(exc).__name__})") from None

    def load(self) -> None:
        if self._model is not None:
            return
        folder = self._resolve()
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(
                str(folder),
                device="cpu",
                compute_type=self._compute_type,
                cpu_threads=self._threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"Whisper model {folder} could not be loaded: {exc}") from None

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, max_new_tokens: int | None = None
    ) -> Transcription:
        self.load()
        options: dict[str, Any] = {}
        cap = max_new_tokens or self._max_new_tokens
        if cap:
            options["max_new_tokens"] = cap
        if language is not None and not self._model.model.is_multilingual:
            language = "en"  # an English-only model transcribes English or nothing
        segments, info = self._model.transcribe(
            audio,
            language=language,
            task="transcribe",
            beam_size=1,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
            **options,
        )
        found = [Segment(s.start, s.end, s.text.strip()) for s in segments]
        return Transcription([s for s in found if s.text], info.language)

    def close(self) -> None:
        self._model = None
