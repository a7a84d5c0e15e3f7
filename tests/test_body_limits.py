"""Request bodies are limited while they stream (issue 18, item 6): a chunked body (no
Content-Length) over its route's limit is answered 413 while the client is still sending,
whatever the route (query image, upload, JSON); and what the form parser spools goes to the
data directory, never to the system temp folder."""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service_support import API_KEY, live_server
from vidsearch.service.hardening import DEFAULT_MAX_BODY_BYTES, DRAIN_LIMIT_BYTES
from vidsearch.testing.server import LiveServer

MiB = 1024 * 1024
IMAGE_LIMIT = 3 * MiB
UPLOAD_LIMIT = 2 * MiB
SENT_BYTES = 96 * MiB  # what the client would send if the server read on
SOCKET_SLACK = 24 * MiB  # loopback send and receive buffers between the client and the server
BOUNDARY = b"b0undary"
MULTIPART = b"multipart/form-data; boundary=" + BOUNDARY


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("body-limits") / "home"


@pytest.fixture(scope="module")
def server(home: Path, tiny_model: Path) -> Iterator[LiveServer]:
    live = live_server(home, tiny_model, max_image_bytes=IMAGE_LIMIT, max_upload_bytes=UPLOAD_LIMIT)
    yield live
    live.stop()


def _head(path: str, content_type: bytes, *, key: bool = False) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: 127.0.0.1",
        b"Content-Type: " + content_type,
        b"Transfer-Encoding: chunked",
    ]
    if key:
        lines.append(b"X-API-Key: " + API_KEY.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _part(field: str, filename: str) -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; "
        + f'name="{field}"; filename="{filename}"\r\n'.encode()
        + b"Content-Type: application/octet-stream\r\n\r\n"
    )  # fmt: skip


def _send_until_answered(server: LiveServer, head: bytes, first: bytes) -> tuple[int, bytes]:
    """Send `head`, `first`, then zeros, chunked, until the server answers (or SENT_BYTES are
    out); the body bytes sent and the answer."""
    piece = _chunk(b"\0" * (256 * 1024))
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head + _chunk(first))
        sent += len(first)
        while sent < SENT_BYTES:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(piece)
            except OSError:  # reset: the server stopped reading
                break
            sent += 256 * 1024
        else:
            sock.sendall(b"0\r\n\r\n")
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    return sent, answer


@pytest.mark.parametrize(
    ("path", "content_type", "first", "limit"),
    [
        ("/search", MULTIPART, _part("image", "a.png"), IMAGE_LIMIT),
        ("/videos", MULTIPART, _part("file", "a.mp4"), UPLOAD_LIMIT),
        ("/videos/local", b"application/json", b'{"paths": ["', DEFAULT_MAX_BODY_BYTES),
    ],
    ids=["query image", "upload", "json"],
)
def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    server: LiveServer, path: str, content_type: bytes, first: bytes, limit: int
) -> None:
    started = time.monotonic()
    sent, answer = _send_until_answered(server, _head(path, content_type, key=True), first)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413 "), (sent, answer[:300])
    assert b"larger than the limit" in answer
    # the server read the limit, then at most DRAIN_LIMIT_BYTES more before answering
    assert sent < limit + DRAIN_LIMIT_BYTES + SOCKET_SLACK, (sent, took)
    assert sent < SENT_BYTES


def _open_files() -> dict[str, str]:
    """This process's open regular files (the server runs in it): fd -> path."""
    files = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/"):
            files[fd] = target
    return files


def test_a_spooled_query_image_stays_in_the_data_directory(server: LiveServer, home: Path) -> None:
    """Starlette spools a form file over 1 MiB to a temporary file: it is made under the
    data directory, so the system temp folder never holds a request body."""
    before = _open_files()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(_head("/search", MULTIPART) + _chunk(_part("image", "a.png")))
        for _ in range(8):  # 2 MiB: past the parser's 1 MiB in memory, under the limit
            sock.sendall(_chunk(b"\0" * (256 * 1024)))
        deadline = time.monotonic() + 10
        spooled: list[str] = []
        while not spooled and time.monotonic() < deadline:
            time.sleep(0.05)
            spooled = [p for fd, p in _open_files().items() if before.get(fd) != p]
        tail = b"\r\n--" + BOUNDARY + b"--\r\n"
        sock.sendall(_chunk(tail) + b"0\r\n\r\n")
        answer = sock.recv(65536)
    assert spooled, "no temporary file was opened for a 2 MiB form file"
    incoming = str((home / "uploads" / ".incoming").absolute())
    assert all(p.startswith(incoming) for p in spooled), spooled
    assert answer.startswith(b"HTTP/1.1 415 "), answer[:300]  # zeros are no image
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/readyz").status_code == 200
