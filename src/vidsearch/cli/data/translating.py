"""`vidsearch data translate` and `filter`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsearch.cli.data.common import (
    DatasetArg,
    JsonOption,
    data_app,
    echo_json,
    open_dataset,
)
from vidsearch.cli.failing import USAGE, errors, fail
from vidsearch.cli.progress import StepProgress


@data_app.command("translate")
def translate(
    dataset: DatasetArg,
    backend: Annotated[
        str, typer.Option(help="http (a JSON endpoint), local (a seq2seq model), dictionary")
    ] = "http",
    endpoint: Annotated[
        str | None, typer.Option(help="http: the endpoint, e.g. http://127.0.0.1:5000/translate")
    ] = None,
    text_field: Annotated[str, typer.Option(help="http: request field of the texts")] = "q",
    result_path: Annotated[
        str, typer.Option(help="http: path to the translations in the answer")
    ] = "translatedText",
    param: Annotated[
        list[str] | None, typer.Option(help="http: extra request field KEY=VALUE (repeatable)")
    ] = None,
    one_per_request: Annotated[
        bool, typer.Option(help="http: send texts one at a time, not in batches")
    ] = False,
    rate: Annotated[float | None, typer.Option(help="http: requests per second")] = 2.0,
    retries: Annotated[int, typer.Option(help="http: retries of a failed request")] = 4,
    backoff: Annotated[float, typer.Option(help="http: first retry delay, doubling")] = 1.0,
    model: Annotated[
        str | None, typer.Option(help="local: hub id or directory [default: NLLB-200 600M]")
    ] = None,
    prefix: Annotated[str, typer.Option(help="local: text prefix, e.g. >>pes<< (Marian)")] = "",
    dictionary: Annotated[
        str, typer.Option(help="dictionary: a JSON file of phrases, or 'shapes'")
    ] = "shapes",
    source_language: Annotated[str, typer.Option("--from", help="Language of originals")] = "en",
    target_language: Annotated[str, typer.Option("--to", help="Language to add")] = "fa",
    batch_size: Annotated[int, typer.Option(help="Texts per request or model batch")] = 16,
    retry_failed: Annotated[
        bool, typer.Option(help="Try texts that failed permanently before again")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Translate at most this many texts")] = None,
    as_json: JsonOption = False,
) -> None:
    """Translate the original captions of a dataset (cached, resumable, failures recorded)."""
    from vidsearch.data.translate.runner import translate_dataset

    with errors():
        translator = _translator(
            backend,
            endpoint,
            text_field,
            result_path,
            param or [],
            not one_per_request,
            rate,
            retries,
            backoff,
            model,
            prefix,
            dictionary,
        )
        try:
            with open_dataset(dataset, create=False) as data:
                report = translate_dataset(
                    data,
                    translator,
                    source=source_language,
                    target=target_language,
                    batch_size=batch_size,
                    retry_failed=retry_failed,
                    limit=limit,
                    progress=StepProgress(),
                )
        finally:
            translator.close()
    if as_json:
        echo_json(report.to_json())
    else:
        typer.echo(
            f"{report.captions} captions translated ({report.cached} texts from the cache, "
            f"{report.translated} now at {report.to_json()['texts_per_second']} texts/s, "
            f"{report.failed} failed, {report.skipped} skipped: failed before)"
        )
    if report.failures_file:
        typer.echo(
            f"{len(report.failures)} texts without a translation: {report.failures_file}", err=True
        )
    if report.aborted:
        fail(f"{report.aborted}; run again to resume")
    if report.failed:
        fail(f"{report.failed} texts failed in this run; run again to retry the transient ones")


def _translator(
    backend: str,
    endpoint: str | None,
    text_field: str,
    result_path: str,
    params: list[str],
    batch: bool,
    rate: float | None,
    retries: int,
    backoff: float,
    model: str | None,
    prefix: str,
    dictionary: str,
):  # -> Translator
    from vidsearch.data.http import PoliteHttp
    from vidsearch.data.translate import DictionaryTranslator, HttpTranslator, LocalModelTranslator
    from vidsearch.data.translate.local import DEFAULT_TRANSLATION_MODEL

    if backend == "http":
        if endpoint is None:
            fail("--backend http needs --endpoint URL", USAGE)
        extra = {}
        for item in params:
            key, sep, value = item.partition("=")
            if not sep or not key:
                fail(f"--param takes KEY=VALUE, not {item!r}", USAGE)
            extra[key] = value
        http = PoliteHttp(rate=rate, retries=retries, backoff=backoff)
        return HttpTranslator(
            endpoint or "",
            http,
            text_field=text_field,
            result_path=result_path,
            batch=batch,
            extra=extra,
        )
    if backend == "local":
        return LocalModelTranslator(model or DEFAULT_TRANSLATION_MODEL, prefix=prefix)
    if backend == "dictionary":
        if dictionary == "shapes":
            from vidsearch.data.shapes import shapes_dictionary

            return DictionaryTranslator(shapes_dictionary(), name="dictionary:shapes")
        return DictionaryTranslator.from_file(Path(dictionary))
    fail(f"--backend must be http, local or dictionary, not {backend!r}", USAGE)


@data_app.command("filter")
def filter_command(
    dataset: DatasetArg,
    encoder: Annotated[
        str | None,
        typer.Option(
            help="sentence-transformers model (hub id or directory) "
            "[default: sentence-transformers/distiluse-base-multilingual-cased-v2]"
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Keep pairs with cosine similarity >= this [default 0.5]")
    ] = None,
    top_fraction: Annotated[
        float | None, typer.Option(help="Instead: keep this fraction of the best pairs")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only translations into this")] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs per encoder batch")] = 64,
    rescore: Annotated[bool, typer.Option(help="Score pairs scored before again")] = False,
    as_json: JsonOption = False,
) -> None:
    """Keep the translations whose meaning matches their original; report the distribution."""
    from vidsearch.data.filtering import (
        DEFAULT_ENCODER,
        DEFAULT_THRESHOLD,
        FilterRule,
        filter_translations,
    )
    from vidsearch.encoders.sentence_text import SentenceTextEncoder

    if threshold is not None and top_fraction is not None:
        fail("give --threshold or --top-fraction, not both", USAGE)
    with errors():
        rule = FilterRule(
            threshold=DEFAULT_THRESHOLD
            if threshold is None and top_fraction is None
            else threshold,
            top_fraction=top_fraction,
        )
        model = SentenceTextEncoder(encoder or DEFAULT_ENCODER, batch_size=batch_size)
        try:
            with open_dataset(dataset, create=False) as data:
                report = filter_translations(
                    data,
                    model,
                    rule,
                    language=language,
                    batch_size=batch_size,
                    rescore=rescore,
                    progress=StepProgress(),
                )
        finally:
            model.close()
    if as_json:
        echo_json(report)
        return
    similarity = report["similarity"]
    typer.echo(
        f"{report['kept']} of {report['translations']} translations kept "
        f"(cutoff {report['cutoff']}); rejected: {report['rejected'] or 'none'}"
    )
    if similarity.get("count"):
        q = similarity["quantiles"]
        typer.echo(
            f"similarity: mean {similarity['mean']:.3f}, min {q['0']:.3f}, 5% {q['0.05']:.3f}, "
            f"median {q['0.5']:.3f}, 95% {q['0.95']:.3f}, max {q['1']:.3f}"
        )
    typer.echo(f"report: {report['report_file']}")
