"""CLIP towers exported to ONNX, run by ONNX Runtime: no PyTorch at run time.

Tokenisation uses the checkpoint's `tokenizer.json` through the `tokenizers` library (no
`transformers` import either), so a search starts in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import ClipFiles, check_texts
from vidsearch.encoders.onnx_export import IMAGE_INT8_ONNX, IMAGE_ONNX, TEXT_ONNX
from vidsearch.encoders.preprocess import to_pixel_values
from vidsearch.encoders.sessions import Session, open_session
from vidsearch.errors import ModelError


class OnnxClipEncoder(ClipFiles):
    def __init__(
        self,
        model_ref: str,
        onnx_dir: Path,
        *,
        int8: bool = False,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        super().__init__(model_ref)
        self.onnx_dir = onnx_dir
        self.int8 = int8
        self.batch_size = batch_size
        self.threads = threads
        self._image: Session | None = None
        self._text: Session | None = None
        self._tokenizer = None
        self._pad_id = 0

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.int8 else "onnx"

    def load(self) -> OnnxClipEncoder:
        self._image_session()
        return self

    def _image_session(self) -> Session:
        if self._image is None:
            name = IMAGE_INT8_ONNX if self.int8 else IMAGE_ONNX
            self._image = open_session(self.onnx_dir / name, self.threads)
        return self._image

    def _text_session(self) -> Session:
        if self._text is None:
            self._text = open_session(self.onnx_dir / TEXT_ONNX, self.threads)
            self._tokenizer = self._load_tokenizer()
        return self._text

    def _load_tokenizer(self):  # -> tokenizers.Tokenizer
        from tokenizers import Tokenizer

        directory = self.files.directory
        path = directory / "tokenizer.json"
        if not path.is_file():
            raise ModelError(f"model '{self.model_ref}' has no tokenizer.json for ONNX use")
        tokenizer = Tokenizer.from_file(str(path))
        config_path = directory / "tokenizer_config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        pad = config.get("pad_token") or config.get("eos_token") or "<|endoftext|>"
        pad = pad["content"] if isinstance(pad, dict) else pad
        self._pad_id = tokenizer.token_to_id(pad) or 0
        tokenizer.enable_truncation(self.text_length)
        tokenizer.enable_padding(pad_id=self._pad_id, pad_token=pad)
        return tokenizer

    def close(self) -> None:
        self._image = None
        self._text = None
        self._tokenizer = None

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        session = self._image_session()
        if not images:
            return np.zeros((0, self.dim), np.float32)
        config = self.preprocess_config()
        out = [
            session.run(
                None, {"pixel_values": to_pixel_values(images[i : i + self.batch_size], config)}
            )[0]
            for i in range(0, len(images), self.batch_size)
        ]
        return l2_normalize(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        session = self._text_session()
        assert self._tokenizer is not None
        out = []
        for i in range(0, len(texts), self.batch_size):
            encodings = self._tokenizer.encode_batch(list(texts[i : i + self.batch_size]))
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
            out.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return l2_normalize(np.concatenate(out))
