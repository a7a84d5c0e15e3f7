"""The service under hostile requests (what test_service_uploads.py does not cover already):
stalled and trickling uploads, malformed multipart bodies, path traversal in the parameters
left, huge `top_k`, very long queries, invalid UTF-8, odd API keys; CORS off by default and
security headers. Every one gets a clean JSON 4xx and leaves the index as it was."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest

from service_support import API_KEY, assert_json_error, index_video, live_server
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, write_video

IDLE_TIMEOUT_S = 1.0
KEY = {"X-API-Key": API_KEY}
PART = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hardening") / "home"


@pytest.fixture(scope="module")
def server(home: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    live = live_server(home, tiny_model, body_idle_timeout_s=IDLE_TIMEOUT_S)
    video = tmp_path_factory.mktemp("hardening-clip") / "film.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(2)])
    with httpx.Client(base_url=live.url, timeout=60) as http:
        index_video(http, video)
    yield live
    live.stop()


@pytest.fixture()
def http(server: LiveServer, home: Path) -> Iterator[httpx.Client]:
    """A client; after the test, the index must be as it was before it."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        before = _state(client)
        yield client
        assert _state(client) == before
        incoming = home / "uploads" / ".incoming"
        assert not incoming.exists() or list(incoming.iterdir()) == []


def _state(http: httpx.Client) -> tuple[object, object]:
    videos = http.get("/videos").json()
    found = http.get("/search", params={"q": "a texture", "top_k": 5}).json()
    return videos, [(m["video"], m["start"], m["score"]) for m in found["moments"]]


