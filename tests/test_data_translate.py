"""The translate step: the HTTP translator against a fake LibreTranslate-style server on
127.0.0.1 (retries, backoff, permanent failures, the cache), resuming after an interruption,
the dictionary translator and a tiny local MarianMT model."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from data_support import FakeServer, Reply, Request
from vidsearch.data import CaptionRecord, Dataset
from vidsearch.data.errors import DataError, TranslationError
from vidsearch.data.http import PoliteHttp
from vidsearch.data.translate import (
    DictionaryTranslator,
    HttpTranslator,
    LocalModelTranslator,
    TranslationCache,
    translate_dataset,
)
from vidsearch.errors import ModelError

WORDS = {"a": "یک", "red": "قرمز", "car": "ماشین", "dog": "سگ", "blue": "آبی", "sky": "آسمان"}
CAPTIONS = ["a red car", "a dog", "a blue sky", "a red dog", "a blue car", "a car"]


def _fa(text: str) -> str:
    return " ".join(WORDS[w] for w in text.split())


def _dataset(root: Path, captions: Sequence[str] = CAPTIONS) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="JPEG")
    with Dataset.open(root, create=True) as dataset:
        for number, caption in enumerate(captions):
            dataset.add_image(f"img-{number}", buffer.getvalue(), source="test")
            dataset.upsert_caption(CaptionRecord(f"img-{number}", "en", "test", 0, caption))
            # the same text twice: translated once
            dataset.upsert_caption(CaptionRecord(f"img-{number}", "en", "test", 1, caption))
    return root


def _translations(root: Path) -> dict[tuple, str]:
    return {c.key: c.caption for c in Dataset.open(root).captions(language="fa")}


class Libre:
    """A LibreTranslate-style /translate: answers from WORDS, with scripted failures."""

    def __init__(self, script: Sequence[int] = (), refuse: str | None = None) -> None:
        self.script = list(script)  # statuses to answer first, in order
        self.refuse = refuse  # a text answered with 400
        self.texts: list[str] = []

    def __call__(self, request: Request) -> Reply:
        if self.script:
            status = self.script.pop(0)
            return Reply(status, {"error": "busy"}, {"Retry-After": "3"} if status == 503 else None)
        texts = request.body["q"]
        if self.refuse in texts:
            return Reply(400, {"error": f"cannot translate {self.refuse!r}"})
        self.texts += texts
        answers = ["" if t == "a car" else _fa(t) for t in texts]  # "" is garbage
        return Reply(200, {"translatedText": answers})


def _http(server: FakeServer, sleeps: list[float]) -> HttpTranslator:
    http = PoliteHttp(rate=None, retries=3, backoff=0.5, sleep=sleeps.append)
    return HttpTranslator(f"{server.url}/translate", http)


def test_retries_with_backoff_then_translates(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", CAPTIONS[:3])
    sleeps: list[float] = []
    with (
        FakeServer(Libre(script=[429, 500, 503])) as server,
        Dataset.open(root, writable=True) as dataset,
    ):
        report = translate_dataset(dataset, _http(server, sleeps), batch_size=8)
    assert sleeps == [0.5, 1.0, 3.0]  # doubling; the 503's Retry-After: 3 is longer
    assert len(server.requests) == 4 and report.translated == 3 and report.failed == 0
    assert server.requests[0].body == {
        "q": ["a red car", "a dog", "a blue sky"],
        "source": "en",
        "target": "fa",
        "format": "text",
    }
    assert server.requests[0].headers["user-agent"].startswith("vidsearch-data/")
    translations = _translations(root)
    assert translations[("img-0", "fa", "test+mt", 0)] == "یک قرمز ماشین"
    assert len(translations) == 6  # both captions of each image
    record = Dataset.open(root).caption(("img-0", "fa", "test+mt", 1))
    assert (record.original, record.translated_from) == ("a red car", "en")
    assert record.translator == f"http:{server.url}/translate"


def test_permanent_failures_are_recorded_and_the_cache_answers_reruns(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    cache = tmp_path / "cache.sqlite"
    libre = Libre(refuse="a blue sky")
    with FakeServer(libre) as server:
        with Dataset.open(root, writable=True) as dataset:
            report = translate_dataset(dataset, _http(server, []), batch_size=4, cache_path=cache)
        # one 400 batch, split text by text; "a car" came back empty: both failed for good
        assert (report.translated, report.failed) == (4, 2)
        failures = [json.loads(x) for x in Path(report.failures_file).read_text().splitlines()]
        assert sorted((f["text"], f["permanent"]) for f in failures) == [
            ("a blue sky", True),
            ("a car", True),
        ]
        assert "400" in failures[0]["error"] or "400" in failures[1]["error"]
        assert any("empty translation" in f["error"] for f in failures)
        sent = len(server.requests)

        with Dataset.open(root, writable=True) as dataset:  # rerun: nothing left to send
            again = translate_dataset(dataset, _http(server, []), cache_path=cache)
        assert len(server.requests) == sent and again.skipped == 2 and again.captions == 0

        other = _dataset(tmp_path / "other")  # same texts elsewhere: all from the cache
        with Dataset.open(other, writable=True) as dataset:
            cached = translate_dataset(dataset, _http(server, []), cache_path=cache)
        assert len(server.requests) == sent
        assert (cached.cached, cached.captions) == (4, 8)
        assert _translations(other) == _translations(root)

        libre.refuse = None
        with Dataset.open(root, writable=True) as dataset:
            retried = translate_dataset(
                dataset, _http(server, []), cache_path=cache, retry_failed=True
            )
        assert retried.translated == 1 and retried.failed == 1  # "a car" is still empty
    assert len(_translations(root)) == 10


def test_an_endpoint_that_keeps_failing_stops_the_run_and_a_rerun_finishes(tmp_path: Path):
    root = _dataset(tmp_path / "ds")
    with FakeServer(Libre(script=[500] * 20)) as server:
        with Dataset.open(root, writable=True) as dataset:
            report = translate_dataset(
                dataset, _http(server, []), batch_size=2, max_failing_batches=2
            )
        assert report.aborted and "2 failing batches" in report.aborted
        assert len(server.requests) == 8  # 2 batches x (1 + 3 retries), not split
        with TranslationCache(
            root / "cache" / "translations.sqlite",
            translator=f"http:{server.url}/translate",
            source="en",
            target="fa",
        ) as cache:
            failures = cache.failures()
        assert len(failures) == 4 and not any(f.permanent for f in failures)
        server.handler = Libre()
        with Dataset.open(root, writable=True) as dataset:
            again = translate_dataset(dataset, _http(server, []), batch_size=2)
    assert again.translated == 5 and again.failed == 1 and again.skipped == 0  # 'a car': empty


class _Interrupted(Exception):
    pass


class _Flaky:
    """A translator interrupted (as by Ctrl-C or a kill) after `batches` batches."""

    def __init__(self, inner: DictionaryTranslator, batches: int) -> None:
        self.inner, self.batches, self.seen = inner, batches, []

    @property
    def name(self) -> str:
        return self.inner.name

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if self.batches == 0:
            raise _Interrupted
        self.batches -= 1
        self.seen += texts
        return self.inner.translate(texts, source, target)

    def close(self) -> None:
        pass


def test_an_interrupted_translation_resumes_without_duplicates_or_losses(tmp_path: Path):
    root = _dataset(tmp_path / "ds", CAPTIONS[:5])
    dictionary = DictionaryTranslator(WORDS)
    first = _Flaky(dictionary, batches=2)
    with Dataset.open(root, writable=True) as dataset, pytest.raises(_Interrupted):
        translate_dataset(dataset, first, batch_size=2)
    assert len(_translations(root)) == 8  # 2 batches x 2 texts x 2 captions each
    second = _Flaky(dictionary, batches=99)
    with Dataset.open(root, writable=True) as dataset:
        report = translate_dataset(dataset, second, batch_size=2)
    assert set(first.seen).isdisjoint(second.seen) and len(second.seen) == 1
    assert report.captions == 2
    rows = [json.loads(x) for x in (root / "captions.jsonl").read_text().splitlines()]
    keys = [(r["image_id"], r["language"], r["source"], r["n"]) for r in rows]
    assert len(keys) == len(set(keys)) == 20
    assert _translations(root)[("img-4", "fa", "test+mt", 1)] == "یک آبی ماشین"


def test_dictionary_translator_phrases_and_unknown_words() -> None:
    translator = DictionaryTranslator({"a red car": "یک ماشین قرمز", "a": "یک", "dog": "سگ"})
    assert translator.translate(["A red car!", "a dog"], "en", "fa") == ["یک ماشین قرمز", "یک سگ"]
    with pytest.raises(TranslationError, match="no dictionary entry for 'cat'") as error:
        translator.translate(["a cat"], "en", "fa")
    assert error.value.permanent
    with pytest.raises(TranslationError, match="en -> fa, not en -> ar"):
        translator.translate(["a dog"], "en", "ar")
    with pytest.raises(DataError, match="empty"):
        DictionaryTranslator({})


def test_http_translator_rejects_a_wrong_shaped_answer(tmp_path: Path) -> None:
    with FakeServer(lambda request: Reply(200, {"translatedText": ["only one"]})) as server:
        translator = _http(server, [])
        with pytest.raises(TranslationError, match="answered 1 translations for 2 texts"):
            translator.translate(["a", "b"], "en", "fa")
        translator.result_path = "data.translations[].translatedText"
        with pytest.raises(TranslationError, match="no field 'data'"):
            translator.translate(["a"], "en", "fa")
    with pytest.raises(DataError, match="must be an http"):
        HttpTranslator("ftp://example", PoliteHttp())


def test_local_model_translator_runs_a_tiny_marian_model(tiny_translator: Path, tmp_path: Path):
    root = _dataset(tmp_path / "ds", CAPTIONS[:2])
    translator = LocalModelTranslator(str(tiny_translator), max_new_tokens=8)
    with Dataset.open(root, writable=True) as dataset:
        report = translate_dataset(dataset, translator)
    assert report.translated == 2 and report.failed == 0
    captions = list(Dataset.open(root).captions(language="fa"))
    assert len(captions) == 4 and all(c.translator.startswith("local:") for c in captions)
    assert captions[0].caption != "یک قرمز ماشین"  # random weights: garbage, for the filter


def test_local_model_translator_fails_fast_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    translator = LocalModelTranslator("Helsinki-NLP/opus-mt-en-xx-not-cached")
    with pytest.raises(ModelError, match="cannot download model .*HF_HUB_OFFLINE"):
        translator.translate(["a dog"], "en", "fa")


def test_cli_names_an_unreachable_endpoint_and_keeps_the_dataset(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from vidsearch.cli import app

    root = _dataset(tmp_path / "ds", CAPTIONS[:2])
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/translate"
    args = ["data", "translate", str(root), "--endpoint", endpoint, "--retries", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == "error: 2 texts failed in this run; run again to retry the transient ones"
    assert (
        f"POST {endpoint} failed: ConnectError"
        in (root / "reports" / "translation-failures.jsonl").read_text()
    )
    assert "2 texts without a translation" in result.stderr
    assert len(list(Dataset.open(root).captions())) == 4  # the originals, untouched
    result = CliRunner().invoke(app, ["data", "translate", str(root), "--backend", "google"])
    assert result.exit_code == 2 and "--backend must be http, local or dictionary" in result.stderr
