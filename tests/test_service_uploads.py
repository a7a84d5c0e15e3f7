"""Writes over HTTP: auth, uploads (limits, content, names), jobs, deletes — and that bad
requests never reach outside the data directory nor corrupt the index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest

from service_support import API_KEY, assert_json_error, index_video, live_server, upload, wait_job
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, write_video

MAX_UPLOAD_BYTES = 8_000_000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads") / "home"


@pytest.fixture(scope="module")
def server(home: Path, tiny_model: Path) -> Iterator[LiveServer]:
    live = live_server(home, tiny_model, max_upload_bytes=MAX_UPLOAD_BYTES)
    yield live
    live.stop()


@pytest.fixture()
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small distinct videos (different content ids) and broken files."""
    root = tmp_path_factory.mktemp("clips")
    out = {}
    for i in range(4):
        out[f"clip{i}"] = root / f"clip{i}.mp4"
        write_video(out[f"clip{i}"], [Scene(SceneKind.TEXTURE, 50, color=i)], seed=10 + i)
    mkv = root / "long.mkv"
    write_video(mkv, [Scene(SceneKind.TEXTURE, 125, color=1), Scene(SceneKind.TEXTURE, 125)])
    out["truncated"] = root / "truncated.mkv"
    out["truncated"].write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    out["text"] = root / "notes.mp4"
    out["text"].write_text("this is not a video\n" * 20)
    out["big"] = root / "big.mp4"
    out["big"].write_bytes(b"\0" * (MAX_UPLOAD_BYTES + 100_000))
    return out


def names(http: httpx.Client) -> list[str]:
    return [v["name"] for v in http.get("/videos").json()["videos"]]


def leftovers(home: Path) -> list[str]:
    incoming = home / "uploads" / ".incoming"
    return sorted(p.name for p in incoming.iterdir()) if incoming.exists() else []


def test_upload_job_progress_then_searchable(
    http: httpx.Client, clips: dict[str, Path], home: Path
) -> None:
    response = upload(http, clips["clip0"])
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["url"]
    assert job["file"] == "clip0.mp4" and job["state"] in ("queued", "running", "done")
    assert job["frames_total"] == 50
    done = wait_job(http, job["id"])
    assert done["state"] == "done" and done["result"] == "indexed"
    assert done["video"] == "clip0.mp4" and done["frames_indexed"] >= 1
    assert done["frames_done"] == done["frames_total"] == 50 and done["progress"] == 1.0
    assert (home / "uploads" / "clip0.mp4").read_bytes() == clips["clip0"].read_bytes()
    moments = http.get("/search", params={"q": "texture", "video": "clip0.mp4"}).json()
    assert moments["moments"] and moments["moments"][0]["video"] == "clip0.mp4"
    assert any(j["id"] == job["id"] for j in http.get("/jobs").json()["jobs"])


def test_a_finished_job_is_whole_by_every_field(http: httpx.Client, tmp_path: Path) -> None:
    """x264's defaults make B-frames, which the fast decoder skips (about half the frames):
    the frames done follow the position in the video, and a done job shows all of them."""
    video = tmp_path / "bframes.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 200, color=5)], seed=55, preset=None)
    response = upload(http, video)
    assert response.status_code == 202, response.text
    seen = []
    while (job := http.get(f"/jobs/{response.json()['id']}").json())["state"] in (
        "queued",
        "running",
    ):
        seen.append(job)
    assert job["state"] == "done", job
    assert job["frames_done"] == job["frames_total"] == 200
    assert job["progress"] == 1.0 and job["position"] == job["duration"] > 0
    assert 0 < job["frames_indexed"] <= job["frames_total"]
    for running in (j for j in seen if j["frames_done"] > 0):
        assert running["progress"] == pytest.approx(
            running["frames_done"] / running["frames_total"], abs=0.01
        )
        assert running["frames_done"] <= running["frames_total"]


