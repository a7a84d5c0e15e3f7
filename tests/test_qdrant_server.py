"""The Qdrant server backend, run through qdrant-client's local mode (the same API, no server).

A congruence suite: the same data goes through the embedded backends (Qdrant Edge, SQLite
catalog) and the server ones (QdrantServerIndex, QdrantCatalog), and the answers must match.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from service_support import free_port
from vidsearch.cli import app
from vidsearch.config import Settings
from vidsearch.encoders import ClipEncoder
from vidsearch.errors import (
    ConfigError,
    IndexError_,
    IndexLockedError,
    ModelMismatchError,
    QueryError,
)
from vidsearch.index import EdgeVectorIndex, FramePoint, IndexStore, QdrantConnection, open_store
from vidsearch.index.base import VectorIndex, VideoCatalog, frame_point_id
from vidsearch.index.catalog import Catalog
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.dialogue_edge import EdgeDialogueIndex
from vidsearch.index.qdrant_catalog import META_SCHEMA
from vidsearch.index.qdrant_server import QdrantServerIndex
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.search import Searcher, SearchResult
from vidsearch.testing.videos import SceneSpan
from vidsearch.text.keywords import SparseTerms
from vidsearch.types import VideoRecord, VideoState

# Local mode accepts payload indexes but warns that they have no effect there.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Payload indexes have no effect in the local Qdrant:UserWarning"
)

DIM = 16
VIDEOS = {"a": 40, "b": 25, "c": 10}  # video id -> frames


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def frames(seed: int = 0) -> list[FramePoint]:
    rng = np.random.default_rng(seed)
    points = []
    for video_id, count in VIDEOS.items():
        for i in range(count):
            shot = i // 4
            start = shot * 8.0
            points.append(
                FramePoint(video_id, i * 50, i * 2.0, shot, start, start + 7.96, unit(rng))
            )
    return points


@pytest.fixture()
def connection(tmp_path: Path) -> Iterator[QdrantConnection]:
    with QdrantConnection.open(path=tmp_path / "qdrant") as conn:
        yield conn


@pytest.fixture()
def both(
    tmp_path: Path, connection: QdrantConnection
) -> Iterator[tuple[EdgeVectorIndex, QdrantServerIndex]]:
    edge = EdgeVectorIndex(tmp_path / "edge", DIM)
    server = connection.vectors(DIM)
    data = frames()
    for index in (edge, server):
        index.upsert(data[:30])
        index.upsert(data[30:])
        index.flush()
    yield edge, server
    edge.close()
    server.close()


def hits(index: VectorIndex, query: np.ndarray, limit: int, **options: object) -> list:
    return [
        (h.video_id, h.pts, h.timestamp, h.shot_index, h.shot_start, h.shot_end, h.score)
        for h in index.search(query, limit, **options)  # type: ignore[arg-type]
    ]


def assert_same_hits(edge: list, server: list) -> None:
    assert [h[:6] for h in edge] == [h[:6] for h in server]
    assert [h[6] for h in server] == pytest.approx([h[6] for h in edge], abs=1e-5)


# -- vectors: congruence -----------------------------------------------------------------


def test_counts_ids_and_payloads_match(both: tuple[EdgeVectorIndex, QdrantServerIndex]) -> None:
    edge, server = both
    assert server.count() == edge.count() == sum(VIDEOS.values())
    for video_id, count in VIDEOS.items():
        assert server.count(video_id) == edge.count(video_id) == count
        assert server.point_ids(video_id) == edge.point_ids(video_id)
        assert server.point_ids(video_id) == {
            frame_point_id(video_id, i * 50) for i in range(count)
        }
        assert server.payloads(video_id) == edge.payloads(video_id)
    assert server.count("unknown") == edge.count("unknown") == 0
    assert server.payloads("unknown") == edge.payloads("unknown") == {}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"video_ids": ["b"]},
        {"video_ids": ["a", "c"]},
        {"video_ids": ["unknown"]},
        {"min_score": 0.2},
        {"min_score": 0.2, "video_ids": ["a", "b"]},
        {"min_score": 0.999},
    ],
    ids=repr,
)
def test_searches_match(
    both: tuple[EdgeVectorIndex, QdrantServerIndex], options: dict[str, object]
) -> None:
    edge, server = both
    rng = np.random.default_rng(7)
    queries = [unit(rng) for _ in range(5)] + [frames()[12].vector]  # the last one is stored
    for query in queries:
        for limit in (1, 5, 100):
            expected = hits(edge, query, limit, **options)
            assert_same_hits(expected, hits(server, query, limit, **options))
    stored = hits(server, frames()[12].vector, 1, **options)
    if not options.get("video_ids") or "a" in options.get("video_ids", []):  # type: ignore
        assert stored[0][:2] == ("a", 600) and stored[0][6] == pytest.approx(1.0, abs=1e-5)


def test_deletes_and_rewrites_match(both: tuple[EdgeVectorIndex, QdrantServerIndex]) -> None:
    edge, server = both
    query = unit(np.random.default_rng(3))
    for index in (edge, server):
        index.delete_video("b")
        index.delete_video("unknown")  # no-op
        index.upsert(frames()[:10])  # the same ids again: overwritten, not duplicated
        index.upsert(frames(seed=1)[40:45])  # new vectors for five frames of "b"
    assert server.count() == edge.count() == 40 + 5 + 10
    assert server.count("b") == edge.count("b") == 5
    assert server.payloads("b") == edge.payloads("b")
    assert_same_hits(hits(edge, query, 100), hits(server, query, 100))
    assert_same_hits(
        hits(edge, query, 100, video_ids=["b"]), hits(server, query, 100, video_ids=["b"])
    )


def test_bad_vectors_are_refused_alike(both: tuple[EdgeVectorIndex, QdrantServerIndex]) -> None:
    wrong = FramePoint("a", 0, 0.0, 0, 0.0, 1.0, np.ones(5, np.float32))
    for index in both:
        with pytest.raises(IndexError_, match="vector of shape \\(5,\\) does not fit a 16-d"):
            index.upsert([wrong])
        with pytest.raises(IndexError_, match="query vector has 4 values; the index holds 16-d"):
            index.search(np.ones(4, np.float32), 3)
    assert both[1].count() == sum(VIDEOS.values())  # nothing half-written


def test_bad_dialogue_vectors_are_refused_alike(
    tmp_path: Path, connection: QdrantConnection
) -> None:
    good = CuePoint("a", 0, 1.0, 2.0, "hi", "en", "hi", 0, 0.0, 3.0, None, None,
                    np.ones(DIM, np.float32) / 4, SparseTerms((7,), (1.0,)))  # fmt: skip
    wrong = replace(good, index=1, vector=np.ones(5, np.float32))
    for index in (EdgeDialogueIndex(tmp_path / "dialogue", DIM), connection.dialogue(DIM)):
        try:
            with pytest.raises(IndexError_, match="shape \\(5,\\) does not fit a 16-d dialogue"):
                index.upsert([good, wrong])
            assert index.count() == 0  # nothing half-written
            index.upsert([good])
            with pytest.raises(IndexError_, match="query vector has 4 values; the dialogue"):
                index.search_meaning(np.ones(4, np.float32), 3)
            assert index.search_words(SparseTerms((), ()), 3) == []
            (hit,) = index.search_words(SparseTerms((7,), (1.0,)), 3)
            assert (hit.video_id, hit.text) == ("a", "hi")
        finally:
            index.close()


def test_collection_persists_and_keeps_its_size(tmp_path: Path) -> None:
    with QdrantConnection.open(path=tmp_path / "q", collection="films") as conn:
        conn.vectors(DIM).upsert(frames())
    with QdrantConnection.open(path=tmp_path / "q", collection="films") as conn:
        assert conn.vectors(DIM).count() == sum(VIDEOS.values())
        with pytest.raises(IndexError_, match="collection 'films' at .* holds 16-d vectors, not 8"):
            conn.vectors(8)


def test_a_collection_that_is_not_ours_is_refused(connection: QdrantConnection) -> None:
    from qdrant_client import models

    connection.client.create_collection(
        "foreign", vectors_config={"image": models.VectorParams(size=4, distance="Euclid")}
    )
    with pytest.raises(IndexError_, match="'foreign' .* is not a vidsearch collection"):
        QdrantServerIndex(connection.client, "foreign", 4, where="test")


def test_a_closed_index_says_so(connection: QdrantConnection) -> None:
    index = connection.vectors(DIM)
    index.close()
    with pytest.raises(IndexError_, match="'vidsearch_frames' at .* is closed"):
        index.count()


# -- catalog: congruence -----------------------------------------------------------------


def record(video_id: str, name: str, path: str, **changes: object) -> VideoRecord:
    base = VideoRecord(
        video_id, name, path, 1000, 1_700_000_000_123_456_789, 12.5, 0,
        VideoState.INDEXING, "clip:abc", "2024-01-01T00:00:00+00:00",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def view(catalog: VideoCatalog) -> dict[str, object]:
    """Everything a caller can ask the catalog, with `complete`'s clock time masked."""

    def masked(r: VideoRecord | None) -> VideoRecord | None:
        return replace(r, indexed_at="<now>") if r and r.complete else r

    def by_id(r: VideoRecord) -> str:  # by_path promises no order
        return r.video_id

    videos = catalog.videos()
    return {
        "videos": [masked(r) for r in videos],
        "by_id": {v: masked(catalog.by_id(v)) for v in ("a1", "b2", "c3", "zz")},
        "by_name": {n: masked(catalog.by_name(n)) for n in ("x.mp4", "y.mp4", "Z.mkv", "none")},
        "by_path": {p: sorted(catalog.by_path(p), key=by_id) for p in ("/v/x.mp4", "/v/y")},
        "unique": [catalog.unique_name(n, "zz999999") for n in ("x.mp4", "Z.mkv", "new", "y")],
        "meta": [catalog.get_meta(k) for k in ("model_identity", "dim", "absent")],
    }


