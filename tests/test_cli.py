"""The `vidsearch` command line: output formats, exit codes and one-line errors."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.testing.videos import SceneSpan


@pytest.fixture()
def cli(home: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VIDSEARCH_HOME", str(home))
    monkeypatch.delenv("VIDSEARCH_MODEL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, model: bool = True):
        extra = ["--model", str(tiny_model)] if model else []
        return runner.invoke(app, [*args, *extra])

    return invoke


def test_index_search_videos_remove(cli, standard_video: tuple[Path, list[SceneSpan]]) -> None:
    path, spans = standard_video
    result = cli("index", str(path))
    assert result.exit_code == 0, result.output
    assert "indexed standard.mp4: 6 frames" in result.output

    result = cli("search", "a textured scene", "--json", "--top-k", "3", model=False)
    assert result.exit_code == 0, result.output  # the index's own model is used by default
    data = json.loads(result.stdout)
    assert data["query"] == "a textured scene"
    assert len(data["moments"]) == 3
    for moment in data["moments"]:
        assert {"video", "path", "start", "end", "timestamp", "score", "thumbnail"} <= set(moment)
        assert moment["video"] == "standard.mp4"
        assert moment["start"] <= moment["timestamp"] < moment["end"]

    result = cli("videos", "--json", model=False)
    videos = json.loads(result.stdout)
    assert [(v["name"], v["frames"], v["complete"]) for v in videos] == [("standard.mp4", 6, True)]
    assert videos[0]["duration"] == pytest.approx(spans[-1].end, abs=0.05)

    result = cli("index", str(path))
    assert result.exit_code == 0 and "skipped standard.mp4: already indexed" in result.output

    result = cli("remove", "standard.mp4", model=False)
    assert result.exit_code == 0 and "removed standard.mp4" in result.output
    assert json.loads(cli("videos", "--json", model=False).stdout) == []
    result = cli("remove", "standard.mp4", model=False)
    assert result.exit_code == 1 and "no indexed video named 'standard.mp4'" in result.output


def test_one_bad_file_does_not_stop_the_others(
    cli, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    good = tmp_path / "good.mp4"
    shutil.copy(standard_video[0], good)
    fake = tmp_path / "fake.mp4"
    fake.write_text("hello")
    result = cli("index", str(tmp_path / "missing.mp4"), str(fake), str(good))
    assert result.exit_code == 1
    assert "missing.mp4: no such file" in result.output
    assert "fake.mp4: not a video file FFmpeg can read" in result.output
    assert "indexed good.mp4" in result.output
    assert "2 of 3 files failed" in result.output
    names = [v["name"] for v in json.loads(cli("videos", "--json", model=False).stdout)]
    assert names == ["good.mp4"]


def test_search_errors(cli, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path) -> None:
    result = cli("search", "anything")
    assert result.exit_code == 1 and "is empty: index some videos first" in result.output
    assert cli("index", str(standard_video[0])).exit_code == 0

    result = cli("search", "   ")
    assert result.exit_code == 1 and "error: empty query" in result.output
    not_image = tmp_path / "photo.jpg"
    not_image.write_text("not an image")
    result = cli("search", "--image", str(not_image))
    assert result.exit_code == 1 and "photo.jpg: not an image that can be read" in result.output
    result = cli("search", "--image", str(tmp_path / "none.png"))
    assert result.exit_code == 1 and "none.png: no such file" in result.output
    result = cli("search", "words", "--image", str(not_image))
    assert result.exit_code == 2 and "either a QUERY or --image" in result.output
    result = cli("search", "words", "--video", "nope.mp4")
    assert result.exit_code == 1 and "no indexed video named 'nope.mp4'" in result.output


def test_missing_model_is_named(
    cli, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    runner_result = cli(
        "index", str(standard_video[0]), "--model", str(tmp_path / "no-model"), model=False
    )
    assert runner_result.exit_code == 1
    assert "model directory" in runner_result.output and "no-model' does not exist" in (
        runner_result.output
    )


def test_image_query_from_the_cli(
    cli, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    from PIL import Image

    from vidsearch.index import IndexStore

    path, spans = standard_video
    assert cli("index", str(path)).exit_code == 0
    with IndexStore(Path(tmp_path / "home")) as store:
        record = store.catalog.videos()[0]
        static_thumb = store.thumbnails.path_for(record.video_id, 0)
    query = tmp_path / "q.png"
    Image.open(static_thumb).save(query)
    data = json.loads(cli("search", "--image", str(query), "--json", model=False).stdout)
    assert data["moments"][0]["start"] == 0.0 and data["moments"][0]["end"] == pytest.approx(3.0)


def test_help_lists_the_commands_by_use() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and len(line) > 2 and line[2].isalpha()
    ]
    common = ["index", "search", "videos", "remove", "serve", "doctor", "snapshot", "restore"]
    rare = ["models", "demo", "export-onnx", "data", "train", "eval", "pipelines"]
    assert listed == [*common, *rare, "mlflow-server"], listed


def test_demo_runs_the_whole_pipeline(tiny_model: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--home", str(tmp_path / "demo"), "--model", str(tiny_model)]
    )
    assert result.exit_code == 0, result.output
    assert "indexed vidsearch-demo.mp4: 6 frames from 18.0s of video" in result.output
    assert 'searching for "a dog"' in result.output
    moments = [line for line in result.stdout.splitlines() if "vidsearch-demo.mp4  " in line]
    assert len(moments) == 6  # one moment per captioned shot
    assert all(0 < float(line.split()[1]) <= 1 for line in moments)  # scores are 0-1
    assert (tmp_path / "demo" / "samples" / "vidsearch-demo.mp4").is_file()


def test_demo_offline_says_so_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("VIDSEARCH_MODEL", raising=False)
    result = CliRunner().invoke(app, ["demo", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 1
    assert "error: cannot download model 'openai/clip-vit-base-patch32'" in result.output
    assert "python -m vidsearch.testing.tiny_model" in result.output


def test_settings_come_from_the_environment(
    tiny_model: Path,
    standard_video: tuple[Path, list[SceneSpan]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIDSEARCH_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("VIDSEARCH_MODEL", str(tiny_model))
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(standard_video[0])]).exit_code == 0
    assert (tmp_path / "env-home" / "catalog.sqlite").is_file()
    result = runner.invoke(app, ["index", str(standard_video[0]), "--interval", "0"])
    assert (
        result.exit_code == 1 and "invalid setting" in result.output and "interval" in result.output
    )


def test_index_chooses_the_shot_detector_and_refuses_unknown_ones(
    standard_video: tuple[Path, list[SceneSpan]], tiny_model: Path, tmp_path: Path
) -> None:
    from process_support import IndexState

    path, _ = standard_video
    shots = {}
    for detector in ("structure", "none"):
        home = tmp_path / detector
        args = ["index", str(path), "--shots", detector, "--workers", "1"]
        result = CliRunner().invoke(app, [*args, "--home", str(home), "--model", str(tiny_model)])
        assert result.exit_code == 0, result.output
        shots[detector] = {p["shot"] for p in IndexState.read(home).points.values()}
    assert len(shots["structure"]) >= 4  # three cuts and a black stretch
    assert len(shots["none"]) == 2  # only the black stretch ends a shot
    bad = CliRunner().invoke(app, ["index", str(path), "--shots", "bogus", "--home", str(tmp_path)])
    assert bad.exit_code == 1 and "structure" in bad.output


def test_a_library_error_exits_with_the_code_of_its_class(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from vidsearch.cli.failing import errors
    from vidsearch.errors import EXIT_CODES, ConfigError, QueryError

    monkeypatch.setitem(EXIT_CODES, QueryError, 7)
    for error, code in ((QueryError("no such video"), 7), (ConfigError("bad value"), 1)):
        with pytest.raises(typer.Exit) as stopped, errors():
            raise error
        assert stopped.value.exit_code == code
        assert capsys.readouterr().err == f"error: {error}\n"


def _cli_modules() -> list[tuple[str, ast.Module]]:
    import vidsearch.cli

    root = Path(vidsearch.cli.__file__).parent
    return [
        (str(path.relative_to(root)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(root.rglob("*.py"))
    ]


def test_only_the_fail_helper_writes_error_lines() -> None:
    """Every CLI fails through vidsearch/cli/failing.py: no other module spells `error:`."""
    spelled = [
        name
        for name, tree in _cli_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("error:")
        and name != "failing.py"
    ]
    assert spelled == []


def test_commands_never_call_each_other() -> None:
    """A command calls the library: no CLI module imports or calls a command function (app.py
    mounts them without calling them)."""
    offenders = []
    for name, tree in _cli_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offenders += [(name, a.name) for a in node.names if a.name.endswith("_command")]
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called.endswith("_command"):
                    offenders.append((name, called))
    assert offenders == []
