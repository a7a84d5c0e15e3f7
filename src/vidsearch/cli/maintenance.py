"""What `vidsearch doctor`, `snapshot` and `restore` print, and the doctor's locked steps;
the commands themselves are in cli.py."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vidsearch.errors import ConfigError
from vidsearch.index.doctor import DoctorReport, examine
from vidsearch.index.lock import IndexLock
from vidsearch.index.repair import RepairResult, repair
from vidsearch.index.snapshot import SnapshotManifest
from vidsearch.index.space import SpaceGuard

LOCK_FILE = "index.lock"


def _locked(home: Path) -> IndexLock:
    if not home.is_dir():
        raise ConfigError(f"there is no index in {home}")
    SpaceGuard(home).check_open()
    return IndexLock(home / LOCK_FILE, holder="vidsearch doctor")


def check(home: Path) -> DoctorReport:
    with _locked(home):
        return examine(home)


def fix(report: DoctorReport) -> RepairResult:
    with _locked(report.home):
        return repair(report)


def print_report(
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


def print_actions(result: RepairResult) -> None:
    for action in result.actions:
        typer.echo(f"repaired: {action}", err=True)
    if result.reindex:
        typer.echo(f"indexing {len(result.reindex)} videos again from their files", err=True)


def print_snapshot(manifest: SnapshotManifest, where: Path, verb: str) -> None:
    typer.echo(
        f"{verb} {manifest.videos} videos ({manifest.complete_videos} complete, "
        f"{manifest.frames} frames, {len(manifest.files)} files) {where}"
    )
