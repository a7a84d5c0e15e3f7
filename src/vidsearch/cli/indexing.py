"""`vidsearch index`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.cli.failing import FAILURE, errors, fail, print_error
from vidsearch.cli.options import (
    HomeOption,
    JsonOption,
    ModelOption,
    open_library,
    open_library_or_server,
)
from vidsearch.errors import VidsearchError
from vidsearch.types import DecodeMode

if TYPE_CHECKING:
    from vidsearch.library import IndexReport

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
    speech: Annotated[
        str | None,
        typer.Option(
            "--speech",
            help="Transcribe speech: auto (videos without subtitles; default), all, off",
            show_default=False,
        ),
    ] = None,
    asr_model: Annotated[
        str | None,
        typer.Option(
            "--asr-model",
            help="Whisper model: tiny, base (default), small..., a hub id or a folder",
            show_default=False,
        ),
    ] = None,
    screen_text: Annotated[
        bool | None,
        typer.Option(
            "--screen-text/--no-screen-text",
            help="Read text written on screen with Tesseract [default: on]",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Index videos: sample frames shot by shot, embed them, store them; read their
    subtitles, transcribe their speech and read the text on screen."""
    options = {
        "interval": interval,
        "batch_size": batch_size,
        "decode": decode,
        "speech": speech,
        "asr_model": asr_model,
        "screen_text": screen_text,
    }
    with errors():
        report = _index(
            paths, home, model, beside_server=True, workers=workers, shot_detector=shots, **options
        )
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    finish(report)


def finish(report: IndexReport) -> None:
    """Fail when no video file was found or some failed (each was named as it failed)."""
    if not report.videos:
        fail(NO_VIDEOS)
    if report.failed:
        _say_failed(report)
        raise typer.Exit(FAILURE)


def reindex(paths: list[Path], home: Path, model: str | None, interval: float | None) -> None:
    """Index videos again for `doctor --repair`, printing as `index` does; what fails is named
    and the doctor goes on (its report after the repair tells the rest)."""
    try:
        report = _index(paths, home, model, interval=interval)
    except VidsearchError as exc:
        print_error(str(exc))
        return
    if not report.videos:
        print_error(NO_VIDEOS)
    elif report.failed:
        _say_failed(report)


def _say_failed(report: IndexReport) -> None:
    typer.echo(f"{report.failed} of {len(report.videos)} files failed", err=True)


def _index(
    paths: list[Path],
    home: Path | None,
    model: str | None,
    *,
    beside_server: bool = False,
    **overrides: Any,
) -> IndexReport:
    """Index with the library, or (`beside_server`) through the server that holds the index;
    progress counts the video files the paths name."""
    from vidsearch.cli.progress import VideoProgress
    from vidsearch.ingest import expand_paths

    progress = VideoProgress(list(expand_paths(paths)))
    opening = open_library_or_server if beside_server else open_library
    with opening(home, model, **overrides) as library:
        return library.index(paths, progress=progress)
