"""Helpers for the service tests: build the app on the tiny model, upload, wait for jobs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

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
