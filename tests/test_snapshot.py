"""`vidsearch snapshot` / `vidsearch restore` (run in-process: the tests that need a process
of their own are in test_faults.py): a round trip gives back the same index (points,
catalog, thumbnails, search results); a damaged or altered snapshot is refused before
anything is touched; an index in place is only replaced on request, and kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from process_support import IndexState, assert_clean_failure, vidsearch_here
from vidsearch.index.copying import copy_tree
from vidsearch.index.snapshot import MANIFEST_FILE, SnapshotManifest
from vidsearch.testing.videos import Scene, SceneKind, write_video

QUERY = ("search", "a green texture", "--json", "--top-k", "5")


@pytest.fixture(scope="module")
def original(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    videos = [root / "one.mp4", root / "two.mkv"]
    for number, path in enumerate(videos):
        write_video(path, [Scene(SceneKind.TEXTURE, 25, color=number + i) for i in range(3)])
    home = root / "home"
    result = vidsearch_here("index", *videos, "--interval", "0.5", home=home, model=tiny_model)
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def snapshot(original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("snapshots") / "monday"
    result = vidsearch_here("snapshot", dest, home=original)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("snapshot of 2 videos (2 complete, ")
    return dest


def test_snapshot_is_complete_and_described(original: Path, snapshot: Path) -> None:
    manifest = SnapshotManifest.read(snapshot)
    state = IndexState.read(original)
    assert manifest.videos == manifest.complete_videos == 2
    assert manifest.frames == manifest.points["index"] == len(state.points)
    assert manifest.meta["dim"] and manifest.meta["model_identity"]
    names = set(manifest.files)
    assert "catalog.sqlite" in names and any(n.startswith("index/segments/") for n in names)
    assert {n for n in names if n.startswith("thumbnails/")} == {
        f"thumbnails/{t}" for t in state.thumbnails
    }
    assert not snapshot.with_name("monday.partial").exists()
    # the sparse 32 MiB files of the shard stay sparse
    on_disk = sum(p.stat().st_blocks * 512 for p in snapshot.rglob("*") if p.is_file())
    assert on_disk < sum(int(f["size"]) for f in manifest.files.values()) / 4


def _moments(home: Path) -> list[dict]:
    """Search results, thumbnails named relative to their data directory."""
    result = vidsearch_here(*QUERY, home=home)
    assert result.returncode == 0, result.stderr
    moments = json.loads(result.stdout)["moments"]
    for moment in moments:
        moment["thumbnail"] = str(Path(moment["thumbnail"]).relative_to(home))
    return moments


def test_restore_round_trip(original: Path, snapshot: Path, tmp_path: Path) -> None:
    home = tmp_path / "restored"
    result = vidsearch_here("restore", snapshot, home=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("restored 2 videos (2 complete, ")
    assert IndexState.read(home) == IndexState.read(original)
    searched = [_moments(h) for h in (original, home)]
    assert searched[0] and searched[0] == searched[1]
    doctor = vidsearch_here("doctor", home=home)
    assert doctor.returncode == 0 and "the index is healthy" in doctor.stdout


def test_an_index_in_place_is_replaced_only_with_force_and_kept(
    original: Path, snapshot: Path, tmp_path: Path, tiny_model: Path
) -> None:
    home = tmp_path / "busy"
    other = tmp_path / "other.mp4"
    write_video(other, [Scene(SceneKind.STATIC, 25, color=5)])
    assert vidsearch_here("index", other, home=home, model=tiny_model).returncode == 0
    before = IndexState.read(home)

    refused = vidsearch_here("restore", snapshot, home=home)
    assert_clean_failure(refused, f"{home} already holds an index; pass --force")
    assert IndexState.read(home) == before

    replaced = vidsearch_here("restore", snapshot, "--force", home=home)
    assert replaced.returncode == 0, replaced.stderr
    assert IndexState.read(home) == IndexState.read(original)
    (kept,) = home.glob("replaced-*")
    assert f"kept in {kept}" in replaced.stderr
    copy = tmp_path / "kept-home"
    copy_tree(kept, copy)
    assert IndexState.read(copy) == before


def _altered(snapshot: Path, tmp_path: Path, change: str) -> Path:
    copy = tmp_path / "altered"
    copy_tree(snapshot, copy)
    thumbnail = next((copy / "thumbnails").rglob("*.jpg"))
    if change == "flipped byte":
        data = bytearray(thumbnail.read_bytes())
        data[len(data) // 2] ^= 0xFF
        thumbnail.write_bytes(bytes(data))
    elif change == "missing file":
        next((copy / "index" / "segments").rglob("*.dat")).unlink()
    elif change == "extra file":
        (copy / "index" / "planted.dat").write_bytes(b"x")
    elif change == "no manifest":
        (copy / MANIFEST_FILE).unlink()
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("flipped byte", "does not match its checksum"),
        ("missing file", "is incomplete or altered: missing"),
        ("extra file", "is incomplete or altered: unexpected ['index/planted.dat']"),
        ("no manifest", "is not a vidsearch snapshot"),
    ],
)
def test_a_damaged_snapshot_is_refused_before_anything_changes(
    snapshot: Path, tmp_path: Path, change: str, message: str
) -> None:
    home = tmp_path / "target"
    result = vidsearch_here("restore", _altered(snapshot, tmp_path, change), "--force", home=home)
    assert_clean_failure(result, message)
    assert not (home / "catalog.sqlite").exists() and not (home / "index").exists()


def test_snapshot_refuses_a_taken_name_and_replaces_a_partial_one(
    original: Path, snapshot: Path, tmp_path: Path
) -> None:
    assert_clean_failure(vidsearch_here("snapshot", snapshot, home=original), "already exists")
    dest = tmp_path / "tuesday"
    (tmp_path / "tuesday.partial" / "index").mkdir(parents=True)  # a killed earlier attempt
    assert vidsearch_here("snapshot", dest, home=original).returncode == 0
    assert not (tmp_path / "tuesday.partial").exists()
    assert SnapshotManifest.read(dest).frames == SnapshotManifest.read(snapshot).frames


def test_a_damaged_index_is_not_snapshotted(original: Path, tmp_path: Path) -> None:
    home = tmp_path / "damaged"
    copy_tree(original, home)
    segment = next((home / "index" / "segments").iterdir())
    os.truncate(segment / "mutable_id_tracker.mappings", 5)  # most points lost
    result = vidsearch_here("snapshot", tmp_path / "bad", home=home)
    assert_clean_failure(result, "is damaged", "`vidsearch doctor --repair` first")
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()
