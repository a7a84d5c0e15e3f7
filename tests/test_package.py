"""Package hygiene: exported names exist, the core imports without the CLI stack, the service
stack or PyTorch."""

from __future__ import annotations

import ast
import importlib
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


def public_names_defined(path: Path) -> set[str]:
    """Names without a leading underscore bound at the top of a module (assignments, defs,
    classes, `from x import y`), whatever their value: the generic meaning of "public"."""
    names: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            names |= {(alias.asname or alias.name) for alias in node.names}
    return {name for name in names if not name.startswith("_")}


def test_the_package_all_is_honest() -> None:
    """Every name in vidsearch.__all__ exists; every public name vidsearch/__init__.py binds
    (other than a submodule) is listed."""
    exported = list(getattr(vidsearch, "__all__", []))
    assert len(exported) == len(set(exported)), f"__all__ repeats a name: {exported}"
    missing = [name for name in exported if not hasattr(vidsearch, name)]
    assert missing == [], f"vidsearch.__all__ names what the package lacks: {missing}"
    public = {
        name
        for name in public_names_defined(INIT)
        if not isinstance(getattr(vidsearch, name, None), types.ModuleType)
    }
    unlisted = sorted(public - set(exported))
    assert unlisted == [], f"public names missing from vidsearch.__all__: {unlisted}"


def test_public_names_are_read_from_the_source(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import os\n"
        "from .library import Library, open as open_library\n"
        "__version__ = '1'\n"
        "DEFAULT: int = 3\n"
        "def search(): ...\n"
        "class _Hidden: ...\n"
        "try:\n    from .extra import Extra\nexcept ImportError:\n    Extra = None\n"
        "def helper():\n    INNER = 1\n"
    )
    expected = {"Library", "open_library", "DEFAULT", "search", "Extra", "helper"}
    assert public_names_defined(source) == expected
