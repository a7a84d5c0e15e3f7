"""Pick the fastest encoder this machine can run for a model, exporting it once if needed.

Measured on 2 CPU cores (benchmarks/README.md): ONNX Runtime embeds images ~2x faster than
eager PyTorch and needs no `torch` import at run time, so it is the default whenever
onnxruntime is installed. The export (PyTorch -> ONNX, verified) happens on first use and is
cached per model fingerprint under `cache_dir/onnx/`. A GPU is used automatically: ONNX
Runtime's CUDA provider when its GPU build is installed, otherwise PyTorch on CUDA.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from vidsearch.encoders.base import Encoder
from vidsearch.encoders.clip_common import ClipFiles
from vidsearch.encoders.clip_hf import ClipEncoder
from vidsearch.encoders.onnx_clip import OnnxClipEncoder
from vidsearch.encoders.onnx_export import IMAGE_INT8_ONNX, ExportManifest, export_onnx
from vidsearch.encoders.sessions import INSTALL_HINT, onnxruntime_available, providers
from vidsearch.errors import ModelError
from vidsearch.types import EncoderBackend

Notify = Callable[[str], None]


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
) -> Encoder:
    """An encoder for `model_ref`, not yet loaded (call `.load()` to fail early)."""
    model = ClipFiles(model_ref)
    _ = model.files  # locate (or download) now: a missing model is reported first
    if backend is EncoderBackend.TORCH:
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    if not onnxruntime_available():
        if backend is EncoderBackend.ONNX:
            raise ModelError(INSTALL_HINT)
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    if backend is EncoderBackend.AUTO and _gpu_without_onnx_cuda():
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    try:
        folder = ensure_onnx_export(model, cache_dir, int8=int8, notify=notify)
    except ModelError as exc:
        if backend is EncoderBackend.ONNX:
            raise
        notify(f"using PyTorch: {exc}")
        return ClipEncoder(model_ref, batch_size=batch_size, threads=threads)
    return OnnxClipEncoder(model_ref, folder, int8=int8, batch_size=batch_size, threads=threads)
