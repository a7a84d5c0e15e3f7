"""A SIGKILLed `vidsearch index` resumes to exactly the index a clean run builds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from vidsearch.encoders.base import Encoder
from vidsearch.index import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.media.decode import DecodedFrame
from vidsearch.media.sampler import FrameSampler, SamplerConfig
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import SampledFrame, ShotClosed

pytestmark = pytest.mark.slow


def index_command(video: Path, home: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vidsearch",
        "index",
        str(video),
        "--home",
        str(home),
        "--model",
        str(model),
        "--interval",
        "0.25",
        "--batch-size",
        "2",
    ]


def points(home: Path) -> tuple[dict[str, dict], list[tuple[str, bool, int]]]:
    with IndexStore(home) as store:
        records = store.catalog.videos()
        payloads = {}
        for r in records:
            payloads.update(store.vectors.payloads(r.video_id))
        return payloads, [(r.name, r.complete, r.frames) for r in records]


def kill_after(command: list[str], home: Path, thumbnails: int) -> None:
    """Start indexing and SIGKILL it once `thumbnails` frames have been sampled."""
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            found = sum(1 for _ in (home / "thumbnails").rglob("*.jpg")) if home.exists() else 0
            if found >= thumbnails:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "indexing finished before it could be killed"


def test_sigkilled_indexing_resumes_without_duplicates_or_gaps(
    tiny_model: Path, tmp_path: Path
) -> None:
    video = tmp_path / "long.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(24)])  # 48 s

    clean_home = tmp_path / "clean"
    subprocess.run(index_command(video, clean_home, tiny_model), check=True, capture_output=True)
    clean, clean_videos = points(clean_home)
    assert clean_videos == [("long.mp4", True, len(clean))]
    assert len(clean) > 150

    home = tmp_path / "killed"
    for at in (20, 90):
        kill_after(index_command(video, home, tiny_model), home, at)
        partial, videos = points(home)
        assert videos == [("long.mp4", False, 0)]  # not marked complete
        assert len(partial) < len(clean)
        assert set(partial) <= set(clean)

    subprocess.run(index_command(video, home, tiny_model), check=True, capture_output=True)
    resumed, videos = points(home)
    assert videos == clean_videos
    assert resumed == clean  # same ids, same payloads: no duplicate, no missing frame


class _InterruptedSampler(FrameSampler):
    """Stops the run the way Ctrl-C does, once `kept` frames have been sampled."""

    def __init__(self, config: SamplerConfig, kept: int) -> None:
        super().__init__(config)
        self.kept = kept

    def sample(self, frames: Iterable[DecodedFrame]) -> Iterator[SampledFrame | ShotClosed]:
        kept = 0
        for event in super().sample(frames):
            yield event
            kept += isinstance(event, SampledFrame)
            if kept >= self.kept:
                raise KeyboardInterrupt


def test_resuming_with_other_sampling_settings_starts_the_video_over(
    encoder: Encoder, tmp_path: Path
) -> None:
    """Frames kept at one --interval are not mixed with frames kept at another."""
    video = tmp_path / "scenes.mp4"
    write_video(video, [Scene(SceneKind.TEXTURE, 50, color=i) for i in range(6)])  # 12 s
    dense, sparse = SamplerConfig(interval=0.25), SamplerConfig(interval=1.0)

    with IndexStore(tmp_path / "clean") as store:
        report = Ingestor(store, encoder, FrameSampler(sparse), batch_size=2).index_file(video)
        clean = store.vectors.payloads(store.catalog.videos()[0].video_id)
    assert report.status is IngestStatus.INDEXED and len(clean) == report.frames

    home = tmp_path / "resumed"
    with IndexStore(home) as store:
        with pytest.raises(KeyboardInterrupt):
            Ingestor(store, encoder, _InterruptedSampler(dense, 20), batch_size=2).index_file(video)
        (record,) = store.catalog.videos()
        partial = store.vectors.payloads(record.video_id)
        assert not record.complete and partial
        assert set(partial) - set(clean), "the dense run kept frames the sparse one does not"

        ingestor = Ingestor(store, encoder, FrameSampler(sparse), batch_size=2)
        assert record.sampling != ingestor.sampling
        assert ingestor.index_file(video).status is IngestStatus.INDEXED
        (record,) = store.catalog.videos()
        assert store.vectors.payloads(record.video_id) == clean
        assert record.complete and record.sampling == ingestor.sampling
    thumbnails = list((home / "thumbnails").rglob("*.jpg"))
    assert len(thumbnails) == len(clean)  # the dense run's thumbnails went with its frames
