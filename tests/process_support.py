"""Run the real `vidsearch` command in a child process (so that a crash, a signal or a
traceback shows as what it is), and read an index the way a test compares two of them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vidsearch.faults import FAULT_ENV
from vidsearch.index import IndexStore

COMMAND_TIMEOUT_S = 180


def vidsearch(
    *args: str | Path,
    home: Path,
    model: Path | None = None,
    fault: str | None = None,
    timeout: float = COMMAND_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """`vidsearch ARGS --home HOME [--model MODEL]`, its output captured as text."""
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault is not None:
        env[FAULT_ENV] = fault
    command = [sys.executable, "-m", "vidsearch", *map(str, args), "--home", str(home)]
    if model is not None:
        command += ["--model", str(model)]
    return subprocess.run(
        command, capture_output=True, text=True, errors="replace", env=env, timeout=timeout
    )


def vidsearch_here(
    *args: str | Path, home: Path, model: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The same command run inside this process (typer's CliRunner): much faster, for tests
    that need no process of their own."""
    from typer.testing import CliRunner

    from vidsearch.cli import app

    command = [*map(str, args), "--home", str(home)]
    if model is not None:
        command += ["--model", str(model)]
    result = CliRunner().invoke(app, command)
    return subprocess.CompletedProcess(command, result.exit_code, result.stdout, result.stderr)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 1 (not a signal), no traceback, the error on one line naming the problem."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@dataclass(frozen=True)
class IndexState:
    """Everything indexing promises to make the same: points (ids and payloads), the catalog
    (name, state, frames, duration) and the thumbnails on disk."""

    points: dict[str, dict]
    videos: dict[str, tuple[str, bool, int, float]]  # video id -> (name, complete, frames, dur)
    thumbnails: frozenset[str]
    total_points: int  # in the vector index, whichever video they belong to

    @classmethod
    def read(cls, home: Path) -> IndexState:
        with IndexStore(home) as store:
            records = store.catalog.videos()
            points: dict[str, dict] = {}
            total = store.vectors.count() if store.has_vectors else 0
            if store.has_vectors:
                for r in records:
                    points.update(store.vectors.payloads(r.video_id))
            videos = {
                r.video_id: (r.name, r.complete, r.frames, round(r.duration, 3)) for r in records
            }
        root = home / "thumbnails"
        thumbnails = frozenset(
            str(p.relative_to(root)) for p in root.rglob("*.jpg")
        ) if root.exists() else frozenset()  # fmt: skip
        return cls(points, videos, thumbnails, total)
