"""The pipelines' steps without Airflow: how params are filled in, URL downloads (resumed,
bounded), and the video_ingest steps on real videos with the tiny model (new vs known videos,
a corrupt file, a held index)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vidsearch.errors import ConfigError, IndexLockedError, MediaError
from vidsearch.index.store import IndexStore
from vidsearch.pipelines import is_permanent
from vidsearch.pipelines.downloads import download, staged_path
from vidsearch.pipelines.errors import DownloadError
from vidsearch.pipelines.params import Kind, build_settings, resolve, spec
from vidsearch.pipelines.video_ingest import discover, index_video, refresh_stats
from vidsearch.testing.videos import Scene, SceneKind, write_video

SPECS = (
    spec("workdir", Kind.STRING, "where"),
    spec("epochs", Kind.INTEGER, "how long", 5),
    spec("sources", Kind.ARRAY, "what", []),
    spec("crawl", (Kind.OBJECT, Kind.STRING), "settings or a file"),
    spec("subtitles", Kind.BOOLEAN, "dialogue"),
    spec("backend", Kind.STRING, "runtime", choices=("onnx", "torch")),
)


def test_a_param_given_wins_then_its_variable_then_its_default() -> None:
    variables = {"vidsearch_workdir": "/from/variable", "vidsearch_epochs": "7"}
    asked: list[str] = []

    def variable(name: str) -> str | None:
        asked.append(name)
        return variables.get(name)

    values = resolve(SPECS, {"workdir": "/given", "epochs": None, "sources": []}, variable)
    assert values["workdir"] == "/given" and "vidsearch_workdir" not in asked
    assert values["epochs"] == 7  # the Variable's text, as the param's type
    assert values["sources"] == [] and values["crawl"] is None and values["backend"] is None
    assert resolve(SPECS, {}, lambda name: None)["epochs"] == 5


def test_variables_are_read_as_the_params_type() -> None:
    texts = {
        "vidsearch_sources": '["a.mp4", "https://example.com/b.mp4"]',
        "vidsearch_crawl": "/etc/crawl.json",
        "vidsearch_subtitles": "no",
        "vidsearch_backend": "torch",
    }
    values = resolve(SPECS, {}, texts.get)
    assert values["sources"] == ["a.mp4", "https://example.com/b.mp4"]
    assert values["crawl"] == "/etc/crawl.json"  # an object-or-path param given a path
    assert values["subtitles"] is False and values["backend"] == "torch"
    assert resolve(SPECS, {}, {"vidsearch_crawl": '{"endpoint": "x"}'}.get)["crawl"] == {
        "endpoint": "x"
    }
    with pytest.raises(ConfigError, match="Variable vidsearch_epochs must be integer"):
        resolve(SPECS, {}, {"vidsearch_epochs": "many"}.get)
    with pytest.raises(ConfigError, match="backend must be one of onnx, torch, not 'tpu'"):
        resolve(SPECS, {"backend": "tpu"}, None)


def test_index_settings_left_empty_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIDSEARCH_HOME", str(tmp_path / "env-home"))
    assert build_settings({"home": None, "interval": None}).home == tmp_path / "env-home"
    assert build_settings({"home": str(tmp_path / "given")}).home == tmp_path / "given"
    with pytest.raises(ConfigError, match="invalid setting: qdrant_url"):
        build_settings({"qdrant_url": "localhost:6333"})
    description = spec("home", Kind.STRING, "data directory").help()
    assert description == "data directory [Empty: Variable vidsearch_home, else VIDSEARCH_HOME]"


class _FileServer:
    """Serves one file on 127.0.0.1 with Range support; the first answer can stop halfway."""

    def __init__(self, data: bytes, *, cut_first: bool = False) -> None:
        self.data = data
        self.cut_first = cut_first
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path != "/v.mp4":
                    self.send_error(404)
                    return
                wanted = self.headers.get("Range")
                server.ranges.append(wanted)
                start = int(wanted[len("bytes=") : -1]) if wanted else 0
                body = server.data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first:
                    server.cut_first = False
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v.mp4"

    def __enter__(self) -> _FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_cut_download_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000
    with _FileServer(data, cut_first=True) as server:
        with pytest.raises(DownloadError, match="kept to resume") as cut:
            download(server.url, tmp_path)
        assert not is_permanent(cut.value)
        staged = staged_path(server.url, tmp_path)
        part = staged.with_name(staged.name + ".part")
        assert 0 < part.stat().st_size < len(data)
        path = download(server.url, tmp_path)
        assert path.read_bytes() == data and not part.exists()
        assert server.ranges == [None, f"bytes={len(data) // 2}-"]
        assert download(server.url, tmp_path) == path and len(server.ranges) == 2


def test_downloads_are_bounded_and_4xx_is_permanent(tmp_path: Path) -> None:
    with _FileServer(b"x" * 5000) as server:
        with pytest.raises(DownloadError, match="larger than the 1,000-byte limit") as large:
            download(server.url, tmp_path, max_bytes=1000)
        assert is_permanent(large.value) and list(tmp_path.iterdir()) == []
        with pytest.raises(DownloadError, match="HTTP 404") as missing:
            download(server.url.replace("v.mp4", "gone.mp4"), tmp_path)
        assert is_permanent(missing.value)


@pytest.fixture()
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    for number, name in enumerate(("one.mp4", "two.mp4")):
        scenes = [Scene(SceneKind.TEXTURE, 20, color=number), Scene(SceneKind.STATIC, 20, 3)]
        write_video(folder / name, scenes, size=(96, 64))
    (folder / "copy-of-one.mp4").write_bytes((folder / "one.mp4").read_bytes())
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_ingest_steps_index_new_videos_once(videos: Path, tmp_path: Path, tiny_model: Path) -> None:
    settings = {"home": str(tmp_path / "home"), "model": str(tiny_model), "backend": "torch"}
    found = discover(folder=str(videos), settle_seconds=0, settings=settings)
    # one file per content; a file still being copied (just written) waits for the next run
    assert [Path(p).name for p in found["new"]] == ["copy-of-one.mp4", "two.mp4"]
    assert discover(folder=str(videos), settings=settings)["settling"] == [
        str(videos / n) for n in ("copy-of-one.mp4", "one.mp4", "two.mp4")
    ]
    reports = [index_video(source, settings=settings) for source in found["new"]]
    assert [r["status"] for r in reports] == ["indexed", "indexed"]
    assert index_video(str(videos / "one.mp4"), settings=settings)["status"] == "skipped"
    again = discover(
        folder=str(videos),
        sources=[str(tmp_path / "gone.mp4")],
        settle_seconds=0,
        settings=settings,
    )
    assert again["new"] == [str(tmp_path / "gone.mp4")] and again["missing"] == again["new"]
    assert len(again["known"]) == 2

    # a watched file that kept its size and time is not read again; a changed one is new
    two = videos / "two.mp4"
    status = two.stat()
    data = bytearray(two.read_bytes())
    data[-100] ^= 0xFF
    two.write_bytes(bytes(data))
    os.utime(two, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert str(two) in discover(folder=str(videos), settle_seconds=0, settings=settings)["known"]
    os.utime(two, ns=(status.st_atime_ns, status.st_mtime_ns - 10**9))
    assert discover(folder=str(videos), settle_seconds=0, settings=settings)["new"] == [str(two)]

    bad = videos / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match="bad.mp4") as failed:
        index_video(str(bad), settings=settings)
    assert is_permanent(failed.value)

    stats = refresh_stats(settings=settings, discovered=[*found["new"], str(bad)], reports=reports)
    assert stats["videos"] == stats["complete"] == 2 and stats["failed_now"] == [str(bad)]
    assert stats["points"] == stats["frames"] > 0 and stats["optimized"] is False

    # the embedded index belongs to one process: a held index is a retryable error
    with IndexStore(tmp_path / "home", holder="vidsearch serve on :8000"):
        with pytest.raises(IndexLockedError, match="vidsearch serve on :8000") as held:
            index_video(str(videos / "two.mp4"), settings=settings)
    assert not is_permanent(held.value)


def test_discover_needs_something_to_watch(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothing to watch"):
        discover(settings={"home": str(tmp_path)})
    with pytest.raises(ConfigError, match="does not exist"):
        discover(folder=str(tmp_path / "nowhere"), settings={"home": str(tmp_path)})


def test_the_steps_and_the_cli_never_import_airflow() -> None:
    code = (
        "import sys, vidsearch.cli, vidsearch.pipelines.video_ingest, "
        "vidsearch.pipelines.persian_clip, vidsearch.pipelines.candidate; "
        "print(sorted(m for m in ('airflow', 'mlflow', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
