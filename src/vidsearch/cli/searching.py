"""`vidsearch search`: a sentence or an image in, ranked moments out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.failing import errors, fail
from vidsearch.cli.formatting import clock
from vidsearch.cli.opening import dialogue_encoder, open_index
from vidsearch.cli.options import HomeOption, JsonOption, ModelOption, settings_from
from vidsearch.types import SearchMode


def search_command(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="Search with an image instead")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Number of moments")] = 10,
    video: Annotated[
        list[str] | None, typer.Option("--video", help="Only this video (by name; repeatable)")
    ] = None,
    min_score: Annotated[float | None, typer.Option(help="Drop frames scoring below this")] = None,
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
            help="What a sentence searches: the frames (visual), the subtitles (dialogue) or "
            "both (hybrid) [default: hybrid where subtitles are indexed, else visual]. "
            'Quoted words ("never come back") must occur in a matching line.',
            show_default=False,
        ),
    ] = None,
    home: HomeOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the moments that best match a sentence or an image."""
    from vidsearch.search import Searcher

    if (query is None) == (image is None):
        fail("give either a QUERY or --image FILE (one of them)", code=2)
    settings = settings_from(home=home, model=model)
    with errors():
        store, encoder = open_index(settings, with_model=True)
        try:
            searcher = Searcher(store, encoder, dialogue=dialogue_encoder(settings, store))
            options = {"top_k": top_k, "videos": video, "min_score": min_score}
            result = (
                searcher.search_image(image, **options)
                if image is not None
                else searcher.search_text(query or "", language=lang, mode=mode, **options)
            )
        finally:
            store.close()
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    if result.encoder is not None and result.encoder.language is not None:
        typer.echo(f"query read by {result.encoder.name} ({result.encoder.language})", err=True)
    if not result.moments:
        typer.echo("no matching moments")
        return
    fused = result.mode not in (None, SearchMode.VISUAL)
    for rank, m in enumerate(result.moments, 1):
        why = f"[{m.why}]  " if fused else ""
        typer.echo(
            f"{rank:>3}. {m.score:.3f}  {why}{m.video}  {clock(m.start)}–{clock(m.end)}  "
            f"best {clock(m.timestamp)}  {m.thumbnail or ''}"
        )
        if m.dialogue:
            line = m.dialogue[0]
            typer.echo(f"       {clock(line.start)}  «{line.text}» ({line.language})")