def _raw(server: LiveServer, request: bytes, *, then: bytes = b"", wait: float = 0.0) -> bytes:
    """Send `request`, optionally `then` after `wait` seconds; the raw answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        if then:
            time.sleep(wait)
            sock.sendall(then)
        answer = b""
        while not _complete(answer) and (chunk := sock.recv(65536)):
            answer += chunk
        return answer


def _complete(answer: bytes) -> bool:
    """Whether `answer` holds a whole HTTP response (headers and Content-Length bytes)."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _upload_head(length: int) -> bytes:
    return (
        b"POST /videos HTTP/1.1\r\nHost: test\r\nX-API-Key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: " + MULTIPART.encode() + b"\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def test_a_stalled_upload_is_ended_with_408(server: LiveServer, http: httpx.Client) -> None:
    started = time.monotonic()
    answer = _raw(server, _upload_head(100_000) + PART + b"\0" * 1000)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"the request body stalled: no data for 1 s" in answer
    assert IDLE_TIMEOUT_S <= took < IDLE_TIMEOUT_S + 10


def test_a_trickling_upload_is_ended_with_408(server: LiveServer, http: httpx.Client) -> None:
    """Ten bytes every half second: never idle for a whole second, far too slow."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(_upload_head(100_000) + PART)
        answer = b""
        sock.settimeout(0.5)
        for _ in range(40):
            try:
                if not answer:
                    sock.sendall(b"\0" * 10)
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            answer += chunk
            if not chunk or _complete(answer):
                break
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"the request body arrives too slowly" in answer


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (PART + b"data but no closing boundary", MULTIPART, "ends before its closing boundary"),
        (b"\x00\xff garbage", MULTIPART, "the multipart body is malformed"),
        (PART.replace(b"--xyz", b"--abc") + b"x\r\n--abc--\r\n", MULTIPART, "malformed"),
        (PART + b"x\r\n--xyz--\r\n", "multipart/form-data", "has no boundary"),
        (b"--xyz\r\n\r\nheaderless\r\n--xyz--\r\n", MULTIPART, "no 'file' field"),
        (PART + b"x\r\n" + PART + b"y\r\n--xyz--\r\n", MULTIPART, "one file per upload"),
        (
            b"--xyz\r\nContent-Disposition: form-data; name=file; filename="
            + b"a" * 20_000
            + b".mp4\r\n\r\nx\r\n--xyz--\r\n",
            MULTIPART,
            "Maximum header size exceeded",
        ),
    ],
    ids=[
        "unterminated",
        "garbage",
        "other boundary",
        "no boundary",
        "headerless",
        "two files",
        "huge header",
    ],  # fmt: skip
)
def test_malformed_multipart_is_400(
    http: httpx.Client, body: bytes, content_type: str, fragment: str
) -> None:
    response = http.post("/videos", content=body, headers={**KEY, "Content-Type": content_type})
    assert_json_error(response, 400, fragment)


def test_malformed_image_forms_are_4xx(http: httpx.Client) -> None:
    garbage = http.post("/search", content=b"--xyz\r\nbroken", headers={"Content-Type": MULTIPART})
    assert_json_error(garbage, 422, "no 'image' field")
    no_boundary = http.post(
        "/search", content=b"whatever", headers={"Content-Type": "multipart/form-data"}
    )
    assert 400 <= no_boundary.status_code < 500 and "Traceback" not in no_boundary.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/videos/..%2F..%2Fcatalog.sqlite"),
        ("GET", "/videos/%2e%2e%2f%2e%2e%2findex.lock"),
        ("DELETE", "/videos/..%2F..%2Fcatalog.sqlite"),
        ("DELETE", "/videos/%2Fetc%2Fpasswd"),
        ("GET", "/jobs/..%2F..%2Fcatalog.sqlite"),
        ("GET", "/jobs/%2e%2e"),
        ("GET", "/thumbnails/..%2F..%2F..%2Fetc/passwd"),
    ],
)
def test_traversal_in_the_remaining_path_parameters(
    server: LiveServer, http: httpx.Client, method: str, path: str
) -> None:
    connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.putheader("X-API-Key", API_KEY)
        connection.endheaders()
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()
    assert status in (400, 404), (status, body[:200])
    assert b"SQLite format" not in body and b"root:" not in body and b"Traceback" not in body


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/search", {"q": "x", "top_k": str(10**30)}, "top_k"),
        ("/search", {"q": "x", "top_k": "-1"}, "top_k"),
        ("/search", {"q": "x", "top_k": "1e3"}, "top_k"),
        ("/search", {"q": "x" * 1001}, "at most 1000 characters"),
        ("/search", {"q": "word " * 10_000}, "at most 1000 characters"),
        ("/film.mp4/", {"search_entry": "x", "top_k": str(10**9)}, "top_k"),
        ("/film.mp4/", {"search_entry": "é" * 5000}, "at most 1000 characters"),
    ],
)
def test_huge_top_k_and_long_queries_are_422(
    http: httpx.Client, path: str, params: dict[str, str], fragment: str
) -> None:
    assert_json_error(http.get(path, params=params), 422, fragment)


def test_a_40k_request_line_is_a_json_422(server: LiveServer, http: httpx.Client) -> None:
    answer = _raw(server, b"GET /search?q=" + b"x" * 40_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 422 "), answer[:200]
    assert b"at most 1000 characters" in answer


@pytest.mark.parametrize(
    "target",
    [
        "/search?q=%FF%FE",
        "/search?q=caf%E9",
        "/videos/%C3%28",
        "/film.mp4/?search_entry=%80abc",
        "/thumbnails/%FF/0.jpg",
    ],
)
def test_invalid_utf8_in_the_request_is_400(
    server: LiveServer, http: httpx.Client, target: str
) -> None:
    response = http.get(target)
    assert_json_error(response, 400, "not valid UTF-8")


def test_odd_api_keys_are_401(http: httpx.Client) -> None:
    for key in (b"\xff\xfe", b"x" * 8000, API_KEY.encode() + b"x", API_KEY[:-1].encode()):
        response = http.delete("/videos/film.mp4", headers={"X-API-Key": key})
        assert_json_error(response, 401)


def test_cors_is_off_by_default(http: httpx.Client) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    response = http.get("/videos", headers=origin)
    assert response.status_code == 200
    assert not any(h.startswith("access-control-") for h in response.headers)
    preflight = http.options(
        "/videos/film.mp4", headers={**origin, "Access-Control-Request-Method": "DELETE"}
    )
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_origins_configured(tmp_path: Path, tiny_model: Path) -> None:
    allowed = "https://friend.example"
    live = live_server(tmp_path / "home", tiny_model, cors_origins=[allowed])
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            response = http.get("/videos", headers={"Origin": allowed})
            assert response.headers["access-control-allow-origin"] == allowed
            other = http.get("/videos", headers={"Origin": "https://stranger.example"})
            assert "access-control-allow-origin" not in other.headers
            preflight = http.options(
                "/videos/x.mp4",
                headers={"Origin": allowed, "Access-Control-Request-Method": "DELETE"},
            )
            assert preflight.status_code == 200
            assert "DELETE" in preflight.headers["access-control-allow-methods"]
    finally:
        live.stop()


def test_security_headers(http: httpx.Client) -> None:
    for path in ("/", "/docs", "/videos", "/no/such/thing", "/static/app.js"):
        headers = http.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-frame-options"] == "DENY", path
    page = http.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in page and "unsafe-inline" not in page
    assert "frame-ancestors 'none'" in page and "object-src 'none'" in page
    assert "unsafe-inline" in http.get("/docs").headers["content-security-policy"]
    assert "content-security-policy" not in http.get("/videos").headers  # JSON: no page
