"""Separate image and text towers in the Hugging Face format, each embedding by its pooled
output: the layout of CLIPfa (`SajjadAyoubi/clip-fa-vision`, a `CLIPVisionModel`, and
`SajjadAyoubi/clip-fa-text`, a `RobertaModel`; both 768-d, per its model card).

Run with PyTorch through `transformers` (the `torch` extra), imported on first use; `load()`
checks the files and that PyTorch is installed, the weights load on the first encode.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import check_texts, token_batches
from vidsearch.encoders.loading import LocatedModel
from vidsearch.encoders.preprocess import CLIP_SIZE, PreprocessConfig, to_pixel_values
from vidsearch.encoders.torch_extra import check_torch, require_torch
from vidsearch.errors import ModelError

if TYPE_CHECKING:
    import torch

DEFAULT_TEXT_LENGTH = 512


class _Tower(LocatedModel):
    """A model directory located lazily, its config, and a device chosen at load."""

    kind = "model"

    def __init__(self, model_ref: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model_ref)
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._device = "cpu"

    def config(self) -> dict[str, Any]:
        return json.loads((self.files.directory / "config.json").read_text())

    @property
    def dim(self) -> int:
        return int(self.config()["hidden_size"])

    def load(self):  # -> Self
        """Locate the model, check its weights can be read and PyTorch is installed."""
        self.files.check_weights(self.kind)
        check_torch(f"the {self.kind} '{self.model_ref}'")
        return self

    def _torch(self) -> None:
        """Import torch, apply the thread count, pick the device."""
        torch = require_torch(f"the {self.kind} '{self.model_ref}'", "transformers")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self.threads:
            torch.set_num_threads(self.threads)
        self._device = "cuda" if torch.cuda.is_available() else "cpu"

    def _failed(self, exc: Exception) -> ModelError:
        reason = f"{type(exc).__name__}: {exc}"
        return ModelError(f"cannot load {self.kind} '{self.model_ref}': {reason}")

    def close(self) -> None:
        self._model = None


class ClipVisionEncoder(_Tower):
    """Images -> the pooled output of a `CLIPVisionModel`, L2-normalised."""

    kind = "CLIP vision model"
    _preprocess: PreprocessConfig

    @property
    def identity(self) -> str:
        return f"clip-vision:{self.files.fingerprint}"

    def preprocess_config(self) -> PreprocessConfig:
        config = self.config()
        vision = config.get("vision_config") or {}
        size = int(config.get("image_size") or vision.get("image_size", CLIP_SIZE))
        path = self.files.directory / "preprocessor_config.json"
        return PreprocessConfig.from_processor_json(
            json.loads(path.read_text()) if path.is_file() else {}, size
        )

    def _load_model(self) -> None:
        if self._model is not None:
            return
        directory = self.files.directory
        self._torch()
        from transformers import CLIPVisionModel

        try:
            model = CLIPVisionModel.from_pretrained(directory)
        except Exception as exc:  # torch, safetensors and transformers raise many types
            raise self._failed(exc) from None
        self._model = model.eval().to(self._device)
        self._preprocess = self.preprocess_config()

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self._load_model()
        import torch

        if not images:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(images), self.batch_size):
            pixels = to_pixel_values(images[i : i + self.batch_size], self._preprocess)
            with torch.inference_mode():
                output = self._model(pixel_values=torch.from_numpy(pixels).to(self._device))
            out.append(_pooled(output))
        return l2_normalize(np.concatenate(out))


class PooledTextEncoder(_Tower):
    """Texts -> the pooler output of a Hugging Face text encoder (RoBERTa, BERT), normalised."""

    kind = "text model"

    def __init__(self, model_ref: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model_ref, batch_size=batch_size, threads=threads)
        self._tokenizer: Any = None

    def _load_model(self) -> None:
        if self._model is not None:
            return
        directory = self.files.directory
        self._torch()
        from transformers import AutoModel, AutoTokenizer

        try:
            model = AutoModel.from_pretrained(directory)
            tokenizer = AutoTokenizer.from_pretrained(directory)
        except Exception as exc:  # torch, safetensors and transformers raise many types
            raise self._failed(exc) from None
        self._model = model.eval().to(self._device)
        self._tokenizer = tokenizer

    @property
    def text_length(self) -> int:
        """Tokens per text: the tokenizer's limit, within the model's position table."""
        positions = int(self.config().get("max_position_embeddings", DEFAULT_TEXT_LENGTH + 2))
        limit = getattr(self._tokenizer, "model_max_length", DEFAULT_TEXT_LENGTH)
        return max(1, min(int(limit), DEFAULT_TEXT_LENGTH, positions - 2))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        self._load_model()
        import torch

        out = []
        batches = token_batches(
            self._tokenizer, texts, self.batch_size, self.text_length, self._device
        )
        for tokens in batches:
            with torch.inference_mode():
                out.append(_pooled(self._model(**tokens)))
        return l2_normalize(np.concatenate(out))

    def close(self) -> None:
        super().close()
        self._tokenizer = None


def _pooled(output: Any) -> np.ndarray:
    pooled: torch.Tensor | None = getattr(output, "pooler_output", None)
    if pooled is None:
        raise ModelError("the model has no pooled output (it was saved without its pooler)")
    return pooled.float().cpu().numpy()
