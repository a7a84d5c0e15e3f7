"""The data directory: Qdrant Edge vectors, the catalog, model binding and the lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from vidsearch.errors import IndexError_, IndexLockedError, ModelMismatchError
from vidsearch.index import EdgeVectorIndex, FramePoint, IndexStore
from vidsearch.index.base import frame_point_id
from vidsearch.index.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog
from vidsearch.index.doctor import read_catalog

DIM = 8


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def point(video: str, pts: int, seed: int, shot: int = 0) -> FramePoint:
    return FramePoint(video, pts, pts / 25, shot, 0.0, 10.0, unit(seed))


def test_point_ids_are_deterministic() -> None:
    assert frame_point_id("abc", 25) == frame_point_id("abc", 25)
    assert frame_point_id("abc", 25) != frame_point_id("abc", 26)
    assert frame_point_id("abc", 25) != frame_point_id("abd", 25)


def test_search_filter_count_and_delete(tmp_path: Path) -> None:
    index = EdgeVectorIndex(tmp_path / "shard", DIM)
    index.upsert([point("a", i, i) for i in range(10)] + [point("b", i, 100 + i) for i in range(5)])
    index.upsert([point("a", 3, 3)])  # same id again: overwritten, not duplicated
    assert index.count() == 15 and index.count("a") == 10
    hits = index.search(unit(7), 3)
    assert hits[0].video_id == "a" and hits[0].pts == 7
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    only_b = index.search(unit(7), 20, video_ids=["b"])
    assert {h.video_id for h in only_b} == {"b"} and len(only_b) == 5
    assert all(h.score >= 0.5 for h in index.search(unit(7), 20, min_score=0.5))
    assert index.point_ids("b") == {frame_point_id("b", i) for i in range(5)}
    index.delete_video("a")
    assert index.count() == 5
    index.close()
    reopened = EdgeVectorIndex(tmp_path / "shard", DIM)
    assert reopened.count() == 5  # persisted
    reopened.close()


def test_wrong_vector_size_is_refused(tmp_path: Path) -> None:
    index = EdgeVectorIndex(tmp_path / "shard", DIM)
    with pytest.raises(IndexError_, match="does not fit a 8-d index"):
        index.upsert([FramePoint("a", 0, 0.0, 0, 0.0, 1.0, np.ones(5, np.float32))])
    with pytest.raises(IndexError_, match="query vector has 4 values; the index holds 8-d"):
        index.search(np.ones(4, np.float32), 3)
    index.close()
    with pytest.raises(IndexError_, match="holds 8-d vectors, not 16-d"):
        EdgeVectorIndex(tmp_path / "shard", 16)


def test_store_binds_one_model(tmp_path: Path) -> None:
    with IndexStore(tmp_path) as store:
        store.bind_model("clip:aaa", "model-a", DIM)
        store.bind_model("clip:aaa", "/copies/model-a", DIM)  # same weights, other place: fine
    with IndexStore(tmp_path) as store:
        with pytest.raises(ModelMismatchError, match="built with model '/copies/model-a'"):
            store.bind_model("clip:bbb", "model-b", DIM)
        assert store.model_identity == "clip:aaa"


def test_second_open_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with IndexStore(tmp_path):
        with pytest.raises(IndexLockedError, match=r"in use by another process \(pid \d+"):
            IndexStore(tmp_path)
    IndexStore(tmp_path).close()  # released on close


def test_another_process_holding_the_index_is_named(tmp_path: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from vidsearch.index import IndexStore
            store = IndexStore(Path({str(tmp_path)!r}))
            print("ready", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
            with pytest.raises(IndexLockedError, match=f"pid {holder.pid}"):
                IndexStore(tmp_path)
        finally:
            holder.kill()
    IndexStore(tmp_path).close()  # the kernel released the dead holder's lock


def test_catalog_from_a_newer_vidsearch_is_refused(tmp_path: Path) -> None:
    Catalog(tmp_path / "catalog.sqlite").close()
    db = sqlite3.connect(tmp_path / "catalog.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(IndexError_, match="newer than this vidsearch understands"):
        Catalog(tmp_path / "catalog.sqlite")


def test_catalog_of_schema_1_is_migrated_and_read_before_migrating(tmp_path: Path) -> None:
    """A catalog written before videos recorded their sampling settings: doctor reads it as
    found, opening it migrates it, and its videos read as 'sampling not recorded'."""
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute(
        "INSERT INTO videos VALUES ('v1', 'a.mp4', '/a.mp4', 1, 2, 3.0, 4, 'complete', 'm', 't')"
    )
    db.close()
    (record,), _ = read_catalog(path)
    assert (record.video_id, record.frames, record.sampling) == ("v1", 4, "")
    catalog = Catalog(path)
    try:
        (migrated,) = catalog.videos()
        assert migrated == record
    finally:
        catalog.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    db.close()


def test_corrupt_catalog_is_reported(tmp_path: Path) -> None:
    (tmp_path / "catalog.sqlite").write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexError_, match="catalog .* is unreadable"):
        Catalog(tmp_path / "catalog.sqlite")


def test_optimize_builds_the_graph_only_when_worth_it(tmp_path: Path) -> None:
    dim = 512  # segments are indexed from ~10 MB of vectors: ~5,000 of 512-d
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6000, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = EdgeVectorIndex(tmp_path / "shard", dim)
    index.upsert([FramePoint("a", i, i / 25, 0, 0.0, 1.0, v) for i, v in enumerate(vectors)])
    assert index.unindexed_points() == 6000
    assert index.optimize(min_points=10_000) is False  # too few to be worth the wait
    assert index.unindexed_points() == 6000
    assert index.optimize(min_points=0) is True
    assert index.unindexed_points() == 0
    hits = index.search(vectors[42], 3)  # HNSW over int8 vectors, rescored
    assert hits[0].pts == 42 and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert index.count() == 6000
    index.close()
