"""A corpus of hostile files through the real `vidsearch index`: each indexes correctly or
fails with one line naming it and the reason; the process never crashes; nothing outside the
folder given is opened (watched with inotify)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inotify_support import FolderWatch
from process_support import vidsearch
from vidsearch.index import IndexStore
from vidsearch.media.probe import printable_path
from vidsearch.testing.hostile import Expect, HostileCase, write_hostile_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[HostileCase]]:
    root = tmp_path_factory.mktemp("hostile")
    cases = write_hostile_corpus(root / "corpus", outside=root / "outside")
    return root / "corpus", root / "outside", cases


@pytest.fixture(scope="module")
def indexed(
    corpus: tuple[Path, Path, list[HostileCase]],
    tiny_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, dict], list[str], list[str]]:
    """Index the whole corpus folder once: (home, report by path, stderr lines, files
    opened outside the folder)."""
    folder, outside, _ = corpus
    home = tmp_path_factory.mktemp("hostile-home") / "home"
    with FolderWatch(outside) as watch:
        result = vidsearch("index", folder, "--json", home=home, model=tiny_model)
        touched = watch.touched()
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])  # some failed
    assert "Traceback" not in result.stderr, result.stderr
    reports = {r["path"]: r for r in json.loads(result.stdout)}
    return home, reports, result.stderr.splitlines(), touched


def test_every_file_has_the_expected_outcome(
    corpus: tuple[Path, Path, list[HostileCase]],
    indexed: tuple[Path, dict[str, dict], list[str], list[str]],
) -> None:
    folder, _, cases = corpus
    _, reports, stderr, _ = indexed
    assert len(reports) == len(cases), sorted(reports)
    for case in cases:
        shown = printable_path(folder / case.name)
        report = reports[shown]
        assert report["status"] == case.expect.value, (case, report)
        if case.expect is Expect.FAILED:
            error = report["error"]
            assert error and "\n" not in error, (case, report)
            assert error.startswith(shown), (case, error)  # names the file
            assert case.reason in error, (case, error)
            assert f"FAILED  {error}" in stderr, (case, stderr)  # one line each
            assert f"{shown}: {shown}" not in stderr  # the path once
        else:
            assert report["error"] is None
    failed = sum(c.expect is Expect.FAILED for c in cases)
    assert f"{failed} of {len(cases)} files failed" in stderr


def test_nothing_outside_the_folder_is_opened(
    indexed: tuple[Path, dict[str, dict], list[str], list[str]],
) -> None:
    _, _, _, touched = indexed
    assert touched == []


def test_what_was_indexed_is_whole_and_searchable(
    corpus: tuple[Path, Path, list[HostileCase]],
    indexed: tuple[Path, dict[str, dict], list[str], list[str]],
    tiny_model: Path,
) -> None:
    _, _, cases = corpus
    home, _, _, _ = indexed
    wanted = {c.name for c in cases if c.expect is Expect.INDEXED}
    with IndexStore(home) as store:
        records = {r.name: r for r in store.catalog.videos()}
        assert set(records) == wanted
        for record in records.values():
            assert record.complete and record.frames >= 1, record
            payloads = store.vectors.payloads(record.video_id)
            assert len(payloads) == record.frames
            times = sorted(p["timestamp"] for p in payloads.values())
            assert 0 <= times[0] and times[-1] <= record.duration + 0.1, (record, times)
            for p in payloads.values():
                assert store.thumbnails.path_for(record.video_id, p["pts"]).is_file()
        rotated = records["rotated-90.mp4"]
        thumbnail = next((home / "thumbnails" / rotated.video_id).glob("*.jpg"))
    result = vidsearch("search", "a frame", "--json", "--top-k", "3", home=home)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["moments"]

    # the phone-style video was turned upright: portrait, its bright (left) half on top
    pixels = np.asarray(Image.open(thumbnail).convert("L"), dtype=np.float32)
    height, width = pixels.shape
    assert height > width
    assert pixels[: height // 2].mean() > pixels[height // 2 :].mean() + 100


def test_the_watch_sees_a_file_being_read(tmp_path: Path) -> None:
    """The control for the test above: an open and a read inside the folder are reported."""
    (tmp_path / "secret.mp4").write_bytes(b"x")
    with FolderWatch(tmp_path) as watch:
        (tmp_path / "secret.mp4").read_bytes()
        assert watch.touched() == ["secret.mp4"]
