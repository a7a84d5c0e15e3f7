"""The parameters of a workflow, declared once, and how an empty one is filled in.

A workflow's parameters are `ParamSpec`s: the Airflow DAG turns them into its `params` (typed,
described, empty by default), the docs list them, and `resolve` fills in each empty one, in
this order:

1. the value given for the run (a DAG param: the trigger form, `--conf`);
2. the Airflow Variable `vidsearch_<name>` (any text; JSON for numbers, lists and objects);
3. the spec's default, or for the index settings (home, qdrant_url, model...) nothing, so that
   `vidsearch.config.Settings` reads `VIDSEARCH_*` as every vidsearch command does.

Nothing here imports Airflow: the DAG passes a function that reads a Variable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vidsearch.config import Settings, make_settings
from vidsearch.errors import ConfigError

VARIABLE_PREFIX = "vidsearch_"
# The index settings a step may be given; what is left out, Settings reads from VIDSEARCH_*.
SETTINGS_FIELDS = (
    "home",
    "model",
    "qdrant_url",
    "qdrant_api_key",
    "collection",
    "interval",
    "batch_size",
    "decode",
    "backend",
    "int8",
    "threads",
    "cache_dir",
    "subtitles",
    "speech",
    "asr_model",
    "asr_language",
    "screen_text",
    "ocr_languages",
    "dialogue_model",
)
ReadVariable = Callable[[str], str | None]


class Kind(StrEnum):
    """JSON schema types (what Airflow's Param validates against)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    kinds: tuple[Kind, ...]
    description: str
    default: Any = None  # applied after the Variable; None: the step's or Settings' default
    choices: tuple[str, ...] = ()
    param: bool = True  # False: a Variable only (secrets: never shown in the trigger form)

    @property
    def variable(self) -> str:
        return f"{VARIABLE_PREFIX}{self.name}"

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the DAG param: one of `kinds`, or empty (null)."""
        schema: dict[str, Any] = {"type": ["null", *(k.value for k in self.kinds)]}
        if self.choices:
            schema["enum"] = [None, *self.choices]
        return schema

    def help(self) -> str:
        """The description with where an empty value comes from."""
        fallback = f"Empty: Variable {self.variable}"
        if self.default is not None:
            fallback += f", else {json.dumps(self.default, ensure_ascii=False)}"
        elif self.name in SETTINGS_FIELDS:
            fallback += f", else VIDSEARCH_{self.name.upper()}"
        return f"{self.description} [{fallback}]"


def spec(
    name: str,
    kinds: Kind | tuple[Kind, ...],
    description: str,
    default: Any = None,
    *,
    choices: Iterable[str] = (),
    param: bool = True,
) -> ParamSpec:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return ParamSpec(name, kinds, description, default, tuple(choices), param)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def coerce(spec: ParamSpec, text: str) -> Any:
    """A Variable's text as the param's type (a ConfigError naming the Variable if it is not)."""
    text = text.strip()
    kinds = set(spec.kinds)
    try:
        if kinds == {Kind.STRING}:
            return text
        if Kind.STRING in kinds and not text.startswith(("{", "[")):
            return text  # an object-or-path param given a path
        if kinds == {Kind.BOOLEAN}:
            lowered = text.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("not a boolean")
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"the Airflow Variable {spec.variable} must be {' or '.join(spec.kinds)}: {exc}"
        ) from None
    return value


def resolve(
    specs: Iterable[ParamSpec], given: Mapping[str, Any], variable: ReadVariable | None = None
) -> dict[str, Any]:
    """Every spec's value: the one given, else its Variable, else its default (maybe None)."""
    resolved: dict[str, Any] = {}
    for item in specs:
        value = given.get(item.name) if item.param else None
        if is_empty(value) and variable is not None:
            text = variable(item.variable)
            value = None if text is None or not text.strip() else coerce(item, text)
        if is_empty(value):
            value = item.default
        if item.choices and value is not None and value not in item.choices:
            raise ConfigError(
                f"{item.name} must be one of {', '.join(item.choices)}, not {value!r}"
            )
        resolved[item.name] = value
    return resolved


def settings_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The index settings among `values` that are set (JSON-able: what a step receives)."""
    return {k: values[k] for k in SETTINGS_FIELDS if not is_empty(values.get(k))}


def build_settings(values: Mapping[str, Any]) -> Settings:
    """Settings from the given values; the rest from `VIDSEARCH_*`, as the CLI does."""
    return make_settings(**settings_values(values))


# The index settings, as params of any workflow that opens the index.
INDEX_PARAMS = (
    spec("home", Kind.STRING, "vidsearch data directory (index, catalog, thumbnails)"),
    spec(
        "qdrant_url",
        Kind.STRING,
        "Qdrant server holding vectors and catalog (http(s)://host:6333); set, many workers "
        "may index at once",
    ),
    spec("collection", Kind.STRING, "Qdrant collection of the frames (with qdrant_url)"),
    spec("qdrant_api_key", Kind.STRING, "Qdrant server API key", param=False),
    spec("model", Kind.STRING, "Model bundle, bundle directory, CLIP id or models:/NAME@ALIAS"),
    spec("interval", Kind.NUMBER, "Max seconds between sampled frames"),
    spec("batch_size", Kind.INTEGER, "Frames per encoder batch"),
    spec("decode", Kind.STRING, "Decoding mode", choices=("fast", "exact", "keyframes")),
    spec("backend", Kind.STRING, "Encoder runtime", choices=("auto", "onnx", "torch")),
    spec("threads", Kind.INTEGER, "CPU threads for inference"),
    spec("cache_dir", Kind.STRING, "Where ONNX exports and registered bundles are cached"),
    spec("subtitles", Kind.BOOLEAN, "Index videos' subtitles too (dialogue search)"),
    spec(
        "speech",
        Kind.STRING,
        "Transcribe speech: auto (videos without subtitles), all, off",
        choices=("auto", "all", "off"),
    ),
    spec("asr_model", Kind.STRING, "Whisper model: a size (tiny, base...), hub id or folder"),
    spec("asr_language", Kind.STRING, "Language of the speech (ISO 639-1); default: detected"),
    spec("screen_text", Kind.BOOLEAN, "Read text written on screen (Tesseract)"),
    spec("ocr_languages", Kind.STRING, "Tesseract languages, joined by + (eng+fas)"),
)