def test_writes_need_the_api_key(http: httpx.Client, clips: dict[str, Path]) -> None:
    assert_json_error(upload(http, clips["clip1"], key=None), 401, "API key")
    assert_json_error(upload(http, clips["clip1"], key="wrong"), 401, "wrong API key")
    assert_json_error(http.delete("/videos/clip0.mp4"), 401, "API key")
    assert_json_error(
        http.delete("/videos/clip0.mp4", headers={"X-API-Key": "wrong"}), 401, "wrong API key"
    )
    response = http.delete("/videos/clip0.mp4", headers={"Authorization": "Bearer nope"})
    assert_json_error(response, 401)
    assert "clip0.mp4" in names(http)  # nothing was changed
    assert "clip1.mp4" not in names(http)


@pytest.mark.parametrize(
    ("filename", "status", "fragment"),
    [
        ("../escape.mp4", 400, "must be a plain name, not a path"),
        ("../../../../tmp/escape.mp4", 400, "not a path"),
        ("/etc/escape.mp4", 400, "not a path"),
        ("sub/dir.mp4", 400, "not a path"),
        ("..\\escape.mp4", 400, "not a path"),
        ("..", 400, "must not start with a dot"),
        (".hidden.mp4", 400, "must not start with a dot"),
        ("", 400, "no 'file' field with a file"),
        ("notes.txt", 415, ".txt is not a video file type"),
        ("noextension", 415, "no extension is not a video file type"),
    ],
)
def test_bad_file_names_are_refused(
    http: httpx.Client,
    clips: dict[str, Path],
    home: Path,
    filename: str,
    status: int,
    fragment: str,
) -> None:
    before = sorted(p.name for p in home.parent.rglob("*"))
    response = upload(http, clips["clip1"], filename)
    assert_json_error(response, status, fragment)
    assert sorted(p.name for p in home.parent.rglob("*")) == before
    assert not (home.parent / "escape.mp4").exists() and not Path("/tmp/escape.mp4").exists()
    assert leftovers(home) == []


