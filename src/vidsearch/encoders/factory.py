"""Pick the fastest encoder this machine can run for a model, exporting it once if needed.

Measured on 2 CPU cores (benchmarks/README.md): ONNX Runtime embeds images ~2x faster than
eager PyTorch and needs no `torch` import at run time, so it is the default whenever
onnxruntime is installed. The export (PyTorch -> ONNX, verified) happens on first use and is
cached per model fingerprint under `cache_dir/onnx/`. A GPU is used automatically: ONNX
Runtime's CUDA provider when its GPU build is installed, otherwise PyTorch on CUDA.

Without PyTorch (the core install) a checkpoint with published ONNX towers (`PUBLISHED_FOR`:
`openai/clip-vit-base-patch32`, the default model) runs those instead; any other checkpoint
needs the `torch` extra once, to export it (docs/install.md).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from vidsearch.config import DEFAULT_MODEL as CLIP_B32
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.clip_common import ClipFiles
from vidsearch.encoders.clip_hf import ClipEncoder
from vidsearch.encoders.onnx_clip import ExportedTowers, OnnxClipEncoder, PublishedTowers
from vidsearch.encoders.onnx_export import IMAGE_INT8_ONNX, ExportManifest, export_onnx
from vidsearch.encoders.onnx_towers import CLIP_B32_ONNX
from vidsearch.encoders.sessions import (
    INSTALL_HINT,
    SessionFactory,
    onnxruntime_available,
    open_session,
    providers,
)
from vidsearch.encoders.torch_extra import TORCH_INSTALL, torch_available
from vidsearch.errors import ModelError
from vidsearch.types import EncoderBackend

Notify = Callable[[str], None]

# Checkpoints whose towers are also published as ONNX files (hub id -> towers' hub id).
PUBLISHED_FOR: Mapping[str, str] = MappingProxyType({CLIP_B32: CLIP_B32_ONNX})


def _quiet(_: str) -> None:
    pass


def onnx_folder(cache_dir: Path, model: ClipFiles) -> Path:
    return cache_dir / "onnx" / model.files.fingerprint


def ensure_onnx_export(
    model: ClipFiles, cache_dir: Path, *, int8: bool, notify: Notify = _quiet
) -> Path:
    """The folder holding a verified export of `model` (exporting it now if missing)."""
    folder = onnx_folder(cache_dir, model)
    manifest = ExportManifest.read(folder)
    if manifest is not None and manifest.identity == model.identity:
        if not int8 or (folder / IMAGE_INT8_ONNX).is_file():
            return folder
    notify(f"exporting '{model.name}' to ONNX once, into {folder} (faster from now on)")
    manifest = export_onnx(model, folder, quantize=int8)
    notify(
        f"ONNX export verified: cosine to PyTorch >= {manifest.image_cosine_min:.5f}"
        + (f"; int8 image tower >= {manifest.int8_cosine_min:.5f}" if int8 else "")
    )
    return folder


def _gpu_without_onnx_cuda() -> bool:
    return shutil.which("nvidia-smi") is not None and "CUDAExecutionProvider" not in providers()


def open_encoder(
    model_ref: str,
    *,
    backend: EncoderBackend = EncoderBackend.AUTO,
    cache_dir: Path,
    int8: bool = False,
    batch_size: int = 32,
    threads: int | None = None,
    notify: Notify = _quiet,
    session_factory: SessionFactory = open_session,
) -> Encoder:
    """An encoder for the CLIP checkpoint `model_ref`, located but not loaded (`.load()`
    checks its files; each tower loads when first used)."""
    if backend is EncoderBackend.TORCH:
        return _torch_encoder(model_ref, batch_size, threads)
    if not onnxruntime_available():
        if backend is EncoderBackend.ONNX:
            raise ModelError(INSTALL_HINT)
        return _torch_encoder(model_ref, batch_size, threads)
    published = PUBLISHED_FOR.get(model_ref.strip())
    if published is not None and not torch_available():
        return OnnxClipEncoder(
            PublishedTowers(published),
            name=model_ref,  # the model asked for: its text tower is this encoder too
            int8=int8,
            batch_size=batch_size,
            threads=threads,
            session_factory=session_factory,
        )
    model = ClipFiles(model_ref)
    _ = model.files  # locate (or download) now: a missing model is reported first
    if backend is EncoderBackend.AUTO and _gpu_without_onnx_cuda() and torch_available():
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    try:
        folder = ensure_onnx_export(model, cache_dir, int8=int8, notify=notify)
    except ModelError as exc:
        if backend is EncoderBackend.ONNX or not torch_available():
            raise _no_onnx(model_ref, exc) from None
        notify(f"using PyTorch: {exc}")
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    return OnnxClipEncoder(
        ExportedTowers(model, folder),
        int8=int8,
        batch_size=batch_size,
        threads=threads,
        session_factory=session_factory,
    )


def _torch_encoder(model_ref: str, batch_size: int, threads: int | None) -> ClipEncoder:
    encoder = ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    _ = encoder.files  # locate (or download) now: a missing model is reported first
    return encoder


def _no_onnx(model_ref: str, exc: ModelError) -> ModelError:
    """Neither an ONNX export nor PyTorch to make one: say both ways out."""
    if torch_available():
        return exc
    return ModelError(
        f"model '{model_ref}' has no ONNX export yet and PyTorch is not installed to make one "
        f"(once): {TORCH_INSTALL}; or use a model with published ONNX towers "
        f"(clip-b32, or a folder with an onnx-clip.json)"
    )
