"""`vidsearch index` progress: "file N of M", an estimate for the batch, and plain lines at a
sane rate where stderr is no terminal (logs, CI)."""

from __future__ import annotations

import io
from pathlib import Path

from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.cli.progress import BatchEstimate, VideoProgress, remaining
from vidsearch.ingest import IngestReport, IngestStatus
from vidsearch.testing.videos import Scene, SceneKind, write_video


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _files(tmp_path: Path, sizes: list[int]) -> list[Path]:
    files = []
    for number, size in enumerate(sizes):
        path = tmp_path / f"v{number}.mp4"
        path.write_bytes(b"x" * size)
        files.append(path)
    return files


def _indexed(path: Path, seconds: float) -> IngestReport:
    return IngestReport(str(path), IngestStatus.INDEXED, name=path.name, frames=3, seconds=seconds)


def test_plain_lines_name_the_file_and_come_at_most_every_ten_seconds(tmp_path: Path) -> None:
    files = _files(tmp_path, [1000, 3000])
    out, clock = io.StringIO(), Clock()
    progress = VideoProgress(files, out=out, clock=clock)  # a StringIO is no terminal
    progress.video_started(files[0], 100.0)
    for second in range(1, 31):  # 30 s of work, a report every second
        clock.now += 1
        progress.video_progress(second * 2.0, second * 10, second)
    clock.now += 1
    progress.video_finished(_indexed(files[0], 31.0))
    progress.video_started(files[1], 60.0)
    clock.now += 5
    progress.video_progress(6.0, 5, 1)

    lines = out.getvalue().splitlines()
    assert lines[0] == "file 1 of 2: v0.mp4 (100.0s of video)"
    during = [line for line in lines if line.startswith("file 1 of 2: v0.mp4 ") and "%" in line]
    assert len(during) == 3  # at 10, 20 and 30 s: not one per report
    assert during[0].startswith("file 1 of 2: v0.mp4 20% (20/100s of video")
    # 200 bytes (20% of 1000) in 10 s: the 3800 bytes left take 190 s
    assert during[0].endswith("about 3m10s left in all")
    assert "indexed v0.mp4: 3 frames" in lines[4]
    assert lines[5] == "file 2 of 2: v1.mp4 (60.0s of video)"
    assert len(lines) == 6  # 5 s into the second file: no progress line yet


def test_failed_and_skipped_files_count_and_teach_no_speed(tmp_path: Path) -> None:
    files = _files(tmp_path, [500, 500, 1000])
    out, clock = io.StringIO(), Clock()
    progress = VideoProgress([*files, tmp_path / "missing.mp4"], out=out, clock=clock)
    progress.video_finished(IngestReport(str(files[0]), IngestStatus.SKIPPED, name="v0.mp4"))
    progress.video_finished(IngestReport(str(files[1]), IngestStatus.FAILED, error="broken"))
    progress.video_started(files[2], 10.0)
    clock.now += 10
    progress.video_progress(5.0, 50, 5)
    lines = out.getvalue().splitlines()
    assert lines[2] == "file 3 of 4: v2.mp4 (10.0s of video)"
    # only this file's pace counts: 500 bytes in 10 s, 500 left (the missing file has none)
    assert lines[3].endswith("about 10s left in all"), lines[3]


def test_a_terminal_gets_a_bar_and_no_plain_lines(tmp_path: Path) -> None:
    files = _files(tmp_path, [100, 100])
    out = io.StringIO()
    progress = VideoProgress(files, out=out, plain=False, clock=Clock())
    progress.video_started(files[0], 10.0)
    progress.video_progress(5.0, 5, 1)
    progress.video_finished(_indexed(files[0], 1.0))
    text = out.getvalue()
    assert "file 1 of 2 v0.mp4" in text and "video" in text  # the bar's description
    assert "file 1 of 2: v0.mp4 (10.0s of video)" not in text


def test_estimate_and_remaining_text() -> None:
    estimate = BatchEstimate([100, 300])
    assert estimate.left(100, 0.0, 0.0) is None  # nothing to go by yet
    assert estimate.left(100, 0.5, 5.0) == 35.0  # 50 bytes in 5 s: 350 left
    estimate.finished(100, 10.0, indexed=True)
    assert estimate.left(300, 0.0, 0.0) == 30.0
    assert [remaining(s) for s in (4.4, 59.6, 190, 3720)] == ["4s", "1m00s", "3m10s", "1h02m"]


def test_index_a_folder_counts_its_files_in_a_log(
    home: Path, tiny_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "films"
    for number in range(3):
        scenes = [Scene(SceneKind.TEXTURE, 20, color=number)]
        write_video(folder / f"clip{number}.mp4", scenes, fps=10, seed=number)
    (folder / "notes.txt").write_text("not a video")
    result = CliRunner().invoke(
        app, ["index", str(folder), "--home", str(home), "--model", str(tiny_model)]
    )
    assert result.exit_code == 0, result.output
    for number in range(3):  # CliRunner's stderr is no terminal: plain lines
        assert f"file {number + 1} of 3: clip{number}.mp4 (2.0s of video)" in result.stderr
        assert f"indexed clip{number}.mp4:" in result.stderr
    assert "of 4" not in result.stderr


def test_a_failed_file_is_named_once(tmp_path: Path) -> None:
    stream = io.StringIO()
    progress = VideoProgress([tmp_path / "nope.mp4"], out=stream)
    missing = tmp_path / "nope.mp4"
    progress.video_finished(
        IngestReport(str(missing), IngestStatus.FAILED, error=f"{missing}: no such file")
    )
    progress.video_finished(IngestReport(str(missing), IngestStatus.FAILED, error="broken"))
    assert stream.getvalue().splitlines() == [
        f"FAILED  {missing}: no such file",
        f"FAILED  {missing}: broken",
    ]
