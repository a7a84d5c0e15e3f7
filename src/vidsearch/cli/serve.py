"""`vidsearch serve`: the HTTP API, the web page and the metrics (the `serve` extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from vidsearch.cli.failing import errors, fail
from vidsearch.cli.options import HomeOption, ModelOption, settings_from


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    home: HomeOption = None,
    model: ModelOption = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")
    ] = "info",
) -> None:
    """Serve the HTTP API, the web page (/) and Prometheus metrics (/metrics).

    The server owns the index while it runs. Uploads and deletes need VIDSEARCH_API_KEY;
    VIDSEARCH_MAX_UPLOAD_BYTES limits uploads; VIDSEARCH_PROTECT_READS=1 makes searches
    need the key too.
    """
    try:
        from vidsearch.service import server
        from vidsearch.service.app import create_app
        from vidsearch.service.engine import Engine
        from vidsearch.service.metrics import ServiceMetrics
        from vidsearch.service.settings import ServiceSettings
    except ModuleNotFoundError as exc:
        from vidsearch.service import SERVE_EXTRA_HINT

        fail(f"{SERVE_EXTRA_HINT} ({exc.name} is missing)")

    settings = settings_from(home=home, model=model)
    try:
        service = ServiceSettings()
    except ValueError as exc:
        fail(f"invalid setting: {exc}")
    url = server.base_url(host, port)
    with errors():
        engine = Engine(settings, ServiceMetrics(), holder=server.holder_text(host, port))
        engine.start()  # the index lock and the model fail here, before the port opens
        try:
            web_app = create_app(settings, service, engine=engine)
        except BaseException:
            engine.close()
            raise
    typer.echo(f"serving {settings.home} at {url}/ (API docs: {url}/docs)", err=True)
    if service.api_key is None:
        typer.echo("uploads and deletes are off: set VIDSEARCH_API_KEY to allow them", err=True)
    server.run(web_app, host, port, log_level=log_level)
