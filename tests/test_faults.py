"""Indexing survives being killed anywhere: real SIGKILLs at the phase boundaries of ingest.py
(`vidsearch.faults`), many times in a row on one data directory, then a resume that must
build exactly the index a clean run builds. And two processes never share an index: the
second is refused with a message that names the first."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from process_support import IndexState, vidsearch
from vidsearch.errors import ConfigError
from vidsearch.faults import FaultAction, FaultPlan, FaultPoint, _Injector
from vidsearch.testing.videos import Scene, SceneKind, write_video

SEED = 20_260_110
KILLS = 24
# Hit numbers are drawn up to these, so that most runs reach their fault point: a run decodes
# 75 frames and writes about 6 batches of 2 points for each video it indexes, then flushes it.
MAX_HITS = {
    FaultPoint.DECODE: 120,
    FaultPoint.UPSERT: 4,
    FaultPoint.UPSERTED: 4,
    FaultPoint.FLUSH: 2,
    FaultPoint.FLUSHED: 2,
    FaultPoint.COMPLETED: 2,
}
INDEX_OPTIONS = ("--interval", "0.25", "--batch-size", "2")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 3-second videos of three shots each."""
    root = tmp_path_factory.mktemp("library")
    for number in range(4):
        scenes = [Scene(SceneKind.TEXTURE, 25, color=number + i) for i in range(3)]
        write_video(root / f"clip{number}.mp4", scenes, seed=100 + number)
    return root


