"""`vidsearch index`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.cli.failing import FAILURE, errors, fail, print_error
from vidsearch.cli.opening import dialogue_encoder, open_index
from vidsearch.cli.options import HomeOption, JsonOption, ModelOption, settings_from
from vidsearch.errors import VidsearchError
from vidsearch.types import DecodeMode

if TYPE_CHECKING:
    from vidsearch.ingest import IngestReport

NO_VIDEOS = "no video files found in the given paths"


def index_command(
    paths: Annotated[list[Path], typer.Argument(help="Video files or folders (recursive)")],
    home: HomeOption = None,
    model: ModelOption = None,
    interval: Annotated[
        float | None,
        typer.Option(help="Max seconds between sampled frames [default: 2]", show_default=False),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Frames per encoder batch")] = None,
    decode: Annotated[
        DecodeMode | None,
        typer.Option(
            help="fast: skip non-reference frames (default); exact: every frame; "
            "keyframes: keyframes only, one frame per shot, ~10x faster"
        ),
    ] = None,
    shots: Annotated[
        str | None,
        typer.Option(
            "--shots",
            help="How cuts are found: structure (default), histogram, none",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Decoder processes: videos are cut at keyframes and decoded in parallel "
            "[default: the usable cores; 1: decode in this process]",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Index videos: sample frames shot by shot, embed them, store them."""
    options = {"interval": interval, "batch_size": batch_size, "decode": decode}
    with errors():
        reports = _index(paths, home, model, workers=workers, shot_detector=shots, **options)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2))
    if not reports:
        fail(NO_VIDEOS)
    failed = _failed(reports)
    if failed:
        typer.echo(f"{failed} of {len(reports)} files failed", err=True)
        raise typer.Exit(FAILURE)


def reindex(paths: list[Path], home: Path, model: str | None, interval: float | None) -> None:
    """Index videos again for `doctor --repair`, printing as `index` does; what fails is named
    and the doctor goes on (its report after the repair tells the rest)."""
    try:
        reports = _index(paths, home, model, interval=interval)
    except VidsearchError as exc:
        print_error(str(exc))
        return
    if not reports:
        print_error(NO_VIDEOS)
    elif failed := _failed(reports):
        typer.echo(f"{failed} of {len(reports)} files failed", err=True)


def _failed(reports: list[IngestReport]) -> int:
    from vidsearch.ingest import IngestStatus

    return sum(r.status is IngestStatus.FAILED for r in reports)


def _index(
    paths: list[Path], home: Path | None, model: str | None, **overrides: Any
) -> list[IngestReport]:
    from vidsearch.cli.progress import VideoProgress
    from vidsearch.index.edge import OPTIMIZE_MIN_POINTS
    from vidsearch.ingest import Ingestor
    from vidsearch.media.pool import open_decoder
    from vidsearch.media.sampler import FrameSampler, sampler_config

    settings = settings_from(home=home, model=model, **overrides)
    store, encoder = open_index(settings, with_model=True)
    decoder = open_decoder(settings.workers, settings.decode)
    try:
        ingestor = Ingestor(
            store,
            encoder,
            FrameSampler(sampler_config(settings.interval, settings.shot_detector)),
            batch_size=settings.batch_size,
            progress=VideoProgress(),
            decode_mode=settings.decode,
            dialogue=dialogue_encoder(settings, store),
            decoder=decoder,
        )
        reports = list(ingestor.index_paths(paths))
        pending = store.vectors.unindexed_points() if store.has_vectors else 0
        if pending >= OPTIMIZE_MIN_POINTS:
            typer.echo(f"building the search graph for {pending} new frames...", err=True)
        ingestor.build_search_index()
    finally:
        decoder.close()
        store.close()
    return reports
