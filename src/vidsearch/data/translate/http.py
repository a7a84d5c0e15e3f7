"""A translator behind a JSON HTTP endpoint, LibreTranslate's by default.

    POST <endpoint>  {"q": [texts...], "source": "en", "target": "fa", "format": "text", ...}
    ->  {"translatedText": [translations...]}

The request's text field, the path to the translations in the answer (see `fieldpath`) and
any extra fields (an API key) are configurable, so other JSON APIs fit too: Google Cloud
Translation v2 is `text_field="q"`, `result_path="data.translations[].translatedText"` with
the key in the URL. `batch=False` sends one text per request (`"q": "text"`). Rate limit,
retries and backoff come from `PoliteHttp`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vidsearch.data.errors import DataError, TranslationError
from vidsearch.data.fieldpath import FieldPathError, check_path, extract
from vidsearch.data.http import HttpError, PoliteHttp

DEFAULT_TEXT_FIELD = "q"
DEFAULT_RESULT_PATH = "translatedText"


class HttpTranslator:
    def __init__(
        self,
        endpoint: str,
        http: PoliteHttp,
        *,
        text_field: str = DEFAULT_TEXT_FIELD,
        result_path: str = DEFAULT_RESULT_PATH,
        batch: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise DataError(f"the translation endpoint must be an http(s) URL, not {endpoint!r}")
        self.endpoint = endpoint
        self.http = http
        self.text_field = text_field
        self.result_path = check_path(result_path)
        self.batch = batch
        self.extra = dict(extra or {})

    @property
    def name(self) -> str:
        return f"http:{self.endpoint}"

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if self.batch:
            return self._post(list(texts), source, target, len(texts))
        return [self._post(text, source, target, 1)[0] for text in texts]

    def _post(self, q: str | list[str], source: str, target: str, count: int) -> list[str]:
        body = {**self.extra, self.text_field: q, "source": source, "target": target}
        body.setdefault("format", "text")
        try:
            response = self.http.request("POST", self.endpoint, json=body)
        except HttpError as exc:
            raise TranslationError(str(exc), permanent=exc.permanent) from None
        try:
            result = extract(response.json(), self.result_path)
        except (ValueError, FieldPathError) as exc:
            raise TranslationError(f"{self.endpoint} answered unexpected JSON: {exc}") from None
        if isinstance(result, str):
            result = [result]
        if not isinstance(result, list) or len(result) != count:
            raise TranslationError(
                f"{self.endpoint} answered {_describe(result)} for {count} texts", permanent=True
            )
        if not all(isinstance(r, str) for r in result):
            raise TranslationError(f"{self.endpoint} answered non-text translations")
        return result

    def close(self) -> None:
        self.http.close()


def _describe(value: object) -> str:
    return f"{len(value)} translations" if isinstance(value, list) else type(value).__name__
