"""One owner per index: an exclusive lock file that says who holds it.

Qdrant Edge itself refuses a second open with an opaque WAL error; taking this lock first
lets the second process say which process holds the index and what to do.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from vidsearch.errors import IndexLockedError


class IndexLock:
    def __init__(self, path: Path, *, holder: str | None = None) -> None:
        """`holder` describes this process to the next one (default: its command line)."""
        self.path = path
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise IndexLockedError(
                f"the index in {self.path.parent} is in use by another process ({holder}). "
                "Wait for it to finish or stop it; while `vidsearch serve` runs, use the server."
            ) from None
        os.ftruncate(fd, 0)
        holder = self.holder or " ".join(sys.argv)[:300]
        os.pwrite(fd, f"pid {os.getpid()}: {holder}".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> IndexLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
