"""`vidsearch doctor`: read every part of a data directory and say what does not add up.

Checks, in order:
- the catalog opens and passes SQLite's `PRAGMA integrity_check`;
- the frame shard (`index/`) opens and every point can be read back, with a finite vector of
  the index's size and an id derived from its (video, pts);
- every complete video has exactly the points its catalog row counts, each with its
  thumbnail; no point or thumbnail belongs to a video the catalog does not know;
- the dialogue shard (`dialogue/`, if any) opens and holds no cue of an unknown video;
- incomplete videos and videos whose file is gone are listed (notes, not errors).

The caller holds the index lock. `index/repair.py` acts on the findings.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import qdrant_edge as qe

from vidsearch.config import DataDir
from vidsearch.index.base import frame_point_id
from vidsearch.index.catalog import _record, select_videos
from vidsearch.types import VideoRecord

SCAN_PAGE = 1024
SHOWN_IDS = 3  # ids quoted in a message before "..."


class Problem(StrEnum):
    CATALOG_UNREADABLE = "catalog-unreadable"
    SHARD_UNREADABLE = "shard-unreadable"
    LOST_POINTS = "lost-points"  # complete videos miss points: the shard lost data
    DIALOGUE_UNREADABLE = "dialogue-unreadable"
    VIDEO_MISMATCH = "video-mismatch"  # a complete video with more points than its row says
    MISSING_THUMBNAILS = "missing-thumbnails"
    BAD_POINTS = "bad-points"  # unreadable vector, wrong size, or an id not from (video, pts)
    ORPHAN_POINTS = "orphan-points"
    ORPHAN_CUES = "orphan-cues"
    ORPHAN_THUMBNAILS = "orphan-thumbnails"
    INCOMPLETE = "incomplete"
    FILE_MISSING = "file-missing"


NOTES = frozenset({Problem.INCOMPLETE, Problem.FILE_MISSING})


@dataclass(frozen=True, slots=True)
class Finding:
    problem: Problem
    message: str
    video_id: str | None = None
    ids: tuple[str, ...] = ()  # the points or thumbnail files concerned

    @property
    def is_error(self) -> bool:
        return self.problem not in NOTES

    def to_json(self) -> dict[str, object]:
        return {
            "problem": self.problem.value,
            "severity": "error" if self.is_error else "note",
            "message": self.message,
            "video_id": self.video_id,
            "count": len(self.ids),
        }


@dataclass(slots=True)
class DoctorReport:
    home: Path
    videos: list[VideoRecord] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    points: int = 0
    thumbnails: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def data_dir(self) -> DataDir:
        return DataDir(self.home)

    @property
    def healthy(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def of(self, problem: Problem) -> list[Finding]:
        return [f for f in self.findings if f.problem is problem]

    def add(self, problem: Problem, message: str, video_id: str | None = None, ids=()) -> None:
        self.findings.append(Finding(problem, message, video_id, tuple(ids)))


def _quote(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (", ..." if len(ids) > SHOWN_IDS else "")


def read_catalog(path: Path) -> tuple[list[VideoRecord], dict[str, str]]:
    """Videos and meta of a catalog that passes the integrity check; sqlite3.DatabaseError
    (or ValueError for a row that makes no sense) otherwise."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        problems = [r[0] for r in db.execute("PRAGMA integrity_check(20)").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems))
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        rows = db.execute(f"{select_videos(db)} ORDER BY name").fetchall()
        return [_record(r) for r in rows], meta
    finally:
        db.close()


@dataclass(frozen=True, slots=True)
class _Point:
    point_id: str
    video_id: str
    pts: int | None
    vector_ok: bool


def scan_shard(path: Path, *, dim: int | None) -> Iterator[_Point]:
    """Every point of an Edge shard (loading it; raises on damage). With `dim`, vectors are
    read and checked; without, only payloads (the dialogue shard's cues)."""
    shard = qe.EdgeShard.load(str(path), None)
    try:
        offset = None
        while True:
            records, offset = shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=SCAN_PAGE, with_payload=True, with_vector=dim is not None
                )
            )
            for r in records:
                payload = r.payload or {}
                vector = r.vector if isinstance(r.vector, list) else None
                ok = dim is None or (
                    vector is not None
                    and len(vector) == dim
                    and all(math.isfinite(x) for x in vector)
                )
                pts = payload.get("pts")
                yield _Point(str(r.id), str(payload.get("video_id", "")), pts, ok)
            if offset is None:
                return
    finally:
        shard.close()


def examine(home: Path) -> DoctorReport:
    """Check the data directory `home` (whose lock the caller holds)."""
    report = DoctorReport(home)
    catalog = report.data_dir.catalog
    if not catalog.exists():
        if report.data_dir.frames_shard.exists():
            message = f"{catalog} is missing, but {DataDir.FRAMES}/ is not"
            report.add(Problem.CATALOG_UNREADABLE, message)
        return report
    try:
        report.videos, report.meta = read_catalog(catalog)
    except (sqlite3.DatabaseError, ValueError) as exc:
        report.add(Problem.CATALOG_UNREADABLE, f"the catalog {catalog} is damaged: {exc}")
        return report
    known = {r.video_id: r for r in report.videos}
    points = _check_frames(report, known)
    # with a damaged shard, which thumbnails have frames is unknown: it is rebuilt anyway
    damaged = report.of(Problem.SHARD_UNREADABLE) or report.of(Problem.LOST_POINTS)
    _check_thumbnails(report, known, None if damaged else points)
    _check_dialogue(report, known)
    for r in report.videos:
        if not r.complete:
            report.add(Problem.INCOMPLETE, f"{r.name} is not completely indexed", r.video_id)
        if not Path(r.path).is_file():
            report.add(Problem.FILE_MISSING, f"{r.name}: its file {r.path} is gone", r.video_id)
    return report


