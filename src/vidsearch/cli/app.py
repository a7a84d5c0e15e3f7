"""The `vidsearch` command: the only place (with the service) that builds objects, prints,
and turns errors into exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from vidsearch.config import Settings
from vidsearch.data.cli import data_app
from vidsearch.errors import VidsearchError
from vidsearch.evaluation.cli import eval_app
from vidsearch.pipelines.cli import pipelines_app
from vidsearch.train.cli import train_app
from vidsearch.train.server_cli import mlflow_server_command
from vidsearch.types import DecodeMode, SearchMode

app = typer.Typer(
    name="vidsearch",
    help="Find the moment in a video that a sentence describes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.command("mlflow-server")(mlflow_server_command)
app.add_typer(pipelines_app, name="pipelines")

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Data directory [env: VIDSEARCH_HOME; default: per-user data dir]",
        show_default=False,
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Model bundle (clip-b32, multilingual-b32, clipfa: see `vidsearch models`), "
        "bundle directory, or CLIP hub id / directory [env: VIDSEARCH_MODEL; "
        "default: the index's model, else clip-b32]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text")]


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic ValidationError
        _fail(f"invalid setting: {exc}")
        raise  # unreachable


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Library errors become one line on stderr and exit code 1."""
    try:
        yield
    except VidsearchError as exc:
        _fail(str(exc))


def _open(settings: Settings, *, with_model: bool):
    from vidsearch.encoders.model_bundle import EncoderOptions, open_bundle
    from vidsearch.index import open_store

    store = open_store(settings)
    if not with_model:
        return store, None
    try:
        ref = settings.model_for(store.model_ref)
        options = EncoderOptions(
            cache_dir=settings.cache_dir,
            backend=settings.backend,
            int8=settings.int8,
            batch_size=settings.batch_size,
            threads=settings.threads,
            notify=lambda message: typer.echo(message, err=True),
        )
        encoder = open_bundle(ref, options)
        encoder.load()  # a missing or broken model fails before any work starts
    except BaseException:
        store.close()
        raise
    return store, encoder


def _dialogue(settings: Settings, store: Any):
    """The dialogue encoder for `store` (its model loads when first needed), or None when
    subtitles are off."""
    if not settings.subtitles:
        return None
    from vidsearch.dialogue.encoder import DialogueEncoder, open_sentence_encoder

    return DialogueEncoder(
        settings.dialogue_model_for(store.dialogue_model_ref),
        open_encoder=lambda ref: open_sentence_encoder(ref, threads=settings.threads),
    )


