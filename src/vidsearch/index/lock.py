"""One owner per index: an exclusive lock file that says who holds it.

Qdrant Edge itself refuses a second open with an opaque WAL error; taking this lock first
lets the second process say which process holds the index and what to do.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from vidsearch.errors import IndexLockedError

_RECORD = re.compile(r"pid (\d+): (.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LockHolder:
    """What the lock file says about the process that took it last: its pid and its own
    description (a `vidsearch serve` names its URL there)."""

    pid: int
    text: str

    @property
    def alive(self) -> bool:
        """The process is still running (it may hold the lock, or it may be a reused pid)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process
        return True


def read_holder(path: Path) -> LockHolder | None:
    """The holder record in the lock file `path`, read without taking the lock; None when
    there is none (never locked, released, or unreadable). The record outlives a process that
    was killed, so check `alive` (and whatever else the text claims) before trusting it."""
    try:
        text = path.read_bytes()[:4096].decode("utf-8", "replace").strip()
    except OSError:
        return None
    match = _RECORD.fullmatch(text)
    return LockHolder(int(match[1]), match[2]) if match else None


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
