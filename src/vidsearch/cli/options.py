"""The options that several `vidsearch` commands share, and the settings and library they open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidsearch.cli.failing import fail
from vidsearch.config import Settings, make_settings
from vidsearch.errors import ConfigError, IndexLockedError

if TYPE_CHECKING:
    from vidsearch.cli.server_library import ServerLibrary
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
_FLAGS = {"shot_detector": "shots"}  # option names that are not their setting's
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


def open_library_or_server(
    home: Path | None, model: str | None = None, **overrides: Any
) -> Library | ServerLibrary:
    """`open_library`, or, when a running `vidsearch serve` holds the index, the same calls
    answered by that server (the options that shape indexing are then the server's own)."""
    try:
        return open_library(home, model, **overrides)
    except IndexLockedError:
        from vidsearch.cli.server_library import ServerLibrary, running_server

        where = settings_from(home=home).home
        url = running_server(where)
        if url is None:
            raise
    given = {"model": model, **overrides}
    flags = [_FLAGS.get(name, name.replace("_", "-")) for name, v in given.items() if v is not None]
    if flags:
        ignored = ", ".join(f"--{flag}" for flag in flags)
        note(
            f"the vidsearch server at {url} holds the index and uses its own settings: "
            f"{ignored} ignored"
        )
    else:
        note(f"the vidsearch server at {url} holds the index: asking it")
    return ServerLibrary(url, where)
