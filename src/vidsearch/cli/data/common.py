"""What every `vidsearch data` command shares: the typer app, options, progress bars, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.errors import VidsearchError

if TYPE_CHECKING:
    from tqdm import tqdm

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


class TqdmProgress:
    """`vidsearch.data.progress.Progress` as a tqdm bar on stderr (none when not a terminal)."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def start(self, description: str, total: int | None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=description, leave=False, disable=None)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except VidsearchError as exc:
        fail(str(exc))


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
        fail(f"--split must be train, validation or test, not {value!r}", code=2)
        raise  # unreachable


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