def test_catalog_matches_sqlite(tmp_path: Path, connection: QdrantConnection) -> None:
    sqlite = Catalog(tmp_path / "catalog.sqlite")
    qdrant = connection.catalog()
    steps = [
        lambda c: c.set_meta("model_identity", "clip:abc"),
        lambda c: c.set_meta("dim", "512"),
        lambda c: c.set_meta("model_identity", "clip:def"),
        lambda c: c.start(record("b2", "y.mp4", "/v/y")),
        lambda c: c.start(record("a1", "x.mp4", "/v/x.mp4")),
        lambda c: c.start(record("c3", "Z.mkv", "/v/x.mp4", duration=3.25)),
        # a restart keeps frames and indexed_at, takes everything else
        lambda c: c.start(record("a1", "x.mp4", "/w/x.mp4", frames=9, indexed_at="2030")),
        lambda c: c.complete("b2", 17, 13.75),
        lambda c: c.complete("zz", 1, 1.0),  # unknown: no-op
        lambda c: c.update_location("c3", "/v/y", 42),
        lambda c: c.update_location("zz", "/v/none", 1),
        lambda c: c.rename("b2", "y"),
        lambda c: c.rename("zz", "nothing"),
        lambda c: c.start(record("b2", "y", "/v/y", state=VideoState.INDEXING)),
        lambda c: c.delete("a1"),
        lambda c: c.delete("zz"),
    ]
    try:
        assert view(qdrant) == view(sqlite)
        for step in steps:
            step(sqlite)
            step(qdrant)
            assert view(qdrant) == view(sqlite)
        completed = qdrant.by_id("c3")
        assert completed is not None and completed.indexed_at == "2024-01-01T00:00:00+00:00"
        assert [r.name for r in qdrant.videos()] == ["Z.mkv", "y"]  # byte order, as SQLite
    finally:
        sqlite.close()
        qdrant.close()


