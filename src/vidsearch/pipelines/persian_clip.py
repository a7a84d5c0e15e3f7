"""The data steps of the `persian_clip` workflow: the training dataset, built and refreshed.

    import_captions  WORKDIR/captions   Flickr30k, COCO/NoCaps or the shapes world
    translate        WORKDIR/captions   + machine translations into `language` (cached)
    filter_captions  WORKDIR/captions   translations kept or rejected by similarity
    crawl            WORKDIR/crawl      classifieds titles and images (only when configured)
    merge            WORKDIR/train      the two datasets in one, what training reads

Each step is the library call behind the `vidsearch data` command of the same name, so each
is resumable and idempotent as that command is (docs/data.md). The model steps (train,
evaluate, promote) are in `candidate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vidsearch.config import Settings
from vidsearch.data.records import Split
from vidsearch.errors import ConfigError
from vidsearch.pipelines.candidate import MODEL_PARAMS
from vidsearch.pipelines.params import INDEX_PARAMS, Kind, spec

WORKFLOW = "persian_clip"  # its work folder: DataDir.pipeline_workdir(WORKFLOW), by default
FORMATS = ("flickr30k", "coco", "shapes", "none")
BACKENDS = ("http", "local", "dictionary", "none")
SPLITS = ("train", "validation", "test")

DATA_PARAMS = (
    spec(
        "workdir", Kind.STRING, f"Datasets and training runs [default: HOME/pipelines/{WORKFLOW}]"
    ),
    spec(
        "captions_format",
        Kind.STRING,
        "The captions to import: flickr30k (Karpathy's JSON or the .token file), coco "
        "(COCO/NoCaps annotations), shapes (the synthetic world, no file), none",
        "none",
        choices=FORMATS,
    ),
    spec("captions_file", Kind.STRING, "The captions file (flickr30k, coco)"),
    spec("images_dir", Kind.STRING, "Folder of its images (flickr30k, coco)"),
    spec("captions_source", Kind.STRING, "Source name of the imported captions [default: format]"),
    spec(
        "captions_split",
        Kind.STRING,
        "Split of every imported image [default: the file's]",
        choices=SPLITS,
    ),
    spec("shapes_images", Kind.INTEGER, "Images of the shapes world", 600),
    spec(
        "translate_backend",
        Kind.STRING,
        "Translator (none: no translation)",
        "http",
        choices=BACKENDS,
    ),
    spec("translate_endpoint", Kind.STRING, "http: the JSON endpoint (LibreTranslate's shape)"),
    spec(
        "translate_options",
        Kind.OBJECT,
        "http: text_field, result_path, params (extra request fields), one_per_request, "
        "retries, backoff",
        {},
    ),
    spec("translate_model", Kind.STRING, "local: seq2seq model [default: NLLB-200 600M]"),
    spec(
        "translate_dictionary", Kind.STRING, "dictionary: JSON file of phrases, or shapes", "shapes"
    ),
    spec("translate_from", Kind.STRING, "Language of the originals", "en"),
    spec("language", Kind.STRING, "Language translated into, filtered and trained on", "fa"),
    spec("translate_batch_size", Kind.INTEGER, "Texts per request or model batch", 16),
    spec("translate_rate", Kind.NUMBER, "http: requests per second", 2.0),
    spec(
        "filter_encoder",
        Kind.STRING,
        "Sentence encoder scoring translations [default: distiluse multilingual]",
    ),
    spec("filter_threshold", Kind.NUMBER, "Keep translations scoring >= this [default: 0.5]"),
    spec("filter_top_fraction", Kind.NUMBER, "Instead: keep this fraction of the best"),
    spec(
        "crawl",
        (Kind.OBJECT, Kind.STRING),
        "Crawl settings (docs/data.md: endpoint, name, items_path...) or a JSON file of them; "
        "empty, with no crawl_endpoint: no crawl",
    ),
    spec("crawl_endpoint", Kind.STRING, "The listing API to crawl (overrides crawl's)"),
    spec("crawl_max_items", Kind.INTEGER, "New images per run"),
    spec("crawl_max_pages", Kind.INTEGER, "Pages per run"),
)
ENCODER_PARAMS = tuple(
    p for p in INDEX_PARAMS if p.name in {"home", "cache_dir", "backend", "threads"}
)
DAG_PARAMS = (*DATA_PARAMS, *MODEL_PARAMS, *ENCODER_PARAMS)  # the persian_clip DAG's params


def folders(workdir: str | None, settings: Settings | None = None) -> dict[str, str]:
    """Where the workflow keeps things: captions, crawl, train (datasets), runs, champions."""
    root = (
        Path(workdir) if workdir else (settings or Settings()).data_dir.pipeline_workdir(WORKFLOW)
    )
    names = ("captions", "crawl", "train", "runs", "champions")
    return {name: str(root.expanduser() / name) for name in names}


def import_captions(
    *,
    dataset: str,
    format: str,
    captions_file: str | None = None,
    images_dir: str | None = None,
    source: str | None = None,
    split: str | None = None,
    shapes_images: int = 600,
) -> dict[str, Any]:
    """Import captions and images into `dataset` (created if new); `format` none: nothing."""
    from vidsearch.data import importers
    from vidsearch.data.dataset import Dataset

    if format == "none":
        return {"skipped": True, "reason": "captions_format is none"}
    if format not in FORMATS:
        raise ConfigError(f"captions_format must be one of {', '.join(FORMATS)}, not {format!r}")
    wanted = Split(split) if split else None
    with Dataset.open(Path(dataset), writable=True, create=True) as data:
        if format == "shapes":
            from vidsearch.data.shapes import WorldConfig, write_world

            result = write_world(data, WorldConfig(images=shapes_images))
            return {"dataset": dataset, "format": format, **result, "counts": data.counts()}
        if not captions_file or not images_dir:
            raise ConfigError(f"captions_format {format} needs captions_file and images_dir")
        file = Path(captions_file)
        if format == "coco":
            items = importers.parse_coco(file, split=wanted)
        elif file.suffix.lower() == ".json":
            items = importers.parse_karpathy(file, split=wanted)
        else:
            items = importers.parse_flickr_token(file, split=wanted)
        report = importers.import_images(data, items, Path(images_dir), source=source or format)
        counts = data.counts()
    if report.failed or report.missing:
        from vidsearch.data.errors import DataError

        # what could be imported is; the rest is named (a rerun retries only those)
        raise DataError(
            f"{len(report.missing)} images missing and {len(report.failed)} unreadable in "
            f"{images_dir}: {', '.join([*report.missing, *(f for f, _ in report.failed)][:5])}"
        )
    return {"dataset": dataset, "format": format, **report.to_json(), "counts": counts}


def translate(
    *,
    dataset: str,
    backend: str,
    endpoint: str | None = None,
    options: Mapping[str, Any] | None = None,
    model: str | None = None,
    dictionary: str = "shapes",
    source_language: str = "en",
    target_language: str = "fa",
    batch_size: int = 16,
    rate: float | None = 2.0,
) -> dict[str, Any]:
    """Translate `dataset`'s original captions that have no translation yet (cached; the
    failures of a previous run are retried only when transient). Texts that failed in this
    run raise a `TranslationError` after everything else is written: a retry continues."""
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.errors import TranslationError
    from vidsearch.data.translate.runner import translate_dataset

    if backend == "none":
        return {"skipped": True, "reason": "translate_backend is none"}
    if not _exists(dataset):
        return {"skipped": True, "reason": f"no captions dataset at {dataset}"}
    translator = _translator(backend, endpoint, dict(options or {}), model, dictionary, rate)
    try:
        with Dataset.open(Path(dataset), writable=True) as data:
            report = translate_dataset(
                data,
                translator,
                source=source_language,
                target=target_language,
                batch_size=batch_size,
            )
    finally:
        translator.close()
    if report.aborted or report.failed:
        failures = f"{report.failed} texts failed ({report.failures_file})"
        raise TranslationError(f"{report.aborted or failures}; a rerun continues")
    return {"dataset": dataset, **report.to_json()}


def _translator(
    backend: str,
    endpoint: str | None,
    options: dict[str, Any],
    model: str | None,
    dictionary: str,
    rate: float | None,
):  # -> vidsearch.data.translate.Translator
    from vidsearch.data.translate import DictionaryTranslator, HttpTranslator, LocalModelTranslator

    if backend == "http":
        from vidsearch.data.http import PoliteHttp

        if not endpoint:
            raise ConfigError("translate_backend http needs translate_endpoint")
        known = {"text_field", "result_path", "params", "one_per_request", "retries", "backoff"}
        if unknown := sorted(set(options) - known):
            raise ConfigError(f"unknown translate_options: {', '.join(unknown)}")
        http = PoliteHttp(
            rate=rate, retries=int(options.get("retries", 4)), backoff=options.get("backoff", 1.0)
        )
        fields = {k: options[k] for k in ("text_field", "result_path") if k in options}
        return HttpTranslator(
            endpoint,
            http,
            batch=not options.get("one_per_request", False),
            extra=options.get("params") or {},
            **fields,
        )
    if backend == "local":
        return LocalModelTranslator(model) if model else LocalModelTranslator()
    if backend == "dictionary":
        if dictionary == "shapes":
            from vidsearch.data.shapes import shapes_dictionary

            return DictionaryTranslator(shapes_dictionary(), name="dictionary:shapes")
        return DictionaryTranslator.from_file(Path(dictionary))
    raise ConfigError(f"translate_backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def filter_captions(
    *,
    dataset: str,
    encoder: str | None = None,
    threshold: float | None = None,
    top_fraction: float | None = None,
    language: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Score the unscored translations against their originals, then keep or reject each by
    the rule (threshold, or top fraction; default threshold 0.5). Scores are stored, so a
    rerun only applies the rule again."""
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.filtering import (
        DEFAULT_ENCODER,
        DEFAULT_THRESHOLD,
        FilterRule,
        filter_translations,
    )
    from vidsearch.encoders.sentence_text import SentenceTextEncoder

    if not _exists(dataset):
        return {"skipped": True, "reason": f"no captions dataset at {dataset}"}
    if threshold is None and top_fraction is None:
        threshold = DEFAULT_THRESHOLD
    rule = FilterRule(
        threshold=threshold if top_fraction is None else None, top_fraction=top_fraction
    )
    model = SentenceTextEncoder(encoder or DEFAULT_ENCODER, threads=threads)
    try:
        with Dataset.open(Path(dataset), writable=True) as data:
            report = filter_translations(data, model, rule, language=language)
    finally:
        model.close()
    return {"dataset": dataset, **report}


