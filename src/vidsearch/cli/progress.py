"""Progress bars for the CLI, on stderr (none when it is not a terminal): one per video while
indexing, one per step of a dataset command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from tqdm import tqdm

    from vidsearch.ingest import IngestReport


class VideoProgress:
    """`vidsearch.ingest.ProgressListener`: a bar per video in seconds of video, with frames/s,
    and a line per video when it is done."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._started = 0.0

    def video_started(self, path: Path, duration: float) -> None:
        from tqdm import tqdm

        self._started = time.perf_counter()
        self._bar = tqdm(
            total=round(duration, 1) or None,
            unit="s",
            desc=path.name[:40],
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s video "
            "[{elapsed}<{remaining}{postfix}]",
            disable=None,
        )

    def video_progress(self, position: float, decoded: int, kept: int) -> None:
        if self._bar is None:
            return
        elapsed = max(1e-6, time.perf_counter() - self._started)
        self._bar.set_postfix_str(
            f"{decoded / elapsed:.0f} frames/s decoded, {kept} kept", refresh=False
        )
        self._bar.update(round(position, 1) - self._bar.n)

    def video_finished(self, report: IngestReport) -> None:
        from vidsearch.ingest import IngestStatus
        from vidsearch.media.probe import printable_path

        if self._bar is not None:
            self._bar.close()
            self._bar = None
        name = report.name or report.path
        if report.status is IngestStatus.FAILED:
            # the path as one printable line: a refused name may hold a newline or non-UTF-8
            typer.echo(f"FAILED  {printable_path(report.path)}: {report.error}", err=True)
        elif report.status is IngestStatus.SKIPPED:
            typer.echo(f"skipped {name}: already indexed ({report.frames} frames)", err=True)
        else:
            rate = report.decoded / report.seconds if report.seconds else 0.0
            typer.echo(
                f"indexed {name}: {report.frames} frames from {report.duration:.1f}s of video "
                f"in {report.seconds:.1f}s ({rate:.0f} frames/s decoded, "
                f"{report.encoded} embedded)",
                err=True,
            )
        if report.cues:
            typer.echo(f"        {name}: {report.cues} subtitle lines indexed", err=True)
        for warning in report.warnings:
            typer.echo(f"warning: {name}: {warning}", err=True)


class StepProgress:
    """`vidsearch.data.progress.Progress`: a bar per step of a dataset command."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def start(self, description: str, total: int | None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=description, leave=False, disable=None)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