def test_catalog_persists_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    with QdrantConnection.open(path=tmp_path / "q") as conn:
        catalog = conn.catalog()
        catalog.start(record("a1", "x.mp4", "/v/x.mp4"))
        catalog.set_meta(META_SCHEMA, "2")  # as a newer vidsearch would
    with QdrantConnection.open(path=tmp_path / "q") as conn:
        with pytest.raises(IndexError_, match="schema version 2, newer than this vidsearch"):
            conn.catalog()
        # one video and one schema point: nothing else was written
        assert conn.client.count("vidsearch_frames_videos").count == 2


def test_a_naming_race_ends_with_unique_names(connection: QdrantConnection) -> None:
    """Two machines that both chose 'x.mp4' for different videos before either wrote it."""
    first, second = connection.catalog(), connection.catalog()
    first.start(record("a1234567aa", "x.mp4", "/m1/x.mp4"))
    second.start(record("b7654321bb", "x.mp4", "/m2/x.mp4"))
    assert [r.name for r in first.videos()] == ["x-b7654321.mp4", "x.mp4"]
    second.rename("b7654321bb", "x.mp4")
    names = [r.name for r in first.videos()]
    assert len(set(names)) == 2 and "x-b7654321.mp4" in names


# -- the store and its configuration -----------------------------------------------------


