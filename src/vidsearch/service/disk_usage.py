"""Bytes that files and folders take on disk, counted as `du` counts them: the blocks
allocated (`st_blocks` x 512), not the apparent size. A sparse or preallocated file (Qdrant's
segments reserve far more than they hold) counts what it really uses; a file with several
links counts once; links are not followed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

BLOCK_BYTES = 512  # the unit of st_blocks, whatever the file system's block size


def allocated_bytes(paths: Iterable[Path]) -> int:
    """The disk space of `paths` and everything under them; missing paths count 0."""
    seen: set[tuple[int, int]] = set()
    total = 0

    def count(path: str) -> bool:
        """Add one entry; whether it is a folder to walk into."""
        nonlocal total
        try:
            info = os.lstat(path)
        except OSError:  # gone meanwhile (a segment replaced, a thumbnail deleted)
            return False
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * BLOCK_BYTES
        return stat.S_ISDIR(info.st_mode)

    for top in paths:
        if not count(str(top)):
            continue
        for root, folders, files in os.walk(top):
            for name in files:
                count(os.path.join(root, name))
            # os.walk follows no links by default; a link to a folder counts as a link
            folders[:] = [name for name in folders if count(os.path.join(root, name))]
    return total
