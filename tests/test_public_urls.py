"""What a response may say about the server (issue 18, item 8): its URLs start with the
configured public URL or the address the connection came in on, never with a Host or
X-Forwarded-* header the client wrote (bodies and Location headers alike); X-Forwarded-*
are ignored unless proxies are configured; no response shows the absolute path of the data
directory or the model directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service_support import index_video, live_server, upload, wait_job
from vidsearch.service.errors import private_forms, redact
from vidsearch.service.server import proxy_options
from vidsearch.service.settings import ServiceSettings
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, write_video

FORGED = "evil.example"
FORGED_HEADERS = {
    "Host": FORGED,
    "X-Forwarded-Host": FORGED,
    "X-Forwarded-Proto": "evilproto",
    "X-Forwarded-Server": FORGED,
    "Forwarded": f"host={FORGED};proto=evilproto",
}
PUBLIC = "https://search.example.org/vs"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("public-urls-clip") / "film.mp4"
    write_video(path, [Scene(SceneKind.TEXTURE, 40, color=i) for i in range(2)])
    return path


def _served(home: Path, model: Path, video: Path, **service: object) -> LiveServer:
    live = live_server(home, model, **service)
    with httpx.Client(base_url=live.url, timeout=60) as http:
        index_video(http, video)
    return live


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("public-urls") / "home"


@pytest.fixture(scope="module")
def server(home: Path, tiny_model: Path, video: Path) -> Iterator[LiveServer]:
    live = _served(home, tiny_model, video)
    yield live
    live.stop()


def _listings(http: httpx.Client) -> Iterator[httpx.Response]:
    """Answers that carry URLs (and the videos' `path`, which they show on purpose)."""
    yield http.get("/search", params={"q": "a texture"})
    yield http.get("/videos")
    yield http.get("/videos/film.mp4")


def _answers(http: httpx.Client, tmp: Path) -> Iterator[httpx.Response]:
    """Answers without a key that name a URL or could name a server path: jobs, redirects,
    uploads (accepted and refused), errors."""
    yield http.get("/film.mp4", params={"search_entry": "x"})  # slash redirect
    yield http.get("/film.mp4/", params={"search_entry": "a texture", "top_k": 2})
    yield http.get("/videos/nothing.mp4")
    yield http.get("/thumbnails/abc/1.jpg")
    yield http.get("/no/such/route")
    broken = tmp / "broken.mp4"
    broken.write_bytes(b"\0not a video" * 100)
    yield upload(http, broken)  # refused at once
    other = tmp / "other.mp4"
    write_video(other, [Scene(SceneKind.TEXTURE, 20, color=7)])
    accepted = upload(http, other)  # 202 with a Location
    assert accepted.status_code == 202, accepted.text
    yield accepted
    yield http.get(f"/jobs/{accepted.json()['id']}")
    wait_job(http, accepted.json()["id"])
    # a header FFmpeg reads over frames it cannot decode: the job fails, naming the file
    data = bytearray(other.read_bytes())
    start, end = data.index(b"mdat") + 4, data.index(b"moov") - 4
    data[start:end] = bytes(end - start)
    damaged = tmp / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    queued = upload(http, damaged)
    assert queued.status_code == 202, queued.text
    failed = wait_job(http, queued.json()["id"])
    assert failed["state"] == "failed" and "damaged.mp4" in failed["error"], failed
    yield http.get(f"/jobs/{queued.json()['id']}")
    yield http.get("/jobs")
    yield http.get("/jobs/nope")


def _text(response: httpx.Response) -> str:
    return response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())


def test_forged_host_and_forwarded_headers_never_come_back(
    server: LiveServer, home: Path, tmp_path: Path, tiny_model: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=60, headers=FORGED_HEADERS) as http:
        listings = list(_listings(http))
        answers = list(_answers(http, tmp_path))
    found = listings[0].json()["moments"]
    assert found and found[0]["thumbnail_url"].startswith(f"{server.url}/thumbnails/")
    assert found[0]["play_url"].startswith(f"{server.url}/videos/film.mp4/stream#t=")
    redirects = [r for r in answers if "location" in r.headers]
    assert len(redirects) >= 2, "a slash redirect and an upload's Location are checked"
    for response in redirects:
        assert response.headers["location"].startswith(server.url + "/"), response.headers
    private = [str(home.absolute()), str(home.resolve()), str(tiny_model.resolve())]
    for response in listings + answers:
        assert response.status_code < 500, response.text
        text = _text(response)
        assert FORGED not in text and "evilproto" not in text, (response.url, text[:500])
    for response in answers:
        for folder in private:
            assert folder not in _text(response), (response.url, folder, response.text[:500])


def test_urls_start_with_the_configured_public_url(
    tmp_path: Path, tiny_model: Path, video: Path
) -> None:
    live = _served(tmp_path / "home", tiny_model, video, public_url=PUBLIC + "/")
    try:
        with httpx.Client(base_url=live.url, timeout=60, headers=FORGED_HEADERS) as http:
            moment = http.get("/search", params={"q": "a texture"}).json()["moments"][0]
            redirect = http.get("/film.mp4", params={"search_entry": "x"})
            listed = http.get("/videos").json()["videos"][0]
    finally:
        live.stop()
    assert moment["thumbnail_url"].startswith(f"{PUBLIC}/thumbnails/")
    assert moment["play_url"].startswith(f"{PUBLIC}/videos/film.mp4/stream#t=")
    assert listed["stream_url"] == f"{PUBLIC}/videos/film.mp4/stream"
    assert redirect.headers["location"].startswith(f"{PUBLIC}/film.mp4/"), redirect.headers


def test_forwarded_headers_are_ignored_unless_proxies_are_configured() -> None:
    assert proxy_options(ServiceSettings()) == {"proxy_headers": False}
    trusted = ServiceSettings(forwarded_allow_ips="10.0.0.1, 10.1.0.0/16")
    assert proxy_options(trusted) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.1", "10.1.0.0/16"],
    }


@pytest.mark.parametrize("url", ["ftp://x.org", "search.example.org", "https://x.org/?a=1"])
def test_a_public_url_must_be_an_http_address(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        ServiceSettings(public_url=url)


def test_redact_keeps_names_and_relative_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hidden = private_forms([home, home / "models" / "tiny"])
    message = f"{home}/uploads/x.mp4 is broken; {home}/models/tiny has no model; {home}"
    assert redact(message, hidden) == "uploads/x.mp4 is broken; tiny has no model; home"
