"""A translator running a local sequence-to-sequence model with Hugging Face transformers:
MarianMT (`Helsinki-NLP/opus-mt-*`), NLLB (`facebook/nllb-200-distilled-600M`) or any
`AutoModelForSeq2SeqLM` checkpoint, by hub id or directory.

The model is found like every vidsearch model (`locate_model`: a fast, clear failure when
offline) and loaded on first use. NLLB needs its language codes: ISO 639-1 codes are mapped
(`NLLB_CODES`); multi-target Marian models take a `prefix` such as `>>pes<<`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidsearch.data.errors import TranslationError
from vidsearch.encoders.loading import locate_model
from vidsearch.errors import ModelError

DEFAULT_TRANSLATION_MODEL = "facebook/nllb-200-distilled-600M"
DEFAULT_BATCH = 16
DEFAULT_MAX_TOKENS = 128
NLLB_CODES = {
    "en": "eng_Latn",
    "fa": "pes_Arab",
    "ar": "arb_Arab",
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "es": "spa_Latn",
    "tr": "tur_Latn",
    "ru": "rus_Cyrl",
    "ur": "urd_Arab",
}
_TOKENIZER_FILES = ["*.json", "*.txt", "*.spm", "*.model"]


class LocalModelTranslator:
    def __init__(
        self,
        model_ref: str = DEFAULT_TRANSLATION_MODEL,
        *,
        batch_size: int = DEFAULT_BATCH,
        max_new_tokens: int = DEFAULT_MAX_TOKENS,
        num_beams: int = 1,
        prefix: str = "",
        threads: int | None = None,
    ) -> None:
        self.model_ref = model_ref
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.prefix = prefix
        self.threads = threads
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def name(self) -> str:
        return f"local:{self.model_ref}" + (f":{self.prefix}" if self.prefix else "")

    def load(self) -> LocalModelTranslator:
        if self._model is not None:
            return self
        files = locate_model(self.model_ref)  # raises ModelError, fast, when offline
        directory = files.directory
        if not Path(self.model_ref).expanduser().is_dir():  # hub: tokenizer files too
            from huggingface_hub import snapshot_download

            directory = Path(snapshot_download(self.model_ref, allow_patterns=_TOKENIZER_FILES))
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(directory, local_files_only=True)
        except Exception as exc:  # transformers raises many types
            raise ModelError(
                f"cannot load translation model '{self.model_ref}': {type(exc).__name__}: {exc}"
            ) from None
        self._model = model.eval()
        return self

    def _is_nllb(self) -> bool:
        return "nllb" in type(self._tokenizer).__name__.lower()

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        self.load()
        import torch

        # never more tokens than the decoder has positions for (a small model has few)
        positions = getattr(self._model.config, "max_position_embeddings", None)
        limit = min(self.max_new_tokens, positions - 1) if positions else self.max_new_tokens
        options: dict[str, Any] = {
            "max_new_tokens": limit,
            "num_beams": self.num_beams,
        }
        if self._is_nllb():
            if source not in NLLB_CODES or target not in NLLB_CODES:
                raise TranslationError(
                    f"no NLLB code known for {source!r} or {target!r}", permanent=True
                )
            self._tokenizer.src_lang = NLLB_CODES[source]
            options["forced_bos_token_id"] = self._tokenizer.convert_tokens_to_ids(
                NLLB_CODES[target]
            )
        out: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [
                self.prefix + t if self.prefix else t
                for t in texts[start : start + self.batch_size]
            ]
            try:
                inputs = self._tokenizer(chunk, return_tensors="pt", padding=True, truncation=True)
                inputs.pop("token_type_ids", None)
                with torch.inference_mode():
                    generated = self._model.generate(**inputs, **options)
            except Exception as exc:  # a model that cannot run is not worth retrying
                raise TranslationError(
                    f"{self.model_ref} failed: {type(exc).__name__}: {exc}", permanent=True
                ) from None
            out.extend(self._tokenizer.batch_decode(generated, skip_special_tokens=True))
        return [text.strip() for text in out]

    def close(self) -> None:
        self._model = None
        self._tokenizer = None
