"""Package hygiene: exported names exist, the core imports without the CLI stack."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["vidsearch.media", "vidsearch.encoders", "vidsearch.index"])
def test_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"


def test_core_does_not_import_torch_or_typer_at_import_time() -> None:
    code = (
        "import sys, vidsearch.ingest, vidsearch.search, vidsearch.encoders; "
        "print(sorted(m for m in ('torch', 'transformers', 'typer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
