"""Copy index files without inflating them: Qdrant Edge keeps 32 MiB memory-mapped files that
are mostly holes, and a plain copy would write every zero. Checksums for manifests."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20


def _data_ranges(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the parts of a file that hold data (all of it where holes are unknown)."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole from here to the end
                return
            yield offset, size  # no hole support here: copy the rest
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        offset = end


def copy_file(source: Path, target: Path) -> None:
    """Copy one file byte for byte, holes kept as holes."""
    with source.open("rb") as src, target.open("xb") as dst:
        size = os.fstat(src.fileno()).st_size
        for start, end in _data_ranges(src.fileno(), size):
            position = start
            while position < end:
                data = os.pread(src.fileno(), min(CHUNK, end - position), position)
                if not data:
                    break
                os.pwrite(dst.fileno(), data, position)
                position += len(data)
        dst.truncate(size)


def copy_tree(source: Path, target: Path) -> int:
    """Copy a folder (regular files and folders only; links are not followed); files copied."""
    copied = 0
    for root, dirs, files in os.walk(source):
        dirs.sort()
        relative = Path(root).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            copy_file(path, target / relative / name)
            copied += 1
    return copied


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_under(folder: Path) -> Iterator[Path]:
    """Regular files under `folder`, relative to it, sorted."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(folder)
