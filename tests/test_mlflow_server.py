"""`vidsearch mlflow-server` as real processes on 127.0.0.1: a training run logs and registers
its bundle through the server (the artifacts land in the server's folder), a separate
`vidsearch` process indexes and searches with `models:/NAME@champion`, and SIGTERM stops the
command and every process the server started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from process_support import assert_clean_failure, vidsearch
from service_support import free_port
from train_support import options, text_config, write_small_world
from vidsearch.cli import app
from vidsearch.train.mlflow_server import ServerConfig, allowed_hosts

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process groups from /proc"
)

NAME = "vidsearch-fa-served"
QUERY_FA = "مربع آبی در وسط"
STARTUP_S = 150  # the command's own limit is 120 s
STOP_S = 20  # TERM, a 10 s grace period, KILL
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


@dataclass
class Served:
    command: subprocess.Popen[bytes]
    uri: str
    home: Path
    log: Path
    started_s: float


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state) of every process on this machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
        found[int(entry.name)] = (int(parent), int(group), state)
    return found


def _descendants(pid: int) -> dict[int, int]:
    """pid -> process group of every live process below `pid`."""
    table = _processes()
    below, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, group, state) in table.items():
            if ppid == parent and state != "Z" and child not in below:
                below[child] = group
                frontier.append(child)
    return below


def _alive_in(groups: set[int]) -> list[int]:
    return [p for p, (_, group, state) in _processes().items() if group in groups and state != "Z"]


def _stop(command: subprocess.Popen[bytes]) -> None:
    """Whatever a failed test left: the command's group and the server's."""
    groups = {command.pid, *_descendants(command.pid).values()}
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    command.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("mlflow-server")
    home, out, log = root / "home", root / "stdout.txt", root / "server.log"
    port = free_port()
    args = [sys.executable, "-m", "vidsearch", "mlflow-server", "--home", str(home)]
    args += ["--port", str(port)]
    started = time.monotonic()
    with out.open("wb") as stdout, log.open("wb") as stderr:
        command = subprocess.Popen(
            args,
            stdout=stdout,
            stderr=stderr,
            env=os.environ | QUIET,
            cwd=root,
            start_new_session=True,
        )
    try:
        while "export MLFLOW_TRACKING_URI=" not in out.read_text():
            assert command.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < STARTUP_S, log.read_text()[-3000:]
            time.sleep(0.2)
        uri = out.read_text().split("export MLFLOW_TRACKING_URI=")[1].split()[0]
        yield Served(command, uri, home, log, time.monotonic() - started)
    finally:
        if command.poll() is None:
            _stop(command)


@pytest.fixture(scope="module")
def trained(
    served: Served, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """A tiny Persian run tracked and registered through the server, run from a folder of its
    own (MLflow must write nothing there); its run id and that folder."""
    from vidsearch.train.runner import train

    root = tmp_path_factory.mktemp("served-run")
    world = write_small_world(root / "world", images=40)
    workdir = root / "cwd"
    workdir.mkdir()
    mlflow_section = {"tracking_uri": served.uri, "experiment": "fa", "registered_model": NAME}
    config = text_config(root / "run", world, tiny_model, mlflow=mlflow_section)
    before = Path.cwd()
    os.chdir(workdir)
    try:
        result = train(config, encoder_options=options(root / "cache"))
    finally:
        os.chdir(before)
    assert result.run_id and result.registered_version == "1"
    return result.run_id, workdir


def test_the_server_answers_on_loopback(served: Served) -> None:
    import urllib.error
    import urllib.request

    assert served.uri.startswith("http://127.0.0.1:")
    print(f"mlflow-server answered after {served.started_s:.1f} s")
    assert (served.home / "mlflow.db").is_file() and (served.home / "artifacts").is_dir()
    api = f"{served.uri}/api/2.0/mlflow/experiments/search?max_results=1"
    with urllib.request.urlopen(api, timeout=10) as answer:
        assert answer.status == 200
    rebound = urllib.request.Request(api, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:  # MLflow's Host check is on
        urllib.request.urlopen(rebound, timeout=10)
    refused.value.close()
    assert refused.value.code == 403
    log = served.log.read_text()
    assert "MLflow tracking server at " in log and "Creating initial MLflow database" in log


def test_the_invocation_and_the_hosts_it_accepts(tmp_path: Path) -> None:
    config = ServerConfig(tmp_path / "srv", host="0.0.0.0", port=5500, allowed_hosts=("mlflow",))
    assert config.tracking_uri == "http://127.0.0.1:5500"
    assert ServerConfig(tmp_path, host="::1").tracking_uri == "http://[::1]:5000"
    command = config.command("python")
    assert command[:4] == ["python", "-m", "mlflow", "server"]
    assert "--serve-artifacts" in command
    command.remove("--serve-artifacts")
    option = dict(zip(command[4::2], command[5::2], strict=True))
    assert option["--backend-store-uri"] == f"sqlite:///{tmp_path / 'srv' / 'mlflow.db'}"
    assert option["--artifacts-destination"] == str(tmp_path / "srv" / "artifacts")
    assert (option["--host"], option["--port"], option["--workers"]) == ("0.0.0.0", "5500", "2")
    hosts = option["--allowed-hosts"].split(",")
    assert hosts[:2] == ["mlflow", "mlflow:*"] and {"localhost:*", "10.*", "172.31.*"} <= set(hosts)
    assert allowed_hosts(["mlflow:5000", "*.corp"])[:3] == ["mlflow:5000", "*.corp", "*.corp:*"]
    assert "--allowed-hosts" not in ServerConfig(tmp_path).command()  # MLflow's defaults


def test_training_logs_and_registers_through_the_server(
    served: Served, trained: tuple[str, Path]
) -> None:
    from vidsearch.train.registry import ModelRegistry

    run_id, workdir = trained
    client = mlflow.MlflowClient(tracking_uri=served.uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params["kind"] == "text"
    assert "best/val/recall_at_1" in run.data.metrics
    assert len(client.get_metric_history(run_id, "train/loss")) >= 2
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # proxied by the server
    files = {a.path for a in client.list_artifacts(run_id, "bundle")}
    assert {"bundle/bundle.json", "bundle/text-fa", "bundle/image"} <= files

    version = client.get_model_version_by_alias(NAME, "champion")
    assert (str(version.version), version.run_id) == ("1", run_id)
    holder = ModelRegistry(served.uri).holder(NAME)
    assert holder is not None and (holder.version, holder.run_id) == ("1", run_id)
    assert ModelRegistry(served.uri).holder("no-such-model") is None  # an answer, not an error

    [manifest] = (served.home / "artifacts").rglob("bundle/bundle.json")
    assert run_id in manifest.parts
    assert not any(workdir.iterdir())  # no mlruns/ or mlartifacts/ where training ran


def test_a_separate_search_process_loads_the_registered_model(
    served: Served,
    trained: tuple[str, Path],
    standard_video: tuple[Path, list],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served.uri)
    monkeypatch.setenv("VIDSEARCH_MODEL", f"models:/{NAME}@champion")
    monkeypatch.setenv("VIDSEARCH_HOME", str(home))
    monkeypatch.setenv("VIDSEARCH_BACKEND", "torch")
    started = time.monotonic()
    indexed = vidsearch("index", standard_video[0], home=home)
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    print(f"index {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    found = vidsearch("search", QUERY_FA, "--json", "-k", "3", home=home)
    print(f"search {time.monotonic() - started:.1f} s")
    assert found.returncode == 0, found.stderr[-3000:]
    result = json.loads(found.stdout)
    assert result["encoder"]["bundle"] == f"models:/{NAME}@champion"
    assert result["encoder"]["language"] == "fa" and result["encoder"]["name"].endswith("text-fa")
    assert result["moments"] and all(m["video"] == "standard.mp4" for m in result["moments"])
    cache = Path(os.environ["VIDSEARCH_CACHE_DIR"])
    assert list(cache.glob(f"registry/*/{NAME}/1/bundle.json"))  # downloaded through the server


def test_sigterm_stops_the_command_and_every_server_process(served: Served) -> None:
    command = served.command
    assert command.poll() is None, served.log.read_text()[-3000:]
    below = _descendants(command.pid)
    groups = {command.pid, *below.values()}
    assert len(below) >= 3 and len(groups) == 2  # mlflow, uvicorn, workers: a group of their own
    os.kill(command.pid, signal.SIGTERM)  # the command only, as a service manager would
    started = time.monotonic()
    code = command.wait(timeout=STOP_S)
    stopped_s = time.monotonic() - started
    print(f"mlflow-server stopped {len(below)} processes in {stopped_s:.1f} s")
    assert code == 0, served.log.read_text()[-3000:]
    assert _alive_in(groups) == []
    assert "the MLflow server stopped" in served.log.read_text()


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = vidsearch("mlflow-server", "--port", str(port), home=tmp_path / "home")
    assert_clean_failure(result, f"port {port} on 127.0.0.1 is in use", "--port")
    assert not (tmp_path / "home").exists()  # nothing started, nothing written


def test_without_mlflow_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` fails, as uninstalled
    result = CliRunner().invoke(app, ["mlflow-server", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install -c constraints.txt 'vidsearch[train]'" in result.stderr