@app.command("index")
def index_command(
    paths: Annotated[list[Path], typer.Argument(help="Video files or folders (recursive)")],
    home: HomeOption = None,
    model: ModelOption = None,
    interval: Annotated[
        float | None,
        typer.Option(help="Max seconds between sampled frames [default: 2]", show_default=False),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Frames per encoder batch")] = None,
    decode: Annotated[
        DecodeMode | None,
        typer.Option(
            help="fast: skip non-reference frames (default); exact: every frame; "
            "keyframes: keyframes only, one frame per shot, ~10x faster"
        ),
    ] = None,
    shots: Annotated[
        str | None,
        typer.Option(
            "--shots",
            help="How cuts are found: structure (default), histogram, none",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Decoder processes: videos are cut at keyframes and decoded in parallel "
            "[default: the usable cores; 1: decode in this process]",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Index videos: sample frames shot by shot, embed them, store them."""
    from vidsearch.cli_progress import TqdmProgress
    from vidsearch.index.edge import OPTIMIZE_MIN_POINTS
    from vidsearch.ingest import Ingestor, IngestStatus
    from vidsearch.media.pool import open_decoder
    from vidsearch.media.sampler import FrameSampler, sampler_config

    settings = _settings(
        home=home,
        model=model,
        interval=interval,
        batch_size=batch_size,
        decode=decode,
        workers=workers,
        shot_detector=shots,
    )
    failed = 0
    reports = []
    with _errors():
        store, encoder = _open(settings, with_model=True)
        decoder = open_decoder(settings.workers, settings.decode)
        try:
            ingestor = Ingestor(
                store,
                encoder,
                FrameSampler(sampler_config(settings.interval, settings.shot_detector)),
                batch_size=settings.batch_size,
                progress=TqdmProgress(),
                decode_mode=settings.decode,
                dialogue=_dialogue(settings, store),
                decoder=decoder,
            )
            for report in ingestor.index_paths(paths):
                reports.append(report)
                failed += report.status is IngestStatus.FAILED
            pending = store.vectors.unindexed_points() if store.has_vectors else 0
            if pending >= OPTIMIZE_MIN_POINTS:
                typer.echo(f"building the search graph for {pending} new frames...", err=True)
            ingestor.build_search_index()
        finally:
            decoder.close()
            store.close()
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2))
    if not reports:
        _fail("no video files found in the given paths")
    if failed:
        typer.echo(f"{failed} of {len(reports)} files failed", err=True)
        raise typer.Exit(1)


@app.command("search")
def search_command(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="Search with an image instead")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Number of moments")] = 10,
    video: Annotated[
        list[str] | None, typer.Option("--video", help="Only this video (by name; repeatable)")
    ] = None,
    min_score: Annotated[float | None, typer.Option(help="Drop frames scoring below this")] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="Language of the query (ISO 639-1, e.g. fa, en, ar) [default: from its script]",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        SearchMode | None,
        typer.Option(
            "--mode",
            help="What a sentence searches: the frames (visual), the subtitles (dialogue) or "
            "both (hybrid) [default: hybrid where subtitles are indexed, else visual]. "
            'Quoted words ("never come back") must occur in a matching line.',
            show_default=False,
        ),
    ] = None,
    home: HomeOption = None,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the moments that best match a sentence or an image."""
    from vidsearch.search import Searcher

    if (query is None) == (image is None):
        _fail("give either a QUERY or --image FILE (one of them)", code=2)
    settings = _settings(home=home, model=model)
    with _errors():
        store, encoder = _open(settings, with_model=True)
        try:
            searcher = Searcher(store, encoder, dialogue=_dialogue(settings, store))
            options = {"top_k": top_k, "videos": video, "min_score": min_score}
            result = (
                searcher.search_image(image, **options)
                if image is not None
                else searcher.search_text(query or "", language=lang, mode=mode, **options)
            )
        finally:
            store.close()
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    if result.encoder is not None and result.encoder.language is not None:
        typer.echo(f"query read by {result.encoder.name} ({result.encoder.language})", err=True)
    if not result.moments:
        typer.echo("no matching moments")
        return
    fused = result.mode not in (None, SearchMode.VISUAL)
    for rank, m in enumerate(result.moments, 1):
        why = f"[{m.why}]  " if fused else ""
        typer.echo(
            f"{rank:>3}. {m.score:.3f}  {why}{m.video}  {_clock(m.start)}–{_clock(m.end)}  "
            f"best {_clock(m.timestamp)}  {m.thumbnail or ''}"
        )
        if m.dialogue:
            line = m.dialogue[0]
            typer.echo(f"       {_clock(line.start)}  «{line.text}» ({line.language})")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes:02d}:{secs:06.3f}"


@app.command("videos")
def videos_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List indexed videos."""
    settings = _settings(home=home)
    with _errors():
        store, _ = _open(settings, with_model=False)
        try:
            records = store.catalog.videos()
        finally:
            store.close()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "path": r.path,
                        "duration": round(r.duration, 3),
                        "frames": r.frames,
                        "complete": r.complete,
                        "video_id": r.video_id,
                    }
                    for r in records
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not records:
        typer.echo("no videos indexed yet")
    for r in records:
        state = "complete" if r.complete else "INCOMPLETE (run index again to resume)"
        typer.echo(f"{r.name}  {_clock(r.duration)}  {r.frames} frames  {state}  {r.path}")


@app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="Video name, as `videos` lists it")],
    home: HomeOption = None,
) -> None:
    """Remove a video from the index (the file itself is not touched)."""
    settings = _settings(home=home)
    with _errors():
        store, _ = _open(settings, with_model=False)
        try:
            record = store.catalog.by_name(name)
            if record is None:
                _fail(f"no indexed video named {name!r}; `vidsearch videos` lists them")
            assert record is not None
            store.remove_video(record.video_id)
        finally:
            store.close()
    typer.echo(f"removed {name}")


def _embedded_only(settings: Settings, command: str) -> None:
    if settings.qdrant_url is not None:
        _fail(
            f"{command} works on the index in a data directory; with VIDSEARCH_QDRANT_URL "
            "the vectors and catalog are on the Qdrant server: use its snapshots and checks"
        )


@app.command("doctor")
def doctor_command(
    home: HomeOption = None,
    model: ModelOption = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Fix what is found: drop orphans, redo damaged videos, rebuild an unreadable "
            "index from the videos' files",
        ),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            help="With --repair: max seconds between sampled frames, as when indexing [default: 2]",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the index (catalog, vectors, thumbnails) for damage; --repair fixes it.

    Videos that must be indexed again are, from their files: give --interval (and --model)
    as when they were indexed. Exit code 0 when the index is healthy (incomplete videos are
    notes, not errors)."""
    from vidsearch import cli_maintenance

    settings = _settings(home=home, model=model)
    _embedded_only(settings, "vidsearch doctor")
    result = None
    reindexed: list[str] = []
    with _errors():
        report = cli_maintenance.check(settings.home)
        if repair:
            result = cli_maintenance.fix(report)
            cli_maintenance.print_actions(result)
            if result.reindex:
                paths = [Path(v.path) for v in result.reindex]
                try:
                    index_command(
                        paths, home=settings.home, model=settings.model, interval=interval
                    )
                except typer.Exit:
                    pass  # the files that failed were named; the report below tells the rest
                reindexed = [v.name for v in result.reindex]
            report = cli_maintenance.check(settings.home)
    cli_maintenance.print_report(report, result, reindexed, as_json)
    if not report.healthy:
        raise typer.Exit(1)


@app.command("snapshot")
def snapshot_command(
    dest: Annotated[Path, typer.Argument(help="A new folder to write the snapshot into")],
    home: HomeOption = None,
) -> None:
    """Copy the index (catalog, vectors, thumbnails) into a checksummed snapshot folder."""
    from vidsearch.cli_maintenance import print_snapshot
    from vidsearch.index.snapshot import take_snapshot

    settings = _settings(home=home)
    _embedded_only(settings, "vidsearch snapshot")
    with _errors():
        manifest = take_snapshot(settings.home, dest)
    print_snapshot(manifest, dest, "snapshot of")


@app.command("restore")
def restore_command(
    snapshot: Annotated[Path, typer.Argument(help="A folder written by `vidsearch snapshot`")],
    home: HomeOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing index (it is moved aside)")
    ] = False,
) -> None:
    """Restore an index from a snapshot, after checking every file's checksum."""
    from vidsearch.cli_maintenance import print_snapshot
    from vidsearch.index.snapshot import restore_snapshot

    settings = _settings(home=home)
    _embedded_only(settings, "vidsearch restore")
    with _errors():
        manifest, replaced = restore_snapshot(snapshot, settings.home, force=force)
    print_snapshot(manifest, settings.home, "restored")
    if replaced is not None:
        typer.echo(f"the index that was there is kept in {replaced}", err=True)


@app.command("models")
def models_command(as_json: JsonOption = False) -> None:
    """List the model bundles: an image encoder and the text encoders aligned with it.

    An index is bound to its image encoder: bundles that share one search the same index.
    """
    from vidsearch.encoders.bundles import BUNDLES, DEFAULT_BUNDLE

    if as_json:
        data = [
            spec.to_json() | {"default": name == DEFAULT_BUNDLE} for name, spec in BUNDLES.items()
        ]
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for name, spec in BUNDLES.items():
        default = " (default)" if name == DEFAULT_BUNDLE else ""
        typer.echo(f"{name}{default}: {spec.description}")
        typer.echo(f"    image  {spec.image.ref} [{spec.image.format}]")
        for text in spec.texts:
            typer.echo(f"    text   {text.ref} [{text.format}]: {' '.join(text.languages)}")


@app.command("export-onnx")
def export_onnx_command(
    model: ModelOption = None,
    int8: Annotated[bool, typer.Option("--int8", help="Also write an int8 image tower")] = False,
    as_json: JsonOption = False,
) -> None:
    """Export a model to ONNX now and check it against PyTorch (otherwise done on first use)."""
    from vidsearch.encoders.bundles import TowerFormat, resolve_bundle
    from vidsearch.encoders.clip_common import ClipFiles
    from vidsearch.encoders.factory import onnx_folder
    from vidsearch.encoders.onnx_export import export_onnx
    from vidsearch.errors import ConfigError

    settings = _settings(model=model)
    with _errors():
        bundle = resolve_bundle(settings.model_for(None))
        if bundle.image.format is not TowerFormat.CLIP:
            raise ConfigError(
                f"the model bundle '{bundle.name}' runs its image encoder with PyTorch: "
                "only CLIP checkpoints are exported to ONNX"
            )
        files = ClipFiles(bundle.image.ref)
        folder = onnx_folder(settings.cache_dir, files)
        manifest = export_onnx(files, folder, quantize=int8)
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps({"folder": str(folder), **asdict(manifest)}, indent=2))
        return
    typer.echo(f"exported {files.name} to {folder}")
    typer.echo(
        f"cosine to PyTorch: image >= {manifest.image_cosine_min:.6f}, "
        f"text >= {manifest.text_cosine_min:.6f}"
    )
    if manifest.int8_cosine_min is not None:
        typer.echo(f"int8 image tower: cosine to fp32 >= {manifest.int8_cosine_min:.6f}")


@app.command("demo")
def demo_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Data directory for the demo [default: <data dir>/demo, "
            "apart from your own index]",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    query: Annotated[str, typer.Option(help="What to search for in the sample")] = "a dog",
) -> None:
    """Generate a sample video, index it and search it: the whole pipeline in one command."""
    from vidsearch.testing.demo import write_demo_video

    settings = _settings(model=model)
    demo_home = home or settings.home / "demo"
    sample = write_demo_video(demo_home / "samples" / "vidsearch-demo.mp4")
    typer.echo(f"sample video: {sample}", err=True)
    index_command([sample], home=demo_home, model=settings.model)
    typer.echo(f'searching for "{query}":', err=True)
    search_command(query, home=demo_home, model=settings.model)
    typer.echo(f'\ntry your own query: vidsearch search "..." --home {demo_home}', err=True)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    home: HomeOption = None,
    model: ModelOption = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")
    ] = "info",
) -> None:
    """Serve the HTTP API, the web page (/) and Prometheus metrics (/metrics).

    The server owns the index while it runs. Uploads and deletes need VIDSEARCH_API_KEY;
    VIDSEARCH_MAX_UPLOAD_BYTES limits uploads; VIDSEARCH_PROTECT_READS=1 makes searches
    need the key too.
    """
    try:
        from vidsearch.service import server
        from vidsearch.service.app import create_app
        from vidsearch.service.engine import Engine
        from vidsearch.service.metrics import ServiceMetrics
        from vidsearch.service.settings import ServiceSettings
    except ModuleNotFoundError as exc:
        from vidsearch.service import SERVE_EXTRA_HINT

        _fail(f"{SERVE_EXTRA_HINT} ({exc.name} is missing)")
        raise  # unreachable

    settings = _settings(home=home, model=model)
    try:
        service = ServiceSettings()
    except ValueError as exc:
        _fail(f"invalid setting: {exc}")
        raise  # unreachable
    url = server.base_url(host, port)
    with _errors():
        engine = Engine(settings, ServiceMetrics(), holder=server.holder_text(host, port))
        engine.start()  # the index lock and the model fail here, before the port opens
        try:
            web_app = create_app(settings, service, engine=engine)
        except BaseException:
            engine.close()
            raise
    typer.echo(f"serving {settings.home} at {url}/ (API docs: {url}/docs)", err=True)
    if service.api_key is None:
        typer.echo("uploads and deletes are off: set VIDSEARCH_API_KEY to allow them", err=True)
    server.run(web_app, host, port, log_level=log_level)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
