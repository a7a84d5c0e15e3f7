"""`vidsearch serve`: a real server process that owns the index; other `vidsearch` commands on
the same data directory ask it (tests/test_cli_beside_server.py has the rest), and say where
it is."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service_support import serve_process
from vidsearch.cli import app
from vidsearch.client import Client
from vidsearch.index import IndexStore
from vidsearch.testing.videos import SceneSpan


@pytest.fixture()
def served(home: Path, tiny_model: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`vidsearch serve` in its own process group; ended by its pid."""
    key = {"VIDSEARCH_API_KEY": "cli-key"}
    with serve_process(home, tiny_model, key, stop=signal.SIGKILL) as served:
        yield served


@pytest.mark.slow
def test_serve_owns_the_index_and_says_where(
    served: tuple[subprocess.Popen, str],
    home: Path,
    tiny_model: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> None:
    process, url = served
    with Client(url, api_key="cli-key") as client:
        job = client.upload(standard_video[0], wait=True)
        assert job.state == "done" and job.video == "standard.mp4"

    runner = CliRunner(env={"VIDSEARCH_API_KEY": None})
    model = ["--model", str(tiny_model)]
    for args in (  # reads are answered by the server
        ["search", "a scene", "--home", str(home), *model],
        ["videos", "--home", str(home)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "standard.mp4" in result.stdout
        assert f"the vidsearch server at {url} holds the index" in result.stderr
    for args in (  # writes need its key
        ["index", str(standard_video[0]), "--home", str(home), *model],
        ["remove", "standard.mp4", "--home", str(home)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert f"vidsearch server at {url}" in result.output, result.output
        assert "VIDSEARCH_API_KEY" in result.stderr and "Traceback" not in result.output

    process.send_signal(signal.SIGTERM)  # graceful: the lifespan closes the index
    assert process.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
    assert process.stdout is not None
    log = process.stdout.read().decode()
    assert "serving" in log and "Traceback" not in log
    result = runner.invoke(app, ["videos", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert '"standard.mp4"' in result.output and '"complete": true' in result.output


def test_serve_fails_fast_with_one_line(home: Path, tiny_model: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["serve", "--home", str(home), "--model", str(home / "none")])
    assert missing.exit_code == 1
    assert "error: model directory" in missing.output and "does not exist" in missing.output

    with IndexStore(home):  # someone else holds the index
        held = runner.invoke(app, ["serve", "--home", str(home), "--model", str(tiny_model)])
    assert held.exit_code == 1 and "is in use by another process" in held.output
    assert "Traceback" not in held.output + missing.output


def test_serve_refuses_protected_reads_without_a_key(
    home: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDSEARCH_PROTECT_READS", "1")
    monkeypatch.delenv("VIDSEARCH_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--home", str(home), "--model", str(tiny_model)])
    assert result.exit_code == 1 and "VIDSEARCH_PROTECT_READS needs VIDSEARCH_API_KEY" in (
        result.output
    )
    with IndexStore(home):  # the index was released
        pass
