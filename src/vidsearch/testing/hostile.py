"""A corpus of hostile files to feed `vidsearch index`: every one must either index correctly
or fail with one line naming the file and the reason, and none may crash the process or make
it read outside the folder it was given.

    cases = write_hostile_corpus(root / "corpus", outside=root / "outside")

Each `HostileCase` says what the file is and what should happen to it (`Expect.INDEXED`,
`Expect.SKIPPED` or `Expect.FAILED` with a fragment of the reason). `outside` receives the
targets of the symbolic links that point out of the corpus: a valid video and a FIFO, which
would block anything that opened it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from vidsearch.testing.videos import Scene, SceneKind, write_video

SEED = 1234
HUGE_SIDE = 12_000  # declared width and height of the huge-dimensions file (144 MP)
SPARSE_BYTES = 8 * 1024**3  # the all-zero sparse file: 8 GiB that take no disk space
Maker = Callable[[Path], object]


class Expect(StrEnum):
    INDEXED = "indexed"
    SKIPPED = "skipped"  # same content as another file of the corpus
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HostileCase:
    name: str  # file name inside the corpus folder (may hold non-UTF-8 bytes, as os.fsdecode)
    what: str  # one line for the report
    expect: Expect
    reason: str = ""  # for FAILED: a fragment of the one-line error


def _scenes(count: int, frames: int = 25) -> list[Scene]:
    return [Scene(SceneKind.TEXTURE, frames, color=i) for i in range(count)]


def _cut(source: Path, target: Path, fraction: float) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: max(1, int(len(data) * fraction))])


def _scramble(source: Path, target: Path, start: float, end: float, seed: int) -> None:
    """Overwrite the bytes between two fractions of the file with random ones."""
    data = bytearray(source.read_bytes())
    lo, hi = int(len(data) * start), int(len(data) * end)
    data[lo:hi] = random.Random(seed).randbytes(hi - lo)
    target.write_bytes(bytes(data))


def _huge_frames(target: Path, side: int) -> None:
    """A Matroska file whose raw video stream declares `side` x `side` pixels (within what
    FFmpeg accepts) but carries a few KiB: decoding it as announced needs ~side² bytes a frame."""
    with av.open(str(target), mode="w", format="matroska") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width = stream.height = side
        stream.pix_fmt = "gray"
        for index in range(3):
            packet = av.Packet(b"\x80" * 4096)
            packet.stream = stream
            packet.pts = packet.dts = index
            packet.time_base = Fraction(1, 25)
            container.mux(packet)


def _no_frames(target: Path) -> None:
    """A valid container with a video stream that holds no frame at all (zero duration)."""
    with av.open(str(target), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 64, 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # header and trailer, nothing between


def _variable_rate(target: Path) -> None:
    """Frames at irregular times (gaps from 10 ms to 1.5 s), as phones and screen recorders
    write them."""
    rng = np.random.default_rng(SEED)
    gaps = [10, 40, 40, 300, 1500, 20, 20, 700, 33, 33, 900, 60]
    with av.open(str(target), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 160, 96
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast"}
        ms = 0
        rgb = np.zeros((96, 160, 3), np.uint8)
        for index in range(48):
            if index % 6 == 0:  # a new picture every 6 frames
                rgb = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = ms
            frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
            ms += gaps[index % len(gaps)]
        container.mux(stream.encode(None))


def _rotated(target: Path) -> None:
    """A landscape-coded video (bright left half, dark right half) whose display matrix asks
    for a 90-degree clockwise turn, as phones write portrait video: shown upright, the
    bright half is on top."""
    rng = np.random.default_rng(SEED)
    with av.open(str(target), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 192, 108
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(50):
            rgb = rng.integers(0, 40, (108, 192, 3), dtype=np.uint8)
            rgb[:, :96] += 200
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = target.read_bytes()
    # The track header's display matrix: identity -> a quarter turn clockwise.
    identity = bytes.fromhex("00010000" + "00000000" * 3 + "00010000" + "00000000" * 3)
    quarter = bytes.fromhex("00000000" + "00010000" + "00000000" + "ffff0000" + "00000000" * 4)
    at = data.find(identity, data.find(b"tkhd"))
    target.write_bytes(data[:at] + quarter + data[at + len(quarter) :])


def _sparse_zeros(target: Path) -> None:
    with target.open("wb") as file:
        file.truncate(SPARSE_BYTES)


def _audio_only(target: Path) -> None:
    with av.open(str(target), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_hostile_corpus(root: Path, *, outside: Path) -> list[HostileCase]:
    """Write the corpus into `root` (and the link targets into `outside`); its cases."""
    root.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    sources = root.parent / f".{root.name}-sources"
    sources.mkdir(exist_ok=True)
    mkv, mp4, faststart, ts = (sources / n for n in ("s.mkv", "s.mp4", "f.mp4", "s.ts"))
    write_video(mkv, _scenes(4), seed=1)
    write_video(mp4, _scenes(4), seed=2)
    write_video(faststart, _scenes(4), seed=3, container_options={"movflags": "faststart"})
    write_video(ts, _scenes(4), seed=4)
    write_video(outside / "secret.mp4", _scenes(2), seed=5)
    os.mkfifo(outside / "pipe.mp4")
    rng = random.Random(SEED)

    def clip(seed: int, **options: Any) -> Maker:
        return lambda p: write_video(p, _scenes(2), seed=seed, **options)

    def cut(source: Path, fraction: float) -> Maker:
        return lambda p: _cut(source, p, fraction)

    def link(target: Path | str) -> Maker:
        return lambda p: p.symlink_to(target)

    def noise(p: Path) -> None:
        p.write_bytes(rng.randbytes(64 * 1024))

    def png(p: Path) -> None:
        Image.new("RGB", (64, 48), (0, 90, 200)).save(p, format="PNG")

    failed, indexed = Expect.FAILED, Expect.INDEXED
    truncated, unreadable = "truncated or corrupt", "not a video file FFmpeg can read"
    outside_link = "outside"
    table: list[tuple[str, str, Expect, str, Maker]] = []
    for percent in (10, 50, 80):
        table += [
            (f"truncated-{percent}.mkv", f"Matroska cut at {percent}%", failed, truncated,
             cut(mkv, percent / 100)),
            (f"truncated-faststart-{percent}.mp4", f"MP4 (index first) cut at {percent}%",
             failed, truncated, cut(faststart, percent / 100)),
        ]  # fmt: skip
    table += [
        ("truncated-50.mp4", "MP4 (index last) cut at 50%", failed, unreadable, cut(mp4, 0.5)),
        ("truncated-header.mp4", "the first 100 bytes of an MP4", failed, unreadable,
         cut(mp4, 100 / mp4.stat().st_size)),
        ("truncated-50.ts", "MPEG-TS cut at 50% (it announces no duration: the half there)",
         indexed, "", cut(ts, 0.5)),
        *[(f"random.{ext}", f"64 KiB of random bytes named .{ext}", failed, "", noise)
          for ext in ("mp4", "mkv", "avi", "webm", "mov")],
        ("sparse-8GiB.mp4", "8 GiB of zero bytes (sparse)", failed, unreadable, _sparse_zeros),
        ("empty.mp4", "0 bytes", failed, "empty file", Path.touch),
        ("text.mkv", "a text file named .mkv", failed, unreadable,
         lambda p: p.write_text("not a video\n" * 100)),
        ("image.mp4", "a PNG named .mp4 (FFmpeg reads one frame)", indexed, "", png),
        ("audio-only.mp4", "an MP4 with only an audio stream", failed, "no video stream",
         _audio_only),
        ("broken-stream.mkv", "valid Matroska, middle of the H.264 stream overwritten", failed,
         "", lambda p: _scramble(mkv, p, 0.3, 0.7, 1)),
        ("broken-stream.mp4", "valid MP4 (index first), middle of the stream overwritten",
         failed, "", lambda p: _scramble(faststart, p, 0.3, 0.7, 2)),
        ("no-frames.mkv", "a video track without a frame (zero duration)", failed,
         "cannot open", _no_frames),
        ("one-frame.mkv", "a single frame", indexed, "",
         lambda p: write_video(p, [Scene(SceneKind.TEXTURE, 1, color=6)], seed=7)),
        ("tiny-16x16.mp4", "16x16 pixels", indexed, "", clip(8, size=(16, 16))),
        ("huge-dimensions.mkv", f"raw video declaring {HUGE_SIDE}x{HUGE_SIDE} pixels", failed,
         "too large", lambda p: _huge_frames(p, HUGE_SIDE)),
        ("variable-rate.mp4", "variable frame rate (gaps of 10 ms to 1.5 s)", indexed, "",
         _variable_rate),
        ("rotated-90.mp4", "display matrix: a quarter turn (indexed upright)", indexed, "",
         _rotated),
        ("فیلم آزمایشی.mp4", "a Persian file name", indexed, "", clip(9)),
        (os.fsdecode(b"latin1-caf\xe9.mp4"), "a file name that is not UTF-8 (Latin-1)",
         failed, "not valid UTF-8", clip(10)),
        ("new\nline.mp4", "a newline in the file name", failed, "control characters",
         clip(11)),
        ("fifo.mp4", "a FIFO (opening it would block)", failed, "not a regular file", os.mkfifo),
        ("link-outside.mp4", "symlink to a video outside the folder", failed, outside_link,
         link(outside / "secret.mp4")),
        ("link-outside-fifo.mp4", "symlink to a FIFO outside the folder", failed, outside_link,
         link(outside / "pipe.mp4")),
        ("link-dev-zero.mp4", "symlink to /dev/zero", failed, outside_link, link("/dev/zero")),
        ("link-dotdot.mp4", "relative symlink climbing out with ../", failed, outside_link,
         link(Path("..") / outside.name / "secret.mp4")),
        ("link-dangling.mp4", "symlink to nothing", failed, "no such file",
         link(root / "does-not-exist.mp4")),
        ("link-loop.mp4", "symlink to itself", failed, "no such file", link("link-loop.mp4")),
        ("zz-link-inside.mp4", "symlink to another video of the folder (same content)",
         Expect.SKIPPED, "", link(root / "one-frame.mkv")),
    ]  # fmt: skip
    cases = []
    for name, what, expect, reason, make in table:
        make(root / name)
        cases.append(HostileCase(name, what, expect, reason))
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)  # never walked into
    return cases
