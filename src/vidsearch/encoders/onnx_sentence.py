"""A sentence-transformers model on ONNX Runtime: no PyTorch when a query is embedded.

Loading a sentence-transformers model imports torch, transformers and sentence-transformers:
seconds and hundreds of MB for each CLI command that searches dialogue. Instead the whole
pipeline (transformer, pooling, dense layers, then L2 normalisation) is exported once to one
ONNX graph (`sentence_export.py`, which needs the `torch` extra), verified against PyTorch,
and cached per model under `cache_dir/onnx-sentence/<key>/`:

    sentence.onnx     token ids (and mask, and token types when the model takes them) -> unit
                      vectors
    tokenizer.json    the model's own fast tokenizer, run by the `tokenizers` library
    manifest.json     the inputs, the truncation length, the padding token, the cosine to
                      PyTorch; a folder without one (an interrupted export) is redone

The key covers every weight and config file of every module (two models sharing a
transformer but not a dense layer get two exports). The vector space keeps the identity that
`SentenceTextEncoder` gives the same weights, so an index embedded by either is searched by
either. `open_sentence_encoder` picks ONNX when it can and PyTorch otherwise, as
`factory.open_encoder` does for CLIP.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.encoders.clip_common import check_texts
from vidsearch.encoders.loading import WEIGHT_FILES, ModelFiles, locate_model
from vidsearch.encoders.sentence_text import SentenceTextEncoder, sentence_identity
from vidsearch.encoders.sessions import (
    INSTALL_HINT,
    Session,
    SessionFactory,
    onnxruntime_available,
    open_session,
)
from vidsearch.encoders.torch_extra import available
from vidsearch.errors import ModelError
from vidsearch.fingerprint import file_fingerprint
from vidsearch.types import EncoderBackend

Notify = Callable[[str], None]

CACHE_FOLDER = "onnx-sentence"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
MODEL_ONNX = "sentence.onnx"
TOKENIZER = "tokenizer.json"
OUTPUT = "embeddings"
MODULES = "modules.json"  # sentence-transformers' list of the pipeline's module folders


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class SentenceManifest:
    """What an export holds and how to feed it."""

    version: int
    identity: str
    key: str  # export_key of the model it was made from
    dim: int
    inputs: list[str]  # the graph's inputs, in order: input_ids, attention_mask[, token_type_ids]
    max_length: int  # tokens per text, special tokens included (the model's max_seq_length)
    pad_token: str
    pad_id: int
    opset: int
    torch: str
    cosine_min: float  # ONNX Runtime vs sentence-transformers, on the verification texts

    @classmethod
    def read(cls, folder: Path) -> SentenceManifest | None:
        try:
            data = json.loads((folder / MANIFEST).read_text())
            return cls(**data) if data.get("version") == MANIFEST_VERSION else None
        except (OSError, ValueError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2))


def _module_folders(files: ModelFiles) -> list[Path]:
    """The model's folder and each module's (from modules.json; the folder alone without)."""
    folders = [files.directory]
    try:
        modules = json.loads((files.directory / MODULES).read_text())
    except (OSError, ValueError):
        return folders
    for module in modules if isinstance(modules, list) else []:
        path = module.get("path") if isinstance(module, dict) else None
        if path and (files.directory / path).is_dir():
            folders.append(files.directory / path)
    return folders


def export_key(files: ModelFiles) -> str:
    """A digest of every module's weights and configs: what the exported graph depends on."""
    digest = hashlib.blake2b(digest_size=8)
    for folder in _module_folders(files):
        for path in sorted(folder.iterdir()):
            if path.name in WEIGHT_FILES or path.suffix == ".json":
                relative = path.relative_to(files.directory).as_posix()
                digest.update(f"{relative}={file_fingerprint(path)};".encode())
    return digest.hexdigest()


def export_folder(cache_dir: Path, files: ModelFiles) -> Path:
    return cache_dir / CACHE_FOLDER / export_key(files)


def ensure_sentence_export(files: ModelFiles, cache_dir: Path, *, notify: Notify = _quiet) -> Path:
    """The folder holding a verified export of `files` (exporting it now, with PyTorch, if
    missing); raises ModelError when there is none and it cannot be made."""
    folder = export_folder(cache_dir, files)
    manifest = SentenceManifest.read(folder)
    if manifest is not None and manifest.key == folder.name and (folder / MODEL_ONNX).is_file():
        return folder
    from vidsearch.encoders.sentence_export import export_sentence_onnx

    notify(f"exporting '{files.ref}' to ONNX once, into {folder} (faster from now on)")
    manifest = export_sentence_onnx(files, folder)
    notify(f"ONNX export verified: cosine to PyTorch >= {manifest.cosine_min:.8f}")
    return folder


