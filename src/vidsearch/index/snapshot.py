"""`vidsearch snapshot DEST` / `vidsearch restore DEST`: a consistent copy of an index and back.

A snapshot is a folder laid out as a data directory's index (`config.DataDir`):

    manifest.json     format, vidsearch version, time, model, counts, every file's sha256
    catalog.sqlite    copied with SQLite's backup API (a consistent copy, its WAL included)
    index/            the frame shard, file for file (holes kept)
    dialogue/         the subtitle cue shard, if there is one
    thumbnails/

It is taken while holding the index lock, so no process writes while it is copied; the shards
on disk are then as their last writer flushed them (a killed writer's WAL is replayed on
load, as on any open). The copy is written as `DEST.partial` and renamed when complete and
checked: its catalog passes the integrity check and its shards load with the counts the
manifest records. (Qdrant Edge's own snapshot calls restore a shard from a server's
snapshot; they do not write one, so vidsearch copies files.)

Restoring checks every checksum first, then replaces the index of the data directory; the
index found there (if `--force` allowed replacing one) is moved to `replaced-<time>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

import qdrant_edge as qe

from vidsearch.config import DataDir
from vidsearch.errors import ConfigError, IndexCorruptError
from vidsearch.index.catalog import SCHEMA_VERSION
from vidsearch.index.copying import copy_tree, files_under, sha256_file
from vidsearch.index.doctor import read_catalog
from vidsearch.index.lock import IndexLock
from vidsearch.index.space import SpaceGuard, allocated_bytes

SNAPSHOT_FORMAT = 1
MANIFEST_FILE = DataDir.MANIFEST
FOLDERS = (*DataDir.SHARDS, DataDir.THUMBNAILS)  # copied file for file


@dataclass(slots=True)
class SnapshotManifest:
    format: int
    vidsearch_version: str
    created_at: str
    source: str
    catalog_schema: int
    meta: dict[str, str]
    videos: int
    complete_videos: int
    frames: int  # recorded for complete videos
    points: dict[str, int]  # per shard
    files: dict[str, dict[str, object]] = field(default_factory=dict)  # path -> size, sha256

    @classmethod
    def read(cls, folder: Path) -> SnapshotManifest:
        path = folder / MANIFEST_FILE
        try:
            data = json.loads(path.read_text())
            manifest = cls(**data)
        except FileNotFoundError:
            message = f"{folder} is not a vidsearch snapshot (it has no {MANIFEST_FILE})"
            raise ConfigError(message) from None
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorruptError(f"the snapshot manifest {path} is unreadable: {exc}") from None
        if manifest.format > SNAPSHOT_FORMAT:
            raise ConfigError(
                f"the snapshot {folder} has format {manifest.format}, newer than this vidsearch "
                f"reads ({SNAPSHOT_FORMAT}); upgrade vidsearch"
            )
        return manifest


def _count_points(shard_dir: Path) -> int:
    try:
        shard = qe.EdgeShard.load(str(shard_dir), None)
    except Exception as exc:  # qdrant_edge raises bare Exception
        raise IndexCorruptError(f"the shard {shard_dir} does not load: {exc}") from None
    try:
        return int(shard.count(qe.CountRequest(exact=True)))
    finally:
        shard.close()


def _describe(folder: Path, source: str) -> SnapshotManifest:
    """Counts of the index in `folder` (loading its shards: they must load)."""
    layout = DataDir(folder)
    try:
        videos, meta = read_catalog(layout.catalog)
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise IndexCorruptError(f"the catalog in {folder} is damaged: {exc}") from None
    points = {
        shard: _count_points(layout.part(shard))
        for shard in DataDir.SHARDS
        if (layout.part(shard) / "segments").is_dir()
    }
    frames = sum(v.frames for v in videos if v.complete)
    if points.get(DataDir.FRAMES, 0) < frames:
        raise IndexCorruptError(
            f"the index in {source} is damaged: its complete videos have {frames} frames, its "
            f"vector index {points.get(DataDir.FRAMES, 0)}; `vidsearch doctor --repair` first"
        )
    return SnapshotManifest(
        format=SNAPSHOT_FORMAT,
        vidsearch_version=version("vidsearch"),  # the package's own: the index is below it
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        source=source,
        catalog_schema=SCHEMA_VERSION,
        meta=meta,
        videos=len(videos),
        complete_videos=sum(v.complete for v in videos),
        frames=frames,
        points=points,
    )


def take_snapshot(home: Path, dest: Path) -> SnapshotManifest:
    """Copy the index of `home` into the new folder `dest`."""
    source, target = DataDir(home), DataDir(dest.with_name(f"{dest.name}.partial"))
    if not source.catalog.is_file():
        raise ConfigError(f"there is no index in {home} to snapshot")
    if dest.exists():
        raise ConfigError(f"{dest} already exists: give the snapshot a new folder")
    partial = target.home
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted snapshot
    needed = sum(
        allocated_bytes(source.part(part)) for part in FOLDERS if source.part(part).exists()
    )
    SpaceGuard(dest.parent).check_write(f"write a snapshot into {dest.parent}", extra=needed)
    partial.mkdir(parents=True)
    try:
        with IndexLock(source.lock, holder=f"vidsearch snapshot into {dest}"):
            reading = sqlite3.connect(source.catalog)
            writing = sqlite3.connect(target.catalog)
            try:
                reading.backup(writing)
            finally:
                writing.close()
                reading.close()
            for part in FOLDERS:
                if source.part(part).is_dir():
                    copy_tree(source.part(part), target.part(part))
        manifest = _describe(partial, str(home))
        for relative in files_under(partial):
            path = partial / relative
            manifest.files[str(relative)] = {
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        target.manifest.write_text(json.dumps(asdict(manifest), indent=1))
        os.sync()  # everything on disk before the snapshot gets its final name
        os.replace(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def verify_snapshot(folder: Path) -> SnapshotManifest:
    """The manifest, after checking that every file is there, unchanged, and nothing else."""
    manifest = SnapshotManifest.read(folder)
    present = {str(p) for p in files_under(folder)} - {MANIFEST_FILE}
    missing = sorted(set(manifest.files) - present)
    extra = sorted(present - set(manifest.files))
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise IndexCorruptError(f"the snapshot {folder} is incomplete or altered: {what}")
    for relative, expected in manifest.files.items():
        path = folder / relative
        if path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            raise IndexCorruptError(
                f"the snapshot {folder} is damaged: {relative} does not match its checksum"
            )
    return manifest


def restore_snapshot(
    source: Path, home: Path, *, force: bool = False
) -> tuple[SnapshotManifest, Path | None]:
    """Replace the index of `home` with the snapshot `source`; (its manifest, the folder
    the replaced index was moved to, if there was one)."""
    manifest = verify_snapshot(source)
    home.mkdir(parents=True, exist_ok=True)
    SpaceGuard(home).check_write("restore the snapshot", extra=allocated_bytes(source))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    layout = DataDir(home)
    with IndexLock(layout.lock, holder=f"vidsearch restore from {source}"):
        present = [p for p in DataDir.INDEX_PARTS if layout.part(p).exists()]
        if present and not force:
            raise ConfigError(
                f"{home} already holds an index; pass --force to replace it (it is moved to "
                f"{layout.replaced(stamp)}, not deleted)"
            )
        staging = layout.restore_staging(stamp)
        copy_tree(source, staging)
        DataDir(staging).manifest.unlink()
        replaced = layout.replaced(stamp) if present else None
        if replaced is not None:
            replaced.mkdir()
            for part in present:
                os.replace(home / part, replaced / part)
        for part in os.listdir(staging):
            os.replace(staging / part, home / part)
        staging.rmdir()
        try:
            restored = _describe(home, str(home))
            if (restored.videos, restored.frames, restored.points) != (
                manifest.videos,
                manifest.frames,
                manifest.points,
            ):
                raise IndexCorruptError(
                    f"the restored index does not match the snapshot's manifest: {restored.videos} "
                    f"videos, {restored.points} points instead of {manifest.videos}, "
                    f"{manifest.points}"
                )
        except IndexCorruptError:
            _undo(home, replaced, stamp)
            raise
    return manifest, replaced


def _undo(home: Path, replaced: Path | None, stamp: str) -> None:
    """Put the index that was there back; keep the failed restore aside."""
    failed = DataDir(home).restore_failed(stamp)
    failed.mkdir()
    for part in DataDir.INDEX_PARTS:
        if (home / part).exists():
            os.replace(home / part, failed / part)
    if replaced is not None:
        for part in os.listdir(replaced):
            os.replace(replaced / part, home / part)
        replaced.rmdir()
