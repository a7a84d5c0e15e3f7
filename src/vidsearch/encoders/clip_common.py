"""What every CLIP backend shares: model files, identity, preprocessing config, input checks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from vidsearch.encoders.loading import LocatedModel
from vidsearch.encoders.preprocess import PreprocessConfig
from vidsearch.errors import QueryError

DEFAULT_TEXT_LENGTH = 77


class ClipFiles(LocatedModel):
    """A CLIP checkpoint on disk, located lazily (a hub id may need a download).

    Identity is `clip:<fingerprint of the weights>` so the same weights reached through a hub
    id, a copied directory or an ONNX export are recognised as the same image space.
    """

    @property
    def identity(self) -> str:
        return f"clip:{self.files.fingerprint}"

    def config(self) -> dict:
        return json.loads((self.files.directory / "config.json").read_text())

    @property
    def dim(self) -> int:
        return int(self.config().get("projection_dim", 512))

    @property
    def text_length(self) -> int:
        text = self.config().get("text_config") or {}
        return int(text.get("max_position_embeddings", DEFAULT_TEXT_LENGTH))

    def preprocess_config(self) -> PreprocessConfig:
        vision = self.config().get("vision_config") or {}
        size = int(vision.get("image_size", 224))
        path = self.files.directory / "preprocessor_config.json"
        data = json.loads(path.read_text()) if path.is_file() else {}
        return PreprocessConfig.from_processor_json(data, size)


def check_texts(texts: Sequence[str]) -> None:
    if any(not t or not t.strip() for t in texts):
        raise QueryError("empty query: type some words to search for")


def token_batches(
    tokenizer: Any, texts: Sequence[str], batch_size: int, max_length: int, device: str
) -> Iterator[dict[str, Any]]:
    """`texts` tokenized `batch_size` at a time, padded and truncated, as PyTorch tensors on
    `device`: the `input_ids` and `attention_mask` a Hugging Face text model takes."""
    for start in range(0, len(texts), batch_size):
        tokens = tokenizer(
            list(texts[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        yield {name: tokens[name].to(device) for name in ("input_ids", "attention_mask")}
