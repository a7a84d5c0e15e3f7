"""The steps of the `video_ingest` workflow: discover new videos, index each, refresh stats.

    discover(folder=..., sources=[...], settings={...})   -> {"new": [path or URL, ...], ...}
    index_video(source, settings={...})                   -> the video's report
    refresh_stats(settings={...}, discovered=[...], reports=[...]) -> counts of the index

A video is *new* unless the index's catalog holds its content (the file's fingerprint, the
id `vidsearch index` gives it) as complete. Each step opens the library (`vidsearch.open`) and
closes it before returning. With the embedded index only one process may hold it at a time
(another gets `IndexLockedError`, naming the holder: retry later); with a Qdrant server
(`qdrant_url`) any number of workers may index at once.

`settings` are vidsearch's index settings as JSON (`params.SETTINGS_FIELDS`); what is left
out comes from `VIDSEARCH_*` as for every vidsearch command.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vidsearch
from vidsearch.config import Settings
from vidsearch.errors import ConfigError, MediaError
from vidsearch.fingerprint import file_fingerprint
from vidsearch.index.edge import OPTIMIZE_MIN_POINTS
from vidsearch.index.store import IndexStore
from vidsearch.ingest import VIDEO_EXTENSIONS, IngestStatus
from vidsearch.pipelines.downloads import DEFAULT_MAX_BYTES, download, is_url, staged_path
from vidsearch.pipelines.params import INDEX_PARAMS, Kind, build_settings, spec

DEFAULT_PATTERN = "**/*"
DEFAULT_SETTLE_S = 60.0  # a file changed this recently may still be being copied in
HOLDER = "vidsearch pipelines video_ingest"

PARAMS = (
    spec("folder", Kind.STRING, "Folder watched for videos (walked with `pattern`)"),
    spec(
        "pattern",
        Kind.STRING,
        "Glob of the files in `folder` (only video extensions are taken)",
        DEFAULT_PATTERN,
    ),
    spec("sources", Kind.ARRAY, "More videos: file paths and http(s) URLs", []),
    spec(
        "settle_seconds",
        Kind.NUMBER,
        "Leave files modified this recently for the next run (still being copied)",
        DEFAULT_SETTLE_S,
    ),
    spec("staging", Kind.STRING, "Folder where URLs are downloaded [default: HOME/staging]"),
    spec(
        "max_download_bytes",
        Kind.INTEGER,
        "Largest video downloaded from a URL",
        DEFAULT_MAX_BYTES,
    ),
    spec(
        "optimize_min_points",
        Kind.INTEGER,
        "Build the embedded index's search graph once this many points are not in it",
        OPTIMIZE_MIN_POINTS,
    ),
)

DAG_PARAMS = (*PARAMS, *INDEX_PARAMS)  # the video_ingest DAG's params


def staging_folder(settings: Settings, staging: str | None) -> Path:
    return Path(staging) if staging else settings.data_dir.staging


def discover(
    *,
    folder: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    sources: Sequence[str] = (),
    settle_seconds: float = DEFAULT_SETTLE_S,
    staging: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The videos of `folder` (matching `pattern`) and `sources` that the index does not hold
    complete yet, each once (by content), in order; and what was left out, and why."""
    config = build_settings(settings or {})
    if not folder and not sources:
        raise ConfigError("nothing to watch: give a folder, or sources (paths or URLs)")
    candidates: list[str] = []
    report: dict[str, Any] = {"new": [], "known": [], "settling": [], "missing": []}
    if folder:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise ConfigError(f"the watched folder {root} does not exist")
        candidates += [
            str(path)
            for path in sorted(root.glob(pattern))
            if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file()
        ]
    candidates += [s if is_url(s) else str(Path(s).expanduser()) for s in sources]
    staged = staging_folder(config, staging)
    now = time.time()
    seen: set[str] = set()
    with _open_store(config) as store:
        for source in candidates:
            local = staged_path(source, staged) if is_url(source) else Path(source)
            if not local.is_file():
                # a URL not downloaded yet is new; a missing file is reported by index_video
                report["new" if is_url(source) else "missing"].append(source)
                continue
            status = local.stat()
            if not is_url(source) and now - status.st_mtime < settle_seconds:
                report["settling"].append(source)
                continue
            content = _unchanged(store, local, status) or file_fingerprint(local)
            if content in seen:
                continue
            seen.add(content)
            record = store.catalog.by_id(content)
            report["known" if record is not None and record.complete else "new"].append(source)
    report["new"] += report["missing"]  # their own task fails with the reason
    return report


