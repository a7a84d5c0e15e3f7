"""vidsearch.client against a real server: every call, results as dataclasses, typed errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

import vidsearch.client as client_module
from service_support import API_KEY, live_server
from vidsearch.client import (
    BadRequest,
    Client,
    Conflict,
    Frame,
    HTTPError,
    Job,
    JobFailed,
    Moment,
    NotFound,
    PayloadTooLarge,
    SearchResult,
    ServerUnreachable,
    Unauthorized,
    UnsupportedMediaType,
    Video,
)
from vidsearch.errors import VidsearchError
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[LiveServer]:
    live = live_server(tmp_path_factory.mktemp("client") / "home", tiny_model)
    yield live
    live.stop()


@pytest.fixture()
def client(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, api_key=API_KEY) as c:
        yield c


def test_all_is_honest() -> None:
    assert client_module.__all__ == sorted(client_module.__all__)
    for name in client_module.__all__:
        assert hasattr(client_module, name)


def test_round_trip(
    client: Client, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    assert client.ready()
    seen: list[Job] = []
    job = client.upload(standard_video[0], wait=True, progress=seen.append)
    assert isinstance(job, Job) and job.state == "done" and job.finished
    assert job.video == "standard.mp4" and job.frames_indexed == 6
    assert seen and seen[-1] == job and all(0 <= j.progress <= 1 for j in seen)

    videos = client.videos()
    assert videos == [client.video("standard.mp4")]
    assert isinstance(videos[0], Video) and videos[0].complete and videos[0].uploaded

    result = client.search("a textured scene", top_k=2, videos=["standard.mp4"])
    assert isinstance(result, SearchResult) and result.query == "a textured scene"
    assert len(result.moments) == 2 and all(isinstance(m, Moment) for m in result.moments)
    best = result.moments[0]
    assert best.start <= best.timestamp < best.end and best.frames
    assert best.play_url.split("#")[0] == videos[0].stream_url

    thumb = httpx.get(best.thumbnail_url).content  # type: ignore[arg-type]
    image_path = tmp_path / "frame.jpg"
    image_path.write_bytes(thumb)
    by_path = client.search_image(image_path, top_k=1)
    by_bytes = client.search_image(thumb, top_k=1)
    with Image.open(image_path) as pil:
        by_pil = client.search_image(pil, top_k=1)
    for found in (by_path, by_bytes, by_pil):
        assert found.moments[0].video == "standard.mp4"
        assert found.moments[0].score > 0.9

    frames = client.frames("standard.mp4", "a red scene", top_k=2)
    assert len(frames) == 2 and all(isinstance(f, Frame) for f in frames)
    picture = frames[0].image()
    assert isinstance(picture, Image.Image) and picture.size[0] > 0

    deleted = client.delete("standard.mp4")
    assert deleted.name == "standard.mp4" and deleted.file_deleted
    assert client.videos() == []
    assert client.search("a textured scene").moments == []


def test_upload_with_progress_bars(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "bars.mp4"
    write_video(clip, [Scene(SceneKind.TEXTURE, 50, color=6)], seed=99)
    job = client.upload(clip, wait=True, progress=True)
    assert job.state == "done"
    err = capsys.readouterr().err
    assert "upload bars.mp4" in err and "index bars.mp4" in err
    other = tmp_path / "nowait.mp4"
    write_video(other, [Scene(SceneKind.TEXTURE, 50, color=2)], seed=98)
    queued = client.upload(other)  # returns at once, with the job
    assert queued.file == "nowait.mp4" and queued.frames_total == 50
    assert client.wait(queued.id).state == "done"
    assert client.job(queued.id).video == "nowait.mp4"


def test_typed_errors(server: LiveServer, client: Client, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no indexed video named 'nope.mp4'") as info:
        client.video("nope.mp4")
    assert info.value.status == 404 and isinstance(info.value, VidsearchError)
    with pytest.raises(BadRequest, match="top_k"):
        client.search("x", top_k=0)
    with pytest.raises(NotFound):
        client.delete("nope.mp4")
    with pytest.raises(NotFound):
        client.job("nope")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(UnsupportedMediaType, match="notes.mp4: not a video file"):
        client.upload(text)
    with pytest.raises(UnsupportedMediaType, match="not an image"):
        client.search_image(b"not an image")
    with Client(server.url) as anonymous:
        anonymous.search("reads are open")
        with pytest.raises(Unauthorized, match="needs the API key") as denied:
            anonymous.delete("anything.mp4")
        assert denied.value.status == 401
    with Client(server.url, api_key="wrong") as wrong:
        with pytest.raises(Unauthorized, match="wrong API key"):
            wrong.delete("anything.mp4")

    clip = tmp_path / "twice.mp4"
    write_video(clip, [Scene(SceneKind.TEXTURE, 40, color=3)], seed=7)
    client.upload(clip, wait=True)
    with pytest.raises(Conflict, match="already exists"):
        client.upload(clip)

    long = tmp_path / "long.mkv"
    write_video(long, [Scene(SceneKind.TEXTURE, 200, color=1), Scene(SceneKind.TEXTURE, 100)])
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(long.read_bytes()[: long.stat().st_size // 2])
    with pytest.raises(JobFailed, match="indexing cut.mkv failed: .*truncated") as failed:
        client.upload(cut, wait=True)
    assert failed.value.job.state == "failed"


def test_limits_and_unreachable(tmp_path: Path, tiny_model: Path) -> None:
    live = live_server(tmp_path / "home", tiny_model, max_upload_bytes=10_000)
    try:
        big = tmp_path / "big.mp4"
        big.write_bytes(b"\0" * 50_000)
        with Client(live.url, api_key=API_KEY) as c, pytest.raises(PayloadTooLarge):
            c.upload(big)
        url = live.url
    finally:
        live.stop()
    with Client(url, timeout=2) as gone:
        assert not gone.ready()
        with pytest.raises(
            ServerUnreachable, match=f"no answer from the vidsearch server at {url}"
        ):
            gone.search("anything")
    assert issubclass(PayloadTooLarge, HTTPError)
    shutil.rmtree(tmp_path / "home")


def test_search_says_which_encoder_and_mode_and_sends_the_language() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "query": "سگ",
            "moments": [],
            "took_ms": 1.0,
            "encoder": {"bundle": "b", "name": "fa-text", "language": "fa"},
            "mode": "hybrid",
        }
        return httpx.Response(200, json=body)

    with Client("http://server", transport=httpx.MockTransport(answer)) as c:
        result = c.search("سگ", lang="fa")
    assert seen[0].url.params["lang"] == "fa"
    assert result.encoder == client_module.QueryEncoder("b", "fa-text", "fa")
    assert result.mode == "hybrid"


def test_index_local_sends_the_paths_and_reads_the_jobs() -> None:
    sent: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/videos/local"
        assert request.headers["X-API-Key"] == "k"
        sent.append(json.loads(request.content))
        job_body = {
            "id": "j1",
            "url": "http://server/jobs/j1",
            "state": "queued",
            "file": "a.mp4",
            "video": None,
            "result": None,
            "frames_done": 0,
            "frames_total": 0,
            "frames_kept": 0,
            "frames_indexed": 0,
            "progress": 0.0,
            "position": 0.0,
            "duration": 0.0,
            "error": None,
            "created_at": 1.0,
            "started_at": None,
            "finished_at": None,
        }
        body = {
            "files": [{"path": "/m/a.mp4", "job": job_body}],
            "refused": [{"path": "/m/l.mp4", "reason": "outside"}],
        }
        return httpx.Response(202, json=body)

    with Client("http://server", api_key="k", transport=httpx.MockTransport(answer)) as c:
        jobs = c.index_local([Path("/m/a.mp4")])
    assert sent == [{"paths": ["/m/a.mp4"]}]
    [(path, queued)] = jobs.files
    assert path == "/m/a.mp4" and queued.id == "j1" and queued.state == "queued"
    assert jobs.refused == [("/m/l.mp4", "outside")]
