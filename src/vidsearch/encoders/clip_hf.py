"""CLIP image and text towers through Hugging Face `transformers` (PyTorch, eager).

Used to export the ONNX encoder and where ONNX Runtime is unavailable; on a CUDA machine
without ONNX Runtime's CUDA provider it runs on the GPU. Needs the `torch` extra, imported on
first use (without it: `ModelError` with the install line). `load()` checks the files only;
the checkpoint (one file, both towers) loads on the first encode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import ClipFiles, check_texts, token_batches
from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values
from vidsearch.encoders.torch_extra import check_torch, require_torch
from vidsearch.errors import ModelError

if TYPE_CHECKING:
    import torch
    from transformers import CLIPModel, PreTrainedTokenizerBase


def _features(output: Any) -> torch.Tensor:
    """transformers >= 5 returns an output object whose pooler_output holds the projection."""
    return output if not hasattr(output, "pooler_output") else output.pooler_output


class ClipEncoder(ClipFiles):
    """A CLIP model loaded on first use from a hub id or a local directory."""

    def __init__(self, model_ref: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model_ref)
        self.batch_size = batch_size
        self.threads = threads
        self._model: CLIPModel | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._preprocess: PreprocessConfig | None = None
        self._device = "cpu"

    @property
    def backend(self) -> str:
        return f"torch-{self._device}"

    def load(self) -> ClipEncoder:
        """Locate the checkpoint, check its weights file can be read and PyTorch is installed
        (not imported yet)."""
        self.files.check_weights("CLIP model")
        check_torch(f"the PyTorch backend for '{self.model_ref}'")
        return self

    def _load_model(self) -> None:
        """Load weights and tokenizer (on first encode)."""
        if self._model is not None:
            return
        torch = require_torch(f"the PyTorch backend for '{self.model_ref}'", "transformers")
        from transformers import AutoTokenizer, CLIPModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        files = self.files
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            model = CLIPModel.from_pretrained(files.directory)
            tokenizer = AutoTokenizer.from_pretrained(files.directory)
        except Exception as exc:  # torch, safetensors and transformers raise many types
            reason = f"{type(exc).__name__}: {exc}"
            raise ModelError(f"cannot load CLIP model '{self.model_ref}': {reason}") from None
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model = model.eval().to(self._device)
        self._tokenizer = tokenizer
        self._preprocess = self.preprocess_config()

    @property
    def model(self) -> CLIPModel:
        self._load_model()
        assert self._model is not None
        return self._model

    def close(self) -> None:
        self._model = None
        self._tokenizer = None

    def __enter__(self) -> ClipEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self._load_model()
        import torch

        assert self._model is not None and self._preprocess is not None
        if not images:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(images), self.batch_size):
            pixels = to_pixel_values(images[i : i + self.batch_size], self._preprocess)
            with torch.inference_mode():
                feats = self._model.get_image_features(
                    pixel_values=torch.from_numpy(pixels).to(self._device)
                )
            out.append(_features(feats).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        self._load_model()
        import torch

        assert self._model is not None and self._tokenizer is not None
        out = []
        batches = token_batches(
            self._tokenizer, texts, self.batch_size, self.text_length, self._device
        )
        for tokens in batches:
            with torch.inference_mode():
                feats = self._model.get_text_features(**tokens)
            out.append(_features(feats).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))
