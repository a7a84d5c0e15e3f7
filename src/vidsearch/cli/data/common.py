"""What every `vidsearch data` command shares: the typer app, its options, the dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.cli.failing import USAGE, fail

if TYPE_CHECKING:
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.records import Split

data_app = typer.Typer(
    name="data",
    help="Build captioned-image datasets: import, translate, filter, crawl, synthesize.",
    no_args_is_help=True,
)

DatasetArg = Annotated[Path, typer.Argument(help="Dataset directory", show_default=False)]
IntoOption = Annotated[
    Path, typer.Option("--into", help="Dataset directory (created if new)", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON")]
SplitOption = Annotated[
    str | None,
    typer.Option(help="Split for every image: train, validation, test [default: from the file]"),
]


@contextmanager
def open_dataset(root: Path, *, create: bool = True) -> Iterator[Dataset]:
    from vidsearch.data.dataset import Dataset

    dataset = Dataset.open(root, writable=True, create=create)
    try:
        yield dataset
    finally:
        dataset.close()


def parse_split(value: str | None) -> Split | None:
    from vidsearch.data.records import Split

    if value is None:
        return None
    try:
        return Split(value)
    except ValueError:
        fail(f"--split must be train, validation or test, not {value!r}", USAGE)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
