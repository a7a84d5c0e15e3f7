"""PyTorch is an optional extra: what needs it imports it here, and learns how to install it.

The core install runs ONNX towers with ONNX Runtime and never imports torch, transformers or
onnx. The torch backend, exporting a checkpoint to ONNX, the CLIPfa towers and the tiny test
models need the `torch` extra; without it they raise `ModelError` with the install line.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from vidsearch.errors import ModelError

TORCH_INSTALL = "pip install -c constraints.txt 'vidsearch[torch]'"


def torch_hint(what: str) -> str:
    """One line: `what` needs PyTorch, and the command that installs it."""
    return f"{what} needs PyTorch, which is not installed: {TORCH_INSTALL}"


def available(*modules: str) -> bool:
    """Whether every one of `modules` can be imported (looked up, not imported: cheap)."""
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):  # blocked, or a module set to None in sys.modules
            return False
    return True


def torch_available() -> bool:
    """Whether torch and transformers can be imported."""
    return available("torch", "transformers")


def check_torch(what: str) -> None:
    """Raise the install hint for `what` now if PyTorch is missing (without importing it)."""
    if not torch_available():
        raise ModelError(torch_hint(what))


def require_torch(what: str, *modules: str) -> ModuleType:
    """Import torch (and `modules`, e.g. "transformers", "onnx"), or raise the hint for `what`.

    Returns the torch module."""
    try:
        torch = importlib.import_module("torch")
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        raise ModelError(torch_hint(what)) from None
    return torch
