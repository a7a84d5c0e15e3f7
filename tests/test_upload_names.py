"""Upload names outside Latin-1: Persian (with its zero-width non-joiner), decomposed accents,
and the invisible characters that are refused — through the project's client and raw HTTP,
for every route that takes or shows a name (upload, list, describe, search, stream, delete).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from service_support import API_KEY, assert_json_error, live_server, upload, wait_job
from vidsearch.client import Client
from vidsearch.service.names import BadNameError, upload_name
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, write_video

PERSIAN = "فیلم آزمایشی.mp4"
PERSIAN_ZWNJ = "می\u200cخواهم ببینم.mp4"  # the ZWNJ is part of Persian spelling
NFD = unicodedata.normalize("NFD", "café déjà vu.mp4")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("names") / "home"


@pytest.fixture(scope="module")
def server(home: Path, tiny_model: Path) -> Iterator[LiveServer]:
    live = live_server(home, tiny_model)
    yield live
    live.stop()


@pytest.fixture()
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


_seed = iter(range(100, 200))


def clip(folder: Path, name: str) -> Path:
    """A small video of its own content (each call a different content id)."""
    seed = next(_seed)
    path = folder / name
    write_video(path, [Scene(SceneKind.TEXTURE, 25, color=seed % 7)], seed=seed)
    return path


@pytest.mark.parametrize("name", [PERSIAN, PERSIAN_ZWNJ, NFD], ids=["persian", "zwnj", "nfd"])
def test_client_round_trip(server: LiveServer, home: Path, tmp_path: Path, name: str) -> None:
    stored = unicodedata.normalize("NFC", name)
    path = clip(tmp_path, name)
    with Client(server.url, api_key=API_KEY) as client, httpx.Client(timeout=60) as http:
        job = client.upload(path, wait=True, timeout=120)
        assert job.state == "done" and job.video == stored
        assert stored in [v.name for v in client.videos()]
        assert client.video(name).name == stored  # the name as the client has it (NFD too)
        moments = client.search("a texture", videos=[stored], top_k=3).moments
        assert moments and {m.video for m in moments} == {stored}
        streamed = http.get(moments[0].play_url.split("#")[0])
        assert streamed.status_code == 200 and streamed.content == path.read_bytes()
        assert (home / "uploads" / stored).read_bytes() == path.read_bytes()
        deleted = client.delete(name)
        assert deleted.name == stored and deleted.file_deleted
        assert stored not in [v.name for v in client.videos()]
        assert not (home / "uploads" / stored).exists()


def _multipart(disposition: bytes, data: bytes) -> tuple[bytes, dict[str, str]]:
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
        + disposition
        + b"\r\nContent-Type: video/mp4\r\n\r\n"
        + data
        + b"\r\n--b0undary--\r\n"
    )
    headers = {"X-API-Key": API_KEY, "Content-Type": "multipart/form-data; boundary=b0undary"}
    return body, headers


@pytest.mark.parametrize(
    "disposition",
    [
        f'filename="{PERSIAN}"'.encode(),  # what browsers and httpx send: raw UTF-8
        b"filename=\"film.mp4\"; filename*=UTF-8''" + quote(PERSIAN).encode(),
    ],
    ids=["utf8", "rfc5987"],
)
def test_raw_http_names(http: httpx.Client, home: Path, tmp_path: Path, disposition: bytes) -> None:
    path = clip(tmp_path, "x.mp4")
    body, headers = _multipart(disposition, path.read_bytes())
    response = http.post("/videos", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["file"] == PERSIAN
    assert wait_job(http, response.json()["id"])["state"] == "done"
    listed = [v for v in http.get("/videos").json()["videos"] if v["name"] == PERSIAN]
    assert len(listed) == 1 and listed[0]["stream_url"].endswith(
        "/videos/%D9%81%DB%8C%D9%84%D9%85%20%D8%A2%D8%B2%D9%85%D8%A7%DB%8C%D8%B4%DB%8C.mp4/stream"
    )
    assert http.head(listed[0]["stream_url"]).status_code == 200
    gone = http.delete(f"/videos/{PERSIAN}", headers={"X-API-Key": API_KEY})
    assert gone.status_code == 200 and gone.json()["file_deleted"], gone.text
    assert not (home / "uploads" / PERSIAN).exists()


@pytest.mark.parametrize(
    "char",
    [
        "\u202e",  # RIGHT-TO-LEFT OVERRIDE: "evil\u202e4pm.exe" reads as "evilexe.mp4"
        "\u202b",  # RIGHT-TO-LEFT EMBEDDING
        "\u2067",  # RIGHT-TO-LEFT ISOLATE
        "\u200f",  # RIGHT-TO-LEFT MARK
        "\ufeff",  # BYTE ORDER MARK
        "\u2028",  # LINE SEPARATOR
        "\x85",  # NEXT LINE (C1 control)
        "\x1b",  # ESCAPE
    ],
)
def test_invisible_and_control_characters_are_refused(
    http: httpx.Client, home: Path, tmp_path: Path, char: str
) -> None:
    name = f"فیلم{char}ها.mp4"
    path = clip(tmp_path, "x.mp4")
    before = sorted(p.name for p in home.rglob("*"))
    body, headers = _multipart(f'filename="{name}"'.encode(), path.read_bytes())
    response = http.post("/videos", content=body, headers=headers)
    assert_json_error(response, 400, f"U+{ord(char):04X}")
    assert sorted(p.name for p in home.rglob("*")) == before
    with pytest.raises(BadNameError):
        upload_name(name)


def test_every_persian_letter_and_digit_is_kept() -> None:
    letters = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءآأؤئ۰۱۲۳۴۵۶۷۸۹\u200c"
    assert upload_name(f"{letters}.mp4") == f"{letters}.mp4"
    assert upload_name(NFD) == unicodedata.normalize("NFC", NFD) != NFD


def test_httpx_helper_sends_persian(http: httpx.Client, tmp_path: Path) -> None:
    response = upload(http, clip(tmp_path, "y.mp4"), "ویدیو ۲.mp4")
    assert response.status_code == 202, response.text
    assert wait_job(http, response.json()["id"])["video"] == "ویدیو ۲.mp4"
