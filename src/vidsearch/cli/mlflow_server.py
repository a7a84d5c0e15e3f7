"""`vidsearch mlflow-server`: an MLflow tracking server and model registry for training runs,
evaluations and `models:/` references (vidsearch.train.mlflow_server does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.failing import errors
from vidsearch.cli.options import note, settings_from


def mlflow_server_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Folder of the server's store: mlflow.db and artifacts/ "
            "(default: VIDSEARCH_HOME/mlflow)",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every one)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 5000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes", min=1, max=16)] = 2,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host header to accept besides localhost, e.g. the name other machines "
            "or containers use (mlflow, mlflow:5000, *.example.org); repeat for more",
            show_default=False,
        ),
    ] = None,
    startup_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server to answer", min=1)
    ] = 120.0,
) -> None:
    """Run an MLflow tracking server and model registry: a sqlite store and an artifact
    folder under --home, artifacts served through the server. Prints the tracking URI and
    runs until Ctrl-C or SIGTERM, which stop the server and all its workers.

    Training logs and registers there with `mlflow.tracking_uri` in its config; search and
    eval open `models:/NAME@ALIAS` with MLFLOW_TRACKING_URI set to the printed URI.
    """
    from vidsearch.train.mlflow_server import MlflowServer, ServerConfig

    if home is None:
        home = settings_from().data_dir.mlflow
    config = ServerConfig(
        home=home,
        host=host,
        port=port,
        workers=workers,
        allowed_hosts=tuple(allowed_host or ()),
    )
    server = MlflowServer(config, output=note, startup_timeout=startup_timeout)

    def ready(uri: str) -> None:
        typer.echo(f"MLflow tracking server at {uri} (store {config.database}, artifacts "
                   f"{config.artifacts}); Ctrl-C stops it", err=True)  # fmt: skip
        typer.echo(f"export MLFLOW_TRACKING_URI={uri}")

    with errors():
        server.serve(ready)
    typer.echo("the MLflow server stopped", err=True)
