"""`vidsearch eval`: retrieval on captioned test sets and moment retrieval on videos.

Each command writes `<name>.json` and a self-contained `<name>.html` into `--out`, prints a
summary (or the JSON with `--json`), and logs to MLflow when `MLFLOW_TRACKING_URI` (or
`--mlflow`) is set and mlflow is installed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from vidsearch.cli.failing import USAGE, errors, fail
from vidsearch.cli.options import note, settings_from
from vidsearch.data.records import Split
from vidsearch.errors import ConfigError
from vidsearch.text.language import language_name
from vidsearch.train.config import CaptionChoice

eval_app = typer.Typer(
    help="Measure retrieval quality: Recall@k with confidence intervals, moment accuracy.",
    no_args_is_help=True,
)

TRANSLATE = "translate"
DEFAULT_OUT = Path("vidsearch-eval")

ModelArg = Annotated[
    str, typer.Option("--model", help="Model bundle (name, bundle directory or CLIP id/dir)")
]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the JSON and HTML report")]
KOption = Annotated[str, typer.Option("--k", help="Comma-separated k values")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the JSON report")]
MlflowOption = Annotated[
    str | None,
    typer.Option("--mlflow", help="MLflow tracking URI [env: MLFLOW_TRACKING_URI]"),
]


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(k) for k in text.split(",") if k.strip()}))
    except ValueError:
        ks = ()
    if not ks or ks[0] < 1:
        fail(f"--k takes positive integers separated by commas, not {text!r}", USAGE)
    return ks


def _open_encoder(ref: str, backend: str | None):
    from vidsearch.assembly import encoder_options
    from vidsearch.encoders.model_bundle import open_bundle

    return open_bundle(ref, encoder_options(settings_from(backend=backend), note)).load()


def _translator(spec: str | None, language: str):
    """fa→en (or `language`→en) translators: shapes | dictionary:FILE | local:MODEL."""
    from vidsearch.data.translate.dictionary import DictionaryTranslator

    if spec is None:
        raise ConfigError("--baseline translate needs --translator shapes|dictionary:FILE|local:ID")
    kind, _, ref = spec.partition(":")
    if kind == "shapes":
        from vidsearch.data.shapes import shapes_dictionary
        from vidsearch.text.persian import normalize_persian

        inverse = {normalize_persian(fa): en for en, fa in shapes_dictionary().items()}
        return DictionaryTranslator(inverse, name="dictionary:shapes-fa-en", source=language,
                                    target="en")  # fmt: skip
    if kind == "dictionary" and ref:
        return DictionaryTranslator.from_file(Path(ref), source=language, target="en")
    if kind == "local":
        from vidsearch.data.translate.local import LocalModelTranslator

        return LocalModelTranslator(ref) if ref else LocalModelTranslator()
    raise ConfigError(f"unknown translator {spec!r}: use shapes, dictionary:FILE or local:MODEL")


def _log(name: str, params: dict[str, Any], metrics: dict[str, dict[str, float]],
         files: list[Path], uri: str | None) -> None:  # fmt: skip
    """`metrics` by role ("model", "baseline") or label: MLflow refuses model references
    (paths, hub ids) as metric names, so retrieval keys them by role."""
    from vidsearch.evaluation.report import flatten, log_mlflow

    run = log_mlflow(name, params, flatten(metrics), files, tracking_uri=uri)
    if run:
        typer.echo(f"logged to MLflow: run {run}", err=True)


@eval_app.command("retrieval")
def retrieval_command(
    dataset: Annotated[
        Path,
        typer.Option(
            "--dataset",
            help="A vidsearch dataset directory, Karpathy's split file (dataset_flickr30k.json) "
            "or NoCaps/COCO caption annotations",
        ),
    ],
    model: ModelArg,
    baseline: Annotated[
        str | None,
        typer.Option(help="Another bundle, or 'translate' (queries → English → --model's CLIP)"),
    ] = None,
    translator: Annotated[
        str | None,
        typer.Option(help="For --baseline translate: shapes | dictionary:FILE | local:MODEL"),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            "--language",
            help="Caption language: en, fa ... [default: a caption file's by its script; "
            "a dataset's English, else its only or main language]",
        ),
    ] = None,
    captions: Annotated[
        CaptionChoice,
        typer.Option(help="Every caption of an image, or its first only (as train proof)"),
    ] = CaptionChoice.ALL,
    k: KOption = "1,5,10",
    images: Annotated[Path | None, typer.Option(help="Images folder (for a caption file)")] = None,
    split: Annotated[Split, typer.Option(help="Split to evaluate")] = Split.TEST,
    limit: Annotated[int | None, typer.Option(help="Only the first N images", min=1)] = None,
    rounds: Annotated[int, typer.Option(help="Bootstrap rounds", min=100)] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
    backend: Annotated[str | None, typer.Option(help="auto, onnx or torch")] = None,
    out: OutOption = DEFAULT_OUT,
    mlflow: MlflowOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Text→image and image→text Recall@k (95% bootstrap CIs), mean/median rank, Acc@k;
    with --baseline, a paired bootstrap says whether the difference is significant."""
    from vidsearch.evaluation import loaders, report
    from vidsearch.evaluation.retrieval import (
        BundleQueries,
        Contender,
        RetrievalEvaluator,
        TranslatedQueries,
        retrieval_report,
    )

    ks = _ks(k)
    encoders = []
    with errors():
        try:
            test = loaders.load(dataset, images=images, split=split, language=lang)
            if limit:
                test = test.limit(limit)
            if lang is None:
                lang = test.main_language()
                note(f"captions read as {language_name(lang)} (--lang to choose)")
            test = test.in_language(lang)
            if captions is CaptionChoice.FIRST:
                test = test.first_captions()
            main = _open_encoder(model, backend)
            encoders.append(main)
            contenders = [Contender(model, main, BundleQueries(main))]
            if baseline == TRANSLATE:
                label = f"{model} via translation to English"
                contenders.append(
                    Contender(label, main, TranslatedQueries(main, _translator(translator, lang)))
                )
            elif baseline:
                other = _open_encoder(baseline, backend)
                encoders.append(other)
                label = f"{baseline} (baseline)" if baseline == model else baseline
                contenders.append(Contender(label, other, BundleQueries(other)))
            evaluator = RetrievalEvaluator(test, ks=ks)
            results = [evaluator(c, lang) for c in contenders]
        finally:
            for encoder in encoders:
                encoder.close()
    data = retrieval_report(test, lang, results, rounds=rounds, seed=seed)
    files = [
        report.write_json(data, out / "retrieval.json"),
        _write(out / "retrieval.html", report.retrieval_html(data)),
    ]
    roles = ("model", "baseline")[: len(data["results"])]
    by_role = {
        role: data["metrics"][r["label"]] for role, r in zip(roles, data["results"], strict=True)
    }
    params = {"dataset": dataset, "model": model, "baseline": baseline, "lang": lang}
    params["captions"] = captions.value
    _log("retrieval", params, by_role, files, mlflow)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    setup = data["setup"]
    typer.echo(
        f"{test.name} ({lang}): {setup['images']} images, {setup['captions']} captions"
        + (
            f" ({setup['queries']} distinct: identical captions are one query, any of their "
            "images a hit)"
            if setup["queries"] != setup["captions"]
            else ""
        )
    )
    for r in data["results"]:
        t2i = "  ".join(
            f"{m} {v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"
            for m, v in r["text_to_image"]["recall"].items()
        )
        i2t = "  ".join(f"{m} {v['value']:.3f}" for m, v in r["image_to_text"]["recall"].items())
        typer.echo(f"{r['label']}\n  text→image {t2i}\n  image→text {i2t}")
    if "comparison" in data:
        typer.echo(data["comparison"]["summary"])
    typer.echo(f"report: {files[1]}")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@eval_app.command("moments")
