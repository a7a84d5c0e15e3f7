"""Whisper on PyTorch through transformers (the `torch` extra): the second backend, kept to
measure against faster-whisper and for checkpoints that have no CTranslate2 conversion.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.encoders.loading import hub_unreachable
from vidsearch.encoders.torch_extra import require_torch
from vidsearch.errors import ModelError
from vidsearch.speech.audio import SAMPLE_RATE
from vidsearch.speech.faster import offline_hint
from vidsearch.speech.models import (
    ASR_MODEL_SETTING,
    folder_fingerprint,
    hf_model_id,
    is_local,
)
from vidsearch.speech.recognizer import Transcription, segments_from_tokens

HF_FILES = ("model.safetensors", "pytorch_model.bin", "config.json", "generation_config.json")


class TransformersWhisperRecognizer:
    """`model`: a size (OpenAI's checkpoint of it), a hub id or a local checkpoint folder."""

    backend = "transformers"

    def __init__(
        self,
        model: str,
        *,
        threads: int | None = None,
        cache_dir: Path | None = None,
        max_new_tokens: int | None = None,
        offline: bool = False,
    ) -> None:
        self._name = model
        self._offline = offline
        self._source = str(Path(model).expanduser()) if is_local(model) else hf_model_id(model)
        self._threads = threads or os.cpu_count() or 1
        self._cache_dir = str(cache_dir) if cache_dir else None
        self._max_new_tokens = max_new_tokens
        self._fingerprint: str | None = None
        self._parts: tuple[Any, Any, Any] | None = None  # model, features, tokenizer

    @property
    def identity(self) -> str:
        if self._fingerprint is None:
            local = Path(self._source)
            if local.is_dir():
                self._fingerprint = folder_fingerprint(local, HF_FILES)
            else:
                self._fingerprint = self._cached_revision()
                if self._fingerprint is None:  # not downloaded yet: fetch it (or ModelError)
                    self.load()
                    self._fingerprint = self._cached_revision() or "unknown"
        cap = f":max{self._max_new_tokens}" if self._max_new_tokens else ""
        return f"{self.backend}:{self._source}@{self._fingerprint}:float32{cap}"

    def _cached_revision(self) -> str | None:
        """The commit of the cached hub snapshot (its folder's name), without the network."""
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(self._source, "config.json", cache_dir=self._cache_dir)
        return Path(found).parent.name[:12] if isinstance(found, str) else None

    def load(self) -> None:
        if self._parts is not None:
            return
        torch = require_torch("the transformers Whisper backend", "transformers")
        from transformers import AutoTokenizer, WhisperFeatureExtractor
        from transformers import WhisperForConditionalGeneration as Whisper
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        torch.set_num_threads(self._threads)
        last: Exception | None = None
        # the hub is tried only when it answers (an offline machine is told at once)
        hub = not (self._offline or is_local(self._name) or hub_unreachable())
        for offline in (True, False) if hub else (True,):
            kwargs = {"cache_dir": self._cache_dir, "local_files_only": offline}
            try:
                model = Whisper.from_pretrained(self._source, **kwargs).eval()
                features = WhisperFeatureExtractor.from_pretrained(self._source, **kwargs)
                tokenizer = AutoTokenizer.from_pretrained(self._source, **kwargs)
                break
            except Exception as exc:  # hub and file errors come in many classes
                last = exc
        else:
            if is_local(self._name):
                raise ModelError(
                    f"{self._source} is not a transformers Whisper checkpoint ({last}); "
                    f"set {ASR_MODEL_SETTING} to one"
                ) from None
            raise ModelError(f"{offline_hint(self._name)} ({type(last).__name__})") from None
        self._parts = (model, features, tokenizer)

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, max_new_tokens: int | None = None
    ) -> Transcription:
        self.load()
        assert self._parts is not None
        import torch

        model, features, tokenizer = self._parts
        config = model.generation_config
        inputs = features(audio, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
        with torch.inference_mode():
            if language is None:
                token = int(model.detect_language(inputs)[0])
                language = tokenizer.convert_ids_to_tokens(token)[2:-2]
            options: dict[str, Any] = {}
            cap = max_new_tokens or self._max_new_tokens
            if cap:
                options["max_new_tokens"] = cap
            output = model.generate(
                inputs,
                language=language,
                task="transcribe",
                return_timestamps=True,
                num_beams=1,
                do_sample=False,
                **options,
            )
        tokens = [int(t) for t in output[0]]
        segments = segments_from_tokens(
            tokens,
            timestamp_begin=config.no_timestamps_token_id + 1,
            eot=int(config.eos_token_id),
            duration=len(audio) / SAMPLE_RATE,
            decode=lambda ids: tokenizer.decode(ids).strip(),
        )
        return Transcription(segments, language)

    def close(self) -> None:
        self._parts = None
