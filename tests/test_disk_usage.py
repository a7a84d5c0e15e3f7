"""allocated_bytes counts what `du` counts: allocated blocks, each inode once, links unfollowed."""

from __future__ import annotations

import os
from pathlib import Path

from disk_support import du_bytes
from vidsearch.service.disk_usage import allocated_bytes


def test_counts_blocks_as_du_does(tmp_path: Path) -> None:
    shard = tmp_path / "index"
    (shard / "segments" / "0").mkdir(parents=True)
    sparse = shard / "segments" / "0" / "vectors.dat"
    with sparse.open("wb") as file:  # preallocated the way Qdrant's mmap files are: mostly holes
        file.truncate(64 * 1024 * 1024)
        file.write(b"v" * 5000)
    (shard / "wal").write_bytes(os.urandom(70_000))
    os.link(shard / "wal", shard / "wal.link")  # the same blocks under two names
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(os.urandom(300_000))
    (shard / "to_outside").symlink_to(outside)  # not followed
    catalog = tmp_path / "catalog.sqlite"
    catalog.write_bytes(b"c" * 12_345)
    parts = [catalog, shard]

    size = allocated_bytes([*parts, tmp_path / "catalog.sqlite-wal"])  # a part not there: 0

    assert size == du_bytes(parts)
    assert 70_000 + 12_345 < size < 1_000_000  # the hole, the link and `outside` not counted
    assert sparse.stat().st_size > 60 * 1024 * 1024


def test_nothing_there_is_zero(tmp_path: Path) -> None:
    assert allocated_bytes([tmp_path / "missing"]) == 0
    assert allocated_bytes([]) == 0
