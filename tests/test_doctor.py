"""`vidsearch doctor`: each kind of damage is found, `--repair` brings back exactly the index a
clean run builds, and damage the index cannot survive is refused on open with one line."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from process_support import IndexState, vidsearch
from vidsearch.cli import app
from vidsearch.index.copying import copy_tree
from vidsearch.index.doctor import Problem, examine
from vidsearch.testing.videos import Scene, SceneKind, write_video

Damage = Callable[[Path], None]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("doctor-videos")
    paths = [root / "alpha.mp4", root / "beta.mp4"]
    for number, path in enumerate(paths):
        write_video(path, [Scene(SceneKind.TEXTURE, 25, color=number + i) for i in range(3)])
    return paths


def run(*args: str | Path, model: Path | None = None):
    extra = ["--model", str(model)] if model else []
    return CliRunner().invoke(app, [*map(str, args), *extra])


@pytest.fixture(scope="module")
def template(videos: list[Path], tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    """A healthy index of both videos, and its state."""
    home = tmp_path_factory.mktemp("doctor") / "home"
    result = run("index", *videos, "--home", home, "--interval", "0.5", model=tiny_model)
    assert result.exit_code == 0, result.output
    return home, IndexState.read(home)


@pytest.fixture()
def home(template: tuple[Path, IndexState], tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    copy_tree(template[0], copy)
    return copy


def _video_dir(home: Path, name: str) -> Path:
    db = sqlite3.connect(home / "catalog.sqlite")
    (video_id,) = db.execute("SELECT video_id FROM videos WHERE name = ?", (name,)).fetchone()
    db.close()
    return home / "thumbnails" / video_id


def _segment(home: Path) -> Path:
    return next((home / "index" / "segments").iterdir())


def _sql(home: Path, statement: str) -> None:
    db = sqlite3.connect(home / "catalog.sqlite", isolation_level=None)
    db.execute(statement)
    db.close()


def drop_a_thumbnail(home: Path) -> None:
    next(_video_dir(home, "alpha.mp4").glob("*.jpg")).unlink()


def stray_thumbnails(home: Path) -> None:
    (home / "thumbnails" / "0123456789abcdef").mkdir()
    (home / "thumbnails" / "0123456789abcdef" / "40.jpg").write_bytes(b"\xff\xd8")
    (_video_dir(home, "beta.mp4") / "123456.jpg").write_bytes(b"\xff\xd8")


def forget_a_catalog_row(home: Path) -> None:
    """Points and thumbnails of a video the catalog no longer knows."""
    _sql(home, "DELETE FROM videos WHERE name = 'beta.mp4'")


def lose_points(home: Path) -> None:
    """A truncated id tracker: Qdrant Edge loads it without complaint, minus most points."""
    os.truncate(_segment(home) / "mutable_id_tracker.mappings", 5)


def break_the_vectors(home: Path) -> None:
    os.truncate(_segment(home) / "vector_storage" / "vectors" / "chunk_0.mmap", 100)


def damage_a_catalog_index(home: Path) -> None:
    """Garbage over the b-tree page of an index of the videos table: the integrity check
    fails, the table itself is still readable."""
    path = home / "catalog.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'videos_path'").fetchone()
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x0d\x00\xff\xff" * 64)


def interrupt_a_video(home: Path) -> None:
    """As a killed run leaves it: not marked complete."""
    _sql(home, "UPDATE videos SET state = 'indexing' WHERE name = 'alpha.mp4'")


CASES: dict[str, tuple[Damage, set[Problem]]] = {
    "missing thumbnail": (drop_a_thumbnail, {Problem.MISSING_THUMBNAILS}),
    "stray thumbnails": (stray_thumbnails, {Problem.ORPHAN_THUMBNAILS}),
    "points of an unknown video": (
        forget_a_catalog_row,
        {Problem.ORPHAN_POINTS, Problem.ORPHAN_THUMBNAILS},
    ),
    "lost points": (lose_points, {Problem.LOST_POINTS}),
    "unreadable vectors": (break_the_vectors, {Problem.SHARD_UNREADABLE}),
    "damaged catalog index": (damage_a_catalog_index, {Problem.CATALOG_UNREADABLE}),
    "interrupted video": (interrupt_a_video, {Problem.INCOMPLETE}),
}


def test_a_healthy_index_passes(home: Path) -> None:
    result = run("doctor", "--home", home, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["healthy"] and data["findings"] == []
    assert data["videos"] == 2 and data["points"] == data["thumbnails"] > 0


@pytest.mark.parametrize("case", list(CASES))
def test_damage_is_found_then_repaired_to_the_clean_index(
    case: str, home: Path, template: tuple[Path, IndexState], videos: list[Path], tiny_model: Path
) -> None:
    damage, expected = CASES[case]
    damage(home)
    report = examine(home)
    assert expected <= {f.problem for f in report.findings}, report.findings
    assert report.healthy is (expected == {Problem.INCOMPLETE})  # a note, not an error
    result = run("doctor", "--home", home, "--repair", "--interval", "0.5", model=tiny_model)
    assert result.exit_code == 0, result.output
    assert "the index is healthy" in result.stdout
    assert examine(home).findings == []
    if case == "points of an unknown video":  # gone from the catalog: index its file again
        assert run("index", videos[1], "--home", home, "--interval", "0.5").exit_code == 0
    assert IndexState.read(home) == template[1]


def test_lost_points_are_refused_on_open_with_one_line(home: Path) -> None:
    lose_points(home)
    result = vidsearch("search", "anything", home=home)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: the vector index at {home / 'index'} is damaged")
    assert "`vidsearch doctor --repair`" in line


def test_a_catalog_beyond_salvage_points_to_a_snapshot(home: Path) -> None:
    (home / "catalog.sqlite").write_bytes(b"not a database" * 500)
    for leftover in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (home / leftover).unlink(missing_ok=True)
    result = vidsearch("videos", home=home)
    assert result.returncode == 1 and "it may be corrupt: `vidsearch doctor`" in result.stderr
    result = vidsearch("doctor", "--repair", home=home)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot be salvaged" in result.stderr and "`vidsearch restore`" in result.stderr


def test_a_video_whose_file_is_gone_is_named(
    home: Path, videos: list[Path], tmp_path: Path, tiny_model: Path
) -> None:
    """The vectors are rebuilt from the files: one is gone, so that video stays incomplete
    (a note: `vidsearch remove` forgets it), the other comes back."""
    moved = tmp_path / "elsewhere.mp4"
    videos[0].rename(moved)
    try:
        break_the_vectors(home)
        result = run("doctor", "--home", home, "--repair", "--json", "--interval", "0.5")
    finally:
        moved.rename(videos[0])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lost"] == ["alpha.mp4"] and data["reindexed"] == ["beta.mp4"]
    problems = {(f["problem"], f["severity"]) for f in data["findings"]}
    assert problems == {("incomplete", "note"), ("file-missing", "note")}


@pytest.mark.parametrize("command", [["doctor"], ["snapshot", "somewhere"], ["restore", "x"]])
def test_maintenance_needs_the_embedded_index(
    command: list[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDSEARCH_QDRANT_URL", "http://127.0.0.1:9")
    result = run(*command, "--home", home)
    assert result.exit_code == 1
    assert "with VIDSEARCH_QDRANT_URL the vectors and catalog are on the Qdrant server" in (
        result.stderr
    )
