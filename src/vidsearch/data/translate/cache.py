"""Done translations and failures, kept in SQLite so reruns send nothing twice.

    translations(translator, source, target, text) -> translation
    failures(translator, source, target, text) -> error, permanent, attempts, last tried

A text that succeeds leaves the failures table. Commits happen per batch: a killed run keeps
every batch that finished.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidsearch.data.errors import DataError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    translator TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL,
    translation TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (translator, source, target, text));
CREATE TABLE IF NOT EXISTS failures (
    translator TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL,
    error TEXT NOT NULL, permanent INTEGER NOT NULL, attempts INTEGER NOT NULL,
    last_tried REAL NOT NULL,
    PRIMARY KEY (translator, source, target, text));
"""
_CHUNK = 500  # texts per SELECT ... IN (...)


@dataclass(frozen=True, slots=True)
class Failure:
    text: str
    error: str
    permanent: bool
    attempts: int


class TranslationCache:
    def __init__(self, path: Path, *, translator: str, source: str, target: str) -> None:
        self.path = path
        self._key = (translator, source, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DataError(f"{path} was written by a newer vidsearch (schema {version})")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"cannot open the translation cache {path}: {exc}") from None

    def get(self, texts: Iterable[str]) -> dict[str, str]:
        """The cached translations of those `texts` that have one."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(texts))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT text, translation FROM translations WHERE translator=? AND source=? "
                f"AND target=? AND text IN ({marks})",
                (*self._key, *chunk),
            )
            found.update(rows)
        return found

    def put(self, pairs: Sequence[tuple[str, str]]) -> None:
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?)",
                [(*self._key, text, translation, now) for text, translation in pairs],
            )
            self._db.executemany(
                "DELETE FROM failures WHERE translator=? AND source=? AND target=? AND text=?",
                [(*self._key, text) for text, _ in pairs],
            )

    def record_failure(self, text: str, error: str, *, permanent: bool) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE SET "
                "error=excluded.error, permanent=excluded.permanent, attempts=attempts + 1, "
                "last_tried=excluded.last_tried",
                (*self._key, text, error, int(permanent), time.time()),
            )

    def failures(self) -> list[Failure]:
        rows = self._db.execute(
            "SELECT text, error, permanent, attempts FROM failures "
            "WHERE translator=? AND source=? AND target=? ORDER BY last_tried, text",
            self._key,
        )
        return [Failure(text, error, bool(permanent), n) for text, error, permanent, n in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
