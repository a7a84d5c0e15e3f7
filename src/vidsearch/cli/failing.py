"""How every `vidsearch` command fails: one line `error: <message>` on stderr and an exit code.

A library error (a `VidsearchError`) exits with the code `vidsearch.errors.exit_code` gives it
(EXIT_CODES, the one table); a command's own usage check exits with `USAGE`. Nothing else in
the CLI writes `error:`; a command whose work partly failed (some files of many) says so in
its own words and exits with `FAILURE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from vidsearch.errors import EXIT_FAILURE, VidsearchError, exit_code

FAILURE = EXIT_FAILURE  # a library error, or work that did not all succeed
USAGE = 2  # options that contradict or miss each other (click's own code for bad usage)


def print_error(message: str) -> None:
    """`error: message` on stderr, for a failure the command goes on after."""
    typer.echo(f"error: {message}", err=True)


def fail(message: str, code: int = FAILURE) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    print_error(message)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Library errors raised inside become one line on stderr and their exit code."""
    try:
        yield
    except VidsearchError as exc:
        fail(str(exc), exit_code(exc))
