"""The options that several `vidsearch` commands share, and the settings they make."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidsearch.cli.failing import fail
from vidsearch.config import Settings

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
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError
        fail(f"invalid setting: {exc}")
