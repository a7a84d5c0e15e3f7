"""A translator from a phrase dictionary: offline, deterministic, for tests and demos.

A text is translated whole when the dictionary has it, else phrase by phrase: the longest
dictionary phrase starting at each word (case and punctuation ignored). A word no phrase
covers is a permanent failure naming it. `shapes_dictionary()` covers the synthetic world's
captions, so `vidsearch data translate --backend dictionary` runs end to end offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from vidsearch.data.errors import DataError, TranslationError

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class DictionaryTranslator:
    def __init__(
        self,
        entries: Mapping[str, str],
        *,
        name: str = "dictionary",
        source: str = "en",
        target: str = "fa",
    ) -> None:
        if not entries:
            raise DataError("the translation dictionary is empty")
        self._name = name
        self.source = source
        self.target = target
        self._phrases = {tuple(_words(k)): v for k, v in entries.items() if _words(k)}
        self._longest = max(len(k) for k in self._phrases)
        self.calls = 0

    @classmethod
    def from_file(cls, path: Path, **options: str) -> DictionaryTranslator:
        """A JSON object {"source phrase": "translation", ...}."""
        try:
            entries = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read the dictionary {path}: {exc}") from None
        if not isinstance(entries, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
        ):
            raise DataError(f"the dictionary {path} must be a JSON object of strings")
        return cls(entries, name=f"dictionary:{Path(path).stem}", **options)

    @property
    def name(self) -> str:
        return self._name

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if (source, target) != (self.source, self.target):
            raise TranslationError(
                f"the dictionary translates {self.source} -> {self.target}, not {source} -> "
                f"{target}",
                permanent=True,
            )
        self.calls += 1
        return [self._translate(text) for text in texts]

    def _translate(self, text: str) -> str:
        words = _words(text)
        out, position = [], 0
        while position < len(words):
            for length in range(min(self._longest, len(words) - position), 0, -1):
                phrase = tuple(words[position : position + length])
                if phrase in self._phrases:
                    out.append(self._phrases[phrase])
                    position += length
                    break
            else:
                raise TranslationError(
                    f"no dictionary entry for {words[position]!r} in {text!r}", permanent=True
                )
        return " ".join(out)

    def close(self) -> None:
        pass
