"""Shot-aware sampling on generated videos whose cuts, fades, black and static parts are known."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from vidsearch.media import DecodeMode, FrameSampler, SamplerConfig, decode_frames
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video
from vidsearch.types import SampledFrame, ShotClosed

FPS = 25
FRAME = 1 / FPS


def run(path: Path, **config: float) -> tuple[list[SampledFrame], list[ShotClosed]]:
    events = list(FrameSampler(SamplerConfig(**config)).sample(decode_frames(path)))
    frames = [e for e in events if isinstance(e, SampledFrame)]
    shots = [e for e in events if isinstance(e, ShotClosed)]
    return frames, shots


def test_cuts_are_found_within_one_frame(standard_video: tuple[Path, list[SceneSpan]]) -> None:
    path, spans = standard_video
    _, shots = run(path)
    # Hard cuts at 3 s, 5 s (into the fade) and 12 s; the black stretch ends the fading shot
    # and the static scene after it starts a new one at 7 s.
    expected_starts = [0.0, 3.0, 5.0, 7.0, 12.0]
    assert [s.start for s in shots] == pytest.approx(expected_starts, abs=FRAME + 1e-9)
    assert [s.shot_index for s in shots] == list(range(len(expected_starts)))
    # Each shot ends where the next begins, except the fading one, which ends in the dark.
    assert shots[0].end == pytest.approx(3.0, abs=FRAME)
    assert 5.0 < shots[2].end <= 6.0
    assert shots[-1].end == pytest.approx(spans[-1].end, abs=FRAME)


def test_timestamps_are_exact_frame_times(standard_video: tuple[Path, list[SceneSpan]]) -> None:
    path, _ = standard_video
    with av.open(str(path)) as container:
        time_base = container.streams.video[0].time_base
    frames, _ = run(path)
    for f in frames:
        assert f.timestamp == float(f.pts * time_base)
        frame_number = f.timestamp * FPS
        assert frame_number == pytest.approx(round(frame_number), abs=1e-6)


def test_black_and_dark_fade_frames_are_dropped(
    standard_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, _ = standard_video
    frames, _ = run(path)
    assert not [f for f in frames if 5.7 <= f.timestamp < 7.0]


def test_static_stretch_yields_one_frame_and_moving_shots_one_per_interval(
    standard_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, _ = standard_video
    frames, _ = run(path)
    times = [f.timestamp for f in frames]
    assert [t for t in times if 7.0 <= t < 12.0] == [7.0]  # static: duplicates dropped
    assert [t for t in times if t < 3.0] == [0.0, 2.0]  # moving texture: every 2 s
    assert {f.shot_index for f in frames} == {0, 1, 2, 3, 4}  # every shot has a frame


def test_interval_is_respected_in_a_long_shot(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    write_video(path, [Scene(SceneKind.TEXTURE, 7 * FPS)], fps=FPS)
    frames, shots = run(path, interval=0.5)
    times = [f.timestamp for f in frames]
    assert len(shots) == 1
    assert times[0] == 0.0
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # 0.5 s is 12.5 frames at 25 fps: the first frame at or after the interval is kept
    assert all(0.5 - 1e-9 <= g <= 0.5 + FRAME + 1e-9 for g in gaps), gaps
    assert times[-1] >= 7.0 - 0.5 - FRAME


def test_sampled_images_are_reduced_and_rgb(tmp_path: Path) -> None:
    path = tmp_path / "wide.mp4"
    write_video(path, [Scene(SceneKind.TEXTURE, 10)], fps=FPS, size=(640, 360))
    frames, _ = run(path)
    assert frames[0].image.shape == (256, 456, 3)


def test_pts_survive_a_non_zero_start_and_odd_time_base(tmp_path: Path) -> None:
    """Timestamps come from pts, not from counting frames."""
    path = tmp_path / "offset.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height = 64, 48
        for i, level in enumerate([50] * 10 + [200] * 10):
            import numpy as np

            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), "rgb24")
            frame.pts = 100 + i
            frame.time_base = Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    frames, shots = run(path)
    assert frames[0].timestamp == pytest.approx(4.0, abs=1e-3)
    assert shots[1].start == pytest.approx(4.4, abs=1e-3)


@pytest.fixture(scope="module")
def b_frame_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SceneSpan]]:
    """x264 defaults: B-frames and b-pyramid, like most real H.264 files."""
    path = tmp_path_factory.mktemp("bframes") / "defaults.mp4"
    scenes = [Scene(SceneKind.TEXTURE, 62, color=i) for i in range(4)]  # cuts off the GOP grid
    return path, write_video(path, scenes, fps=FPS, preset=None)


def test_exact_decoding_finds_cuts_within_one_frame_despite_b_frames(
    b_frame_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, spans = b_frame_video
    events = list(FrameSampler().sample(decode_frames(path, DecodeMode.EXACT)))
    starts = [e.start for e in events if isinstance(e, ShotClosed)]
    assert starts == pytest.approx([s.start for s in spans], abs=FRAME + 1e-9)


def test_fast_decoding_skips_non_reference_frames_and_keeps_cuts(
    b_frame_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, spans = b_frame_video
    exact = list(decode_frames(path, DecodeMode.EXACT))
    fast = list(decode_frames(path, DecodeMode.FAST))
    assert len(exact) == sum(s.scene.frames for s in spans)
    assert len(fast) < len(exact)  # some frames were never decoded
    exact_times = {f.timestamp for f in exact}
    assert {f.timestamp for f in fast} <= exact_times  # the same, exact timestamps
    events = list(FrameSampler().sample(iter(fast)))
    starts = [e.start for e in events if isinstance(e, ShotClosed)]
    # x264 puts a keyframe at each scene cut, so even skipping frames the cuts are exact
    assert starts == pytest.approx([s.start for s in spans], abs=FRAME + 1e-9)


def test_keyframes_mode_keeps_one_frame_per_shot_from_keyframes_only(
    b_frame_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, spans = b_frame_video
    keyframes = list(decode_frames(path, DecodeMode.KEYFRAMES))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        key_times = [
            float(f.pts * stream.time_base) for f in container.decode(stream) if f.key_frame
        ]
    assert [f.timestamp for f in keyframes] == key_times  # nothing but the keyframes
    events = list(FrameSampler().sample(iter(keyframes)))
    starts = [e.start for e in events if isinstance(e, ShotClosed)]
    # x264 put a keyframe at every cut, so every shot is found and starts on time
    assert starts == pytest.approx([s.start for s in spans], abs=FRAME + 1e-9)
