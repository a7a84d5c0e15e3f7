"""CLIP image and text towers through Hugging Face `transformers` (PyTorch, eager)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.loading import ModelFiles, locate_model
from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values
from vidsearch.errors import ModelError, QueryError

if TYPE_CHECKING:
    import torch
    from transformers import CLIPModel, PreTrainedTokenizerBase


def _features(output: Any) -> torch.Tensor:
    """transformers >= 5 returns an output object whose pooler_output holds the projection."""
    return output if not hasattr(output, "pooler_output") else output.pooler_output


class ClipEncoder:
    """A CLIP model loaded on first use from a hub id or a local directory.

    Identity is `clip:<fingerprint of the weights>` so the same weights reached through a
    hub id or a copied directory are recognised as the same image space.
    """

    def __init__(self, model_ref: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        self.model_ref = model_ref
        self.batch_size = batch_size
        self.threads = threads
        self._files: ModelFiles | None = None
        self._model: CLIPModel | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._preprocess: PreprocessConfig | None = None
        self._device = "cpu"

    # -- life cycle -------------------------------------------------------------------
    @property
    def files(self) -> ModelFiles:
        if self._files is None:
            self._files = locate_model(self.model_ref)
        return self._files

    def load(self) -> ClipEncoder:
        """Load weights and tokenizer now (otherwise it happens on first encode)."""
        if self._model is not None:
            return self
        import torch
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
        size = int(model.config.vision_config.image_size)
        processor_json = files.directory / "preprocessor_config.json"
        data = json.loads(processor_json.read_text()) if processor_json.is_file() else {}
        self._preprocess = PreprocessConfig.from_processor_json(data, size)
        return self

    def close(self) -> None:
        self._model = None
        self._tokenizer = None

    def __enter__(self) -> ClipEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identity ---------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return f"clip:{self.files.fingerprint}"

    @property
    def name(self) -> str:
        return self.model_ref

    @property
    def dim(self) -> int:
        config_path = self.files.directory / "config.json"
        config = json.loads(config_path.read_text())
        return int(config.get("projection_dim", 512))

    # -- encoding ---------------------------------------------------------------------
    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        self.load()
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
        import torch

        if any(not t or not t.strip() for t in texts):
            raise QueryError("empty query: type some words to search for")
        self.load()
        assert self._model is not None and self._tokenizer is not None
        max_length = int(self._model.config.text_config.max_position_embeddings)
        out = []
        for i in range(0, len(texts), self.batch_size):
            tokens = self._tokenizer(
                list(texts[i : i + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                feats = self._model.get_text_features(
                    input_ids=tokens["input_ids"].to(self._device),
                    attention_mask=tokens["attention_mask"].to(self._device),
                )
            out.append(_features(feats).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))
