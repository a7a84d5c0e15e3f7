"""The `vidsearch` typer app: every command mounted in one place.

Each command module parses options, calls the library and prints; `failing` turns errors into
one line on stderr and an exit code. Nothing heavy is imported until a command runs, so that
`vidsearch --help` stays fast.
"""

from __future__ import annotations

import sys

import click
import typer
from typer.core import TyperGroup

from vidsearch.cli import (
    catalog,
    demo,
    evaluate,
    indexing,
    maintenance,
    mlflow_server,
    models,
    pipelines,
    searching,
    serve,
    train,
)
from vidsearch.cli.data import data_app

# `vidsearch --help` lists the commands by how often people use them; any command not named
# here comes after these, by name.
HELP_ORDER = (
    "index",
    "search",
    "videos",
    "remove",
    "serve",
    "doctor",
    "snapshot",
    "restore",
    "models",
    "demo",
    "export-onnx",
    "data",
    "train",
    "eval",
    "pipelines",
    "mlflow-server",
)


class _ByUse(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        known = [name for name in HELP_ORDER if name in names]
        return known + sorted(set(names) - set(known))


app = typer.Typer(
    name="vidsearch",
    cls=_ByUse,
    help="Find the moment in a video that a sentence describes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(evaluate.eval_app, name="eval")
app.add_typer(train.train_app, name="train")
app.command("mlflow-server")(mlflow_server.mlflow_server_command)
app.add_typer(pipelines.pipelines_app, name="pipelines")
app.command("index")(indexing.index_command)
app.command("search")(searching.search_command)
app.command("videos")(catalog.videos_command)
app.command("remove")(catalog.remove_command)
app.command("doctor")(maintenance.doctor_command)
app.command("snapshot")(maintenance.snapshot_command)
app.command("restore")(maintenance.restore_command)
app.command("models")(models.models_command)
app.command("export-onnx")(models.export_onnx_command)
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
