"""Speech in a video as subtitle cues: the audio track, Silero VAD, then Whisper.

    transcriber = open_transcriber("base", language=None)   # lazy; load() checks the model
    report = transcriber.transcribe(path, progress=...)     # SpeechReport(cues, ...)
    transcriber.transcribe(path, resume=cues, resume_at=t, checkpoint=save)  # go on

Backends: faster-whisper (CTranslate2, int8 on CPU; the default, the `speech` extra) and
transformers' Whisper (the `torch` extra). Only speech spans reach the recogniser, so
silence and music cost nothing there, and short spans of one language share a window
(`packing`). Errors: ModelError (model or extra missing), MediaError/DecodeError
(unreadable or truncated audio), ConfigError (unknown language).
"""

from vidsearch.speech.models import (
    ASR_MODEL_SETTING,
    DEFAULT_ASR_MODEL,
    HF_WHISPER_IDS,
    WHISPER_LANGUAGES,
)
from vidsearch.speech.transcriber import SpeechReport, SpeechTranscriber, open_transcriber

__all__ = [
    "ASR_MODEL_SETTING",
    "DEFAULT_ASR_MODEL",
    "HF_WHISPER_IDS",
    "WHISPER_LANGUAGES",
    "SpeechReport",
    "SpeechTranscriber",
    "open_transcriber",
]