def test_store_on_a_server_binds_the_model_and_takes_no_lock(tmp_path: Path) -> None:
    home = tmp_path / "home"
    storage = tmp_path / "q"
    with IndexStore(home, server=QdrantConnection.open(path=storage)) as store:
        assert not store.has_vectors
        with pytest.raises(IndexError_, match="Qdrant collection 'vidsearch_frames' .* is empty"):
            _ = store.vectors
        store.bind_model("clip:aaa", "model-a", DIM)
        store.vectors.upsert(frames()[:3])
        # a second store on the same data directory: fine, the server handles concurrency
        with IndexStore(home, server=QdrantConnection.open(path=":memory:")) as other:
            assert other.model_identity is None
    assert not (home / "index.lock").exists() and not (home / "catalog.sqlite").exists()
    with IndexStore(home, server=QdrantConnection.open(path=storage)) as store:
        assert store.vectors.count() == 3
        with pytest.raises(ModelMismatchError, match="another VIDSEARCH_COLLECTION"):
            store.bind_model("clip:bbb", "model-b", DIM)


def test_local_storage_has_one_owner(tmp_path: Path) -> None:
    with QdrantConnection.open(path=tmp_path / "q"):
        with pytest.raises(IndexLockedError, match="is open in another process"):
            QdrantConnection.open(path=tmp_path / "q")


def test_url_and_path_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        QdrantConnection.open(url="http://localhost:6333", path=tmp_path)
    with pytest.raises(ConfigError, match="give a Qdrant server url or a local-mode path"):
        QdrantConnection.open()
    with pytest.raises(ConfigError, match="invalid collection name 'a b'"):
        QdrantConnection.open(path=":memory:", collection="a b")


def test_settings_choose_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(Settings(home=tmp_path / "embedded")) as store:
        assert store.server is None and (tmp_path / "embedded" / "catalog.sqlite").is_file()
    monkeypatch.setenv("VIDSEARCH_QDRANT_URL", "https://qdrant.example:6333")
    monkeypatch.setenv("VIDSEARCH_QDRANT_API_KEY", "s3cret")
    monkeypatch.setenv("VIDSEARCH_COLLECTION", "films")
    settings = Settings()
    assert settings.qdrant_url == "https://qdrant.example:6333" and settings.collection == "films"
    assert settings.qdrant_api_key is not None and "s3cret" not in repr(settings)
    with pytest.raises(ValidationError, match="must start with http:// or https://"):
        Settings(qdrant_url="qdrant:6333")
    with pytest.raises(ValidationError, match="collection"):
        Settings(collection="no spaces")


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(IndexError_, match=f"cannot reach the Qdrant server at {url}"):
        open_store(Settings(home=tmp_path, qdrant_url=url))


