"""Which Whisper model a name means, for each backend, and the languages Whisper knows.

A model name is one of three things:

- a size ("tiny", "base", "small", ...): faster-whisper fetches Systran's CTranslate2
  conversion, transformers fetches OpenAI's checkpoint (`HF_WHISPER_IDS`);
- a hub id ("openai/whisper-small", "Systran/faster-whisper-small");
- a local folder (a CTranslate2 conversion for faster-whisper, a Hugging Face checkpoint for
  transformers): the offline way.

DEFAULT_ASR_MODEL was chosen by measurement (benchmarks/asr.py, benchmarks/README.md): the
largest size that stays well under real time on 2 CPU cores with faster-whisper int8.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# The setting that names the model (read by vidsearch.config; named here for messages).
ASR_MODEL_SETTING = "VIDSEARCH_ASR_MODEL"
SPEECH_INSTALL = "pip install -c constraints.txt 'vidsearch[speech]'"

DEFAULT_ASR_MODEL = "base"

# Sizes -> the transformers checkpoint of the same weights (faster-whisper knows the sizes).
HF_WHISPER_IDS = {
    "tiny": "openai/whisper-tiny",
    "tiny.en": "openai/whisper-tiny.en",
    "base": "openai/whisper-base",
    "base.en": "openai/whisper-base.en",
    "small": "openai/whisper-small",
    "small.en": "openai/whisper-small.en",
    "medium": "openai/whisper-medium",
    "medium.en": "openai/whisper-medium.en",
    "large-v1": "openai/whisper-large",
    "large-v2": "openai/whisper-large-v2",
    "large-v3": "openai/whisper-large-v3",
    "large": "openai/whisper-large-v3",
    "large-v3-turbo": "openai/whisper-large-v3-turbo",
    "turbo": "openai/whisper-large-v3-turbo",
}

# Whisper's language tokens in vocabulary order (<|en|> follows <|startoftranscript|>).
# Multilingual checkpoints before large-v3 know these 99; large-v3 adds "yue".
WHISPER_LANGUAGES: tuple[str, ...] = (
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar",
    "sv", "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu",
    "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa",
    "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn",
    "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc",
    "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn",
    "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw",
    "su",
)  # fmt: skip


def is_local(model: str) -> bool:
    """Whether `model` names a folder on this machine (rather than a size or a hub id)."""
    return Path(model).expanduser().is_dir()


def hf_model_id(model: str) -> str:
    """The transformers checkpoint for `model`: a size maps to OpenAI's; anything else as is."""
    return HF_WHISPER_IDS.get(model, model)


def folder_fingerprint(folder: Path, names: tuple[str, ...]) -> str:
    """A short hash of the named files' sizes and first/last MiB: cheap, and it changes when
    a converted model is replaced by another (full hashing of a 500 MB file costs seconds)."""
    digest = hashlib.sha256()
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    return digest.hexdigest()[:12]
