"""`vidsearch train ...`: train as a config says (`vidsearch train CONFIG` is `vidsearch train
run CONFIG`), or run the end-to-end proof (the library code is in vidsearch.train).

Nothing heavy is imported until a command runs (`vidsearch --help` stays fast).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from vidsearch.cli.failing import errors
from vidsearch.cli.options import note, settings_from

DEFAULT_COMMAND = "run"


class _RunByDefault(TyperGroup):
    """`vidsearch train CONFIG` means `vidsearch train run CONFIG`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


train_app = typer.Typer(
    name="train",
    cls=_RunByDefault,
    help="Train a text encoder into a model's image space (vidsearch train CONFIG), or run "
    "the end-to-end proof (vidsearch train proof DIR). See docs/training.md.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON")]


@train_app.command(DEFAULT_COMMAND)
def run_command(
    config: Annotated[Path, typer.Argument(help="Training config (.toml, .json or .yaml)")],
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over instead of resuming the last checkpoint")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Train as CONFIG says; run it again to resume after an interruption."""
    from vidsearch.assembly import encoder_options
    from vidsearch.train.config import load_config
    from vidsearch.train.runner import train

    settings = settings_from()  # VIDSEARCH_*: the ONNX cache, the encoder backend
    with errors():
        training = load_config(config)
        threads = training.optim.threads or settings.threads
        # the frozen image space is read at full precision, whatever VIDSEARCH_INT8 says
        options = replace(encoder_options(settings), int8=False, threads=threads)
        result = train(training, restart=restart, notify=note, encoder_options=options)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    metrics = ", ".join(f"{k.removeprefix('val/')} {v:.3f}" for k, v in result.metrics.items())
    typer.echo(f"best epoch {result.best_epoch} of {result.epochs}: {metrics}")
    typer.echo(f"bundle: {result.bundle}  (use it with --model {result.bundle})")
    if result.run_id:
        typer.echo(f"MLflow run: {result.run_id}")
    if result.registered_version:
        typer.echo(f"registered as version {result.registered_version}")


@train_app.command("proof")
def proof_command(
    directory: Annotated[Path, typer.Argument(help="Where everything is written (resumable)")],
    quick: Annotated[bool, typer.Option("--quick", help="The test's smaller sizes")] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="Track the Persian run in MLflow here (e.g. sqlite:///DIR/mlflow.db)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The end-to-end proof on the synthetic shapes world (a few CPU minutes).

    A tiny CLIP from scratch, a Persian text encoder trained into its frozen image space,
    Recall@k on held-out colour+shape pairs against chance and the untrained encoder, and a
    Persian search in a generated video."""
    from vidsearch.train.proof import QUICK, ProofPlan, run_proof

    settings = settings_from()  # VIDSEARCH_*: the ONNX cache, the encoder backend
    with errors():
        report = run_proof(
            directory,
            QUICK if quick else ProofPlan(),
            tracking_uri=tracking_uri,
            cache_dir=settings.cache_dir,
            backend=settings.backend,
            notify=note,
        )
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    rows: list[tuple[str, dict[str, Any]]] = [
        ("chance", report.chance),
        ("Persian, untrained", report.untrained),
        ("Persian, trained", report.trained),
        ("English (tiny CLIP)", report.english),
    ]
    typer.echo(
        f"text -> image on the test split: {report.test_queries} Persian queries, "
        f"{report.test_images} images, held-out pairs {', '.join(report.held_out_pairs)}"
    )
    for label, metrics in rows:
        typer.echo(
            f"  {label:<20} R@1 {metrics['recall_at_1']:.3f}  R@5 {metrics['recall_at_5']:.3f}"
            f"  R@10 {metrics['recall_at_10']:.3f}"
        )
    typer.echo(f"video: the right moment first for {report.video_found} of {len(report.video)}")
    for query in report.video:
        mark = "ok  " if query.found else "MISS"
        typer.echo(f"  {mark} {query.start:5.1f}-{query.end:5.1f}s  {query.query}")
    typer.echo(f"seconds: {report.seconds}; everything is in {report.directory}")
