"""Dotted field paths into JSON documents, for configurable APIs.

    "title"                          doc["title"]
    "data.image_url"                 doc["data"]["image_url"]
    "images[0]"                      doc["images"][0]
    "data.translations[].text"       [t["text"] for t in doc["data"]["translations"]]

An empty path is the document itself. A missing field raises `FieldPathError` naming the path.
"""

from __future__ import annotations

import re
from typing import Any

from vidsearch.data.errors import DataError

_STEP = re.compile(r"^(?P<name>[^.\[\]]*)(?P<index>\[(?:\d+)?\])?$")


class FieldPathError(DataError):
    pass


def _steps(path: str) -> list[tuple[str, str | None]]:
    steps = []
    for part in path.split(".") if path else []:
        match = _STEP.match(part)
        if not match or not (match["name"] or match["index"]):
            raise FieldPathError(f"invalid field path {path!r} (at {part!r})")
        steps.append((match["name"], match["index"]))
    return steps


def check_path(path: str) -> str:
    """`path` if it is well formed, else FieldPathError (call early, before any request)."""
    _steps(path)
    return path


def extract(document: Any, path: str) -> Any:
    return _walk(document, _steps(path), path)


def _walk(value: Any, steps: list[tuple[str, str | None]], path: str) -> Any:
    for position, (name, index) in enumerate(steps):
        if name:
            if not isinstance(value, dict) or name not in value:
                raise FieldPathError(f"no field {name!r} (path {path!r})")
            value = value[name]
        if index is None:
            continue
        if not isinstance(value, list):
            raise FieldPathError(f"{name or 'value'!r} is not a list (path {path!r})")
        if index == "[]":
            rest = steps[position + 1 :]
            return [_walk(item, rest, path) for item in value]
        number = int(index[1:-1])
        if number >= len(value):
            raise FieldPathError(f"{name!r} has no item {number} (path {path!r})")
        value = value[number]
    return value
