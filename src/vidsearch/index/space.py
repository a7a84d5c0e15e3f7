"""Free disk space, checked before the index is opened or grown.

Qdrant Edge writes its WAL and segments through memory maps of sparse files. When the disk
fills, a write to such a page cannot fail with an error: the kernel kills the process with
SIGBUS (measured: on a full tmpfs, even loading a shard does). So vidsearch never lets it get
there: it opens the index only with `MIN_FREE_TO_OPEN` bytes free and adds frames only while
`MIN_FREE_TO_WRITE` bytes are free, and says so plainly otherwise. Deleting is always allowed:
that is how space comes back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vidsearch.errors import DiskFullError

MIB = 1024 * 1024
MIN_FREE_TO_OPEN = 16 * MIB  # loading a shard replays its WAL and may start a new segment
MIN_FREE_TO_WRITE = 64 * MIB  # a batch takes well under 1 MiB: the rest is a safety margin


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process may still write on the disk holding `path` (which need
    not exist yet: its nearest existing parent is asked)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stat = os.statvfs(probe)
    return stat.f_bavail * stat.f_frsize


def allocated_bytes(folder: Path) -> int:
    """Disk space the files under `folder` take (sparse files count what they use)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


@dataclass(frozen=True, slots=True)
class SpaceGuard:
    """Refuses to go on when the disk holding `path` is too full for what comes next."""

    path: Path
    min_free_to_open: int = MIN_FREE_TO_OPEN
    min_free_to_write: int = MIN_FREE_TO_WRITE

    def check_open(self) -> None:
        self._check("open the index", self.min_free_to_open)

    def check_write(self, what: str = "add frames to the index", extra: int = 0) -> None:
        """Before a write that may take up to `extra` bytes beyond a small batch."""
        self._check(what, self.min_free_to_write + extra)

    def _check(self, what: str, needed: int) -> None:
        free = free_bytes(self.path)
        if free < needed:
            raise DiskFullError(
                f"not enough free disk space to {what}: {_mib(free)} free on the disk of "
                f"{self.path}, vidsearch needs {_mib(needed)} (a full disk would crash the "
                "vector index). The index is intact: free some space and run the command again"
            )


def _mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"
