"""`vidsearch demo`: a generated sample video, indexed and searched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.failing import errors
from vidsearch.cli.indexing import finish
from vidsearch.cli.options import ModelOption, open_library, settings_from
from vidsearch.cli.searching import print_result


def demo_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Data directory for the demo [default: <data dir>/demo, "
            "apart from your own index]",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    query: Annotated[str, typer.Option(help="What to search for in the sample")] = "a dog",
) -> None:
    """Generate a sample video, index it and search it: the whole pipeline in one command."""
    from vidsearch.cli.progress import VideoProgress
    from vidsearch.testing.demo import write_demo_video

    settings = settings_from(model=model)
    demo_home = home or settings.data_dir.demo
    sample = write_demo_video(demo_home / "samples" / "vidsearch-demo.mp4")
    typer.echo(f"sample video: {sample}", err=True)
    with errors(), open_library(demo_home, settings.model) as library:
        finish(library.index([sample], progress=VideoProgress([sample])))
        typer.echo(f'searching for "{query}":', err=True)
        result = library.search(query)
    print_result(result)
    typer.echo(f'\ntry your own query: vidsearch search "..." --home {demo_home}', err=True)
