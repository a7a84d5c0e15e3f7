"""`vidsearch videos` and `remove`: what the index holds."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vidsearch.cli.failing import errors, fail
from vidsearch.cli.formatting import clock
from vidsearch.cli.opening import open_index
from vidsearch.cli.options import HomeOption, JsonOption, settings_from


def videos_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List indexed videos."""
    settings = settings_from(home=home)
    with errors():
        store, _ = open_index(settings, with_model=False)
        try:
            records = store.catalog.videos()
        finally:
            store.close()
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
        typer.echo(f"{r.name}  {clock(r.duration)}  {r.frames} frames  {state}  {r.path}")


def remove_command(
    name: Annotated[str, typer.Argument(help="Video name, as `videos` lists it")],
    home: HomeOption = None,
) -> None:
    """Remove a video from the index (the file itself is not touched)."""
    settings = settings_from(home=home)
    with errors():
        store, _ = open_index(settings, with_model=False)
        try:
            record = store.catalog.by_name(name)
            if record is None:
                fail(f"no indexed video named {name!r}; `vidsearch videos` lists them")
            assert record is not None
            store.remove_video(record.video_id)
        finally:
            store.close()
    typer.echo(f"removed {name}")
