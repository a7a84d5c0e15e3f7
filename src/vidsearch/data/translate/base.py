"""The translator interface every backend satisfies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    """Texts in one language -> texts in another, in order, one for one.

    `name` identifies the translator and its settings (e.g. `http:<endpoint>`,
    `local:<model>`, `dictionary:<name>`): cached translations are kept per name. A failure
    raises `TranslationError`, `permanent` when trying the same texts again cannot help.
    """

    @property
    def name(self) -> str: ...

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]: ...

    def close(self) -> None: ...
