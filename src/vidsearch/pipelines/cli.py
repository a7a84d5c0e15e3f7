"""`vidsearch pipelines`: where the Airflow DAGs are, and their params."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

pipelines_app = typer.Typer(
    help="The Airflow DAGs (persian_clip, video_ingest): where they are, what they take.",
    no_args_is_help=True,
)


def dags_folder() -> Path:
    """The folder holding the DAG files (importing it needs no Airflow)."""
    from vidsearch.pipelines import dags

    return Path(dags.__file__).resolve().parent


@pipelines_app.command("dags-folder")
def dags_folder_command() -> None:
    """Print the folder to set as AIRFLOW__CORE__DAGS_FOLDER."""
    typer.echo(str(dags_folder()))


@pipelines_app.command("params")
def params_command(
    dag: Annotated[str, typer.Argument(help="persian_clip or video_ingest")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List a DAG's params: type, default and the Variable that fills an empty one."""
    from vidsearch.pipelines import persian_clip, video_ingest

    specs = {
        "persian_clip": persian_clip.DAG_PARAMS,
        "video_ingest": video_ingest.DAG_PARAMS,
    }.get(dag)
    if specs is None:
        typer.echo(f"error: no DAG {dag!r}: persian_clip or video_ingest", err=True)
        raise typer.Exit(2)
    rows = [
        {
            "name": s.name,
            "type": [k.value for k in s.kinds],
            "default": s.default,
            "variable": s.variable,
            "param": s.param,
            "description": s.help(),
        }
        for s in specs
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        kind = "|".join(row["type"]) + ("" if row["param"] else ", Variable only")
        typer.echo(f"{row['name']} ({kind}): {row['description']}")
