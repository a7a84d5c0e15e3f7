"""Imports flow one way through vidsearch's layers; no cycles between the core's units.

Every module under src/vidsearch is read with `ast` (nothing is imported, so the test is fast
and needs no extra): its imports at module level and inside functions, relative ones resolved.
Each module belongs to one layer of LAYERS (the first, longest matching prefix wins). A module
may import its own layer and the layers below it, never one above; the side packages (train,
data, evaluation, pipelines, testing) may import the core (layers 0-5) and each other, the
core never imports them, the edges may. Within the core, imports between units (a unit is a
package, or a top-level module) must not form a cycle. A module that no prefix places fails the
test: a new module must be given its layer here.

Exempt: imports under `if TYPE_CHECKING:` (they never run, and only type hints use them).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "vidsearch"

SIDE = "side"
LAYER_NAMES = {
    0: "base",
    1: "media/text/subtitles",
    2: "encoders",
    3: "index",
    4: "ingest/search",
    5: "public API",
    6: "edges",
    SIDE: "side",
}
# Module name or package prefix -> layer. To place a new module, add it here.
LAYERS: dict[str, int | str] = {
    "vidsearch.config": 0,
    "vidsearch.errors": 0,
    "vidsearch.types": 0,
    "vidsearch.fingerprint": 0,
    "vidsearch.faults": 0,
    "vidsearch.layout": 0,
    "vidsearch.paths": 0,
    "vidsearch.media": 1,
    "vidsearch.text": 1,
    "vidsearch.subtitles": 1,
    "vidsearch.encoders": 2,
    "vidsearch.dialogue.encoder": 2,
    "vidsearch.speech": 2,
    "vidsearch.screen_text": 2,
    "vidsearch.index": 3,
    "vidsearch.ingest": 4,
    "vidsearch.prefetch": 4,
    "vidsearch.dialogue.indexer": 4,
    "vidsearch.dialogue.placement": 4,
    "vidsearch.dialogue.sources": 4,
    "vidsearch.search": 4,
    "vidsearch.library": 5,
    "vidsearch.assembly": 5,
    "vidsearch": 5,  # the package's __init__ only: every other module matches a longer prefix
    "vidsearch.cli": 6,
    "vidsearch.service": 6,
    "vidsearch.client": 6,
    "vidsearch.__main__": 6,
    "vidsearch.train": SIDE,
    "vidsearch.data": SIDE,
    "vidsearch.evaluation": SIDE,
    "vidsearch.pipelines": SIDE,
    "vidsearch.testing": SIDE,
}
EDGES = 6
CORE = range(0, EDGES)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    file: Path
    line: int

    def where(self) -> str:
        return f"{self.file.relative_to(SRC.parent)}:{self.line}"


def module_names() -> dict[str, Path]:
    """Every module under src/vidsearch by dotted name (a package by its own name)."""
    names = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def layer_of(module: str) -> int | str | None:
    """The layer of the longest prefix in LAYERS that names `module` or a package above it."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            if prefix == PACKAGE and end < len(parts):
                return None  # `vidsearch` places only the package's __init__
            return LAYERS[prefix]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree except those under `if TYPE_CHECKING:` (their else runs)."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def imports_of(module: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """The vidsearch modules `module` imports at run time (from-imports resolved to the
    submodule when the imported name is one, else to the package or module it comes from)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in _runtime_nodes(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.append(sub if sub in known else source)
        for target in dict.fromkeys(targets):
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.append(Import(module, _existing(target, known), path, node.lineno))
    return sorted(set(found), key=lambda e: (e.line, e.imported))


def _existing(target: str, known: dict[str, Path]) -> str:
    """`target`, or the nearest package above it that exists (`import a.b.c` of a name)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in known:
            return name
    return target


def all_imports() -> tuple[dict[str, Path], list[Import]]:
    known = module_names()
    edges = [edge for name, path in known.items() for edge in imports_of(name, path, known)]
    return known, edges


def _describe(layer: int | str) -> str:
    return f"{layer} {LAYER_NAMES[layer]}" if layer != SIDE else "side"


def violation(edge: Import) -> str | None:
    """Why this import goes against the order, or None if it is allowed."""
    high, low = layer_of(edge.importer), layer_of(edge.imported)
    assert high is not None and low is not None  # unknown modules are reported apart
    if high == SIDE:
        allowed = low == SIDE or low in CORE
    elif low == SIDE:
        allowed = high == EDGES
    else:
        allowed = low <= high
    if allowed:
        return None
    return (
        f"{edge.importer} -> {edge.imported} ({edge.where()}): "
        f"layer {_describe(high)} may not import layer {_describe(low)}"
    )


def unit_of(module: str) -> str:
    """The unit a module belongs to, for cycles: `vidsearch.x` for vidsearch.x and below,
    except that the dialogue modules, which sit in different layers, are units of their own."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "dialogue":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def unit_cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected groups of more than one core unit (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        a, b = unit_of(edge.importer), unit_of(edge.imported)
        if a != b and layer_of(edge.importer) in CORE and layer_of(edge.imported) in CORE:
            graph[a].add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_every_module_has_a_layer() -> None:
    known = module_names()
    assert len(known) > 50, "src/vidsearch was not found"
    unplaced = [f"{name} ({path.relative_to(SRC.parent)})" for name, path in known.items()
                if layer_of(name) is None]  # fmt: skip
    if unplaced:
        pytest.fail(
            "modules with no layer (add them to LAYERS):\n  " + "\n  ".join(unplaced), pytrace=False
        )


def test_imports_follow_the_layers() -> None:
    _, edges = all_imports()
    placed = [
        e for e in edges if layer_of(e.importer) is not None and layer_of(e.imported) is not None
    ]
    wrong = sorted({text for edge in placed if (text := violation(edge))})
    if wrong:
        pytest.fail(
            f"{len(wrong)} imports against the layers:\n  " + "\n  ".join(wrong), pytrace=False
        )


def test_no_import_cycles_between_core_units() -> None:
    _, edges = all_imports()
    groups = unit_cycles(edges)
    lines = []
    for group in groups:
        members = set(group)
        lines.append(" <-> ".join(group))
        for edge in sorted(edges, key=lambda e: (e.importer, e.where())):
            a, b = unit_of(edge.importer), unit_of(edge.imported)
            if a != b and a in members and b in members:
                lines.append(f"    {edge.importer} -> {edge.imported} ({edge.where()})")
    if groups:
        pytest.fail("import cycles between core units:\n  " + "\n  ".join(lines), pytrace=False)


# -- the checker itself, on small made-up trees ----------------------------------------------


def _edges_of(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, str]]:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    known = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(tmp_path).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        known[".".join(parts)] = path
    return sorted(
        (e.importer, e.imported) for m, p in known.items() for e in imports_of(m, p, known)
    )


