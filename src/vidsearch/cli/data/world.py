"""`vidsearch data shapes`, `stats` and `merge`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.data.common import (
    DatasetArg,
    IntoOption,
    JsonOption,
    data_app,
    echo_json,
    open_dataset,
)
from vidsearch.cli.failing import errors
from vidsearch.cli.progress import StepProgress
from vidsearch.data.shapes import (
    DEFAULT_HELD_OUT,
    DEFAULT_IMAGES,
    DEFAULT_MAX_OBJECTS,
    DEFAULT_SIZE,
    DEFAULT_TEST,
    DEFAULT_VALIDATION,
)


@data_app.command("shapes")
def shapes(
    dataset: DatasetArg,
    images: Annotated[int, typer.Option(help="Number of images")] = DEFAULT_IMAGES,
    seed: Annotated[int, typer.Option(help="Everything follows from it")] = 0,
    size: Annotated[int, typer.Option(help="Image side in pixels")] = DEFAULT_SIZE,
    max_objects: Annotated[int, typer.Option(help="Shapes per image, 1 to")] = DEFAULT_MAX_OBJECTS,
    held_out: Annotated[
        int, typer.Option(help="Colour+shape pairs seen only in the test split")
    ] = DEFAULT_HELD_OUT,
    validation: Annotated[float, typer.Option(help="Fraction of validation images")] = (
        DEFAULT_VALIDATION
    ),
    test: Annotated[float, typer.Option(help="Fraction of test images")] = DEFAULT_TEST,
    as_json: JsonOption = False,
) -> None:
    """Write the synthetic world: coloured shapes in positions, English and Persian captions."""
    from vidsearch.data.shapes import WorldConfig, held_out_pairs, write_world

    with errors():
        config = WorldConfig(images, seed, size, max_objects, held_out, validation, test)
        with open_dataset(dataset) as data:
            result = write_world(data, config, progress=StepProgress())
            counts = data.counts()
    if as_json:
        echo_json(result | {"counts": counts})
        return
    pairs = ", ".join(f"{c} {s}" for c, s in held_out_pairs(config)) or "none"
    typer.echo(
        f"{result['images']} images ({result['drawn']} drawn now), splits "
        f"{counts['images_by_split']}, {counts['captions']} captions in {dataset}; "
        f"held out for test: {pairs}"
    )


@data_app.command("stats")
def stats(dataset: DatasetArg, as_json: JsonOption = False) -> None:
    """Counts by split, source and language; the last filter report; translation failures."""
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.filtering import read_report
    from vidsearch.data.translate.runner import FAILURES_REPORT

    with errors():
        data = Dataset.open(dataset)
        counts = data.counts()
    failures_file = dataset / FAILURES_REPORT
    failures = len(failures_file.read_text().splitlines()) if failures_file.is_file() else 0
    report = read_report(dataset)
    if as_json:
        echo_json(
            {
                "name": data.manifest.get("name"),
                "version": data.manifest.get("version"),
                "counts": counts,
                "translation_failures": failures,
                "filter": report,
            }
        )
        return
    typer.echo(f"{dataset}: {counts['images']} images, {counts['captions']} captions")
    for key in (
        "images_by_split",
        "images_by_source",
        "captions_by_language",
        "captions_by_source",
    ):
        typer.echo(f"  {key.replace('_', ' ')}: {counts[key]}")
    if counts["rejected_translations"]:
        typer.echo(f"  rejected translations: {counts['rejected_translations']}")
    if failures:
        typer.echo(f"  translation failures: {failures} ({failures_file})")
    if report is not None:
        typer.echo(
            f"  last filter: kept {report['kept']} of {report['translations']}, "
            f"rule {report['rule']}"
        )


@data_app.command("merge")
def merge(
    sources: Annotated[list[Path], typer.Argument(help="Datasets to copy from")],
    into: IntoOption,
) -> None:
    """Copy datasets' images and captions into another (created if new)."""
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.dataset import merge as merge_datasets

    with errors(), open_dataset(into) as target:
        for source in sources:
            images, captions = merge_datasets(target, Dataset.open(source))
            typer.echo(f"{source}: {images} images and {captions} captions added or changed")
