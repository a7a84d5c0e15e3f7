"""Run the app under uvicorn: what `vidsearch serve` does once the engine is started."""

from __future__ import annotations

import ipaddress

import uvicorn
from fastapi import FastAPI

GRACEFUL_SHUTDOWN_S = 15


def base_url(host: str, port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name
    return f"http://{host}:{port}"


def holder_text(host: str, port: int) -> str:
    """How the index lock describes the server to a `vidsearch` command that finds it held."""
    url = base_url(host, port)
    return f"vidsearch server at {url}: search it there ({url}/ or {url}/docs), or stop it"


def run(app: FastAPI, host: str, port: int, *, log_level: str = "info") -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        proxy_headers=True,
        server_header=False,
    )