def _unchanged(store: IndexStore, path: Path, status: os.stat_result) -> str | None:
    """The id of the complete video indexed from `path` if the file has not changed since
    (same size and modification time): a folder watch need not read every file each run."""
    for record in store.catalog.by_path(os.path.abspath(path)):
        if record.complete and (record.size, record.mtime_ns) == (
            status.st_size,
            status.st_mtime_ns,
        ):
            return record.video_id
    return None


def index_video(
    source: str,
    *,
    settings: Mapping[str, Any] | None = None,
    staging: str | None = None,
    max_download_bytes: int = DEFAULT_MAX_BYTES,
    holder: str = HOLDER,
) -> dict[str, Any]:
    """Index one video file or URL (downloaded first); its report. An already complete video
    is `skipped`; a video that cannot be indexed raises `MediaError` with the reason."""
    config = build_settings(settings or {})
    path = (
        download(source, staging_folder(config, staging), max_bytes=max_download_bytes)
        if is_url(source)
        else Path(source)
    )
    with vidsearch.open(settings=config, holder=f"{holder}: {source}") as library:
        [report] = library.index([path], build_graph=False).videos  # refresh_stats builds it
    if report.status is IngestStatus.FAILED:
        raise MediaError(report.error or f"{path}: cannot be indexed")
    return report.to_json() | {"source": source}


def refresh_stats(
    *,
    settings: Mapping[str, Any] | None = None,
    discovered: Sequence[str] = (),
    reports: Sequence[Mapping[str, Any]] = (),
    optimize_min_points: int = OPTIMIZE_MIN_POINTS,
) -> dict[str, Any]:
    """The index's counts after a run; builds the embedded index's search graph when at
    least `optimize_min_points` points are not in it. `discovered` and `reports` (this run's
    successful index_video reports) tell which videos failed."""
    config = build_settings(settings or {})
    done = {r.get("source") for r in reports}
    with _open_store(config) as store:
        videos = store.catalog.videos()
        unindexed = store.vectors.unindexed_points() if store.has_vectors else 0
        optimized = store.has_vectors and store.vectors.optimize(min_points=optimize_min_points)
        if store.has_dialogue:
            store.dialogue.optimize(min_points=optimize_min_points)
        points = store.vectors.count() if store.has_vectors else 0
        where = store.where
    return {
        "index": where,
        "videos": len(videos),
        "complete": sum(v.complete for v in videos),
        "incomplete": sorted(v.name for v in videos if not v.complete),
        "frames": sum(v.frames for v in videos if v.complete),
        "points": points,
        "unindexed_points": 0 if optimized else unindexed,
        "optimized": bool(optimized),
        "indexed_now": sorted(r["name"] for r in reports if r.get("status") == "indexed"),
        "skipped_now": sorted(r["name"] for r in reports if r.get("status") == "skipped"),
        "failed_now": [s for s in discovered if s not in done],
    }


@contextmanager
def _open_store(settings: Settings, *, holder: str = HOLDER) -> Iterator[IndexStore]:
    """The index the settings choose, closed on exit (`holder` names this task in the lock);
    no model is loaded."""
    with vidsearch.open(settings=settings, holder=holder) as library:
        yield library.store
