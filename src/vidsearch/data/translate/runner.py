"""The translate step: every original caption in one language gets a translation into another.

Texts are translated once each (captions repeat), looked up in the cache first, and sent in
batches; a batch that fails is retried text by text so one bad text does not sink the others.
Each finished batch is committed to the cache and written to the dataset, so a killed run
resumes where it stopped and sends nothing twice. Texts that failed are recorded in the cache
and in `reports/translation-failures.jsonl`; permanent failures are skipped by later runs
unless `retry_failed` is set, transient ones are tried again. A batch that fails for a
transient reason (the endpoint is down) is not split; after `max_failing_batches` of those in
a row the run stops, says why (`aborted`) and keeps what it has.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DataError, TranslationError
from vidsearch.data.progress import NoProgress, Progress
from vidsearch.data.records import CaptionRecord, clean_caption
from vidsearch.data.translate.base import Translator
from vidsearch.data.translate.cache import TranslationCache

DEFAULT_BATCH = 16
DEFAULT_MAX_FAILING_BATCHES = 3  # transient failures in a row before the run stops
CACHE_FILE = "cache/translations.sqlite"
FAILURES_REPORT = "reports/translation-failures.jsonl"


@dataclass(slots=True)
class TranslateReport:
    captions: int = 0  # translations written to the dataset
    texts: int = 0  # distinct texts needing a translation
    cached: int = 0  # of those, found in the cache
    translated: int = 0  # of those, translated now
    failed: int = 0  # of those, failed now
    skipped: int = 0  # of those, skipped: failed permanently before
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    failures_file: str | None = None
    aborted: str | None = None  # why the run stopped early (the endpoint kept failing)

    def to_json(self) -> dict[str, Any]:
        rate = self.translated / self.seconds if self.seconds else 0.0
        return {
            "captions": self.captions,
            "texts": self.texts,
            "cached": self.cached,
            "translated": self.translated,
            "failed": self.failed,
            "skipped_failed_before": self.skipped,
            "seconds": round(self.seconds, 3),
            "texts_per_second": round(rate, 2),
            "failures_file": self.failures_file,
            "aborted": self.aborted,
        }


def translate_dataset(
    dataset: Dataset,
    translator: Translator,
    *,
    source: str = "en",
    target: str = "fa",
    batch_size: int = DEFAULT_BATCH,
    retry_failed: bool = False,
    limit: int | None = None,
    max_failing_batches: int = DEFAULT_MAX_FAILING_BATCHES,
    cache_path: Path | None = None,
    progress: Progress | None = None,
) -> TranslateReport:
    """Translate `dataset`'s original `source` captions that lack a `target` translation."""
    if source == target:
        raise DataError(f"source and target language are both {source!r}")
    if batch_size < 1:
        raise DataError(f"the batch size must be at least 1, not {batch_size}")
    started = time.perf_counter()
    progress = progress or NoProgress()
    report = TranslateReport()
    pending: dict[str, list[CaptionRecord]] = defaultdict(list)
    for caption in dataset.captions(language=source):
        if not caption.is_translation and dataset.caption(caption.translation_key(target)) is None:
            pending[clean_caption(caption.caption, source)].append(caption)
    texts = list(pending)[:limit] if limit is not None else list(pending)
    report.texts = len(texts)
    cache = TranslationCache(
        cache_path or dataset.root / CACHE_FILE,
        translator=translator.name,
        source=source,
        target=target,
    )
    writer = _Writer(dataset, translator.name, source, target, pending, report)
    try:
        cached = cache.get(texts)
        report.cached = len(cached)
        writer.write(list(cached.items()))
        permanent = {f.text for f in cache.failures() if f.permanent}
        todo = [t for t in texts if t not in cached]
        if not retry_failed:
            report.skipped = sum(t in permanent for t in todo)
            todo = [t for t in todo if t not in permanent]
        progress.start(f"translate {source}->{target}", len(todo))
        failing = 0  # batches in a row that failed for transient reasons
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            try:
                done = _translate_batch(translator, cache, batch, source, target, report)
                failing = 0
            except TranslationError as exc:
                failing, done = failing + 1, []
                if failing >= max_failing_batches:
                    report.aborted = f"gave up after {failing} failing batches in a row: {exc}"
                    break
            cache.put(done)
            writer.write(done)
            progress.advance(len(batch))
        report.failures = [
            {"text": f.text, "error": f.error, "permanent": f.permanent, "attempts": f.attempts}
            for f in cache.failures()
        ]
        report.failures_file = _write_failures(dataset.root, report.failures)
    finally:
        progress.finish()
        cache.close()
        dataset.flush()
        report.seconds = time.perf_counter() - started
    return report


def _translate_batch(
    translator: Translator,
    cache: TranslationCache,
    batch: Sequence[str],
    source: str,
    target: str,
    report: TranslateReport,
) -> list[tuple[str, str]]:
    """(text, translation) pairs for the texts of `batch` that could be translated."""
    try:
        results = _checked(batch, translator.translate(batch, source, target))
    except TranslationError as exc:
        if len(batch) == 1 or not exc.permanent:  # transient: the texts are not to blame
            for text in batch:
                cache.record_failure(text, str(exc), permanent=exc.permanent)
            report.failed += len(batch)
            if not exc.permanent:
                raise
            return []
        pairs = []
        for text in batch:
            try:
                pairs += _translate_batch(translator, cache, [text], source, target, report)
            except TranslationError:
                pass  # transient, and recorded
        return pairs
    report.translated += len(results)
    return list(zip(batch, results, strict=True))


def _checked(batch: Sequence[str], results: Sequence[str]) -> list[str]:
    if len(results) != len(batch):
        raise TranslationError(f"{len(results)} translations came back for {len(batch)} texts")
    for text, result in zip(batch, results, strict=True):
        if not result.strip():
            raise TranslationError(f"empty translation of {text!r}", permanent=True)
    return list(results)


class _Writer:
    """Writes translations to every caption that has the translated text."""

    def __init__(
        self,
        dataset: Dataset,
        name: str,
        source: str,
        target: str,
        pending: dict[str, list[CaptionRecord]],
        report: TranslateReport,
    ) -> None:
        self.dataset, self.name, self.source, self.target = dataset, name, source, target
        self.pending, self.report = pending, report

    def write(self, pairs: Sequence[tuple[str, str]]) -> None:
        for text, translation in pairs:
            for original in self.pending[text]:
                image_id, language, source, n = original.translation_key(self.target)
                record = CaptionRecord(
                    image_id,
                    language,
                    source,
                    n,
                    translation,
                    translator=self.name,
                    translated_from=self.source,
                    original=original.caption,
                )
                self.report.captions += self.dataset.upsert_caption(record)
        if pairs:
            self.dataset.flush()


def _write_failures(root: Path, failures: list[dict[str, Any]]) -> str | None:
    path = root / FAILURES_REPORT
    if not failures:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(f, ensure_ascii=False) for f in failures)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)
