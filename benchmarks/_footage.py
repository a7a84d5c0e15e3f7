"""Synthetic footage that costs what real footage costs to decode.

1280x720, 25 fps, H.264 with libx264's default settings (B-frames, b-pyramid, scene-cut
keyframes, CRF 23), shots of 3-9 s with hard cuts; every shot a panning texture with fresh
grain in every frame, so the bitrate (~2-4 Mbit/s) is that of real HD video rather than
that of flat colours. Written once and cached: a 2-minute tile is encoded (minutes of work
on 2 cores) and its packets are repeated with shifted timestamps to the requested length,
which decodes exactly like one long encode (each copy starts at an IDR frame).
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np
from PIL import Image

CACHE = Path(__file__).parent / ".cache"
WIDTH, HEIGHT, FPS = 1280, 720, 25


def _texture(rng: np.random.Generator, color: np.ndarray) -> np.ndarray:
    coarse = rng.integers(-90, 90, size=(HEIGHT // 24, WIDTH // 12, 3))
    base = np.clip(color[None, None, :] + coarse, 0, 255).astype(np.uint8)
    mid = rng.integers(-40, 40, size=(HEIGHT // 4, WIDTH // 2, 3))
    big = np.asarray(Image.fromarray(base).resize((2 * WIDTH, HEIGHT), Image.Resampling.BICUBIC))
    detail = np.asarray(
        Image.fromarray(np.clip(128 + mid, 0, 255).astype(np.uint8)).resize(
            (2 * WIDTH, HEIGHT), Image.Resampling.BILINEAR
        )
    )
    return np.clip(big.astype(np.int16) + detail.astype(np.int16) - 128, 0, 255).astype(np.int16)


TILE_MINUTES = 2.0


def footage(minutes: float, seed: int = 0) -> Path:
    """The cached benchmark video of `minutes` minutes (written on first use)."""
    if minutes <= TILE_MINUTES:
        return _encode(minutes, seed)
    path = CACHE / f"footage-{WIDTH}x{HEIGHT}-{minutes:g}min-s{seed}.mp4"
    if path.is_file():
        return path
    tile = _encode(TILE_MINUTES, seed)
    tmp = path.with_suffix(".partial.mp4")
    copies = int(np.ceil(minutes / TILE_MINUTES))
    with av.open(str(tmp), "w") as target:
        out_stream = None
        for copy in range(copies):
            with av.open(str(tile)) as source:
                in_stream = source.streams.video[0]
                if out_stream is None:
                    out_stream = target.add_stream_from_template(in_stream)
                shift = int(copy * TILE_MINUTES * 60 / in_stream.time_base)
                end = minutes * 60 / in_stream.time_base
                for packet in source.demux(in_stream):
                    if packet.pts is None or packet.pts + shift >= end:
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = out_stream
                    target.mux(packet)
    tmp.rename(path)
    return path


def clips(count: int, minutes: float, seed: int = 0) -> Path:
    """A folder of `count` clips of about `minutes` each, cut from the long footage at its
    keyframes (packets copied, nothing re-encoded)."""
    folder = CACHE / f"clips-{count}x{minutes:g}min-s{seed}"
    if folder.is_dir() and len(list(folder.glob("*.mp4"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    source_path = footage(count * minutes + 1, seed)
    number, first_pts = 0, 0
    target: av.container.OutputContainer | None = None
    out_stream = None
    with av.open(str(source_path)) as source:  # open while its stream is the template
        stream = source.streams.video[0]
        tb = stream.time_base
        for packet in source.demux(stream):
            if packet.pts is None:
                continue
            if packet.is_keyframe and packet.pts * tb >= number * minutes * 60:
                if target is not None:
                    target.close()
                    target = None
                if number == count:
                    break
                target = av.open(str(folder / f"clip{number:02d}.mp4"), "w")
                target.metadata["title"] = f"clip {number}"  # tiles repeat: keep ids apart
                out_stream = target.add_stream_from_template(stream)
                first_pts, number = packet.dts, number + 1
            if target is None:
                continue
            packet.pts -= first_pts
            packet.dts -= first_pts
            packet.stream = out_stream
            target.mux(packet)
    if target is not None:
        target.close()
    return folder


def _encode(minutes: float, seed: int) -> Path:
    path = CACHE / f"footage-{WIDTH}x{HEIGHT}-{minutes:g}min-s{seed}.mp4"
    if path.is_file():
        return path
    CACHE.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * FPS)
    tmp = path.with_suffix(".partial.mp4")
    started = time.perf_counter()
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        index = 0
        while index < total:
            texture = _texture(rng, rng.integers(30, 225, size=3))
            speed = int(rng.integers(2, 9))
            for k in range(min(int(rng.integers(3 * FPS, 9 * FPS)), total - index)):
                x = (speed * k) % WIDTH
                grain = rng.integers(-5, 6, size=(HEIGHT // 2, WIDTH // 2, 1), dtype=np.int16)
                grain = grain.repeat(2, axis=0).repeat(2, axis=1)
                rgb = np.clip(texture[:, x : x + WIDTH] + grain, 0, 255).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, FPS)
                container.mux(stream.encode(frame))
                index += 1
            print(f"\rwriting {path.name}: {index / total:5.1%}", end="", file=sys.stderr)
        container.mux(stream.encode(None))
    tmp.rename(path)
    mbps = path.stat().st_size * 8 / (minutes * 60) / 1e6
    print(
        f"\rwrote {path.name} in {time.perf_counter() - started:.0f}s ({mbps:.1f} Mbit/s)",
        file=sys.stderr,
    )
    return path


if __name__ == "__main__":
    print(footage(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
