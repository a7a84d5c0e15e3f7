"""Package hygiene: exported names exist, the core imports without the CLI stack, the service
stack or PyTorch."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import vidsearch

INIT = Path(vidsearch.__file__)
HEAVY = ("torch", "transformers", "onnx", "fastapi", "typer")


def loaded_after(statement: str) -> list[str]:
    """Which HEAVY modules a fresh interpreter holds after running `statement`."""
    report = f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    code = f"import json, sys\n{statement}\n{report}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["vidsearch.media", "vidsearch.encoders", "vidsearch.index"])
def test_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"


def test_import_vidsearch_loads_no_heavy_stack() -> None:
    assert loaded_after("import vidsearch") == []


def test_core_does_not_import_torch_or_typer_at_import_time() -> None:
    assert loaded_after("import vidsearch.ingest, vidsearch.search, vidsearch.encoders") == []


def test_the_whole_public_api_loads_no_heavy_stack() -> None:
    """`from vidsearch import *` loads every lazily exported name (library, search, ingest)."""
    assert loaded_after("from vidsearch import *") == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above can fail: importing typer shows up."""
    assert loaded_after("import typer") == ["typer"]


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run at import, with those inside `if` and `try` blocks."""
    found = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If | ast.Try):
            handlers = getattr(node, "handlers", [])
            nested = node.body + node.orelse + getattr(node, "finalbody", [])
            found += _top_level(nested + [s for h in handlers for s in h.body])
    return found


def _ours(module: str | None) -> bool:
    return module == "vidsearch" or (module or "").startswith("vidsearch.")


def public_names_defined(path: Path) -> set[str]:
    """Names without a leading underscore that a module defines or re-exports: bound at its
    top (assignments, defs, classes) or imported from vidsearch (also under TYPE_CHECKING,
    which declares lazily loaded names); helpers imported from elsewhere are not exports."""
    names: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and (node.level or _ours(node.module)):
            names |= {(alias.asname or alias.name) for alias in node.names}
    return {name for name in names if not name.startswith("_")}


def export_problems(module: types.ModuleType) -> list[str]:
    """What is wrong with a module's __all__: repeated names, names it lacks, and public names
    its source defines or re-exports (other than submodules) that __all__ leaves out."""
    exported = list(getattr(module, "__all__", []))
    problems = [f"__all__ repeats {name}" for name in sorted(set(exported))
                if exported.count(name) > 1]  # fmt: skip
    problems += [f"__all__ names {name}, which it lacks" for name in exported
                 if not hasattr(module, name)]  # fmt: skip
    assert module.__file__ is not None
    public = {
        name
        for name in public_names_defined(Path(module.__file__))
        if not isinstance(getattr(module, name, None), types.ModuleType)
    }
    problems += [f"__all__ leaves out {name}" for name in sorted(public - set(exported))]
    return problems


def test_the_package_all_is_honest() -> None:
    assert export_problems(vidsearch) == []


def test_a_dishonest_all_is_caught(tmp_path: Path) -> None:
    source = tmp_path / "fake_package.py"
    source.write_text(
        "from typing import Any\n"
        "__all__ = ['open', 'open', 'Gone']\n"
        "def open() -> Any: ...\n"
        "class Library: ...\n"
    )
    spec = importlib.util.spec_from_file_location("fake_package", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert export_problems(module) == [
        "__all__ repeats open",
        "__all__ names Gone, which it lacks",
        "__all__ leaves out Library",
    ]


def test_public_names_are_read_from_the_source(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import os\n"
        "from typing import TYPE_CHECKING, Any\n"
        "from .library import Library, open as open_library\n"
        "if TYPE_CHECKING:\n    from vidsearch.types import Moment\n"
        "__version__ = '1'\n"
        "DEFAULT: int = 3\n"
        "def search(): ...\n"
        "class _Hidden: ...\n"
        "try:\n    from .extra import Extra\nexcept ImportError:\n    Extra = None\n"
        "def helper():\n    INNER = 1\n"
    )
    expected = {"Library", "open_library", "Moment", "DEFAULT", "search", "Extra", "helper"}
    assert public_names_defined(source) == expected
