"""ONNX Runtime sessions: providers and threads chosen in one place.

Models never import onnxruntime themselves; they receive a `Session` (anything with `run`)
from a `SessionFactory` (anything called with a model file and a thread count), so tests and
other runtimes can stand in: `EncoderOptions(session_factory=...)` hands one to every tower.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from vidsearch.errors import ModelError

INSTALL_HINT = "ONNX Runtime is not installed: pip install onnxruntime (or onnxruntime-gpu)"


class Session(Protocol):
    def run(self, output_names: list[str] | None, inputs: dict[str, Any]) -> list[Any]: ...


class SessionFactory(Protocol):
    """Opens the model file at `path` for inference (`open_session` is ONNX Runtime's)."""

    def __call__(self, path: Path, threads: int | None = None) -> Session: ...


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def providers() -> list[str]:
    """CUDA first when this onnxruntime build and machine have it, then the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*chosen, "CPUExecutionProvider"]


def open_session(path: Path, threads: int | None = None) -> Session:
    """An ONNX Runtime session for `path` (the default `SessionFactory`)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError(INSTALL_HINT) from None
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no provider chatter on stderr
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers())
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load ONNX model {path}: {exc}") from None
