"""`vidsearch data import-flickr30k` and `import-coco`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidsearch.cli.data.common import (
    IntoOption,
    JsonOption,
    SplitOption,
    data_app,
    echo_json,
    open_dataset,
    parse_split,
)
from vidsearch.cli.failing import FAILURE, errors
from vidsearch.cli.progress import StepProgress


def _finish_import(report: Any, source: str, dataset: Path, as_json: bool) -> None:
    if as_json:
        echo_json(report.to_json())
    else:
        typer.echo(
            f"{source}: {report.images} images stored, {report.unchanged} already there, "
            f"{report.captions} captions added or changed in {dataset}"
        )
    for file in report.missing[:10]:
        typer.echo(f"missing image: {file}", err=True)
    for file, error in report.failed[:10]:
        typer.echo(f"FAILED  {file}: {error}", err=True)
    problems = len(report.missing) + len(report.failed)
    if problems:
        typer.echo(
            f"{len(report.missing)} images missing, {len(report.failed)} unreadable: their "
            "captions were not imported",
            err=True,
        )
        raise typer.Exit(FAILURE)


@data_app.command("import-flickr30k")
def import_flickr30k(
    captions: Annotated[
        Path, typer.Argument(help="dataset_flickr30k.json (Karpathy) or results_20130124.token")
    ],
    images: Annotated[Path, typer.Option("--images", help="Folder of the Flickr30k images")],
    into: IntoOption,
    source: Annotated[str, typer.Option(help="Source name of the captions")] = "flickr30k",
    split: SplitOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import Flickr30k captions and images."""
    from vidsearch.data.importers import import_images, parse_flickr_token, parse_karpathy

    parser = parse_karpathy if captions.suffix.lower() == ".json" else parse_flickr_token
    with errors():
        items = parser(captions, split=parse_split(split))
        with open_dataset(into) as dataset:
            report = import_images(dataset, items, images, source=source, progress=StepProgress())
    _finish_import(report, source, into, as_json)


@data_app.command("import-coco")
def import_coco(
    annotations: Annotated[
        Path, typer.Argument(help="captions_*.json annotations (MS-COCO or NoCaps)")
    ],
    images: Annotated[Path, typer.Option("--images", help="Folder of the images")],
    into: IntoOption,
    source: Annotated[str, typer.Option(help="Source name: coco, nocaps...")] = "coco",
    split: SplitOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import MS-COCO or NoCaps caption annotations and their images."""
    from vidsearch.data.importers import import_images, parse_coco

    with errors():
        items = parse_coco(annotations, split=parse_split(split))
        with open_dataset(into) as dataset:
            report = import_images(dataset, items, images, source=source, progress=StepProgress())
    _finish_import(report, source, into, as_json)
