"""One rule for the same video uploaded under two names, decided at upload time (409 naming
the video it already is, indexed or still queued, no second file kept); a delete removes
exactly what it names, also a queued upload; and a deleted upload stays deleted across a
restart of the server on the same data directory."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service_support import API_KEY, assert_json_error, live_server, upload, wait_job
from vidsearch.testing.videos import Scene, SceneKind, write_video

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dup-clips")
    long = root / "long.mp4"  # keeps the worker busy while the others are queued
    write_video(long, [Scene(SceneKind.TEXTURE, 400, color=2), Scene(SceneKind.TEXTURE, 400)])
    same = root / "same.mp4"
    write_video(same, [Scene(SceneKind.TEXTURE, 25, color=5)], seed=77)
    return {"long": long, "same": same}


def names(http: httpx.Client) -> list[str]:
    return sorted(v["name"] for v in http.get("/videos").json()["videos"])


def uploads(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "uploads").iterdir() if p.is_file())


def test_same_content_under_two_names(
    tmp_path: Path, tiny_model: Path, clips: dict[str, Path]
) -> None:
    home = tmp_path / "home"
    live = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            busy = upload(http, clips["long"])
            assert busy.status_code == 202, busy.text
            first = upload(http, clips["same"], "dupA.mp4")
            assert first.status_code == 202, first.text
            assert http.get(f"/jobs/{busy.json()['id']}").json()["state"] != "done"
            # queued, not indexed yet: the same bytes under another name are refused now
            assert_json_error(upload(http, clips["same"], "dupB.mp4"), 409, "'dupA.mp4'")
            assert "dupB.mp4" not in uploads(home)
            assert wait_job(http, first.json()["id"])["video"] == "dupA.mp4"
            assert_json_error(upload(http, clips["same"], "dupB.mp4"), 409, "'dupA.mp4'")
            assert http.get("/videos/dupA.mp4").json()["path"].endswith("/uploads/dupA.mp4")
            assert http.delete("/videos/dupB.mp4", headers=KEY).status_code == 404
            gone = http.delete("/videos/dupA.mp4", headers=KEY)
            assert gone.status_code == 200 and gone.json()["file_deleted"], gone.text
            assert uploads(home) == ["long.mp4"] and names(http) == ["long.mp4"]
    finally:
        live.stop()
    live = live_server(home, tiny_model)  # the same data directory: a restart
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            assert "dupA.mp4" not in names(http) and "dupA.mp4" not in uploads(home)
            again = upload(http, clips["same"], "dupB.mp4")  # nothing holds that content now
            assert again.status_code == 202, again.text
            assert wait_job(http, again.json()["id"])["state"] == "done"
            assert "dupB.mp4" in names(http) and "dupA.mp4" not in names(http)
    finally:
        live.stop()


def test_a_queued_upload_can_be_deleted_and_stays_deleted(
    tmp_path: Path, tiny_model: Path, clips: dict[str, Path]
) -> None:
    home = tmp_path / "home"
    live = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            assert upload(http, clips["long"]).status_code == 202
            queued = upload(http, clips["same"], "queued.mp4")
            assert queued.status_code == 202, queued.text
            gone = http.delete("/videos/queued.mp4", headers=KEY)
            assert gone.status_code == 200, gone.text
            assert gone.json()["cancelled_jobs"] == [queued.json()["id"]]
            assert gone.json()["file_deleted"] and "queued.mp4" not in uploads(home)
            assert wait_job(http, queued.json()["id"])["state"] == "cancelled"
    finally:
        live.stop()
    live = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            jobs = http.get("/jobs").json()["jobs"]
            assert all(j["file"] != "queued.mp4" for j in jobs), jobs
            assert "queued.mp4" not in names(http) and "queued.mp4" not in uploads(home)
    finally:
        live.stop()


def test_a_resumed_upload_holds_its_content(
    tmp_path: Path, tiny_model: Path, clips: dict[str, Path]
) -> None:
    """An upload left unindexed by the previous run is resumed with its content id: the
    same bytes under another name are refused while it waits, as before the restart."""
    home = tmp_path / "home"
    live = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            # resumed in name order: the long one first, so left.mp4 waits after the restart
            assert upload(http, clips["long"], "a-long.mp4").status_code == 202
            assert upload(http, clips["same"], "left.mp4").status_code == 202
    finally:
        live.stop()  # left.mp4 never started: its file waits in uploads/
    assert "left.mp4" in uploads(home)
    live = live_server(home, tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            assert_json_error(
                upload(http, clips["same"], "other.mp4"), 409, "being indexed as 'left.mp4'"
            )
            assert "other.mp4" not in uploads(home)
    finally:
        live.stop()
