"""Progress for the CLI, on stderr: one bar per video while indexing (with "file N of M" and
an estimate for the whole batch), one per step of a dataset command. When stderr is not a
terminal (a log, CI), indexing prints plain lines instead of bars, at most one per
`PLAIN_EVERY_S` per video besides a line when each starts and finishes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer

if TYPE_CHECKING:
    from tqdm import tqdm

    from vidsearch.ingest import IngestReport

PLAIN_EVERY_S = 10.0


def remaining(seconds: float) -> str:
    """A duration to wait, as a person says it: 45s, 3m10s, 1h02m."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class BatchEstimate:
    """How long the rest of a batch of files will take, from the bytes indexed so far and the
    time they took (files skipped as already indexed take no time and teach nothing)."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.total = sum(sizes)
        self._finished = 0  # bytes of the files finished, whatever became of them
        self._worked = 0.0  # bytes indexed, and the seconds they took
        self._seconds = 0.0

    def finished(self, size: int, seconds: float, indexed: bool) -> None:
        self._finished += size
        if indexed:
            self._worked += size
            self._seconds += seconds

    def left(self, current_size: int, fraction: float, elapsed: float) -> float | None:
        """Seconds left for the batch while the current file is `fraction` done after
        `elapsed` seconds; None until there is something to go by."""
        done = current_size * min(max(fraction, 0.0), 1.0)
        worked, seconds = self._worked + done, self._seconds + elapsed
        if worked <= 0 or seconds <= 0:
            return None
        return max(0.0, self.total - self._finished - done) * seconds / worked


class VideoProgress:
    """`vidsearch.ingest.ProgressListener`: a bar per video in seconds of video, with frames/s,
    which file of how many and the time left for all of them, and a line per video when it is
    done; plain lines where stderr is no terminal.

    `files`: the video files about to be indexed, in order (for "file N of M" and the
    estimate). `out`, `plain`, `clock` and `every`: where, how and how often (tests set them).
    """

    def __init__(
        self,
        files: Sequence[Path] = (),
        *,
        out: TextIO | None = None,
        plain: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = PLAIN_EVERY_S,
    ) -> None:
        self._out = out or sys.stderr
        self._plain = (not self._out.isatty()) if plain is None else plain
        self._clock = clock
        self._every = every
        self._sizes = {_key(path): _size(path) for path in files}
        self._count = len(files)
        self._estimate = BatchEstimate(list(self._sizes.values()))
        self._done = 0
        self._bar: tqdm | None = None
        self._path: Path | None = None
        self._duration = 0.0
        self._started = 0.0
        self._said = 0.0
        self._stage = ""  # the text stage the bar shows ("": the frames)

    @property
    def _number(self) -> str:
        number = self._done + 1
        return f"file {number} of {max(self._count, number)}"

    def _say(self, line: str) -> None:
        typer.echo(line, file=self._out)

    def video_started(self, path: Path, duration: float) -> None:
        self._path, self._duration = path, duration
        self._started = self._said = self._clock()
        self._stage = ""
        if self._plain:
            self._say(f"{self._number}: {path.name} ({duration:.1f}s of video)")
            return
        from tqdm import tqdm

        self._bar = tqdm(
            total=round(duration, 1) or None,
            unit="s",
            desc=f"{self._number} {path.name[:40]}" if self._count > 1 else path.name[:40],
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s video "
            "[{elapsed}<{remaining}{postfix}]",
            file=self._out,
        )

    def video_progress(self, position: float, decoded: int, kept: int) -> None:
        now = self._clock()
        elapsed = max(1e-6, now - self._started)
        fraction = position / self._duration if self._duration > 0 else 0.0
        size = self._sizes.get(_key(self._path), 0) if self._path else 0
        left = self._estimate.left(size, fraction, elapsed)
        overall = ""
        if left is not None and self._count > 1:
            overall = f", about {remaining(left)} left in all"
        if self._plain:
            if now - self._said >= self._every:
                self._said = now
                self._say(
                    f"{self._number}: {self._path.name if self._path else ''} "
                    f"{fraction:.0%} ({position:.0f}/{self._duration:.0f}s of video, "
                    f"{decoded / elapsed:.0f} frames/s decoded, {kept} kept){overall}"
                )
            return
        if self._bar is None:
            return
        self._bar.set_postfix_str(
            f"{decoded / elapsed:.0f} frames/s decoded, {kept} kept{overall}", refresh=False
        )
        self._bar.update(round(position, 1) - self._bar.n)

    def text_progress(self, stage: str, done: float, total: float) -> None:
        """After the frames, a reader's way through the video: the bar starts over for it."""
        now = self._clock()
        name = self._path.name if self._path else ""
        if self._plain:
            if stage != self._stage or now - self._said >= self._every:
                self._stage, self._said = stage, now
                share = f"{done / total:.0%} " if total > 0 else ""
                self._say(f"{self._number}: {name} {stage}: {share}({done:.0f}/{total:.0f}s)")
            return
        if self._bar is None:
            return
        if stage != self._stage:
            self._stage = stage
            self._bar.reset(total=round(total, 1) or None)
            self._bar.set_description_str(f"{name[:32]} {stage}", refresh=False)
            self._bar.set_postfix_str("", refresh=False)
        self._bar.update(round(done, 1) - self._bar.n)

    def video_finished(self, report: IngestReport) -> None:
        from vidsearch.ingest import IngestStatus
        from vidsearch.media.probe import printable_path

        if self._bar is not None:
            self._bar.close()
            self._bar = None
        size = self._sizes.get(_key(Path(report.path)), 0)
        self._estimate.finished(size, report.seconds, report.status is IngestStatus.INDEXED)
        self._done += 1
        self._path = None
        name = report.name or report.path
        if report.status is IngestStatus.FAILED:
            # the path as one printable line: a refused name may hold a newline or non-UTF-8
            path = printable_path(report.path)
            error = report.error  # most name the file already: not twice
            self._say(f"FAILED  {error if error.startswith(path) else f'{path}: {error}'}")
        elif report.status is IngestStatus.SKIPPED:
            self._say(f"skipped {name}: already indexed ({report.frames} frames)")
        else:
            rate = report.decoded / report.seconds if report.seconds else 0.0
            self._say(
                f"indexed {name}: {report.frames} frames from {report.duration:.1f}s of video "
                f"in {report.seconds:.1f}s ({rate:.0f} frames/s decoded, "
                f"{report.encoded} embedded)"
            )
        if report.lines:
            stored = ", ".join(f"{count} {source} lines" for source, count in report.lines.items())
            self._say(f"        {name}: {stored} indexed")
        for warning in report.warnings:
            self._say(f"warning: {name}: {warning}")


def _key(path: Path) -> Path:
    """A file as the batch knows it: resolved, so that the server's paths match ours."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # missing: it will be reported as failed


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
