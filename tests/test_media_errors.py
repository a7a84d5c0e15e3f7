"""Files that are not usable videos get a MediaError that names the file and the reason."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vidsearch.errors import DecodeError, MediaError
from vidsearch.media import decode_frames, probe_video
from vidsearch.testing.videos import Scene, SceneKind, write_video


def consume(path: Path) -> int:
    return sum(1 for _ in decode_frames(path))


def truncate_copy(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


@pytest.fixture(scope="module")
def ten_second_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ten")
    scenes = [Scene(SceneKind.TEXTURE, 125, color=0), Scene(SceneKind.TEXTURE, 125, color=2)]
    mkv = root / "ten.mkv"
    write_video(mkv, scenes)
    mp4 = root / "ten.mp4"
    write_video(mp4, scenes, container_options={"movflags": "faststart"})
    plain = root / "plain.mp4"  # moov atom at the end
    write_video(plain, scenes)
    return {"mkv": mkv, "mp4": mp4, "plain": plain}


@pytest.mark.parametrize("kind", ["mkv", "mp4"])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_truncated_video_is_detected(
    ten_second_videos: dict[str, Path], tmp_path: Path, kind: str, fraction: float
) -> None:
    source = ten_second_videos[kind]
    assert consume(source) == 250  # the intact file decodes fully
    cut = truncate_copy(source, tmp_path / f"cut.{kind}", fraction)
    with pytest.raises(DecodeError, match=r"cut\.\w+: truncated or corrupt: decoding stopped"):
        consume(cut)


def test_truncated_mp4_without_index_cannot_be_opened(
    ten_second_videos: dict[str, Path], tmp_path: Path
) -> None:
    cut = truncate_copy(ten_second_videos["plain"], tmp_path / "cut.mp4", 0.5)
    with pytest.raises(MediaError, match="cut.mp4: not a video file FFmpeg can read"):
        probe_video(cut)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="nope.mp4: no such file"):
        probe_video(tmp_path / "nope.mp4")


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError, match=r"empty.mp4: empty file \(0 bytes\)"):
        probe_video(empty)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are my notes, not a film\n" * 50)
    with pytest.raises(MediaError, match="notes.mp4: not a video file FFmpeg can read"):
        probe_video(fake)


def test_random_bytes(tmp_path: Path) -> None:
    noise = tmp_path / "noise.mkv"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, np.uint8).tobytes())
    with pytest.raises(MediaError, match="noise.mkv"):
        probe_video(noise)
        consume(noise)


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "song.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(MediaError, match=r"song.m4a: has no video stream \(found: audio\)"):
        probe_video(path)


def test_directory_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a regular file"):
        probe_video(tmp_path)


def test_probe_reports_stream_facts(ten_second_videos: dict[str, Path]) -> None:
    info = probe_video(ten_second_videos["mp4"])
    assert (info.width, info.height, info.fps) == (320, 180, 25.0)
    assert info.duration == pytest.approx(10.0, abs=0.05)
    again = probe_video(ten_second_videos["mp4"])
    assert again.content_id == info.content_id
    assert probe_video(ten_second_videos["mkv"]).content_id != info.content_id


def test_unknown_codec(tmp_path: Path) -> None:
    """A Matroska file whose video track names a codec FFmpeg does not know."""
    source = tmp_path / "known.mkv"
    write_video(source, [Scene(SceneKind.TEXTURE, 25)], codec="mpeg4")
    data = source.read_bytes()
    assert b"V_MPEG4/ISO/ASP" in data
    unknown = tmp_path / "alien.mkv"
    unknown.write_bytes(data.replace(b"V_MPEG4/ISO/ASP", b"V_QQQQQ/ZZZ/XYZ"))
    with pytest.raises(MediaError, match="alien.mkv: unknown video codec"):
        probe_video(unknown)


def test_truncation_is_detected_when_decoding_keyframes_only(
    ten_second_videos: dict[str, Path], tmp_path: Path
) -> None:
    from vidsearch.media import DecodeMode

    source = ten_second_videos["mkv"]
    assert sum(1 for _ in decode_frames(source, DecodeMode.KEYFRAMES)) >= 1  # intact: fine
    cut = truncate_copy(source, tmp_path / "cut.mkv", 0.6)
    with pytest.raises(DecodeError, match="truncated or corrupt"):
        sum(1 for _ in decode_frames(cut, DecodeMode.KEYFRAMES))