def test_the_cli_names_an_unreachable_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("VIDSEARCH_HOME", str(tmp_path))
    monkeypatch.setenv("VIDSEARCH_QDRANT_URL", url)
    result = CliRunner().invoke(app, ["videos"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot reach the Qdrant server at {url}: ")
    assert list(tmp_path.iterdir()) == []  # no lock, no catalog in the data directory


class _Answer(BaseHTTPRequestHandler):
    status = 500

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        body = json.dumps({"status": {"error": "storage is on fire"}, "time": 0}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, r"refused access \(401\): check VIDSEARCH_QDRANT_API_KEY"), (500, "500: storage is on")],
)
def test_server_errors_are_explained(status: int, message: str) -> None:
    """A stand-in HTTP server on loopback that answers every request with an error."""
    handler = type("Handler", (_Answer,), {"status": status})
    with HTTPServer(("127.0.0.1", 0), handler) as http:
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            with pytest.raises(IndexError_, match=message):
                QdrantConnection.open(url=f"http://127.0.0.1:{http.server_port}")
        finally:
            http.shutdown()
            thread.join()


def test_a_missing_extra_gives_the_install_hint(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['qdrant_client'] = None\n"
        "import vidsearch.index\n"  # the embedded backend needs no qdrant-client
        "from vidsearch.cli import main\n"
        "sys.argv = ['vidsearch', 'videos']\n"
        "main()\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "VIDSEARCH_HOME": str(tmp_path),
        "VIDSEARCH_QDRANT_URL": "http://127.0.0.1:6333",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip() == (
        "error: the Qdrant server backend needs the optional extra 'qdrant': "
        "pip install 'vidsearch[qdrant]' (or unset VIDSEARCH_QDRANT_URL to use the embedded index)"
    )


# -- end to end: Ingestor and Searcher on both backends ------------------------------------


def moments(result: SearchResult, home: Path) -> list[tuple]:
    return [
        (
            m.video,
            m.path,
            m.video_id,
            round(m.start, 6),
            round(m.end, 6),
            round(m.timestamp, 6),
            m.shot,
            m.thumbnail and str(Path(m.thumbnail).relative_to(home)),
            [round(t, 6) for t, _ in m.frames],
        )
        for m in result.moments
    ]


def test_index_and_search_match_the_embedded_run(
    tmp_path: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    path, _ = standard_video
    embedded_home, server_home, storage = tmp_path / "e", tmp_path / "s", tmp_path / "q"
    results: dict[str, list[SearchResult]] = {}
    for kind, store in (
        ("embedded", IndexStore(embedded_home)),
        ("server", IndexStore(server_home, server=QdrantConnection.open(path=storage))),
    ):
        with store:
            report = Ingestor(store, encoder).index_file(path)
            assert report.status is IngestStatus.INDEXED and report.frames == 6, report
            searcher = Searcher(store, encoder)
            results[kind] = [
                searcher.search_text("a bright textured scene", top_k=3),
                searcher.search_text("darkness", top_k=10, min_score=-1.0),
                searcher.search_text("anything", videos=["standard.mp4"]),
            ]
    for embedded, server in zip(results["embedded"], results["server"], strict=True):
        assert moments(server, server_home) == moments(embedded, embedded_home)
        assert [m.score for m in server.moments] == pytest.approx(
            [m.score for m in embedded.moments], abs=1e-5
        )
        assert all(m.thumbnail and Path(m.thumbnail).is_file() for m in server.moments)
    assert len(results["server"][1].moments) == 5  # 6 frames in 5 shots

    # Another process (a fresh client) sees the same catalog and vectors: nothing to re-index.
    with IndexStore(server_home, server=QdrantConnection.open(path=storage)) as store:
        assert Ingestor(store, encoder).index_file(path).status is IngestStatus.SKIPPED
        [record] = store.catalog.videos()
        assert record.complete and record.frames == 6 and record.name == "standard.mp4"
        searcher = Searcher(store, encoder)
        again = searcher.search_text("a bright textured scene", top_k=3)
        assert moments(again, server_home) == moments(results["server"][0], server_home)
        with pytest.raises(QueryError, match="no indexed video named 'other.mp4'"):
            searcher.search_text("anything", videos=["other.mp4"])
        store.remove_video(record.video_id)
        assert store.catalog.videos() == [] and store.vectors.count() == 0
