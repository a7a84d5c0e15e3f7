"""Run the app under uvicorn: what `vidsearch serve` does once the engine is started."""

from __future__ import annotations

import ipaddress

import uvicorn
from fastapi import FastAPI

from vidsearch.service.settings import ServiceSettings

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


def proxy_options(service: ServiceSettings) -> dict[str, object]:
    """uvicorn's X-Forwarded-* handling: off unless proxies are configured (uvicorn would
    otherwise believe any process on 127.0.0.1 about the client's address and scheme)."""
    if not service.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(service.forwarded_allow_ips)}


def run(
    app: FastAPI,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    service: ServiceSettings | None = None,
) -> None:
    """`service`: by default the settings the app was built with."""
    service = service or app.state.vidsearch.service
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        **proxy_options(service),  # type: ignore[arg-type]
    )
