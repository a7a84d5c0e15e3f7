"""`vidsearch data crawl`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.data.common import (
    DatasetArg,
    JsonOption,
    SplitOption,
    data_app,
    echo_json,
    open_dataset,
    parse_split,
)
from vidsearch.cli.failing import USAGE, errors, fail
from vidsearch.cli.progress import StepProgress


@data_app.command("crawl")
def crawl(
    dataset: DatasetArg,
    endpoint: Annotated[str | None, typer.Option(help="The listing API URL")] = None,
    config: Annotated[
        Path | None, typer.Option(help="JSON file of crawl settings (the options below win)")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Source name of what is stored [default: classifieds]")
    ] = None,
    method: Annotated[str | None, typer.Option(help="GET or POST [default: GET]")] = None,
    items_path: Annotated[
        str | None, typer.Option(help="Path to the list of posts in an answer [default: items]")
    ] = None,
    id_field: Annotated[str | None, typer.Option(help="Post id field [default: id]")] = None,
    title_field: Annotated[str | None, typer.Option(help="Title field [default: title]")] = None,
    image_field: Annotated[
        str | None, typer.Option(help="Image URL field [default: image_url]")
    ] = None,
    page_param: Annotated[
        str | None, typer.Option(help="Parameter of the page number or cursor [default: page]")
    ] = None,
    cursor_path: Annotated[
        str | None, typer.Option(help="Page by the cursor at this path of each answer")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language of titles [default: fa]")] = None,
    split: SplitOption = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second per host [default: 1]")
    ] = None,
    user_agent: Annotated[str | None, typer.Option(help="User-Agent header")] = None,
    max_pages: Annotated[int | None, typer.Option(help="Stop after this many pages")] = None,
    max_items: Annotated[int | None, typer.Option(help="Stop after this many new images")] = None,
    restart: Annotated[
        bool, typer.Option(help="Start from the first page again (stored posts are skipped)")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Crawl image and title pairs from a classifieds JSON API (robots.txt, rate limit,
    resumable, deduplicated by image hash)."""
    from vidsearch.data.crawler import CrawlConfig, Crawler, crawl_config_from_file
    from vidsearch.data.http import PoliteHttp

    options = {
        "endpoint": endpoint,
        "name": name,
        "method": method,
        "items_path": items_path,
        "id_field": id_field,
        "title_field": title_field,
        "image_field": image_field,
        "page_param": page_param,
        "cursor_path": cursor_path,
        "language": language,
        "split": parse_split(split),
        "rate": rate,
        "user_agent": user_agent,
        "max_pages": max_pages,
        "max_items": max_items,
    }
    with errors():
        if config is not None:
            settings = crawl_config_from_file(config, **options)
        elif endpoint is None:
            fail("give --endpoint URL or --config FILE", USAGE)
        else:
            settings = CrawlConfig(**{k: v for k, v in options.items() if v is not None})
        with (
            PoliteHttp(user_agent=settings.user_agent, rate=settings.rate) as http,
            open_dataset(dataset) as data,
        ):
            report = Crawler(data, settings, http).run(restart=restart, progress=StepProgress())
    if as_json:
        echo_json(report.to_json())
        return
    state = "finished: no more pages" if report.done else "stopped: run again to go on"
    typer.echo(
        f"{report.added} images added from {report.posts} posts on {report.pages} pages "
        f"({report.duplicates} duplicate images, {report.seen_before} seen before, "
        f"{report.robots_blocked} disallowed by robots.txt, {report.invalid} without "
        f"title or image, {report.failed} failed); {state}"
    )
