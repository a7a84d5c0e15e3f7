"""Working beside `vidsearch serve`: while a server holds the index, the CLI's commands ask it
(and print what they print locally), `index` hands paths to it as jobs (with the key, inside
its media roots), and a stale lock record is never taken for a server."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from service_support import API_KEY, free_port, live_server, serve_process
from vidsearch.cli import app
from vidsearch.cli.server_library import server_url
from vidsearch.config import DataDir
from vidsearch.index.lock import LockHolder, read_holder
from vidsearch.service.server import holder_text
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video

KEY = "beside-key"


@contextmanager
def serving(home: Path, model: Path, **env: str) -> Iterator[str]:
    """`vidsearch serve` in its own process group (ended by its pid); its URL."""
    with serve_process(home, model, env) as (_, url):
        yield url


def _cli(home: Path, *args: str, key: str | None = None):
    env = {"VIDSEARCH_HOME": str(home), "VIDSEARCH_API_KEY": key}
    return CliRunner().invoke(app, list(args), env=env)


def _clip(path: Path, color: int) -> Path:
    write_video(path, [Scene(SceneKind.TEXTURE, 20, color=color)], fps=10, seed=color)
    return path


def test_the_lock_record_names_the_server_url() -> None:
    for host, url in (("127.0.0.1", "http://127.0.0.1:8123"), ("::1", "http://[::1]:8123")):
        assert server_url(LockHolder(os.getpid(), holder_text(host, 8123))) == url
    assert server_url(LockHolder(os.getpid(), "vidsearch doctor")) is None


@pytest.mark.slow
def test_read_commands_ask_the_server_and_print_what_they_print_locally(
    home: Path, tiny_model: Path, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    path = standard_video[0]
    assert _cli(home, "index", str(path), "--model", str(tiny_model)).exit_code == 0
    record = json.loads(_cli(home, "videos", "--json").stdout)[0]
    query = tmp_path / "query.png"
    Image.open(DataDir(home).thumbnails / record["video_id"] / "0.jpg").save(query)
    commands = [
        ["videos"],
        ["videos", "--json"],
        ["search", "a textured scene", "--top-k", "3"],
        ["search", "a textured scene", "--json", "--mode", "visual"],
        ["search", "--image", str(query), "--json"],
        ["search", "a scene", "--video", "standard.mp4", "--min-score", "-1", "--json"],
    ]
    local = [_cli(home, *args) for args in commands]
    assert all(r.exit_code == 0 for r in local), [r.output for r in local]

    with serving(home, tiny_model, VIDSEARCH_API_KEY=KEY) as url:
        for args, alone in zip(commands, local, strict=True):
            beside = _cli(home, *args)
            assert beside.exit_code == 0, (args, beside.output)
            assert beside.stdout == alone.stdout, args
            assert f"the vidsearch server at {url} holds the index" in beside.stderr
        data = json.loads(beside.stdout)
        assert data["moments"] and all(m["thumbnail"] for m in data["moments"])

        doctor = _cli(home, "doctor")
        assert doctor.exit_code == 1
        assert f"the vidsearch server at {url} holds {home}" in doctor.stderr
        assert "1 videos (1 complete)" in doctor.stderr and "stop the server" in doctor.stderr

        missing = _cli(home, "search", "a scene", "--video", "nope.mp4")
        assert missing.exit_code == 1 and "Traceback" not in missing.output
        assert missing.stderr.splitlines()[-1].startswith("error: no indexed video named 'nope")

        refused = _cli(home, "remove", "standard.mp4")  # no key here
        assert refused.exit_code == 1 and "VIDSEARCH_API_KEY" in refused.stderr
        wrong = _cli(home, "remove", "standard.mp4", key="not-the-key")
        assert wrong.exit_code == 1 and "wrong API key" in wrong.stderr
        removed = _cli(home, "remove", "standard.mp4", key=KEY)
        assert removed.exit_code == 0 and removed.stdout == "removed standard.mp4\n"
        assert _cli(home, "videos").stdout == "no videos indexed yet\n"


@pytest.mark.slow
def test_index_hands_paths_under_the_media_roots_to_the_server(
    home: Path, tiny_model: Path, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    root = tmp_path / "media"
    clips = [_clip(root / "films" / f"clip{n}.mp4", n) for n in range(2)]
    outside = standard_video[0]
    (root / "films" / "link.mp4").symlink_to(outside)  # a way out of the root
    (root / "out.mp4").symlink_to(outside)
    env = {"VIDSEARCH_API_KEY": KEY, "VIDSEARCH_MEDIA_ROOTS": f"{tmp_path / 'none'}:{root}"}
    with serving(home, tiny_model, **env) as url:
        no_key = _cli(home, "index", str(clips[0]))
        assert no_key.exit_code == 1
        assert (
            f"vidsearch server at {url}" in no_key.stderr and "VIDSEARCH_API_KEY" in no_key.stderr
        )
        for path in (outside, root / "out.mp4", root / ".." / outside.name):
            refused = _cli(home, "index", str(path), key=KEY)
            assert refused.exit_code == 1, refused.output
            assert "outside the server's media roots" in refused.stderr
            assert "VIDSEARCH_MEDIA_ROOTS" in refused.stderr and "upload" in refused.stderr

        done = _cli(home, "index", str(root / "films"), "--json", key=KEY)
        assert done.exit_code == 1, done.output  # the link out is refused, the clips indexed
        assert "FAILED  " in done.stderr and "link.mp4" in done.stderr
        for n in range(2):
            assert f"of 3: clip{n}.mp4" in done.stderr
            assert f"indexed clip{n}.mp4: " in done.stderr
        reports = json.loads(done.stdout)
        assert sorted((r["name"], r["status"]) for r in reports if r["name"]) == [
            ("clip0.mp4", "indexed"),
            ("clip1.mp4", "indexed"),
        ]
        again = _cli(home, "index", str(clips[1]), key=KEY)
        assert again.exit_code == 0 and "skipped clip1.mp4: already indexed" in again.stderr
        videos = json.loads(_cli(home, "videos", "--json").stdout)
        assert [(v["name"], v["complete"]) for v in videos] == [
            ("clip0.mp4", True),
            ("clip1.mp4", True),
        ]
    assert _cli(home, "videos").stdout.count("complete") == 2  # the server's work is kept


def test_the_route_refuses_what_it_must(home: Path, tiny_model: Path, tmp_path: Path) -> None:
    root = tmp_path / "media"
    clip = _clip(root / "clip.mp4", 1)
    live = live_server(home, tiny_model, media_roots=[root])
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:

            def post(paths: list[str], key: str | None = API_KEY) -> httpx.Response:
                headers = {"X-API-Key": key} if key else {}
                return http.post("/videos/local", json={"paths": paths}, headers=headers)

            assert post([str(clip)], key=None).status_code == 401
            assert post([str(clip)], key="wrong").status_code == 401
            assert post(["clip.mp4"]).status_code == 400  # relative: whose folder?
            assert post([str(root / "nope.mp4")]).status_code == 404
            assert post([str(root / ".." / "media" / ".." / "x.mp4")]).status_code == 403
            assert post([]).status_code == 422
            answer = post([str(root)])
            assert answer.status_code == 202, answer.text
            [entry] = answer.json()["files"]
            assert entry["path"] == str(clip.resolve()) and entry["job"]["file"] == "clip.mp4"
    finally:
        live.stop()
    live = live_server(tmp_path / "other", tiny_model)  # no media roots: uploads only
    try:
        answer = httpx.post(
            f"{live.url}/videos/local", json={"paths": [str(clip)]}, headers={"X-API-Key": API_KEY}
        )
        assert answer.status_code == 403 and "VIDSEARCH_MEDIA_ROOTS" in answer.json()["message"]
    finally:
        live.stop()


@contextmanager
def _held(home: Path, record: str) -> Iterator[None]:
    """The index lock of `home` held by this process, with `record` as its holder's."""
    lock = DataDir(home).lock
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
        yield
    finally:
        os.close(fd)


