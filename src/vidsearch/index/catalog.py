"""The catalog: which videos the index holds, their state, and which model built it (SQLite).

Schema changes are ordered migrations; a catalog written by a newer vidsearch is refused.
One connection may be shared by threads (the service's workers): every statement runs under
a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from vidsearch.errors import DiskFullError, IndexCorruptError, IndexError_
from vidsearch.types import VideoRecord, VideoState

SCHEMA_VERSION = 2
MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE videos (
        video_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        duration REAL NOT NULL,
        frames INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        model TEXT NOT NULL,
        indexed_at TEXT NOT NULL
    );
    CREATE INDEX videos_path ON videos(path);
    """,
    # 1 -> 2: the sampling settings a video's frames were chosen with (resume checks them)
    "ALTER TABLE videos ADD COLUMN sampling TEXT NOT NULL DEFAULT ''",
]
_FIRST_COLUMNS = "video_id, name, path, size, mtime_ns, duration, frames, state, model, indexed_at"
_COLUMNS = f"{_FIRST_COLUMNS}, sampling"


def select_videos(db: sqlite3.Connection) -> str:
    """The SELECT of every video row for `_record`, in a catalog of any schema version (doctor
    and repair read catalogs as they find them, before any migration)."""
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(videos)")}
    except sqlite3.DatabaseError:
        columns = set()
    if columns and "sampling" not in columns:  # schema 1
        return f"SELECT {_FIRST_COLUMNS}, '' AS sampling FROM videos"
    return f"SELECT {_COLUMNS} FROM videos"


def _record(row: tuple) -> VideoRecord:
    video_id, name, path, size, mtime_ns, duration, frames, state, model, indexed_at, sampling = row
    return VideoRecord(
        video_id,
        name,
        path,
        size,
        mtime_ns,
        duration,
        frames,
        VideoState(state),
        model,
        indexed_at,
        sampling,
    )


class _LockedConnection:
    """The parts of a connection the catalog uses, one statement at a time across threads."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._mutex = threading.Lock()

    def execute(self, sql: str, params: tuple = ()) -> _Rows:
        with self._mutex:
            try:
                return _Rows(self._db.execute(sql, params).fetchall())
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    message = f"the catalog cannot grow ({exc}): free some disk space"
                    raise DiskFullError(message) from None
                raise

    def executescript(self, script: str) -> None:
        with self._mutex:
            self._db.executescript(script)

    def close(self) -> None:
        with self._mutex:
            self._db.close()


class _Rows(list):
    """Rows fetched under the lock, read like a cursor."""

    def fetchone(self) -> tuple | None:
        return self[0] if self else None

    def fetchall(self) -> list[tuple]:
        return list(self)


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _LockedConnection(
            sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        )
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            problems = [r[0] for r in self._db.execute("PRAGMA quick_check(5)").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"integrity check: {'; '.join(problems)}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexCorruptError(
                f"the catalog {path} is unreadable ({exc}); it may be corrupt: "
                "`vidsearch doctor` checks it, `vidsearch doctor --repair` salvages what it can"
            ) from None

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise IndexError_(
                f"the catalog {self.path} has schema version {version}, newer than this "
                f"vidsearch understands ({SCHEMA_VERSION}); upgrade vidsearch"
            )
        for target in range(version, SCHEMA_VERSION):
            self._db.executescript(
                f"BEGIN; {MIGRATIONS[target]}; PRAGMA user_version = {target + 1}; COMMIT;"
            )

    def close(self) -> None:
        self._db.close()

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- videos -----------------------------------------------------------------------
    def videos(self) -> list[VideoRecord]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM videos ORDER BY name").fetchall()
        return [_record(r) for r in rows]

    def by_id(self, video_id: str) -> VideoRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM videos WHERE video_id = ?", (video_id,)
        ).fetchone()
        return _record(row) if row else None

    def by_name(self, name: str) -> VideoRecord | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM videos WHERE name = ?", (name,)).fetchone()
        return _record(row) if row else None

    def by_path(self, path: str) -> list[VideoRecord]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM videos WHERE path = ?", (path,)).fetchall()
        return [_record(r) for r in rows]

    def unique_name(self, wanted: str, video_id: str) -> str:
        """`wanted`, or `stem-<id prefix>.ext` if another video already uses that name."""
        other = self.by_name(wanted)
        if other is None or other.video_id == video_id:
            return wanted
        stem, dot, ext = wanted.rpartition(".")
        return f"{stem}-{video_id[:8]}.{ext}" if dot else f"{wanted}-{video_id[:8]}"

    def start(self, record: VideoRecord) -> None:
        """Insert or reset a video as INDEXING (it is not searchable as complete yet)."""
        self._db.execute(
            f"INSERT INTO videos({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(video_id) DO UPDATE SET name = excluded.name, path = excluded.path, "
            "size = excluded.size, mtime_ns = excluded.mtime_ns, duration = excluded.duration, "
            "state = excluded.state, model = excluded.model, sampling = excluded.sampling",
            (
                record.video_id,
                record.name,
                record.path,
                record.size,
                record.mtime_ns,
                record.duration,
                record.frames,
                record.state.value,
                record.model,
                record.indexed_at,
                record.sampling,
            ),
        )

    def complete(self, video_id: str, frames: int, duration: float) -> None:
        self._db.execute(
            "UPDATE videos SET state = ?, frames = ?, duration = ?, indexed_at = ? "
            "WHERE video_id = ?",
            (VideoState.COMPLETE.value, frames, duration, now_iso(), video_id),
        )

    def update_location(self, video_id: str, path: str, mtime_ns: int) -> None:
        self._db.execute(
            "UPDATE videos SET path = ?, mtime_ns = ? WHERE video_id = ?",
            (path, mtime_ns, video_id),
        )

    def rename(self, video_id: str, name: str) -> None:
        self._db.execute("UPDATE videos SET name = ? WHERE video_id = ?", (name, video_id))

    def delete(self, video_id: str) -> None:
        self._db.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
