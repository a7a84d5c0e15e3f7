"""Helpers for the service tests: build the app on the tiny model, upload, wait for jobs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vidsearch.client import Client
from vidsearch.config import Settings
from vidsearch.service.app import create_app
from vidsearch.service.settings import ServiceSettings
from vidsearch.testing.server import LiveServer

API_KEY = "test-key-0123456789"
JOB_TIMEOUT_S = 120.0


def live_server(home: Path, model: Path, **service: Any) -> LiveServer:
    """A started server on 127.0.0.1 with its own data directory; stop() it when done."""
    options: dict[str, Any] = {"api_key": API_KEY, "protect_reads": False}
    options.update(service)
    settings = Settings(home=home, model=str(model), interval=2.0, batch_size=8)
    return LiveServer(create_app(settings, ServiceSettings(**options))).start()


@contextlib.contextmanager
def serving(home: Path, model: Path, video: Path) -> Iterator[LiveServer]:
    """A started server with `video` uploaded and indexed; stopped on exit."""
    live = live_server(home, model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            index_video(http, video)
        yield live
    finally:
        live.stop()


def upload(
    http: httpx.Client, path: Path, name: str | None = None, *, key: str | None = API_KEY
) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    with path.open("rb") as file:
        return http.post(
            "/videos",
            files={"file": (path.name if name is None else name, file, "video/mp4")},
            headers=headers,
        )


def wait_job(http: httpx.Client, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(f"/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.1)


def index_video(http: httpx.Client, path: Path, name: str | None = None) -> dict[str, Any]:
    """Upload and wait until searchable; the finished job."""
    response = upload(http, path, name)
    assert response.status_code == 202, response.text
    job = wait_job(http, response.json()["id"])
    assert job["state"] == "done", job
    return job


def assert_json_error(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    """The response is our JSON error with that status, naming the problem, no traceback."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["status"] == status and body["error"] and body["message"], body
    assert "Traceback" not in response.text
    for fragment in fragments:
        assert fragment in body["message"], (fragment, body["message"])
    return body


SERVE_START_TIMEOUT_S = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_process(
    home: Path, model: Path, env: dict[str, str] | None = None, *, stop: int | None = None
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`vidsearch serve` as a process of its own group (ended by its pid) and its URL, once
    ready. `stop`: the signal that ends it (default SIGTERM, then SIGKILL after 60 s)."""
    port = free_port()
    environ = {**os.environ, "VIDSEARCH_HOME": str(home), **(env or {})}
    environ.pop("VIDSEARCH_MODEL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "vidsearch", "serve", "--port", str(port)]
        + ["--model", str(model), "--log-level", "warning"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT_S
        with Client(url) as client:
            while not client.ready():
                if process.poll() is not None:
                    out = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"vidsearch serve exited with {process.returncode}:\n{out}")
                assert time.monotonic() < deadline, "vidsearch serve did not become ready"
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, stop or signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        if process.stdout:
            process.stdout.close()
