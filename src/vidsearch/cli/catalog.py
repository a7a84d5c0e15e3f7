"""`vidsearch videos` and `remove`: what the index holds."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vidsearch.cli.failing import errors
from vidsearch.cli.formatting import clock
from vidsearch.cli.options import HomeOption, JsonOption, open_library_or_server


def videos_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List indexed videos."""
    with errors(), open_library_or_server(home) as library:
        records = library.videos()
        lines = {r.video_id: library.line_counts(r) for r in records}
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "path": r.path,
                        "duration": round(r.duration, 3),
                        "frames": r.frames,
                        "complete": r.complete,
                        "video_id": r.video_id,
                        "lines": lines[r.video_id],
                    }
                    for r in records
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not records:
        typer.echo("no videos indexed yet")
    for r in records:
        state = "complete" if r.complete else "INCOMPLETE (run index again to resume)"
        said = ", ".join(f"{n} {source}" for source, n in lines[r.video_id].items())
        text = f"  {said} lines" if said else ""
        typer.echo(f"{r.name}  {clock(r.duration)}  {r.frames} frames{text}  {state}  {r.path}")


def remove_command(
    name: Annotated[str, typer.Argument(help="Video name, as `videos` lists it")],
    home: HomeOption = None,
) -> None:
    """Remove a video from the index (the file itself is not touched)."""
    with errors(), open_library_or_server(home) as library:
        library.remove(name)
    typer.echo(f"removed {name}")
