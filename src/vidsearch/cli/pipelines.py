"""`vidsearch pipelines`: where the Airflow DAGs are, their params, and persian_clip's model
steps (train → evaluate → promote) as one command for the path without Airflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.failing import USAGE, errors, fail
from vidsearch.pipelines.dags import dags_folder

pipelines_app = typer.Typer(
    help="The Airflow DAGs (persian_clip, video_ingest): where they are, what they take.",
    no_args_is_help=True,
)


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
        fail(f"no DAG {dag!r}: persian_clip or video_ingest", USAGE)
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


@pipelines_app.command("candidate")
def candidate_command(
    config: Annotated[Path, typer.Argument(help="Training config (.toml/.json/.yaml)")],
    dataset: Annotated[Path, typer.Option(help="The merged dataset to train and compare on")],
    output: Annotated[Path, typer.Option(help="The run's folder (a rerun resumes it)")],
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking and registry [env: MLFLOW_TRACKING_URI]")
    ] = None,
    registered_model: Annotated[str, typer.Option(help="Registered model")] = "vidsearch-fa",
    alias: Annotated[str, typer.Option(help="The alias production searches with")] = "champion",
    baseline: Annotated[
        str | None, typer.Option(help="Bundle to beat while no version holds the alias")
    ] = None,
    split: Annotated[str, typer.Option(help="Split the models are compared on")] = "test",
    deciding_k: Annotated[int, typer.Option(help="Text→image Recall@k that decides", min=1)] = 5,
    rounds: Annotated[int, typer.Option(help="Bootstrap resamples", min=100)] = 2000,
    champions: Annotated[
        Path | None, typer.Option(help="Where champions are downloaded [default: beside output]")
    ] = None,
) -> None:
    """persian_clip's train → evaluate → promote, without Airflow: train the candidate (tracked
    in MLflow, not registered), compare it with NAME@ALIAS on the test split, and register it
    and move the alias only if it is significantly better. Prints the decision as JSON."""
    from vidsearch.pipelines import candidate as steps

    with errors():
        trained = steps.train_candidate(
            config=str(config), dataset=str(dataset), output=str(output), tracking_uri=tracking_uri
        )
        evaluation = steps.evaluate_candidate(
            candidate=trained,
            dataset=str(dataset),
            registered_model=registered_model,
            alias=alias,
            baseline=baseline,
            split=split,
            deciding_k=deciding_k,
            rounds=rounds,
            champions=str(champions or output.parent / "champions"),
        )
        promoted = steps.promote(
            candidate=trained,
            evaluation=evaluation,
            registered_model=registered_model,
            alias=alias,
        )
    report = {"candidate": trained, "evaluation": evaluation, "promotion": promoted}
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
