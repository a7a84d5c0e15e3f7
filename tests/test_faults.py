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


RANDOM_MOMENT_KILLS = 26  # with the 24 above: 50 SIGKILLs across runs


def _children(pid: int) -> set[int]:
    """The processes `pid` started (decoder workers, multiprocessing's resource tracker)."""
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.update(int(c) for c in children.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def long_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 18-second videos with 2-second GOPs: each is cut into spans for the workers."""
    root = tmp_path_factory.mktemp("long_library")
    for number in range(3):
        scenes = [Scene(SceneKind.TEXTURE, 75, color=number + i) for i in range(6)]
        write_video(
            root / f"long{number}.mp4",
            scenes,
            size=(160, 90),
            seed=300 + number,
            codec_options={"x264-params": "keyint=50:min-keyint=50:scenecut=0"},
        )
    return root


def _start_indexing(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as stderr:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def _wait_for_workers(proc: subprocess.Popen, timeout: float = 60) -> set[int]:
    """The decoder workers of `proc` once they exist (empty if it ended first)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        if len(workers) >= 2:  # the resource tracker and at least one worker
            return workers
        time.sleep(0.02)
    return set()


@pytest.mark.slow
def test_kills_at_random_moments_with_workers_alive_then_resume(
    long_library: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """SIGKILL the indexer at random moments while its decoder workers run (and in some runs
    kill a worker too): the workers go with it, every state left behind is consistent, and
    a resume builds exactly the clean index."""
    options = ("--interval", "0.5", "--batch-size", "4", "--workers", "2")
    log = tmp_path / "stderr.txt"

    def command(home: Path) -> list[str]:
        return [sys.executable, "-m", "vidsearch", "index", str(long_library), *options,
                "--home", str(home), "--model", str(tiny_model)]  # fmt: skip

    env = {k: v for k, v in os.environ.items() if k != "VIDSEARCH_FAULT"}
    clean_run = _start_indexing(command(tmp_path / "clean"), env, log)
    _wait_for_workers(clean_run)
    working_since = time.monotonic()
    assert clean_run.wait(timeout=180) == 0, log.read_text()
    work_s = time.monotonic() - working_since  # from the first worker to the end
    clean = IndexState.read(tmp_path / "clean")
    assert len(clean.videos) == 3 and all(v[1] for v in clean.videos.values())

    rng = random.Random(SEED + 1)
    home = tmp_path / "home"
    kills = worker_kills = 0
    while kills < RANDOM_MOMENT_KILLS:
        run_env = dict(env)
        if rng.random() < 0.3:  # a worker dies too, on its n-th span
            run_env["VIDSEARCH_FAULT"] = f"segment:{rng.randint(1, 3)}"
            worker_kills += 1
        state = IndexState.read(home) if home.exists() else None
        left = 3 - sum(v[1] for v in state.videos.values()) if state else 3
        proc = _start_indexing(command(home), run_env, log)
        workers = _wait_for_workers(proc)
        deadline = time.monotonic() + rng.uniform(0.0, 0.9) * work_s * left / 3
        while proc.poll() is None and time.monotonic() < deadline:
            workers |= _children(proc.pid)
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=120)
        if proc.returncode != -signal.SIGKILL:
            errors = log.read_text()
            # a span that killed its worker alone fails its video; the run says which
            worker_failed = "VIDSEARCH_FAULT" in run_env and "decoder process died on" in errors
            assert proc.returncode == 0 or worker_failed, errors[-2000:]
        gone_by = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "decoder workers outlived their parent"
        state = IndexState.read(home)  # opens: no worker holds the index
        assert_consistent(state, clean)
        if len(state.videos) == 3 and all(v[1] for v in state.videos.values()):
            for video_id in rng.sample(sorted(state.videos), rng.randint(2, 3)):
                name = state.videos[video_id][0]
                assert vidsearch("remove", name, home=home).returncode == 0
    result = vidsearch("index", long_library, *options, home=home, model=tiny_model)
    assert result.returncode == 0, result.stderr
    assert IndexState.read(home) == clean
    print(f"\n{kills} random-moment SIGKILLs ({worker_kills} runs also killed a worker)")
