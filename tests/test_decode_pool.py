"""Decoding spans of a video in worker processes gives exactly what one process gives: the
same frames, hence the same kept frames, shots and points; open GOPs and index-less
containers are detected; a worker that dies costs at most its own video."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from process_support import IndexState
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.media.decode import decode_frames
from vidsearch.media.pool import DecodePool, SerialDecoder
from vidsearch.media.sampler import FrameSampler, SamplerConfig
from vidsearch.media.segments import MIN_SPAN_S, plan_segments
from vidsearch.media.shots import DetectorName, make_detector
from vidsearch.testing.faulty_decoding import POISON, die_on_poison
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import DecodeMode

FPS = 25
SIZE = (160, 90)
GOP = 50  # a keyframe every 2 s, and only there: cuts must come from pixels
FIXED_GOP = {"x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}


def _shots(lengths: list[int]) -> list[Scene]:
    return [Scene(SceneKind.TEXTURE, n, color=i) for i, n in enumerate(lengths)]


def _boundary_shots() -> list[Scene]:
    """30 s; with two workers, spans are 8 s (frames 200, 400, 600): cuts exactly at the
    first and third boundary, a frame before and a frame after the second, two frames after
    the third, and between GOP boundaries."""
    return _shots([200, 199, 2, 151, 48, 2, 40, 108])


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pool")
    made = {
        "fixed_gop.mp4": {"codec_options": FIXED_GOP, "preset": None},
        "x264_defaults.mp4": {"preset": None},
        "open_gop.mp4": {"codec_options": {"x264-params": "keyint=50:open-gop=1"}, "preset": None},
        "fixed_gop.mkv": {"codec_options": FIXED_GOP, "preset": None},
        "fixed_gop.ts": {"codec_options": FIXED_GOP, "preset": None},
    }
    paths = {}
    for name, options in made.items():
        paths[name] = root / name
        write_video(paths[name], _boundary_shots(), fps=FPS, size=SIZE, seed=7, **options)
    return paths


def _same_frames(path: Path, mode: DecodeMode, workers: int = 2) -> int:
    serial = list(decode_frames(path, mode))
    with DecodePool(workers, mode) as pool:
        parallel = list(pool.frames(path))
    assert [f.pts for f in parallel] == [f.pts for f in serial]
    assert [f.timestamp for f in parallel] == [f.timestamp for f in serial]
    for a, b in zip(serial, parallel, strict=True):
        assert np.array_equal(a.analysis, b.analysis), a.timestamp
        assert np.array_equal(a.working_image(), b.working_image()), a.timestamp
    return len(serial)


@pytest.mark.parametrize("name", ["fixed_gop.mp4", "x264_defaults.mp4", "fixed_gop.mkv"])
@pytest.mark.parametrize("mode", [DecodeMode.FAST, DecodeMode.EXACT])
def test_spans_decode_to_the_same_frames_as_one_process(
    videos: dict[str, Path], name: str, mode: DecodeMode
) -> None:
    plan = plan_segments(videos[name])
    spans = plan.spans(2)
    assert len(spans) >= 2, plan.reason  # the video really is cut
    assert all(s.start_time >= MIN_SPAN_S - 0.01 for s in spans[1:])
    frames = _same_frames(videos[name], mode)
    assert frames >= (750 if mode is DecodeMode.EXACT else 300)


def test_fixed_gop_boundaries_are_every_keyframe(videos: dict[str, Path]) -> None:
    plan = plan_segments(videos["fixed_gop.mp4"])
    times = [round(k.time, 2) for k in plan.boundaries]
    assert times == [round(GOP / FPS * i, 2) for i in range(1, len(times) + 1)]
    frames = sum(scene.frames for scene in _boundary_shots())
    assert len(times) == frames // GOP - 1


def test_open_gops_are_never_cut(videos: dict[str, Path]) -> None:
    """x264's open GOPs: the keyframes are recovery points whose leading B-frames refer to
    the previous GOP, so no keyframe is a clean boundary and the video stays one span."""
    plan = plan_segments(videos["open_gop.mp4"])
    assert plan.boundaries == ()
    assert "open" in plan.reason
    assert len(plan.spans(4)) == 1
    _same_frames(videos["open_gop.mp4"], DecodeMode.FAST)


def test_a_container_without_an_index_still_decodes_the_same(videos: dict[str, Path]) -> None:
    """MPEG-TS has no index: a seek may land anywhere; the span then reads from the start."""
    _same_frames(videos["fixed_gop.ts"], DecodeMode.FAST)


def test_damaged_files_are_one_span_and_fail_as_before(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    assert plan_segments(broken).boundaries == ()


def _index(home: Path, encoder, paths: list[Path], decoder, sampler=None) -> list:
    with IndexStore(home) as store, decoder:
        ingestor = Ingestor(
            store,
            encoder,
            sampler or FrameSampler(SamplerConfig(interval=0.5)),
            batch_size=4,
            decoder=decoder,
        )
        return list(ingestor.index_paths(paths))


@pytest.mark.slow
def test_an_index_built_with_workers_equals_one_built_in_one_process(
    videos: dict[str, Path], encoder, tmp_path: Path
) -> None:
    """Same points (ids, times, shots, shot ends), catalog and thumbnails, several videos
    through one pool (the next video's spans decode while this one is embedded)."""
    paths = [videos["fixed_gop.mp4"], videos["x264_defaults.mp4"], videos["open_gop.mp4"]]
    serial = _index(tmp_path / "serial", encoder, paths, SerialDecoder(DecodeMode.FAST))
    pool = DecodePool(2, DecodeMode.FAST)
    pooled = _index(tmp_path / "pooled", encoder, paths, pool)
    assert pool.redecoded == 0  # the workers sent every image the sampler wanted
    assert [r.status for r in serial] == [IngestStatus.INDEXED] * 3
    assert [(r.status, r.frames, r.decoded) for r in pooled] == [
        (r.status, r.frames, r.decoded) for r in serial
    ]
    one, two = IndexState.read(tmp_path / "serial"), IndexState.read(tmp_path / "pooled")
    assert one == two
    shots = {p["shot"] for p in one.points.values()}
    assert len(shots) >= 4  # the cuts were found, so shots were compared too


@pytest.mark.slow
def test_a_worker_dying_on_a_segment_fails_only_its_video(
    videos: dict[str, Path], encoder, tmp_path: Path
) -> None:
    poisoned = tmp_path / f"{POISON}.mp4"
    poisoned.write_bytes(videos["fixed_gop.mp4"].read_bytes() + b"\0")  # another content id
    paths = [videos["x264_defaults.mp4"], poisoned, videos["fixed_gop.mkv"]]
    pool = DecodePool(2, DecodeMode.FAST, decode=die_on_poison)
    reports = _index(tmp_path / "home", encoder, paths, pool)
    assert [r.status for r in reports] == [
        IngestStatus.INDEXED,
        IngestStatus.FAILED,
        IngestStatus.INDEXED,
    ]
    error = reports[1].error
    assert "\n" not in error and str(poisoned) in error
    assert "decoder process died on the segment from" in error
    assert pool.rebuilds >= 2
    state = IndexState.read(tmp_path / "home")
    assert sorted(v[0] for v in state.videos.values()) == ["fixed_gop.mkv", "x264_defaults.mp4"]
    assert all(p["video_id"] in state.videos for p in state.points.values())


@pytest.mark.slow
def test_images_a_worker_did_not_send_are_decoded_again_here(
    videos: dict[str, Path], encoder, tmp_path: Path
) -> None:
    """A parent whose sampler disagrees with its workers' (here: it finds no cuts, they do)
    still gets every image it keeps, by decoding those spans again: same index."""
    no_cuts = partial(make_detector, DetectorName.NONE)
    paths = [videos["fixed_gop.mp4"]]

    def sampler() -> FrameSampler:
        return FrameSampler(SamplerConfig(interval=0.5), detector=no_cuts)

    serial = _index(tmp_path / "serial", encoder, paths, SerialDecoder(), sampler())
    pool = DecodePool(2, DecodeMode.FAST)
    pooled = _index(tmp_path / "pooled", encoder, paths, pool, sampler())
    assert pool.redecoded >= 1
    assert [r.frames for r in pooled] == [r.frames for r in serial]
    assert IndexState.read(tmp_path / "serial") == IndexState.read(tmp_path / "pooled")