class OnnxSentenceEncoder:
    """Texts -> unit vectors through an exported sentence model; the session and the
    tokenizer open on first use and are freed by `close()`."""

    def __init__(
        self,
        files: ModelFiles,
        folder: Path,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        session_factory: SessionFactory = open_session,
    ) -> None:
        """`folder`: an export of `files` (`ensure_sentence_export`)."""
        self.files = files
        self.folder = folder
        self.batch_size = batch_size
        self.threads = threads
        self._open_session = session_factory
        self._manifest: SentenceManifest | None = None
        self._identity: str | None = None
        self._session: Session | None = None
        self._tokenizer = None  # tokenizers.Tokenizer, opened with the session
        self._opening = threading.Lock()

    @property
    def model_ref(self) -> str:
        return self.files.ref

    @property
    def name(self) -> str:
        return self.files.ref

    @property
    def backend(self) -> str:
        return "onnx"

    @property
    def identity(self) -> str:
        if self._identity is None:
            self._identity = sentence_identity(self.files)
        return self._identity

    @property
    def manifest(self) -> SentenceManifest:
        if self._manifest is None:
            manifest = SentenceManifest.read(self.folder)
            if manifest is None or not (self.folder / MODEL_ONNX).is_file():
                raise ModelError(
                    f"no ONNX export of '{self.model_ref}' in {self.folder} (delete the folder "
                    "and search again to export it anew)"
                )
            self._manifest = manifest
        return self._manifest

    @property
    def dim(self) -> int:
        return self.manifest.dim

    def load(self) -> OnnxSentenceEncoder:
        """Check the export is there; nothing opens yet."""
        _ = self.manifest
        return self

    def _opened(self) -> tuple[Session, object]:
        with self._opening:
            if self._session is None:
                manifest = self.manifest
                tokenizer = self._load_tokenizer(manifest)
                self._session = self._open_session(self.folder / MODEL_ONNX, self.threads)
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def _load_tokenizer(self, manifest: SentenceManifest):  # -> tokenizers.Tokenizer
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER))
        except Exception as exc:  # tokenizers raises its own untyped errors
            raise ModelError(f"cannot read {self.folder / TOKENIZER}: {exc}") from None
        tokenizer.enable_truncation(manifest.max_length)
        tokenizer.enable_padding(pad_id=manifest.pad_id, pad_token=manifest.pad_token)
        return tokenizer

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        check_texts(texts)
        session, tokenizer = self._opened()
        inputs = self.manifest.inputs
        out = []
        for i in range(0, len(texts), self.batch_size):
            encodings = tokenizer.encode_batch(list(texts[i : i + self.batch_size]))  # type: ignore[attr-defined]
            feeds = {
                "input_ids": np.asarray([e.ids for e in encodings], np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], np.int64),
                "token_type_ids": np.asarray([e.type_ids for e in encodings], np.int64),
            }
            out.append(session.run([OUTPUT], {name: feeds[name] for name in inputs})[0])
        return l2_normalize(np.concatenate(out))

    def close(self) -> None:
        with self._opening:
            self._session = None
            self._tokenizer = None

    def __enter__(self) -> OnnxSentenceEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sentence_encoder(
    model_ref: str,
    *,
    cache_dir: Path,
    backend: EncoderBackend = EncoderBackend.AUTO,
    batch_size: int = 32,
    threads: int | None = None,
    notify: Notify | None = None,
    session_factory: SessionFactory = open_session,
) -> OnnxSentenceEncoder | SentenceTextEncoder:
    """The sentence-transformers model `model_ref` (hub id or directory), located now: on
    ONNX Runtime from an export (made now if missing, which needs PyTorch once), else on
    PyTorch when ONNX Runtime or the export is out of reach (AUTO), or as `backend` says;
    `notify` hears of an export and of falling back to PyTorch."""
    notify = notify or _quiet

    def on_torch() -> SentenceTextEncoder:
        encoder = SentenceTextEncoder(model_ref, batch_size=batch_size, threads=threads)
        _ = encoder.files  # locate (or download) now: a missing model is reported first
        return encoder

    if backend is EncoderBackend.TORCH:
        return on_torch()
    if not onnxruntime_available():
        if backend is EncoderBackend.ONNX:
            raise ModelError(INSTALL_HINT)
        return on_torch()
    files = locate_model(model_ref)
    try:
        folder = ensure_sentence_export(files, cache_dir, notify=notify)
    except ModelError as exc:
        if backend is EncoderBackend.ONNX or not available("torch", "sentence_transformers"):
            raise
        notify(f"using PyTorch for '{model_ref}': {exc}")
        return on_torch()
    return OnnxSentenceEncoder(
        files, folder, batch_size=batch_size, threads=threads, session_factory=session_factory
    )
