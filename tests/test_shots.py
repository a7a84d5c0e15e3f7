"""Shot boundaries on small generated reels whose cuts, dissolves, fades and traps are known,
decoded in FAST (reference frames only) and EXACT mode, with x264's defaults and a fixed GOP
(no keyframe at the cuts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidsearch.media import DecodeMode, FrameSampler, SamplerConfig, decode_frames
from vidsearch.media.shots import (
    DEFAULT_DETECTOR,
    DetectorName,
    StructureDetector,
    make_detector,
)
from vidsearch.testing.shot_footage import (
    FPS,
    Encoding,
    Truth,
    gradual_reel,
    moving_reel,
    similar_colour_reel,
    trap_reel,
    write_reel,
)
from vidsearch.types import ShotClosed

SIZE = (160, 90)
CUT_TOLERANCE = 2  # frames: FAST decoding may land on the frame after a skipped one
REELS = {
    "similar": lambda: similar_colour_reel(1.2),
    "moving": lambda: moving_reel(1.2),
    "gradual": lambda: gradual_reel(3.0),
    "traps": lambda: trap_reel(2.0),
}


@pytest.fixture(scope="module")
def reels(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, Encoding], tuple[Path, Truth]]:
    folder = tmp_path_factory.mktemp("shot-reels")
    out = {}
    for name, make in REELS.items():
        for encoding in Encoding:
            path = folder / f"{name}-{encoding}.mp4"
            out[name, encoding] = path, write_reel(path, make(), encoding, size=SIZE)
    return out


def shot_starts(path: Path, mode: DecodeMode, detector: str = DEFAULT_DETECTOR) -> list[int]:
    """Frame numbers of the shot starts the sampler reports (the first shot left out)."""
    config = SamplerConfig(interval=1e9, detector=DetectorName(detector))
    events = FrameSampler(config).sample(decode_frames(path, mode))
    return [round(e.start * FPS) for e in events if isinstance(e, ShotClosed)][1:]


def assert_cuts_found(found: list[int], cuts: list[int]) -> None:
    assert len(found) == len(cuts), (found, cuts)
    for got, want in zip(found, cuts, strict=True):
        assert abs(got - want) <= CUT_TOLERANCE, (found, cuts)


MODES = [DecodeMode.FAST, DecodeMode.EXACT]


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["similar", "moving"])
def test_every_hard_cut_is_found_and_nothing_else(
    reels: dict, name: str, mode: DecodeMode, encoding: Encoding
) -> None:
    path, truth = reels[name, encoding]
    assert_cuts_found(shot_starts(path, mode), truth.cuts)


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("mode", MODES)
def test_each_dissolve_and_fade_is_one_boundary_inside_it(
    reels: dict, mode: DecodeMode, encoding: Encoding
) -> None:
    path, truth = reels["gradual", encoding]
    found = shot_starts(path, mode)
    assert len(found) == len(truth.gradual), (found, truth.gradual)
    for got, (start, end) in zip(found, truth.gradual, strict=True):
        assert start - 1 <= got <= end + 1, (found, truth.gradual)


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("mode", MODES)
def test_flash_pan_crossing_lighting_and_noise_are_not_cuts(
    reels: dict, mode: DecodeMode, encoding: Encoding
) -> None:
    path, truth = reels["traps", encoding]
    assert [kind for kind, _, _ in truth.traps] == [
        "flash", "fast_pan", "crossing", "lighting", "noise", "flash"
    ]  # fmt: skip
    assert_cuts_found(shot_starts(path, mode), truth.cuts)


def test_the_old_histogram_detector_misses_cuts_between_similar_colours(reels: dict) -> None:
    path, truth = reels["similar", Encoding.DEFAULTS]
    assert len(shot_starts(path, DecodeMode.EXACT, "histogram")) < len(truth.cuts) // 2


def test_no_cuts_detector_keeps_one_shot(reels: dict) -> None:
    path, _ = reels["similar", Encoding.DEFAULTS]
    assert shot_starts(path, DecodeMode.FAST, "none") == []


def test_detectors_are_chosen_by_name_from_a_closed_set() -> None:
    assert DEFAULT_DETECTOR is DetectorName.STRUCTURE
    assert isinstance(make_detector(), StructureDetector)
    with pytest.raises(ValueError):
        make_detector("transnet.from.somewhere")


def test_the_detector_decides_within_its_lookahead_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 255, (27, 48, 3), dtype=np.uint8) for _ in range(2))
    images = [a] * 10 + [b] * 10

    def run() -> list[tuple[int, list[int]]]:
        detector = make_detector()
        pushed = [(n, detector.push(img, n / FPS)) for n, img in enumerate(images)]
        return [*pushed, (len(images), detector.flush())]

    first = run()
    assert first == run()
    detector = make_detector()
    for n, found in first[:-1]:
        assert all(p >= n - detector.lookahead for p in found)
    assert [p for _, found in first for p in found] == [10]


def test_a_reset_starts_counting_again() -> None:
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 255, (27, 48, 3), dtype=np.uint8) for _ in range(2))
    detector = make_detector()
    for n in range(8):
        detector.push(a, n / FPS)
    detector.flush()
    detector.reset()
    found: list[int] = []
    for n, img in enumerate([b] * 3 + [a] * 8):
        found += detector.push(img, n / FPS)
    assert found + detector.flush() == [3]
