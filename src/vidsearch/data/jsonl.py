"""A table as a JSON Lines file: one object per line, appended to, never edited in place.

A process killed while appending can leave half a line at the end; reading drops it (and
`repair_tail` truncates it away before the next append), so a killed step loses at most the
row it was writing. A damaged line anywhere else is an error naming the file and line.
Rewrites go through a temporary file and `os.replace`, so a reader sees the old or the new
file, never a mix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from vidsearch.data.errors import DatasetError


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The objects in `path` (none if it does not exist); an unterminated last line is an
    append that did not finish, and is not read."""
    if not path.exists():
        return
    with path.open("rb") as file:
        lines = file.read().split(b"\n")
    last = len(lines) - 1
    for number, line in enumerate(lines, 1):
        if number - 1 == last:  # no newline after it: torn by an interrupted append (or empty)
            return
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}:{number} is not a JSON line ({exc})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number} is not a JSON object")
        yield row


def repair_tail(path: Path) -> bool:
    """Cut an unterminated last line (from a killed append); True if something was cut."""
    if not path.exists():
        return False
    with path.open("r+b") as file:
        size = file.seek(0, os.SEEK_END)
        if size == 0:
            return False
        file.seek(max(0, size - 1))
        if file.read(1) == b"\n":
            return False
        keep = _last_newline_end(file, size)
        file.truncate(keep)
        return True


def _last_newline_end(file: IO[bytes], size: int) -> int:
    position, chunk = size, 65536
    while position > 0:
        start = max(0, position - chunk)
        file.seek(start)
        data = file.read(position - start)
        index = data.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        position = start
    return 0


def encode_row(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class Appender:
    """Appends rows to a JSONL file; `flush()` makes them durable (fsync)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def append(self, row: dict[str, Any]) -> None:
        if self._file is None:
            repair_tail(self.path)
            self._file = self.path.open("ab")
        self._file.write(encode_row(row))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None


def rewrite(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Replace `path` with exactly `rows`, atomically."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        for row in rows:
            file.write(encode_row(row))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
