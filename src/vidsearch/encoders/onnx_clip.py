"""CLIP towers in ONNX files, run by ONNX Runtime: no PyTorch at run time.

The towers come from one of two places, behind one small interface (`Towers`):

- `ExportedTowers`: a vidsearch export of a CLIP checkpoint (`factory.ensure_onnx_export`),
  the tokenizer and configs read from the checkpoint's own directory;
- `OnnxClipTowers`: a published tower directory (`onnx_towers.py`), files and names from
  its manifest.

Each tower's session opens on first use through the injected `SessionFactory`: embedding
images never opens the text tower, a text query never opens the image tower. Tokenisation
uses `tokenizer.json` through the `tokenizers` library (no `transformers` import either).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import ClipFiles, check_texts
from vidsearch.encoders.onnx_towers import OnnxClipTowers, OnnxTower, TowersManifest
from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values
from vidsearch.encoders.sessions import Session, SessionFactory, open_session
from vidsearch.errors import ModelError


class Towers(Protocol):
    """Where an `OnnxClipEncoder`'s files are (located lazily) and what they are."""

    model_ref: str

    @property
    def identity(self) -> str: ...

    @property
    def manifest(self) -> TowersManifest: ...

    def check(self, *, int8: bool = False) -> TowersManifest: ...

    def onnx_path(self, tower: OnnxTower) -> Path: ...

    def config_dir(self) -> Path: ...

    def preprocess_config(self) -> PreprocessConfig: ...


class ExportedTowers:
    """A CLIP checkpoint's towers as vidsearch exported them into `onnx_dir`."""

    def __init__(self, model: ClipFiles, onnx_dir: Path) -> None:
        self.model = model
        self.model_ref = model.model_ref
        self.onnx_dir = onnx_dir
        self._manifest: TowersManifest | None = None

    @property
    def identity(self) -> str:
        return self.model.identity

    @property
    def manifest(self) -> TowersManifest:
        if self._manifest is None:
            from vidsearch.encoders.onnx_towers import exported_manifest

            self._manifest = exported_manifest(
                identity=self.model.identity,
                dim=self.model.dim,
                text_length=self.model.text_length,
                image_size=self.model.preprocess_config().size,
                int8=True,
            )
        return self._manifest

    def check(self, *, int8: bool = False) -> TowersManifest:
        manifest = self.manifest
        missing = [
            name for name in manifest.files(int8=int8)[:2] if not self.onnx_path_of(name).is_file()
        ]
        if missing:
            raise ModelError(f"ONNX export of '{self.model_ref}' in {self.onnx_dir}: no {missing}")
        return manifest

    def onnx_path_of(self, file: str) -> Path:
        return self.onnx_dir / Path(file).name

    def onnx_path(self, tower: OnnxTower) -> Path:
        return self.onnx_path_of(tower.file)

    def config_dir(self) -> Path:
        return self.model.files.directory

    def preprocess_config(self) -> PreprocessConfig:
        return self.model.preprocess_config()


class PublishedTowers(OnnxClipTowers):
    """`OnnxClipTowers` with the `Towers` interface: every file in the one directory."""

    def onnx_path(self, tower: OnnxTower) -> Path:
        return self.files.directory / tower.file

    def config_dir(self) -> Path:
        return self.files.directory


class OnnxClipEncoder:
    """Images and texts through a CLIP's ONNX towers, each tower opened on first use."""

    def __init__(
        self,
        towers: Towers,
        *,
        name: str | None = None,
        int8: bool = False,
        batch_size: int = 32,
        threads: int | None = None,
        session_factory: SessionFactory = open_session,
    ) -> None:
        """`name`: how the user referred to the model (default: the towers' reference)."""
        self.towers = towers
        self._name = name or towers.model_ref
        self.int8 = int8
        self.batch_size = batch_size
        self.threads = threads
        self._open_session = session_factory
        self._image: Session | None = None
        self._text: Session | None = None
        self._tokenizer = None  # tokenizers.Tokenizer, with the text session
        self._opening = threading.Lock()

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.int8 else "onnx"

    @property
    def identity(self) -> str:
        return self.towers.identity

    @property
    def name(self) -> str:
        return self._name

    @property
    def model_ref(self) -> str:
        return self.towers.model_ref

    @property
    def dim(self) -> int:
        return self.towers.manifest.dim

    def load(self) -> OnnxClipEncoder:
        """Locate the towers and check their files are there; no session opens yet."""
        self.towers.check(int8=self.int8)
        return self

    def _image_tower(self) -> OnnxTower:
        manifest = self.towers.manifest
        if self.int8 and manifest.image_int8 is None:
            raise ModelError(f"model '{self.model_ref}' has no int8 image tower")
        return manifest.image_int8 if self.int8 and manifest.image_int8 else manifest.image

    def _image_session(self) -> Session:
        with self._opening:
            if self._image is None:
                self.towers.check(int8=self.int8)
                path = self.towers.onnx_path(self._image_tower())
                self._image = self._open_session(path, self.threads)
            return self._image

    def _text_session(self) -> Session:
        with self._opening:
            if self._text is None:
                manifest = self.towers.check(int8=self.int8)
                tokenizer = self._load_tokenizer(manifest)
                self._text = self._open_session(self.towers.onnx_path(manifest.text), self.threads)
                self._tokenizer = tokenizer
            return self._text

    def _load_tokenizer(self, manifest: TowersManifest):  # -> tokenizers.Tokenizer
        from tokenizers import Tokenizer

        directory = self.towers.config_dir()
        path = directory / manifest.tokenizer
        if not path.is_file():
            raise ModelError(f"model '{self.model_ref}' has no {manifest.tokenizer} for ONNX use")
        tokenizer = Tokenizer.from_file(str(path))
        config_path = directory / "tokenizer_config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        pad = config.get("pad_token") or config.get("eos_token") or "<|endoftext|>"
        pad = pad["content"] if isinstance(pad, dict) else pad
        pad_id = tokenizer.token_to_id(pad) or 0
        tokenizer.enable_truncation(manifest.text_length)
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad)
        return tokenizer

    def close(self) -> None:
        with self._opening:
            self._image = None
            self._text = None
            self._tokenizer = None

    def __enter__(self) -> OnnxClipEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def preprocess_config(self) -> PreprocessConfig:
        return self.towers.preprocess_config()

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        session = self._image_session()
        if not images:
            return np.zeros((0, self.dim), np.float32)
        tower = self._image_tower()
        config = self.preprocess_config()
        out = [
            session.run(
                [tower.output],
                {tower.inputs[0]: to_pixel_values(images[i : i + self.batch_size], config)},
            )[0]
            for i in range(0, len(images), self.batch_size)
        ]
        return l2_normalize(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        session = self._text_session()
        tokenizer = self._tokenizer
        assert tokenizer is not None
        tower = self.towers.manifest.text
        out = []
        for i in range(0, len(texts), self.batch_size):
            encodings = tokenizer.encode_batch(list(texts[i : i + self.batch_size]))
            feeds = {
                "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], np.int64),
            }
            out.append(session.run([tower.output], {k: feeds[k] for k in tower.inputs})[0])
        return l2_normalize(np.concatenate(out))
