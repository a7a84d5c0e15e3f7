"""Failures inside the server become JSON with the right status (never a traceback);
protected reads; a restarted server resumes the uploads it had not finished indexing."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from service_support import API_KEY, assert_json_error, index_video, live_server, upload, wait_job
from vidsearch.config import Settings
from vidsearch.encoders.base import l2_normalize
from vidsearch.errors import ModelError
from vidsearch.service.app import create_app
from vidsearch.service.engine import Engine
from vidsearch.service.metrics import ServiceMetrics
from vidsearch.service.settings import ServiceSettings
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video


class BrokenEncoder:
    """Satisfies the Encoder protocol; text encoding fails the way it is told to."""

    identity = "fake:broken"
    name = "broken"
    dim = 8

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return l2_normalize(np.ones((len(images), self.dim)))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise self.failure

    def close(self) -> None:
        pass


@pytest.fixture()
def broken(tmp_path: Path) -> Iterator[tuple[LiveServer, BrokenEncoder]]:
    encoder = BrokenEncoder(RuntimeError("secret internal detail"))
    settings = Settings(home=tmp_path / "home")
    engine = Engine(settings, ServiceMetrics(), encoder=encoder)
    live = LiveServer(create_app(settings, ServiceSettings(api_key=API_KEY), engine=engine))
    live.start()
    yield live, encoder
    live.stop()


def test_unexpected_failures_are_plain_json_500(
    broken: tuple[LiveServer, BrokenEncoder], caplog: pytest.LogCaptureFixture
) -> None:
    server, encoder = broken
    with httpx.Client(base_url=server.url) as http:
        body = assert_json_error(http.get("/search", params={"q": "x"}), 500, "internal error")
        assert "secret internal detail" not in str(body)
        encoder.failure = ModelError("the model fell over")
        assert_json_error(http.get("/search", params={"q": "x"}), 503, "the model fell over")
        assert http.get("/healthz").status_code == 200  # the server lives on
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)


def test_protected_reads(
    tmp_path: Path, tiny_model: Path, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    server = live_server(tmp_path / "home", tiny_model, protect_reads=True)
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}) as http:
            index_video(http, standard_video[0])
            moment = http.get("/search", params={"q": "scene"}).json()["moments"][0]
        with httpx.Client(base_url=server.url) as anonymous:
            for path in ("/search?q=scene", "/videos", "/standard.mp4/?search_entry=x"):
                assert_json_error(anonymous.get(path), 401, "reading the index needs the API key")
            assert_json_error(anonymous.get(moment["thumbnail_url"]), 401)
            assert anonymous.get("/healthz").status_code == 200
            assert anonymous.get("/readyz").status_code == 200
            assert anonymous.get("/metrics").status_code == 200
            assert anonymous.get("/").status_code == 200  # the page asks for the key
        # <img> and <video> cannot send headers: the page's cookie carries the key
        with httpx.Client(cookies={"vidsearch_api_key": API_KEY}) as browser:
            assert browser.get(moment["thumbnail_url"]).status_code == 200
            stream = browser.get(moment["play_url"].split("#")[0], headers={"Range": "bytes=0-9"})
            assert stream.status_code == 206
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}) as b:
            assert b.get("/videos").status_code == 200
    finally:
        server.stop()


def test_writes_are_refused_without_a_configured_key(tmp_path: Path, tiny_model: Path) -> None:
    server = live_server(tmp_path / "home", tiny_model, api_key=None)
    try:
        with httpx.Client(base_url=server.url) as http:
            for key in (None, "anything"):
                response = upload(http, tiny_model / "config.json", "x.mp4", key=key)
                assert_json_error(response, 403, "start the server with VIDSEARCH_API_KEY")
            assert_json_error(http.delete("/videos/x.mp4"), 403, "VIDSEARCH_API_KEY")
            assert http.get("/search", params={"q": "reads work"}).status_code == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_a_restarted_server_resumes_unfinished_uploads(tmp_path: Path, tiny_model: Path) -> None:
    video = tmp_path / "resume-me.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 25 * 10, color=i) for i in range(12)], seed=5)
    home = tmp_path / "home"
    first = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=first.url, timeout=60) as http:
            response = upload(http, video)
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            deadline = time.monotonic() + 60
            while (job := http.get(f"/jobs/{job_id}").json())["frames_done"] < 100:
                assert job["state"] in ("queued", "running"), job
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        first.stop()  # mid-job: the job is cancelled, nothing is rolled back
    if job["state"] == "done":
        pytest.skip("indexing finished before the server could be stopped")

    second = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=second.url, timeout=60) as http:
            jobs = http.get("/jobs").json()["jobs"]
            assert [j["file"] for j in jobs] == ["resume-me.mp4"]  # queued again at start-up
            done = wait_job(http, jobs[0]["id"])
            assert done["state"] == "done" and done["video"] == "resume-me.mp4", done
            video_info = http.get("/videos/resume-me.mp4").json()
            assert video_info["complete"] and video_info["frames"] >= 12
    finally:
        second.stop()
