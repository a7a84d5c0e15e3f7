"""`vidsearch doctor --repair`: act on a DoctorReport so that the index is consistent again,
and say which videos must be indexed again from their files to be whole.

- a damaged catalog: its readable rows are copied into a fresh one (the damaged file is kept
  beside it); if none can be read, the only way back is a snapshot (`vidsearch restore`);
- a frame shard that cannot be read, or that lost points of complete videos: moved aside
  (`index.damaged-<time>/`), the thumbnails deleted, every video marked incomplete, so that
  indexing rebuilds them from the files the catalog names (with the sampling options given);
- the same for the dialogue shard (its videos are re-read for their subtitles);
- points of unknown videos, unreadable or misplaced points, points without a thumbnail,
  thumbnails without a point: deleted; the videos concerned are marked incomplete (a
  complete video whose point count is wrong loses all its points and is redone);
- incomplete videos whose file exists are returned for re-indexing (by the caller, which
  has the encoder); those whose file is gone are listed.

The caller holds the index lock.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import qdrant_edge as qe

from vidsearch.config import DataDir
from vidsearch.errors import IndexCorruptError
from vidsearch.index.base import frame_point_id
from vidsearch.index.catalog import Catalog, _record, select_videos
from vidsearch.index.doctor import DoctorReport, Problem, examine
from vidsearch.index.edge import VIDEO_FIELD
from vidsearch.types import VideoRecord, VideoState


@dataclass(slots=True)
class RepairResult:
    actions: list[str] = field(default_factory=list)
    reindex: list[VideoRecord] = field(default_factory=list)  # incomplete, file present
    lost: list[VideoRecord] = field(default_factory=list)  # incomplete, file gone


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def salvage_catalog(home: Path) -> str:
    """Move the damaged catalog aside and copy its readable rows into a new one."""
    path = DataDir(home).catalog
    if not path.exists():
        raise IndexCorruptError(
            f"{path} is missing: restore a snapshot with `vidsearch restore`, or move {home} "
            "aside and index your videos again"
        )
    damaged = DataDir(home).damaged(path, _stamp())
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", f"{damaged}{suffix}")
    meta: list[tuple[str, str]] = []
    videos: list[VideoRecord] = []
    db = sqlite3.connect(damaged)
    try:
        for sql, sink in (
            ("SELECT key, value FROM meta", meta),
            (select_videos(db), videos),
        ):
            try:
                for row in db.execute(sql):  # up to the first unreadable page
                    try:
                        sink.append(_record(row) if sink is videos else tuple(row))
                    except ValueError:
                        continue
            except sqlite3.DatabaseError:
                continue
    finally:
        db.close()
    if not meta:
        raise IndexCorruptError(
            f"the catalog {damaged} cannot be salvaged (nothing in it is readable): restore a "
            f"snapshot with `vidsearch restore`, or move {home} aside and index your videos again"
        )
    catalog = Catalog(path)
    try:
        for key, value in meta:
            catalog.set_meta(key, value)
        for record in videos:
            catalog.start(record)
            if record.complete:
                catalog.complete(record.video_id, record.frames, record.duration)
    finally:
        catalog.close()
    return f"salvaged {len(videos)} videos into a new catalog (the damaged one: {damaged.name})"


def _move_aside(data_dir: DataDir, folder: Path) -> str:
    target = data_dir.damaged(folder, _stamp())
    os.replace(folder, target)
    return f"moved the damaged {folder.name}/ aside to {target.name}/"


def _delete_points(folder: Path, point_ids: list[str]) -> None:
    shard = qe.EdgeShard.load(str(folder), None)
    try:
        shard.update(qe.UpdateOperation.delete_points(point_ids))
        shard.flush()
    finally:
        shard.close()


def _delete_videos(folder: Path, video_ids: list[str]) -> None:
    shard = qe.EdgeShard.load(str(folder), None)
    try:
        match = qe.MatchAny(video_ids)
        flt = qe.Filter(must=[qe.FieldCondition(key=VIDEO_FIELD, match=match)])
        shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
        shard.flush()
    finally:
        shard.close()


def repair(report: DoctorReport) -> RepairResult:
    """Repair what `report` found; the videos to index again are in the result."""
    home, data_dir = report.home, report.data_dir
    result = RepairResult()
    if report.of(Problem.CATALOG_UNREADABLE):
        result.actions.append(salvage_catalog(home))
        report = examine(home)
    if not data_dir.catalog.exists():
        return result  # nothing was ever indexed here
    redo: set[str] = set()  # videos to mark incomplete
    frames, dialogue = data_dir.frames_shard, data_dir.dialogue_shard
    if report.of(Problem.SHARD_UNREADABLE) or report.of(Problem.LOST_POINTS):
        if frames.exists():
            result.actions.append(_move_aside(data_dir, frames))
        shutil.rmtree(data_dir.thumbnails, ignore_errors=True)  # made again with the frames
        redo.update(r.video_id for r in report.videos)
    else:
        doomed = [i for f in report.of(Problem.ORPHAN_POINTS) for i in f.ids]
        for f in report.of(Problem.BAD_POINTS):
            doomed += f.ids
            redo.add(f.video_id or "")
        for f in report.of(Problem.MISSING_THUMBNAILS):
            doomed += [frame_point_id(f.video_id or "", int(pts)) for pts in f.ids]
            redo.add(f.video_id or "")
        if doomed:
            _delete_points(frames, doomed)
            result.actions.append(f"deleted {len(doomed)} orphan, damaged or unshown points")
        mismatched = [f.video_id or "" for f in report.of(Problem.VIDEO_MISMATCH)]
        if mismatched:
            _delete_videos(frames, mismatched)
            for video_id in mismatched:
                shutil.rmtree(data_dir.thumbnails / video_id, ignore_errors=True)
            redo.update(mismatched)
            result.actions.append(f"cleared {len(mismatched)} inconsistent videos to redo them")
    if report.of(Problem.DIALOGUE_UNREADABLE):
        result.actions.append(_move_aside(data_dir, dialogue))
        redo.update(r.video_id for r in report.videos)  # their subtitles are read again
    cues = [i for f in report.of(Problem.ORPHAN_CUES) for i in f.ids]
    if cues:
        _delete_points(dialogue, cues)
        result.actions.append(f"deleted {len(cues)} subtitle cues of unknown videos")
    files = [i for f in report.of(Problem.ORPHAN_THUMBNAILS) for i in f.ids]
    for name in files:
        target = data_dir.thumbnails / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
    if files:
        result.actions.append(f"deleted {len(files)} orphan thumbnails")
    _mark_incomplete(data_dir, redo, result)
    return result


def _mark_incomplete(data_dir: DataDir, redo: set[str], result: RepairResult) -> None:
    catalog = Catalog(data_dir.catalog)
    try:
        marked = 0
        for record in catalog.videos():
            if record.video_id in redo and record.complete:
                catalog.start(dataclasses.replace(record, state=VideoState.INDEXING))
                marked += 1
        if marked:
            result.actions.append(f"marked {marked} videos incomplete, to be indexed again")
        for record in catalog.videos():
            if not record.complete:
                target = result.reindex if Path(record.path).is_file() else result.lost
                target.append(record)
    finally:
        catalog.close()