def moments_command(
    videos: Annotated[Path, typer.Option("--videos", help="Folder of the videos")],
    queries: Annotated[Path, typer.Option("--queries", help="Queries with spans: JSON/JSONL")],
    model: ModelArg,
    interval: Annotated[
        list[float] | None, typer.Option(help="Sampling interval(s) in seconds; repeat to compare")
    ] = None,
    decode: Annotated[str, typer.Option(help="fast, exact or keyframes")] = "fast",
    shots: Annotated[bool, typer.Option(help="A frame at every cut (shot-aware)")] = True,
    dedup: Annotated[bool, typer.Option(help="Skip near-duplicate frames")] = True,
    k: KOption = "1,5,10",
    backend: Annotated[str | None, typer.Option(help="auto, onnx or torch")] = None,
    subtitles: Annotated[
        bool, typer.Option(help="Index the videos' subtitles too (hybrid search)")
    ] = False,
    speech: Annotated[
        str, typer.Option(help="Transcribe speech too: off, auto (no subtitles) or all")
    ] = "off",
    screen_text: Annotated[
        bool, typer.Option(help="Read the text on screen too (Tesseract)")
    ] = False,
    asr_model: Annotated[
        str | None, typer.Option(help="Whisper model for --speech [default: base]")
    ] = None,
    dialogue_model: Annotated[
        str | None, typer.Option(help="Sentence model of the lines [default: the setting's]")
    ] = None,
    out: OutOption = DEFAULT_OUT,
    mlflow: MlflowOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Recall@k at temporal IoU >= 0.5 and mean time error of the best hit, per sampling
    setting (each indexed into a scratch data directory; your index is not touched), and per
    source where the queries name one ("source": frame, subtitle, speech, screen text)."""
    from vidsearch.evaluation import report
    from vidsearch.evaluation.moments import Lines, Sampling, evaluate_moments, load_queries
    from vidsearch.ingest import expand_paths
    from vidsearch.types import DecodeMode

    ks = _ks(k)
    try:
        mode = DecodeMode(decode)
    except ValueError:
        fail(f"--decode is fast, exact or keyframes, not {decode!r}", USAGE)
    settings = [Sampling(i, mode, shots, dedup) for i in (interval or [2.0])]
    if speech not in ("off", "auto", "all"):
        fail(f"--speech is off, auto or all, not {speech!r}", USAGE)
    lines = Lines(subtitles, speech, screen_text, asr_model, None, dialogue_model)
    encoder = None
    with errors():
        try:
            asked = load_queries(queries)
            files = sorted(expand_paths([videos]))
            if not files:
                raise ConfigError(f"no videos in {videos}")
            encoder = _open_encoder(model, backend)
            results = []
            for sampling in settings:
                with tempfile.TemporaryDirectory(prefix="vidsearch-eval-") as home:
                    results.append(
                        evaluate_moments(
                            files,
                            asked,
                            encoder,
                            Path(home) / "home",
                            sampling=sampling,
                            ks=ks,
                            lines=lines,
                        )
                    )
        finally:
            if encoder is not None:
                encoder.close()
    data: dict[str, Any] = {
        "setup": {"videos": len(files), "queries": len(asked), "model": model},
        "results": [r.to_json() for r in results],
    }
    data["metrics"] = {
        r["label"]: {**r["recall"], "mean_time_error": r["mean_time_error"] or 0.0}
        for r in data["results"]
    }
    written = [
        report.write_json(data, out / "moments.json"),
        _write(out / "moments.html", report.moments_html(data)),
    ]
    params = {"videos": videos, "queries": queries, "model": model}
    _log("moments", params, data["metrics"], written, mlflow)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for r in data["results"]:
        recall = "  ".join(f"{m} {v:.3f}" for m, v in r["recall"].items())
        error = "-" if r["mean_time_error"] is None else f"{r['mean_time_error']:.2f}s"
        typer.echo(
            f"{r['label']}: {recall}  (tIoU >= 0.5)  time error {error}  "
            f"{r['frames_indexed']} frames, indexed in {r['index_seconds']:.1f}s"
        )
        for source, found in r["by_source"].items():
            recall = "  ".join(f"{m} {v:.3f}" for m, v in found["recall"].items())
            error = "-" if found["mean_time_error"] is None else f"{found['mean_time_error']:.2f}s"
            typer.echo(f"    {source} ({found['queries']} queries): {recall}  time error {error}")
    typer.echo(f"report: {written[1]}")