def test_a_stale_lock_record_is_not_a_server(home: Path, tiny_model: Path, tmp_path: Path) -> None:
    live = live_server(tmp_path / "served", tiny_model)  # a real server, of another index
    dead = subprocess.Popen(["true"])
    dead.wait()
    closed = f"http://127.0.0.1:{free_port()}"
    try:
        for pid, url in ((dead.pid, live.url), (os.getpid(), closed)):
            record = f"pid {pid}: vidsearch server at {url}: search it there, or stop it"
            with _held(home, record):
                assert read_holder(DataDir(home).lock) == LockHolder(pid, record.split(": ", 1)[1])
                result = _cli(home, "videos")
            assert result.exit_code == 1, (pid, url, result.output)
            assert "is in use by another process" in result.stderr
            assert "asking it" not in result.stderr
        # the control: the same record with a live process and an answering URL is a server
        with _held(home, f"pid {os.getpid()}: vidsearch server at {live.url}: search it there"):
            asked = _cli(home, "videos")
        assert asked.exit_code == 0 and asked.stdout == "no videos indexed yet\n"
        assert f"the vidsearch server at {live.url} holds the index" in asked.stderr
    finally:
        live.stop()
    # a record left behind by a killed server, with the lock free: the index opens here
    DataDir(home).lock.write_text(f"pid {dead.pid}: vidsearch server at {live.url}: gone")
    result = _cli(home, "videos")
    assert result.exit_code == 0 and "asking it" not in result.stderr
