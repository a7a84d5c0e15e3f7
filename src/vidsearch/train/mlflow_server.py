"""An MLflow tracking server and model registry for vidsearch, in one folder (`vidsearch
mlflow-server`): runs this Python's

    python -m mlflow server --backend-store-uri sqlite:///HOME/mlflow.db \\
        --artifacts-destination HOME/artifacts --serve-artifacts \\
        --host 127.0.0.1 --port 5000 --workers 2

Artifacts are served through the server (`mlflow-artifacts:/` URIs), so a client needs only
the URL, not the server's file system: training uploads its bundle, search downloads it.

The server runs in its own session (process group): MLflow starts uvicorn, which starts its
workers, and stopping MLflow alone leaves them running, so `stop` ends the whole group (TERM,
then KILL after a grace period). MLflow's job runner (GenAI scorer jobs, a handful of huey
consumer processes vidsearch never uses) is off unless MLFLOW_SERVER_ENABLE_JOB_EXECUTION says
otherwise.

MLflow ≥ 3.5 checks the Host header of every request (DNS rebinding): by default it accepts
localhost and private addresses only. A server other machines reach by a name (a compose
service `mlflow`) needs that name in `allowed_hosts`; those defaults are kept beside it.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from vidsearch.train.errors import TrackingError

INSTALL_HINT = "the MLflow server needs MLflow: pip install -c constraints.txt 'vidsearch[train]'"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
DEFAULT_WORKERS = 2  # sqlite takes one writer at a time; a worker also serves requests in threads
DATABASE = "mlflow.db"
ARTIFACTS = "artifacts"
HEALTH = "/health"
STARTUP_TIMEOUT_S = 120.0  # a cold start on a busy 2-core machine takes ~25 s
STOP_GRACE_S = 10.0  # TERM, then KILL
TAIL_LINES = 40  # in an error
HELD_LINES = 2000  # output before the server answers, shown once it does
# MLflow's own default Host patterns, kept when names are added: loopback and private networks
LOOPBACK_HOSTS = ("localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[[]::1]:*")
PRIVATE_HOSTS = ("10.*", "192.168.*", *(f"172.{i}.*" for i in range(16, 32)), "fc00:*", "fd00:*")
_QUIET_JOBS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
_BIND_FAILED = ("address already in use", "errno 98")

Output = Callable[[str], None]


def _discard(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class ServerConfig:
    home: Path  # mlflow.db and artifacts/
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = DEFAULT_WORKERS
    allowed_hosts: tuple[str, ...] = ()  # Host headers to accept besides the loopback names

    @property
    def database(self) -> Path:
        return self.home.absolute() / DATABASE

    @property
    def artifacts(self) -> Path:
        return self.home.absolute() / ARTIFACTS

    @property
    def backend_store_uri(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def tracking_uri(self) -> str:
        """The URL clients on this machine use (a wildcard address is reached on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def command(self, python: str = sys.executable) -> list[str]:
        """The `mlflow server` invocation (this Python's MLflow)."""
        command = [
            python, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_store_uri,
            "--artifacts-destination", str(self.artifacts),
            "--serve-artifacts",
            "--host", self.host,
            "--port", str(self.port),
            "--workers", str(self.workers),
        ]  # fmt: skip
        if self.allowed_hosts:
            command += ["--allowed-hosts", ",".join(allowed_hosts(self.allowed_hosts))]
        return command


def allowed_hosts(names: Sequence[str]) -> list[str]:
    """MLflow's `--allowed-hosts` patterns: each name as given and, without a port, on any
    port; then MLflow's defaults (loopback, private addresses), which the option replaces."""
    patterns: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        patterns.append(name)
        if name != "*" and not name.rpartition(":")[2].isdigit() and not name.endswith("*"):
            patterns.append(f"{name}:*")
    return list(dict.fromkeys([*patterns, *LOOPBACK_HOSTS, *PRIVATE_HOSTS]))


class MlflowServer:
    """`start()` it, `wait()` for it or `stop()` it; or `serve()`: start, then run until
    SIGINT/SIGTERM or the server's own exit, and stop. Its output goes line by line to
    `output` once it answers (a start that fails shows its last lines in the error instead),
    and the last lines are kept for error messages."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        output: Output = _discard,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        stop_grace: float = STOP_GRACE_S,
    ) -> None:
        self.config = config
        self.output = output
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.process: subprocess.Popen[bytes] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._reader: threading.Thread | None = None
        self._hurry = threading.Event()
        self._lock = threading.Lock()
        self._held: collections.deque[str] | None = collections.deque(maxlen=HELD_LINES)

    @property
    def tracking_uri(self) -> str:
        return self.config.tracking_uri

    def start(self) -> str:
        """Start the server and wait until it answers; its tracking URI."""
        if not _installed("mlflow"):
            raise TrackingError(INSTALL_HINT)
        check_port(self.config.host, self.config.port)
        self.config.artifacts.mkdir(parents=True, exist_ok=True)
        environment = _QUIET_JOBS | dict(os.environ) | {"PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.config.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=self.config.home.absolute(),  # anything MLflow writes "here" stays in HOME
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), name="mlflow-output", daemon=True
        )
        self._reader.start()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        with self._lock:  # in order: the reader waits meanwhile
            for line in self._held or ():
                self._emit(line)
            self._held = None
        return self.tracking_uri

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            with self._lock:
                self._tail.append(line)
                if self._held is not None:
                    self._held.append(line)
                    continue
            self._emit(line)

    def _emit(self, line: str) -> None:
        with contextlib.suppress(Exception):  # a closed terminal must not stop the server
            self.output(line)

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._tail)

    def _wait_healthy(self) -> None:
        assert self.process is not None
        url = f"{self.tracking_uri}{HEALTH}"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise self._died(code)
            if _answers(url):
                return
            if time.monotonic() > deadline:
                raise TrackingError(
                    f"the MLflow server did not answer {url} within {self.startup_timeout:.0f} s; "
                    f"its last output:\n{self.tail() or '(none)'}"
                )
            time.sleep(0.2)

    def _died(self, code: int) -> TrackingError:
        if self._reader is not None:
            self._reader.join(timeout=2)  # the last lines explain why
        tail = self.tail()
        if any(sign in tail.lower() for sign in _BIND_FAILED):
            return port_in_use(self.config.host, self.config.port)
        return TrackingError(
            f"the MLflow server stopped (exit code {code}); its last output:\n{tail or '(none)'}"
        )

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        assert self.process is not None, "wait() after start()"
        return self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """End the server's whole process group: TERM, and KILL whatever is left after the
        grace period (or at once after a second signal during `serve`)."""
        if self.process is None:
            return
        group = self.process.pid  # the session leader: its pid is the group's id
        _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        while _group_alive(group, self.process) and time.monotonic() < deadline:
            if self._hurry.wait(0.1):
                break
        if _group_alive(group, self.process):
            _signal_group(group, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _group_alive(group, self.process) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def serve(self, ready: Callable[[str], None] = _discard) -> int:
        """Start, call `ready(tracking_uri)`, run until SIGINT/SIGTERM (0) or until the server
        exits by itself (a TrackingError with its last output); stop in every case."""
        with self._signals() as (stopped, raising):
            try:
                raising.set()
                ready(self.start())
                code = self.wait()
            except _Stopped:
                pass
            finally:
                raising.clear()  # a signal during stop() only hurries it
                self.stop()
        if stopped.is_set():
            return 0
        raise self._died(code)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[tuple[threading.Event, threading.Event]]:
        """SIGINT and SIGTERM raise _Stopped into the main thread while `raising` is set; any
        later one makes `stop` skip what is left of its grace period."""
        stopped, raising = threading.Event(), threading.Event()

        def handle(signum: int, frame: FrameType | None) -> None:
            if stopped.is_set() or not raising.is_set():
                self._hurry.set()
            stopped.set()
            if raising.is_set():
                raising.clear()
                raise _Stopped(signum)

        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield stopped, raising
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (MLflow takes seconds)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules holds None (import blocked)
        return False


class _Stopped(Exception):
    """A stop signal arrived (raised from the handler into the waiting main thread)."""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _group_alive(group: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader once it has exited
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-group, os.WNOHANG)[0]:  # orphans handed to us (we run as PID 1)
            pass
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_port(host: str, port: int) -> None:
    """A TrackingError unless `host:port` can be listened on now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_in_use(host, port) from None
            raise TrackingError(
                f"the MLflow server cannot listen on {host}:{port}: {exc}"
            ) from None


def port_in_use(host: str, port: int) -> TrackingError:
    return TrackingError(
        f"port {port} on {host} is in use (another MLflow server?): choose another with --port"
    )
