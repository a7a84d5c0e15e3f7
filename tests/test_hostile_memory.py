"""The hostile requests of issue 18 against a real `vidsearch serve` process, whose memory is
measured from outside: its peak resident set (VmHWM, reset to the current RSS once the server
is warm) may grow by at most RSS_GROWTH_BOUND over the warm baseline, no answer is 5xx, and
/metrics does not grow with the unknown paths asked for.

The requests: a 1x60000 PNG and a 13000x13000 PNG bomb to `POST /search`, a chunked 64 MiB
body without Content-Length, random thumbnail names, hostile Range headers, and a burst of
unknown one-segment paths."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service_support import API_KEY, free_port, index_video
from test_pixel_bounds import png_of_zeros
from vidsearch.testing.videos import Scene, SceneKind, write_video

pytestmark = pytest.mark.slow

MB = 1 << 20
RSS_GROWTH_BOUND = 300 * MB  # peak over the warm baseline, for all the requests together
START_TIMEOUT_S = 120
SEED = 18
THUMBNAIL_NAMES = 300
UNKNOWN_PATHS = 2000
CHUNKED_BYTES = 64 * MB
HOSTILE_RANGES = [
    "bytes=²-",
    "bytes=٣-٤",
    "bytes=" + "9" * 5000 + "-",
    "bytes=0-" + "9" * 5000,
    "bytes=" + ",".join(f"{i}-{i}" for i in range(2000)),
    "bytes=-0",
    "bytes=-" + "1" * 40,
    "bytes=5-1",
    "bytes=18446744073709551616-",
    "bytes=0-0,-1",
    "items=0-1",
    "bytes=\u00a00-1",
    "bytes=0x10-0x20",
    "bytes=-",
    "bytes=" + "0-," * 3000,
]


def _header_bytes(text: str) -> bytes:
    """Latin-1 where it fits (the server reads `²` back as `²`), else the UTF-8 bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def served(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """`vidsearch serve` in its own process group with a short video indexed: (pid, url)."""
    root = tmp_path_factory.mktemp("hostile-memory")
    video = root / "clip.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(2)])
    port = free_port()
    env = {**os.environ, "VIDSEARCH_API_KEY": API_KEY, "VIDSEARCH_HOME": str(root / "home")}
    env.pop("VIDSEARCH_MODEL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "vidsearch", "serve", "--port", str(port)]
        + ["--model", str(tiny_model), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                assert process.poll() is None, f"vidsearch serve exited: {process.returncode}"
                assert time.monotonic() < deadline, "vidsearch serve did not become ready"
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            index_video(http, video)
        yield process.pid, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _chunked_search(port: int, size: int) -> bytes:
    """A chunked `POST /search` of `size` zeros (no Content-Length); the first bytes of the
    answer, read as soon as there is one."""
    boundary = b"b0undary"
    head = (
        b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n\r\n"
    )
    part = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="image"; '
        b'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
    )
    piece = b"\0" * (256 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        sent = 0
        try:
            while sent < size:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and stopped reading
            pass
        sock.settimeout(30)
        try:
            return sock.recv(4096)
        except OSError:
            return b""


def test_hostile_requests_stay_within_the_memory_bound(served: tuple[int, str]) -> None:
    pid, url = served
    rng = random.Random(SEED)
    statuses: dict[str, list[int]] = {}

    def record(what: str, response: httpx.Response) -> None:
        statuses.setdefault(what, []).append(response.status_code)

    with httpx.Client(base_url=url, timeout=120) as http:
        video = http.get("/videos").json()
        video = video[0] if isinstance(video, list) else video["videos"][0]
        name, video_id = video["name"], video["video_id"]
        # warm up every path measured: a text and an image search, a thumbnail, a stream
        moments = http.get("/search", params={"q": "texture"}).json()
        assert moments, moments
        small = png_of_zeros(64, 48)
        assert http.post("/search", files={"image": ("s.png", small, "image/png")}).is_success
        assert (
            http.get(f"/videos/{name}/stream", headers={"Range": "bytes=0-99"}).status_code == 206
        )
        metrics_before = len(http.get("/metrics").content)
        baseline = _status_kib(pid, "VmRSS")
        reset = _reset_peak(pid)
        if not reset:
            baseline = _status_kib(pid, "VmHWM")  # startup's peak: a looser, still honest bound

        for width, height in [(1, 60000), (60000, 1), (13000, 13000)]:
            data = png_of_zeros(width, height)
            record("png", http.post("/search", files={"image": ("b.png", data, "image/png")}))
        answer = _chunked_search(int(url.rsplit(":", 1)[1]), CHUNKED_BYTES)
        statuses["chunked"] = [int(answer.split(b" ", 2)[1])] if answer else [0]
        for _ in range(THUMBNAIL_NAMES):
            t = rng.choice(
                [str(rng.randrange(10**6)), str(2**63 + rng.randrange(10**6)), f"{rng.random()}"]
            )
            record("thumbnail", http.get(f"/thumbnails/{video_id}/{t}.jpg"))
        for text in HOSTILE_RANGES:
            value = _header_bytes(text)
            record("range", http.get(f"/videos/{name}/stream", headers={"Range": value}))
            record("range", http.head(f"/videos/{name}/stream", headers={"Range": value}))
        for _ in range(UNKNOWN_PATHS):
            record("unknown", http.get(f"/{rng.getrandbits(64):x}"))
        metrics_after = len(http.get("/metrics").content)
        assert http.get("/readyz").status_code == 200

    peak = _status_kib(pid, "VmHWM")
    growth = peak - baseline
    cases = sum(len(v) for v in statuses.values())
    errors = {what: [s for s in codes if s >= 500 or s == 0] for what, codes in statuses.items()}
    print(
        f"hostile memory: {cases} requests, baseline {baseline / MB:.0f} MB, "
        f"peak {peak / MB:.0f} MB (+{growth / MB:.0f} MB, reset={reset}), "
        f"/metrics {metrics_before} -> {metrics_after} bytes, "
        f"statuses { ({w: sorted(set(c)) for w, c in statuses.items()}) }"
    )
    assert not any(errors.values()), errors
    assert statuses["png"] == [400, 400, 400], statuses["png"]
    assert statuses["chunked"] == [413], statuses["chunked"]
    assert growth < RSS_GROWTH_BOUND, (growth / MB, baseline / MB, peak / MB)
    assert metrics_after < metrics_before + 64 * 1024, (metrics_before, metrics_after)
