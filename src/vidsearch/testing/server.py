"""A real uvicorn server on 127.0.0.1 in a background thread, for tests and experiments.

    with LiveServer(create_app(settings, service)) as server:
        httpx.get(f"{server.url}/readyz")

The port is chosen by the kernel (port 0) and read back from the bound socket, so parallel
runs never collide. Leaving the block shuts the server down gracefully (the app's lifespan
closes the index) and waits for the thread. Needs the `serve` extra.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


class LiveServer:
    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", log_level: str = "warning"):
        config = uvicorn.Config(
            app, host=host, port=0, log_level=log_level, lifespan="on", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)
        self.host = host
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not start in {START_TIMEOUT_S:g}s")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            raise TimeoutError(f"the server did not stop in {STOP_TIMEOUT_S:g}s")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
