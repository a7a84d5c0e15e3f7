"""Synthetic videos with known structure: scenes, cuts, fades, black and static stretches.

Each scene is drawn from its own palette so that cuts are unambiguous, and textured scenes
pan every frame so that consecutive frames differ as in real footage.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_FPS = 25
DEFAULT_SIZE = (320, 180)

# Far-apart base colours, one per scene (cycled).
PALETTE = [
    (220, 40, 40),
    (40, 180, 60),
    (40, 70, 220),
    (230, 200, 40),
    (200, 60, 200),
    (40, 200, 210),
    (240, 140, 30),
    (120, 120, 120),
]


class SceneKind(StrEnum):
    TEXTURE = "texture"  # moving texture in the scene's colour
    STATIC = "static"  # one image repeated
    BLACK = "black"  # near-black frames
    FADE_OUT = "fade_out"  # moving texture fading linearly to black
    CAPTION = "caption"  # large text on a coloured background (for real-CLIP demos)


@dataclass(frozen=True, slots=True)
class Scene:
    kind: SceneKind
    frames: int
    color: int = 0  # index into PALETTE
    text: str = ""


@dataclass(frozen=True, slots=True)
class SceneSpan:
    """Where a scene landed in the written video."""

    scene: Scene
    first_frame: int
    start: float
    end: float


def _texture(color: tuple[int, int, int], size: tuple[int, int], seed: int) -> np.ndarray:
    """A smooth random texture around `color`, twice the frame width so it can pan."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(-70, 70, size=(max(2, h // 16), max(2, w // 8), 3))
    base = np.clip(np.array(color)[None, None, :] + coarse, 0, 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(base).resize((2 * w, h), Image.Resampling.BILINEAR))
    fine = rng.integers(-12, 12, size=big.shape)
    return np.clip(big.astype(np.int16) + fine, 0, 255).astype(np.uint8)


def _caption(color: tuple[int, int, int], size: tuple[int, int], text: str) -> np.ndarray:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, size[1] // 5))
    box = draw.textbbox((0, 0), text, font=font)
    x = (size[0] - (box[2] - box[0])) // 2
    y = (size[1] - (box[3] - box[1])) // 2
    draw.text((x, y), text, fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(image)


def scene_frames(scene: Scene, size: tuple[int, int], seed: int) -> Iterator[np.ndarray]:
    """The RGB frames of one scene."""
    w, h = size
    color = PALETTE[scene.color % len(PALETTE)]
    if scene.kind is SceneKind.BLACK:
        frame = np.full((h, w, 3), 4, np.uint8)
        for _ in range(scene.frames):
            yield frame
        return
    if scene.kind is SceneKind.CAPTION:
        frame = _caption(color, size, scene.text)
        for _ in range(scene.frames):
            yield frame
        return
    texture = _texture(color, size, seed)
    if scene.kind is SceneKind.STATIC:
        for _ in range(scene.frames):
            yield texture[:, :w]
        return
    for i in range(scene.frames):
        x = (3 * i) % (2 * w)
        x = 2 * w - x if x > w else x  # the camera turns back at the edge (no jump: no cut)
        frame = texture[:, x : x + w]
        if scene.kind is SceneKind.FADE_OUT:
            factor = 1.0 - (i + 1) / scene.frames
            frame = (frame.astype(np.float32) * factor).astype(np.uint8)
        yield frame


def write_video(
    path: Path,
    scenes: Sequence[Scene],
    *,
    fps: int = DEFAULT_FPS,
    size: tuple[int, int] = DEFAULT_SIZE,
    codec: str = "libx264",
    seed: int = 0,
    container_options: dict[str, str] | None = None,
    preset: str | None = "ultrafast",
    codec_options: dict[str, str] | None = None,
) -> list[SceneSpan]:
    """Encode `scenes` into `path` and return where each one starts and ends (seconds).

    With libx264, `preset=None` keeps x264's defaults (B-frames, b-pyramid, scene-cut
    keyframes), as most real H.264 files have; "ultrafast" (the default here) has no B-frames.
    `codec_options` go to the encoder as they are, e.g. {"x264-params": "keyint=50:open-gop=1"}.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    spans: list[SceneSpan] = []
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264" and preset is not None:
            stream.options = {"preset": preset, "crf": "18"}
        if codec_options:
            stream.options = {**stream.options, **codec_options}
        index = 0
        for number, scene in enumerate(scenes):
            spans.append(SceneSpan(scene, index, index / fps, (index + scene.frames) / fps))
            for rgb in scene_frames(scene, size, seed + number):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts = index
                frame.time_base = Fraction(1, fps)
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return spans


def standard_scenes(fps: int = DEFAULT_FPS) -> list[Scene]:
    """The test film: 3 textured shots with hard cuts, a fade, black, a static stretch."""
    return [
        Scene(SceneKind.TEXTURE, 3 * fps, color=0),
        Scene(SceneKind.TEXTURE, 2 * fps, color=1),
        Scene(SceneKind.FADE_OUT, 1 * fps, color=2),
        Scene(SceneKind.BLACK, 1 * fps),
        Scene(SceneKind.STATIC, 5 * fps, color=3),
        Scene(SceneKind.TEXTURE, 2 * fps, color=4),
    ]