@pytest.fixture(scope="module")
def clean(library: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> IndexState:
    home = tmp_path_factory.mktemp("clean") / "home"
    result = vidsearch("index", library, *INDEX_OPTIONS, home=home, model=tiny_model)
    assert result.returncode == 0, result.stderr
    state = IndexState.read(home)
    assert len(state.videos) == 4 and all(v[1] for v in state.videos.values())
    return state


def assert_consistent(state: IndexState, clean: IndexState) -> None:
    """What a killed run may leave: complete videos exactly as a clean run makes them,
    incomplete ones with a subset of their points, nothing else."""
    assert state.total_points == len(state.points), "points outside the catalog"
    for video_id, (name, complete, frames, duration) in state.videos.items():
        mine = {k: v for k, v in state.points.items() if v["video_id"] == video_id}
        theirs = {k: v for k, v in clean.points.items() if v["video_id"] == video_id}
        if complete:
            assert (name, complete, frames, duration) == clean.videos[video_id]
            assert mine == theirs, f"{name} is marked complete but its points differ"
        else:
            assert mine.items() <= theirs.items(), f"{name}: points a clean run does not make"
    for key in state.points:
        assert key in clean.points


@pytest.mark.slow
def test_random_kills_then_resume_build_the_clean_index(
    library: Path, tiny_model: Path, clean: IndexState, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    home = tmp_path / "home"
    kills: list[str] = []
    finished_runs = removals = 0
    started = time.monotonic()
    while len(kills) < KILLS:
        point = rng.choice([p for p in FaultPoint if p is not FaultPoint.SEGMENT])
        fault = f"{point.value}:{rng.randint(1, MAX_HITS[point])}"
        result = vidsearch(
            "index", library, *INDEX_OPTIONS, home=home, model=tiny_model, fault=fault
        )
        if result.returncode == -signal.SIGKILL:
            kills.append(fault)
        else:  # the run ended before reaching its fault point
            assert result.returncode == 0, (fault, result.stderr[-2000:])
            finished_runs += 1
        state = IndexState.read(home)  # the index opens after every kill
        assert_consistent(state, clean)
        if all(v[1] for v in state.videos.values()) and len(state.videos) == 4:
            # all done: forget some videos so that the next kills land on real work
            for video_id in rng.sample(sorted(state.videos), rng.randint(2, 4)):
                name = state.videos[video_id][0]
                assert vidsearch("remove", name, home=home).returncode == 0
                removals += 1
    result = vidsearch("index", library, *INDEX_OPTIONS, home=home, model=tiny_model)
    assert result.returncode == 0, result.stderr
    assert IndexState.read(home) == clean  # no duplicate, no missing frame, same catalog
    by_point = {p.value: sum(k.startswith(f"{p.value}:") for k in kills) for p in MAX_HITS}
    print(
        f"\n{len(kills)} SIGKILLs survived ({by_point}), {finished_runs} runs ended before "
        f"their fault point, {removals} videos removed between runs, "
        f"{time.monotonic() - started:.0f}s"
    )


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


@pytest.mark.slow
def test_a_second_process_is_refused_with_the_holders_pid(
    library: Path, tiny_model: Path, clean: IndexState, tmp_path: Path
) -> None:
    """An indexer frozen (SIGSTOP) in the middle of its work holds the index: every other
    command on that data directory stops at once with one line naming it."""
    home = tmp_path / "home"
    command = [sys.executable, "-m", "vidsearch", "index", str(library), *INDEX_OPTIONS]
    command += ["--home", str(home), "--model", str(tiny_model)]
    env = {**os.environ, "VIDSEARCH_FAULT": "upserted:3:stop"}
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as holder:
        try:
            deadline = time.monotonic() + 120
            while not _stopped(holder.pid):
                assert holder.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            others = [
                ("index", library),
                ("search", "a red scene"),
                ("videos",),
                ("remove", "clip0.mp4"),
                ("doctor", "--repair"),
                ("snapshot", tmp_path / "snapshot"),
            ]
            with ThreadPoolExecutor(len(others)) as pool:  # all at once
                results = list(pool.map(lambda args: vidsearch(*args, home=home), others))
            for args, result in zip(others, results, strict=True):
                assert result.returncode == 1, (args, result.stderr)
                assert "Traceback" not in result.stderr
                line = result.stderr.strip()
                assert line.startswith(f"error: the index in {home} is in use by another process")
                assert f"pid {holder.pid}:" in line and "\n" not in line, line
        finally:
            holder.send_signal(signal.SIGCONT)
            _, stderr = holder.communicate(timeout=120)
    assert holder.returncode == 0, stderr
    assert IndexState.read(home) == clean


@pytest.mark.slow
def test_indexers_started_together_are_safe(
    library: Path, tiny_model: Path, clean: IndexState, tmp_path: Path
) -> None:
    """Three `vidsearch index` at once on one data directory: each one either indexes or is
    refused plainly, and the index is the clean one."""
    home = tmp_path / "home"
    command = [sys.executable, "-m", "vidsearch", "index", str(library), *INDEX_OPTIONS]
    command += ["--home", str(home), "--model", str(tiny_model)]
    procs = [
        subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        for _ in range(3)
    ]
    outcomes = []
    for proc in procs:
        _, stderr = proc.communicate(timeout=180)
        outcomes.append((proc.returncode, stderr))
    assert any(code == 0 for code, _ in outcomes)
    for code, stderr in outcomes:
        assert "Traceback" not in stderr
        assert code == 0 or (code == 1 and "is in use by another process (pid" in stderr), stderr
    if any(code == 1 for code, _ in outcomes):  # someone was refused: finish the work
        assert vidsearch("index", library, *INDEX_OPTIONS, home=home).returncode == 0
    assert IndexState.read(home) == clean


def test_fault_plans_parse_and_refuse_nonsense() -> None:
    assert FaultPlan.parse("upsert:3") == FaultPlan(FaultPoint.UPSERT, 3, FaultAction.KILL)
    assert FaultPlan.parse("flushed:1:stop").action is FaultAction.STOP
    for bad in ("upsert", "upsert:0", "nowhere:1", "upsert:x", "upsert:1:explode"):
        with pytest.raises(ConfigError, match="VIDSEARCH_FAULT"):
            FaultPlan.parse(bad)
    injector = _Injector("upsert:zero")
    with pytest.raises(ConfigError, match="expected POINT:HIT"):
        injector.reach(FaultPoint.DECODE)
    assert not _Injector(None).armed and not _Injector("").armed
    armed = _Injector("flush:2")
    armed.reach(FaultPoint.FLUSH)  # the first hit of two: nothing yet
    armed.reach(FaultPoint.UPSERT)  # another point: not counted
    assert armed.armed and armed._hits == 1
