"""Watch a folder with Linux inotify (through libc, no extra package): which of its files were
opened or read while the watch was on, by any process."""

from __future__ import annotations

import ctypes
import os
import struct
from pathlib import Path

IN_ACCESS = 0x001
IN_OPEN = 0x020
IN_ISDIR = 0x40000000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then `len` bytes of name)


class FolderWatch:
    """`with FolderWatch(folder) as watch: ...` then `watch.touched()`: the names opened or
    read inside `folder` (the folder itself as "." when it was listed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = -1

    def __enter__(self) -> FolderWatch:
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._fd = fd
        mask = IN_OPEN | IN_ACCESS
        if self._libc.inotify_add_watch(fd, os.fsencode(self.folder), mask) < 0:
            os.close(fd)
            raise OSError(ctypes.get_errno(), f"cannot watch {self.folder}")
        return self

    def touched(self) -> list[str]:
        names: list[str] = []
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return sorted(set(names))
            offset = 0
            while offset < len(data):
                _, _, _, length = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                names.append(os.fsdecode(raw) if raw else ".")
                offset += _EVENT.size + length

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)
