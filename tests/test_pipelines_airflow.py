"""The Airflow DAGs: they import without errors, have the expected shape, and run end to end
with the real `airflow dags test` (a temporary AIRFLOW_HOME, sqlite metadata, no scheduler)
on generated videos and a small synthetic caption world, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk", reason="the airflow extra is not installed")

from airflow_support import AirflowHome  # noqa: E402
from data_support import FakeServer, Reply, Request  # noqa: E402
from vidsearch.index.store import IndexStore  # noqa: E402
from vidsearch.testing.videos import Scene, SceneKind, write_video  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """One migrated Airflow home for the module's DAG runs."""
    home = AirflowHome(tmp_path_factory.mktemp("airflow"))
    home.migrate()
    return home


def test_dags_import_and_shape(airflow: AirflowHome) -> None:
    parsed = airflow.structure()
    assert parsed["errors"] == {}
    dags = parsed["dags"]
    assert set(dags) == {"persian_clip", "video_ingest"}

    ingest = dags["video_ingest"]["tasks"]
    assert ingest["discover"]["downstream"] == ["index_video", "refresh_stats"]
    assert ingest["index_video"]["mapped"] is True
    assert ingest["index_video"]["downstream"] == ["all_indexed", "refresh_stats"]
    # the embedded index belongs to one process: one video at a time, retried when held
    assert ingest["index_video"]["max_active_tis_per_dagrun"] == 1
    assert ingest["index_video"]["retries"] >= 1
    assert ingest["refresh_stats"]["trigger_rule"] == "all_done"
    assert ingest["all_indexed"]["trigger_rule"] == "all_success"
    assert dags["video_ingest"]["max_active_runs"] == 1

    clip = dags["persian_clip"]["tasks"]
    chain = {
        "import_captions": ["translate"],
        "translate": ["filter_captions"],
        "filter_captions": ["merge"],
        "crawl": ["merge"],
        "merge": ["evaluate", "train"],
        "train": ["evaluate", "promote"],
        "evaluate": ["promote"],
        "promote": [],
    }
    assert {task: info["downstream"] for task, info in clip.items()} == chain
    assert clip["merge"]["trigger_rule"] == "none_failed"  # runs when crawl is skipped

    params = dags["persian_clip"]["params"]
    assert params["translate_backend"]["enum"] == [None, "http", "local", "dictionary", "none"]
    assert params["train_config"]["type"] == ["null", "object", "string"]
    assert "vidsearch_tracking_uri" in params["tracking_uri"]["description"]
    ingest_params = dags["video_ingest"]["params"]
    assert ingest_params["sources"]["type"] == ["null", "array"]
    assert "VIDSEARCH_HOME" in ingest_params["home"]["description"]
    assert "qdrant_api_key" not in ingest_params  # a secret: a Variable, never a param


def _scenes(colour: int) -> list[Scene]:
    return [Scene(SceneKind.TEXTURE, 25, color=colour), Scene(SceneKind.STATIC, 25, colour + 1)]


def test_video_ingest_end_to_end(airflow: AirflowHome, tmp_path: Path, tiny_model: Path) -> None:
    watched = tmp_path / "watched"
    for number, name in enumerate(("a.mp4", "b.mp4")):
        write_video(watched / name, _scenes(2 * number), size=(96, 64))
    bad = watched / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    served = tmp_path / "served.mp4"
    write_video(served, _scenes(4), size=(96, 64))
    video = served.read_bytes()
    home = tmp_path / "home"

    def site(request: Request) -> Reply:
        return Reply(200, video) if request.path == "/films/c.mp4" else Reply(404, b"")

    conf = {"folder": str(watched), "settle_seconds": 0, "model": str(tiny_model)}
    env = {"AIRFLOW_VAR_VIDSEARCH_HOME": str(home), "VIDSEARCH_BACKEND": "torch"}
    with FakeServer(site) as server:
        sources = {"sources": [f"{server.url}/films/c.mp4"]}
        first = airflow.dags_test("video_ingest", conf | sources, env=env)
        first_states = airflow.states("video_ingest")
        found = airflow.xcom("video_ingest", "discover")
        stats = airflow.xcom("video_ingest", "refresh_stats")
        with IndexStore(home) as store:
            videos = {v.name: v for v in store.catalog.videos()}
            points = store.vectors.count()

        # the broken file is taken away: a rerun finds nothing new and changes nothing
        bad.unlink()
        second = airflow.dags_test("video_ingest", conf | sources, env=env)
        assert server.paths() == ["/films/c.mp4"], "a staged URL is not downloaded again"

    assert first.returncode != 0, "a failed video fails the run"
    assert sorted(Path(s).name for s in found) == ["a.mp4", "b.mp4", "bad.mp4", "c.mp4"]
    by_source = {found[i]: first_states[("index_video", i)] for i in range(len(found))}
    assert by_source[str(bad)] == ("failed", 1), "a corrupt file is not retried"
    assert all(state == "success" for s, (state, _) in by_source.items() if s != str(bad))
    assert first_states[("discover", -1)][0] == "success"
    assert first_states[("refresh_stats", -1)][0] == "success"
    assert first_states[("all_indexed", -1)][0] == "upstream_failed"
    assert "bad.mp4" in first.stdout and "MediaError" in first.stdout

    assert stats["complete"] == 3 and stats["incomplete"] == []
    assert stats["failed_now"] == [str(bad)]
    names = set(stats["indexed_now"])
    staged = [n for n in names if n.endswith("-c.mp4")]  # the URL's file: <URL hash>-c.mp4
    assert len(staged) == 1 and names - set(staged) == {"a.mp4", "b.mp4"}
    assert set(videos) == names and all(v.complete for v in videos.values())
    assert points == stats["points"] == sum(v.frames for v in videos.values()) > 0

    assert second.returncode == 0, second.stdout[-3000:]
    assert airflow.xcom("video_ingest", "discover") == []
    states = airflow.states("video_ingest")
    assert states[("index_video", -1)][0] == "skipped"
    assert states[("refresh_stats", -1)][0] == "success"
    indexed_at = {name: v.indexed_at for name, v in videos.items()}
    with IndexStore(home) as store:
        assert {v.name: v.indexed_at for v in store.catalog.videos()} == indexed_at
