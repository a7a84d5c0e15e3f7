"""`vidsearch search`: a sentence or an image in, ranked moments out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vidsearch.cli.failing import USAGE, errors, fail
from vidsearch.cli.formatting import clock
from vidsearch.cli.options import HomeOption, JsonOption, ModelOption, open_library_or_server
from vidsearch.types import SearchMode

if TYPE_CHECKING:
    from vidsearch.search import SearchResult


def search_command(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="Search with an image instead")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Number of moments")] = 10,
    video: Annotated[
        list[str] | None, typer.Option("--video", help="Only this video (by name; repeatable)")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(help="Drop moments scoring below this (scores are 0-1 in every mode)"),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="Language of the query (ISO 639-1, e.g. fa, en, ar) [default: from its script]",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        SearchMode | None,
        typer.Option(
            "--mode",
            help="What a sentence searches: the frames (visual); what is said, subtitles and "
            "speech (dialogue); what is written on screen (screen); both (text); or the frames "
            "and every line (hybrid) [default: hybrid where lines are indexed, else visual]. "
            'Quoted words ("never come back") must occur in a matching line.',
            show_default=False,
        ),
    ] = None,
    home: HomeOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the moments that best match a sentence or an image."""
    if (query is None) == (image is None):
        fail("give either a QUERY or --image FILE (one of them)", USAGE)
    options = {"top_k": top_k, "videos": video, "min_score": min_score}
    with errors(), open_library_or_server(home, model) as library:
        result = library.search(query, image=image, language=lang, mode=mode, **options)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    print_result(result)


def print_result(result: SearchResult) -> None:
    """The moments, ranked, a line each (and its best line said or written, if any)."""
    if result.encoder is not None and result.encoder.language is not None:
        typer.echo(f"query read by {result.encoder.name} ({result.encoder.language})", err=True)
    for note in result.notes:  # what could not be searched (in --json: "notes")
        typer.echo(f"note: {note}", err=True)
    if not result.moments:
        typer.echo("no matching moments")
        return
    fused = result.mode not in (None, SearchMode.VISUAL)
    for rank, m in enumerate(result.moments, 1):
        why = f"[{m.why}]  " if fused else ""
        score = round(m.score, 4)  # as the JSON and the server give it: the same line either way
        typer.echo(
            f"{rank:>3}. {score:.3f}  {why}{m.video}  {clock(m.start)}–{clock(m.end)}  "
            f"best {clock(m.timestamp)}  {m.thumbnail or ''}"
        )
        if m.dialogue:
            line = m.dialogue[0]
            typer.echo(
                f"       {clock(line.start)}  {line.source}: «{line.text}» ({line.language})"
            )
