"""`vidsearch doctor`, `snapshot` and `restore`: the health and the copies of an index in a
data directory, and what they print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vidsearch.cli.failing import FAILURE, errors, fail
from vidsearch.cli.indexing import reindex
from vidsearch.cli.options import HomeOption, JsonOption, ModelOption, settings_from
from vidsearch.config import DataDir, Settings
from vidsearch.errors import ConfigError, IndexLockedError

if TYPE_CHECKING:
    from vidsearch.index.doctor import DoctorReport
    from vidsearch.index.lock import IndexLock
    from vidsearch.index.repair import RepairResult
    from vidsearch.index.snapshot import SnapshotManifest


def _embedded_only(settings: Settings, command: str) -> None:
    if settings.qdrant_url is not None:
        fail(
            f"{command} works on the index in a data directory; with VIDSEARCH_QDRANT_URL "
            "the vectors and catalog are on the Qdrant server: use its snapshots and checks"
        )


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
    settings = settings_from(home=home, model=model)
    _embedded_only(settings, "vidsearch doctor")
    result = None
    reindexed: list[str] = []
    with errors():
        try:
            report = _check(settings.home)
        except IndexLockedError:
            _held_by_server(settings.home, repair)  # fails naming the server, if one holds it
            raise
        if repair:
            result = _fix(report)
            _print_actions(result)
            if result.reindex:
                paths = [Path(v.path) for v in result.reindex]
                reindex(paths, settings.home, settings.model, interval)
                reindexed = [v.name for v in result.reindex]
            report = _check(settings.home)
    _print_report(report, result, reindexed, as_json)
    if not report.healthy:
        raise typer.Exit(FAILURE)


def snapshot_command(
    dest: Annotated[Path, typer.Argument(help="A new folder to write the snapshot into")],
    home: HomeOption = None,
) -> None:
    """Copy the index (catalog, vectors, thumbnails) into a checksummed snapshot folder."""
    from vidsearch.index.snapshot import take_snapshot

    settings = settings_from(home=home)
    _embedded_only(settings, "vidsearch snapshot")
    with errors():
        manifest = take_snapshot(settings.home, dest)
    _print_snapshot(manifest, dest, "snapshot of")


def restore_command(
    snapshot: Annotated[Path, typer.Argument(help="A folder written by `vidsearch snapshot`")],
    home: HomeOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing index (it is moved aside)")
    ] = False,
) -> None:
    """Restore an index from a snapshot, after checking every file's checksum."""
    from vidsearch.index.snapshot import restore_snapshot

    settings = settings_from(home=home)
    _embedded_only(settings, "vidsearch restore")
    with errors():
        manifest, replaced = restore_snapshot(snapshot, settings.home, force=force)
    _print_snapshot(manifest, settings.home, "restored")
    if replaced is not None:
        typer.echo(f"the index that was there is kept in {replaced}", err=True)


def _held_by_server(home: Path, repair: bool) -> None:
    """When a running vidsearch server holds the index: what it says about the videos, and
    why the checks need the index to itself."""
    from vidsearch.cli.server_library import ServerLibrary, running_server

    url = running_server(home)
    if url is None:
        return
    with ServerLibrary(url, home) as server:
        videos = server.videos()
    complete = sum(v.complete for v in videos)
    typer.echo(
        f"the vidsearch server at {url} holds {home} and answers: {len(videos)} videos "
        f"({complete} complete)",
        err=True,
    )
    for video in videos:
        if not video.complete:
            typer.echo(f"note   {video.name} is not completely indexed", err=True)
    what = "repair" if repair else "check the catalog, vectors and thumbnails of"
    fail(
        f"`vidsearch doctor` cannot {what} an index the server at {url} holds: stop the "
        "server (Ctrl-C, or SIGTERM), run the doctor, then start it again"
    )


def _locked(home: Path) -> IndexLock:
    from vidsearch.index.lock import IndexLock
    from vidsearch.index.space import SpaceGuard

    if not home.is_dir():
        raise ConfigError(f"there is no index in {home}")
    SpaceGuard(home).check_open()
    return IndexLock(DataDir(home).lock, holder="vidsearch doctor")


def _check(home: Path) -> DoctorReport:
    from vidsearch.index.doctor import examine

    with _locked(home):
        return examine(home)


def _fix(report: DoctorReport) -> RepairResult:
    from vidsearch.index.repair import repair

    with _locked(report.home):
        return repair(report)


def _print_report(
    report: DoctorReport, result: RepairResult | None, reindexed: list[str], as_json: bool
) -> None:
    if as_json:
        data = {
            "home": str(report.home),
            "healthy": report.healthy,
            "videos": len(report.videos),
            "complete": sum(v.complete for v in report.videos),
            "points": report.points,
            "thumbnails": report.thumbnails,
            "findings": [f.to_json() for f in report.findings],
            "repaired": result.actions if result else [],
            "reindexed": reindexed,
            "lost": [v.name for v in result.lost] if result else [],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    complete = sum(v.complete for v in report.videos)
    typer.echo(
        f"checked {report.home}: {len(report.videos)} videos ({complete} complete), "
        f"{report.points} frames, {report.thumbnails} thumbnails"
    )
    for finding in report.findings:
        label = "ERROR" if finding.is_error else "note "
        typer.echo(f"{label}  {finding.problem.value}: {finding.message}")
    if result is not None:
        for video in result.lost:
            typer.echo(
                f"note   {video.name} cannot be indexed again: its file {video.path} is gone "
                f"(`vidsearch remove {video.name}` forgets it)"
            )
    if report.healthy:
        typer.echo("the index is healthy")
    else:
        typer.echo("the index has problems: `vidsearch doctor --repair` fixes them", err=True)


def _print_actions(result: RepairResult) -> None:
    for action in result.actions:
        typer.echo(f"repaired: {action}", err=True)
    if result.reindex:
        typer.echo(f"indexing {len(result.reindex)} videos again from their files", err=True)


def _print_snapshot(manifest: SnapshotManifest, where: Path, verb: str) -> None:
    typer.echo(
        f"{verb} {manifest.videos} videos ({manifest.complete_videos} complete, "
        f"{manifest.frames} frames, {len(manifest.files)} files) {where}"
    )