def test_oversize_upload_is_cut_off(http: httpx.Client, clips: dict[str, Path], home: Path) -> None:
    assert_json_error(upload(http, clips["big"]), 413, "larger than the limit of 7.6 MiB")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        boundary = b"--b0undary"
        yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        yield b"Content-Type: video/mp4\r\n\r\n"
        for _ in range(90):
            yield b"\0" * 100_000
        yield b"\r\n" + boundary + b"--\r\n"

    response = http.post(
        "/videos",
        content=chunks(),
        headers={"X-API-Key": API_KEY, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert_json_error(response, 413, "larger than the limit")
    assert leftovers(home) == [] and not (home / "uploads" / "big.mp4").exists()


def test_wrong_content_is_refused(http: httpx.Client, clips: dict[str, Path], home: Path) -> None:
    response = http.post(
        "/videos",
        content=clips["clip1"].read_bytes(),
        headers={"X-API-Key": API_KEY, "Content-Type": "video/mp4"},
    )
    assert_json_error(response, 415, "multipart/form-data")
    body = assert_json_error(upload(http, clips["text"]), 415, "notes.mp4: not a video file")
    assert str(home) not in body["message"]  # the temporary path is not shown
    response = http.post(
        "/videos",
        files={"other": ("x.mp4", b"data")},
        headers={"X-API-Key": API_KEY},
    )
    assert_json_error(response, 400, "no 'file' field")
    empty = clips["text"].with_name("empty.mp4")
    empty.write_bytes(b"")
    assert_json_error(upload(http, empty), 400, "empty.mp4: the file is empty")
    assert not (home / "uploads" / "notes.mp4").exists() and leftovers(home) == []
    assert "notes.mp4" not in names(http)


def test_conflicts(http: httpx.Client, clips: dict[str, Path], tmp_path: Path) -> None:
    index_video(http, clips["clip2"])
    assert_json_error(upload(http, clips["clip2"]), 409, "'clip2.mp4' already exists")
    copy = tmp_path / "copy-of-clip2.mp4"
    shutil.copy(clips["clip2"], copy)
    assert_json_error(upload(http, copy), 409, "already indexed as 'clip2.mp4'")
    assert names(http).count("clip2.mp4") == 1 and "copy-of-clip2.mp4" not in names(http)


def test_a_video_that_fails_to_index_is_rolled_back(
    http: httpx.Client, clips: dict[str, Path], home: Path
) -> None:
    response = upload(http, clips["truncated"])
    assert response.status_code == 202, response.text  # it probes fine: decoding fails later
    job = wait_job(http, response.json()["id"])
    assert job["state"] == "failed" and "truncated" in job["error"]
    assert "truncated.mkv" not in names(http)
    assert not (home / "uploads" / "truncated.mkv").exists()  # the name can be used again
    assert http.get("/search", params={"q": "texture"}).status_code == 200


def test_delete(http: httpx.Client, clips: dict[str, Path], home: Path) -> None:
    index_video(http, clips["clip3"])
    headers = {"X-API-Key": API_KEY}
    response = http.delete("/videos/clip3.mp4", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "clip3.mp4", "file_deleted": True, "cancelled_jobs": []}
    assert not (home / "uploads" / "clip3.mp4").exists()
    assert "clip3.mp4" not in names(http)
    found = http.get("/search", params={"q": "texture", "top_k": 50}).json()["moments"]
    assert "clip3.mp4" not in {m["video"] for m in found}
    assert_json_error(http.get("/videos/clip3.mp4/stream"), 404)
    assert_json_error(http.delete("/videos/clip3.mp4", headers=headers), 404, "'clip3.mp4'")
    index_video(http, clips["clip3"])  # the name is free again
    assert "clip3.mp4" in names(http)


def _raw_get(server: LiveServer, path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (no client-side normalisation of `..`)."""
    connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/thumbnails/../../catalog.sqlite",
        "/thumbnails/..%2F..%2Fcatalog.sqlite/0.jpg",
        "/thumbnails/%2e%2e/%2e%2e%2fcatalog.sqlite",
        "/thumbnails/%2Fetc/passwd",
        "/videos/..%2F..%2Fcatalog.sqlite/stream",
        "/videos/%2Fetc%2Fpasswd/stream",
        "/videos/../../catalog.sqlite/stream",
        "/..%2F..%2Fcatalog.sqlite/?search_entry=x",
        "/%2Fetc%2Fpasswd/?search_entry=x",
        "/static/../../index/edge_config.json",
        "/static/..%2F..%2F..%2Findex.lock",
    ],
)
def test_paths_never_leave_the_data_directory(server: LiveServer, path: str) -> None:
    status, body = _raw_get(server, path)
    assert status in (400, 404), (status, body[:200])
    assert b"SQLite format" not in body and b"root:" not in body and b"vectors" not in body
    assert b"Traceback" not in body


def test_deleting_a_video_being_indexed_stops_its_job(
    http: httpx.Client, tmp_path: Path, home: Path
) -> None:
    long = tmp_path / "long-upload.mp4"
    write_video(long, [Scene(SceneKind.TEXTURE, 25 * 40, color=5)], size=(320, 180))
    response = upload(http, long)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    for _ in range(600):  # wait until it is running and has a catalog entry
        job = http.get(f"/jobs/{job_id}").json()
        if job["state"] == "running" and job["frames_done"] > 0:
            break
    else:
        pytest.fail(f"the job did not start: {job}")
    if job["state"] != "running":
        pytest.skip("indexing finished before it could be interrupted")
    deleted = http.delete("/videos/long-upload.mp4", headers={"X-API-Key": API_KEY})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["cancelled_jobs"] == [job_id]
    assert http.get(f"/jobs/{job_id}").json()["state"] == "cancelled"
    assert "long-upload.mp4" not in names(http) and not (home / "uploads" / long.name).exists()