def _check_frames(report: DoctorReport, known: dict[str, VideoRecord]) -> dict[str, set[int]]:
    """Points of the frame shard, by video: {video id: {pts}} for the good ones."""
    dim_text = report.meta.get("dim")
    path = report.data_dir.frames_shard
    good: dict[str, set[int]] = defaultdict(set)
    if dim_text is None:
        return good
    if not (path / "segments").is_dir():
        if any(r.frames for r in report.videos):
            report.add(Problem.SHARD_UNREADABLE, f"the vector index {path} is missing")
        return good
    bad: dict[str | None, list[str]] = defaultdict(list)
    orphans: list[str] = []
    try:
        for p in scan_shard(path, dim=int(dim_text)):
            report.points += 1
            if p.video_id not in known:
                orphans.append(p.point_id)
            elif not p.vector_ok or not isinstance(p.pts, int):
                bad[p.video_id].append(p.point_id)
            elif frame_point_id(p.video_id, p.pts) != p.point_id:
                bad[p.video_id].append(p.point_id)
            else:
                good[p.video_id].add(p.pts)
    except Exception as exc:  # qdrant_edge raises bare Exception for every kind of damage
        report.add(Problem.SHARD_UNREADABLE, f"the vector index {path} is damaged: {exc}")
        return good
    if orphans:
        report.add(
            Problem.ORPHAN_POINTS,
            f"{len(orphans)} points belong to no video in the catalog ({_quote(orphans)})",
            ids=orphans,
        )
    for video_id, ids in bad.items():
        name = known[video_id].name if video_id in known else video_id
        report.add(
            Problem.BAD_POINTS,
            f"{name}: {len(ids)} points are unreadable or misplaced ({_quote(ids)})",
            video_id,
            ids,
        )
    short: list[str] = []
    missing = 0
    for r in report.videos:
        stored = len(good.get(r.video_id, ()))
        if r.complete and stored < r.frames and r.video_id not in bad:
            short.append(r.name)
            missing += r.frames - stored
        elif r.complete and (stored != r.frames or r.video_id in bad):
            report.add(
                Problem.VIDEO_MISMATCH,
                f"{r.name} is marked complete with {r.frames} frames, the index holds {stored}",
                r.video_id,
            )
    if short:  # nothing but damage removes points of a complete video: trust none of it
        report.add(
            Problem.LOST_POINTS,
            f"the vector index {path} lost {missing} frames of {len(short)} complete videos "
            f"({_quote(short)}); it is rebuilt from the videos' files",
        )
    return good


def _check_thumbnails(
    report: DoctorReport, known: dict[str, VideoRecord], points: dict[str, set[int]] | None
) -> None:
    root = report.data_dir.thumbnails
    on_disk: dict[str, set[str]] = defaultdict(set)
    if root.is_dir():
        for folder in root.iterdir():
            files = {f.name for f in folder.iterdir()} if folder.is_dir() else {folder.name}
            on_disk[folder.name] = files
            report.thumbnails += sum(name.endswith(".jpg") for name in files)
    for video_id, files in on_disk.items():
        record = known.get(video_id)
        if record is None:  # the whole folder goes
            report.add(
                Problem.ORPHAN_THUMBNAILS,
                f"{len(files)} thumbnails of a video the catalog does not know ({video_id}/)",
                ids=[video_id],
            )
            continue
        if points is None:
            continue
        expected = {f"{pts}.jpg" for pts in points.get(video_id, ())}
        # an incomplete video may have thumbnails of frames whose points are not written yet
        extra = sorted(files - expected) if record.complete else sorted(
            name for name in files if not name.endswith(".jpg")
        )  # fmt: skip
        if extra:
            ids = [f"{video_id}/{name}" for name in extra]
            report.add(
                Problem.ORPHAN_THUMBNAILS,
                f"{record.name}: {len(ids)} thumbnails without a frame ({_quote(ids)})",
                video_id,
                ids,
            )
        missing = sorted(expected - files)
        if missing:
            report.add(
                Problem.MISSING_THUMBNAILS,
                f"{record.name}: {len(missing)} frames have no thumbnail ({_quote(missing)})",
                video_id,
                [name.removesuffix(".jpg") for name in missing],
            )


def _check_dialogue(report: DoctorReport, known: dict[str, VideoRecord]) -> None:
    path = report.data_dir.dialogue_shard
    if not (path / "segments").is_dir():
        return
    orphans: list[str] = []
    try:
        for p in scan_shard(path, dim=None):
            if p.video_id not in known:
                orphans.append(p.point_id)
    except Exception as exc:  # qdrant_edge raises bare Exception
        report.add(Problem.DIALOGUE_UNREADABLE, f"the dialogue index {path} is damaged: {exc}")
        return
    if orphans:
        report.add(
            Problem.ORPHAN_CUES,
            f"{len(orphans)} subtitle cues belong to no video in the catalog",
            ids=orphans,
        )