def crawl(
    *,
    dataset: str,
    config: Mapping[str, Any] | str | None = None,
    endpoint: str | None = None,
    max_items: int | None = None,
    max_pages: int | None = None,
) -> dict[str, Any]:
    """Crawl the configured listing API into `dataset` (resumable, deduplicated); with
    neither `config` nor `endpoint`, nothing: `{"skipped": True}`."""
    from vidsearch.data.crawler import CrawlConfig, Crawler
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.http import PoliteHttp

    settings = _crawl_settings(config) | {
        k: v
        for k, v in (("endpoint", endpoint), ("max_items", max_items), ("max_pages", max_pages))
        if v is not None
    }
    if not settings.get("endpoint"):
        return {"skipped": True, "reason": "no crawl endpoint is configured"}
    if settings.get("split") is not None:
        settings["split"] = Split(settings["split"])
    try:
        crawl_config = CrawlConfig(**settings)
    except TypeError as exc:
        raise ConfigError(f"crawl settings: {exc}") from None
    with (
        PoliteHttp(user_agent=crawl_config.user_agent, rate=crawl_config.rate) as http,
        Dataset.open(Path(dataset), writable=True, create=True) as data,
    ):
        report = Crawler(data, crawl_config, http).run()
    return {"dataset": dataset, "skipped": False, **report.to_json()}


def _crawl_settings(config: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if config is None or config == "":
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    try:
        data = json.loads(Path(config).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the crawl settings {config}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the crawl settings {config} must be a JSON object")
    return data


def _exists(dataset: str) -> bool:
    from vidsearch.data.dataset import MANIFEST

    return (Path(dataset) / MANIFEST).is_file()


def merge(*, sources: Sequence[str], into: str) -> dict[str, Any]:
    """Copy the `sources` datasets that exist into `into` (created if new); upserts, so a
    rerun changes nothing."""
    from vidsearch.data.dataset import Dataset
    from vidsearch.data.dataset import merge as merge_datasets

    present = [s for s in sources if _exists(s)]
    if not present:
        raise ConfigError(
            f"no dataset to merge: none of {', '.join(sources)} exists (import captions or crawl)"
        )
    added: dict[str, dict[str, int]] = {}
    with Dataset.open(Path(into), writable=True, create=True) as target:
        for source in present:
            images, captions = merge_datasets(target, Dataset.open(Path(source)))
            added[source] = {"images": images, "captions": captions}
        counts = target.counts()
    return {"dataset": into, "merged": added, "counts": counts}
