"""A disk that fills up under `vidsearch index`: a clear one-line error, an index that still
opens, searches and resumes once space is back. On a real 96 MiB tmpfs mounted in a private
mount namespace (tests/disk_full_scenario.py), so nothing outside the test sees it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from process_support import IndexState, vidsearch
from vidsearch.errors import DiskFullError
from vidsearch.index.space import SpaceGuard
from vidsearch.testing.videos import Scene, SceneKind, write_video

pytestmark = pytest.mark.slow
SCENARIO = Path(__file__).with_name("disk_full_scenario.py")


def _unshare() -> list[str] | None:
    """A command prefix that runs a process in its own mount namespace, where it may mount a
    tmpfs (as root; otherwise as root of a new user namespace), or None if neither works."""
    if shutil.which("unshare") is None:
        return None
    prefixes = [["unshare", "--mount"]] if os.geteuid() == 0 else []
    prefixes.append(["unshare", "--user", "--map-root-user", "--mount"])
    for prefix in prefixes:
        probe = [*prefix, "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.fixture(scope="module")
def scenario(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    prefix = _unshare()
    if prefix is None:
        pytest.skip("cannot mount a tmpfs here (needs root or unprivileged user namespaces)")
    root = tmp_path_factory.mktemp("disk-full")
    first, second = root / "first.mp4", root / "second.mp4"
    write_video(first, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(2)], seed=1)
    write_video(second, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(6)], seed=2)
    out = root / "out"
    out.mkdir()
    command = [*prefix, sys.executable, str(SCENARIO), str(out), str(tiny_model)]
    result = subprocess.run(
        [*command, str(first), str(second)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "steps.json").read_text())


def _one_error_line(step: dict) -> str:
    assert step["returncode"] == 1, step
    assert "Traceback" not in step["stderr"], step["stderr"]
    lines = [line for line in step["stderr"].splitlines() if "free disk space" in line]
    assert len(lines) == 1, step["stderr"]
    return lines[0]


def test_indexing_stops_plainly_when_the_disk_fills(scenario: tuple[Path, dict]) -> None:
    out, steps = scenario
    assert steps["first"]["returncode"] == 0, steps["first"]["stderr"]
    line = _one_error_line(steps["full"])
    assert line.startswith("FAILED  ") and "second.mp4" in line, line
    assert "not enough free disk space to add frames to the index" in line
    assert "1 of 1 files failed" in steps["full"]["stderr"]
    # what was there is intact and searchable; the interrupted video left nothing behind
    state = IndexState.read(out / "full")
    assert [v[:2] for v in state.videos.values()] == [("first.mp4", True)]
    assert len(state.points) == state.total_points == next(iter(state.videos.values()))[2]
    near_full = steps["search-near-full"]
    assert near_full["returncode"] == 0, near_full["stderr"]
    assert json.loads(near_full["stdout"])["moments"]


def test_a_full_disk_refuses_to_open_the_index(scenario: tuple[Path, dict]) -> None:
    _, steps = scenario
    for name in ("videos-full", "search-full", "index-full"):
        line = _one_error_line(steps[name])
        assert line.startswith("error: not enough free disk space to open the index"), line
        assert steps[name]["free"] < 16 * 1024 * 1024


def test_freeing_space_lets_indexing_finish_as_a_clean_run_would(
    scenario: tuple[Path, dict], tiny_model: Path, tmp_path: Path
) -> None:
    out, steps = scenario
    assert steps["resumed"]["returncode"] == 0, steps["resumed"]["stderr"]
    resumed = IndexState.read(out / "resumed")
    clean_home = tmp_path / "clean"
    for video in ("first.mp4", "second.mp4"):
        source = out.parent / video
        result = vidsearch("index", source, "--interval", "0.25", home=clean_home, model=tiny_model)
        assert result.returncode == 0, result.stderr
    assert resumed == IndexState.read(clean_home)


def test_the_guard_names_the_disk_and_the_numbers(tmp_path: Path) -> None:
    guard = SpaceGuard(tmp_path / "not" / "yet", min_free_to_open=1 << 62)
    with pytest.raises(DiskFullError, match=r"to open the index: .* MiB free on the disk of"):
        guard.check_open()
    SpaceGuard(tmp_path, min_free_to_write=0).check_write()  # enough: no error
