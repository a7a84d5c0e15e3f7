"""A text encoder saved by sentence-transformers: for example a multilingual student distilled
into CLIP's space (`sentence-transformers/clip-ViT-B-32-multilingual-v1`).

sentence-transformers is an optional extra, imported on first use; without it the error says
how to install it. This is the PyTorch runtime: `onnx_sentence.open_sentence_encoder` runs the
same model on ONNX Runtime when it can (no torch import at query time) and falls back to this.
The model is found like every other (hub id, cache or local directory, and a fast, clear
failure offline) and loaded from that directory only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import check_texts
from vidsearch.encoders.loading import LocatedModel, ModelFiles
from vidsearch.encoders.torch_extra import available
from vidsearch.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

INSTALL_HINT = (
    "multilingual text encoders need sentence-transformers: "
    "pip install -c constraints.txt 'vidsearch[multilingual]'"
)


def sentence_identity(files: ModelFiles) -> str:
    """The vector space of a sentence-transformers model, named by its weights: the same
    whichever runtime embeds with it (this class, or `onnx_sentence.OnnxSentenceEncoder`)."""
    return f"sentence-transformers:{files.fingerprint}"


class SentenceTextEncoder(LocatedModel):
    """Texts -> L2-normalised float32 vectors of a sentence-transformers model, loaded lazily."""

    def __init__(self, model_ref: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model_ref)
        self.batch_size = batch_size
        self.threads = threads
        self._model: SentenceTransformer | None = None

    @property
    def identity(self) -> str:
        return sentence_identity(self.files)

    @property
    def dim(self) -> int:
        self._load_model()
        model = self._model
        size = getattr(model, "get_embedding_dimension", None)  # renamed in version 6
        dimension = size() if size else model.get_sentence_embedding_dimension()  # type: ignore[union-attr]
        if not dimension:
            raise ModelError(f"model '{self.model_ref}' does not say its embedding size")
        return int(dimension)

    def load(self) -> SentenceTextEncoder:
        """Locate the model and check sentence-transformers is installed (not imported yet)."""
        _ = self.files
        if not available("torch", "sentence_transformers"):
            raise ModelError(INSTALL_HINT)
        return self

    def _load_model(self) -> None:
        if self._model is not None:
            return
        directory = self.files.directory
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(INSTALL_HINT) from None
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self.threads:
            torch.set_num_threads(self.threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            model = SentenceTransformer(str(directory), device=device, local_files_only=True)
        except Exception as exc:  # torch, transformers and sentence-transformers raise many types
            reason = f"{type(exc).__name__}: {exc}"
            raise ModelError(
                f"cannot load sentence-transformers model '{self.model_ref}': {reason}"
            ) from None
        self._model = model.eval()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        self._load_model()
        assert self._model is not None
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return l2_normalize(vectors)

    def close(self) -> None:
        self._model = None
