"""One error tree: every error class of the package derives from VidsearchError, and the tree
drawn in `vidsearch.errors`' docstring is the real one (names, parents, modules); each edge
maps the errors in one table (CLI exit codes, HTTP statuses)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import vidsearch
from vidsearch import errors
from vidsearch.errors import (
    EXIT_FAILURE,
    ConfigError,
    ConflictError,
    DecodeError,
    DiskFullError,
    IndexCorruptError,
    IndexError_,
    IndexLockedError,
    MediaError,
    ModelError,
    ModelMismatchError,
    NotFoundError,
    QueryError,
    SubtitleError,
    VidsearchError,
    exit_code,
)

# Control flow, not failures: raised to unwind a loop and caught by their raiser's caller.
SIGNALS = {"vidsearch.service.jobs.JobCancelled", "vidsearch.train.mlflow_server._Stopped"}
_TREE_LINE = re.compile(r"^(?P<indent>[ │]*)(?:[├└]── )?(?P<name>\w+)(?P<rest>.*)$")
_MODULE_HINT = re.compile(r"\((vidsearch[\w.]*)\)\s*$")


def _modules() -> list[ModuleType]:
    """Every vidsearch module that imports here (one needing a missing extra is skipped)."""
    found = []
    for info in pkgutil.walk_packages(vidsearch.__path__, "vidsearch."):
        if info.name.endswith("__main__"):  # runs the CLI
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ImportError as exc:
            if exc.name and exc.name.split(".")[0] == "vidsearch":
                raise  # our own import is broken: that is a failure, not a missing extra
    return found


@pytest.fixture(scope="module")
def exception_classes() -> dict[str, type[BaseException]]:
    """Exception classes defined in vidsearch: qualified name -> class."""
    classes = {}
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return classes


def _drawn_tree() -> dict[str, tuple[str | None, str | None]]:
    """The docstring's tree: class name -> (parent name, module hint)."""
    doc = errors.__doc__ or ""
    lines = [line for line in doc.splitlines() if line.startswith("    ") and line.strip()]
    tree: dict[str, tuple[str | None, str | None]] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name)
    for line in lines:
        match = _TREE_LINE.match(line[4:])
        assert match, line
        column = len(match["indent"]) + (4 if "──" in line else 0)
        name = match["name"]
        while stack and stack[-1][0] >= column:
            stack.pop()
        hint = _MODULE_HINT.search(match["rest"])
        assert name not in tree, f"{name} is drawn twice"
        tree[name] = (stack[-1][1] if stack else None, hint[1] if hint else None)
        stack.append((column, name))
    return tree


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("vidsearch"):
            found += [sub, *_subclasses(sub)]
    return found


def test_the_docstring_draws_the_real_tree(exception_classes: dict) -> None:
    tree = _drawn_tree()
    assert tree["VidsearchError"] == (None, None)
    real = {cls.__name__: cls for cls in _subclasses(VidsearchError)}
    assert sorted(real) == sorted(set(tree) - {"VidsearchError"}), "drawn vs defined classes"
    for name, cls in real.items():
        parent, hint = tree[name]
        assert cls.__bases__[0].__name__ == parent, f"{name} derives from {cls.__bases__[0]}"
        if hint is not None:
            assert cls.__module__.startswith(hint), f"{name} lives in {cls.__module__}"


def test_every_error_class_derives_from_vidsearch_error(exception_classes: dict) -> None:
    assert "vidsearch.errors.QueryError" in exception_classes  # the walk found the modules
    outside = [
        name
        for name, cls in exception_classes.items()
        if not issubclass(cls, VidsearchError) and name not in SIGNALS
    ]
    assert outside == [], "error classes outside the tree"
    direct = [
        name
        for name, cls in exception_classes.items()
        if Exception in cls.__bases__ and cls is not VidsearchError and name not in SIGNALS
    ]
    assert direct == []


def test_the_cli_exits_with_1_for_every_library_error(exception_classes: dict) -> None:
    library = [c for c in exception_classes.values() if issubclass(c, VidsearchError)]
    assert len(library) > 20
    for cls in library:
        error = cls.__new__(cls)  # some take more than a message: the class alone decides
        assert exit_code(error) == EXIT_FAILURE, cls


def test_an_exit_code_entry_applies_to_the_class_and_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(errors.EXIT_CODES, IndexError_, 7)
    assert exit_code(IndexLockedError("held")) == 7
    assert exit_code(IndexError_("x")) == 7
    assert exit_code(QueryError("bad")) == EXIT_FAILURE


def test_http_statuses_per_error_class(exception_classes: dict) -> None:
    pytest.importorskip("fastapi")
    from vidsearch.service.errors import ApiError, status_for

    expected = {
        QueryError: 400,
        ConfigError: 400,
        NotFoundError: 404,
        ConflictError: 409,
        ModelMismatchError: 409,  # an IndexError_, but its own entry wins
        MediaError: 415,
        DecodeError: 415,
        ModelError: 503,
        IndexError_: 503,
        IndexLockedError: 503,
        IndexCorruptError: 503,
        DiskFullError: 503,
        SubtitleError: 500,
        VidsearchError: 500,
    }
    assert {cls: status_for(cls("x")) for cls in expected} == expected
    (empty,) = [c for c in exception_classes.values() if c.__name__ == "EmptyIndexError"]
    assert status_for(empty("nothing indexed")) == 400
    assert status_for(ApiError(416, "no such range")) == 416