def test_the_parser_resolves_relative_lazy_and_from_imports(tmp_path: Path) -> None:
    edges = _edges_of(
        tmp_path,
        {
            "__init__.py": "",
            "config.py": "def f():\n    from .encoders import base\n",
            "encoders/__init__.py": "from . import base\nfrom ..types import Frame\n",
            "encoders/base.py": "import vidsearch.errors as e\nfrom vidsearch.index import x\n",
            "index/__init__.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from vidsearch.cli import app\nelse:\n    import json\n",
            "types.py": "",
            "errors.py": "",
        },
    )
    assert edges == [
        ("vidsearch.config", "vidsearch.encoders.base"),
        ("vidsearch.encoders", "vidsearch.encoders.base"),
        ("vidsearch.encoders", "vidsearch.types"),
        ("vidsearch.encoders.base", "vidsearch.errors"),
        ("vidsearch.encoders.base", "vidsearch.index"),
    ]


def test_the_rules() -> None:
    src = SRC / PACKAGE / "x.py"

    def check(a: str, b: str) -> str | None:
        return violation(Import(a, b, src, 1))

    assert check("vidsearch.search", "vidsearch.index.store") is None
    assert check("vidsearch.cli.app", "vidsearch.train.runner") is None
    assert check("vidsearch.train.runner", "vidsearch.library") is None
    assert check("vidsearch.train.runner", "vidsearch.data.records") is None
    upward = check("vidsearch.config", "vidsearch.dialogue.encoder")
    assert upward == (
        "vidsearch.config -> vidsearch.dialogue.encoder (src/vidsearch/x.py:1): "
        "layer 0 base may not import layer 2 encoders"
    )
    assert check("vidsearch.ingest", "vidsearch.testing.videos") is not None
    assert check("vidsearch.train.runner", "vidsearch.cli.app") is not None
    assert layer_of("vidsearch") == 5 and layer_of("vidsearch.newthing") is None
    assert layer_of("vidsearch.cli_new") is None  # a prefix matches whole dotted names only
    cycle = [
        Import("vidsearch.config", "vidsearch.dialogue.encoder", src, 1),
        Import("vidsearch.dialogue.encoder", "vidsearch.config", src, 2),
        Import("vidsearch.search.fusion", "vidsearch.search", src, 3),
    ]
    assert unit_cycles(cycle) == [["vidsearch.config", "vidsearch.dialogue.encoder"]]
