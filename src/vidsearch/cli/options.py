"""The options that several `vidsearch` commands share, and the settings and library they open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.cli.failing import fail
from vidsearch.config import Settings, make_settings
from vidsearch.errors import ConfigError

if TYPE_CHECKING:
    from vidsearch.library import Library

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Data directory [env: VIDSEARCH_HOME; default: per-user data dir]",
        show_default=False,
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Model bundle (clip-b32, multilingual-b32, clipfa: see `vidsearch models`), "
        "bundle directory, or CLIP hub id / directory [env: VIDSEARCH_MODEL; "
        "default: the index's model, else clip-b32]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text")]


def settings_from(**overrides: Any) -> Settings:
    """VIDSEARCH_* settings with the options given (None: not given); an invalid value fails."""
    try:
        return make_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))


def note(message: str) -> None:
    """A library's note for a person (an ONNX export starting, the search graph being built)."""
    typer.echo(message, err=True)


def open_library(home: Path | None, model: str | None = None, **overrides: Any) -> Library:
    """`vidsearch.open` with the command's options (None: not given) and its notes on stderr."""
    import vidsearch

    return vidsearch.open(home, model, notify=note, **overrides)
