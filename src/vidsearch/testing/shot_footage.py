"""Generated footage with known shot boundaries, for measuring shot detectors like a paper.

A reel is a list of shots joined by transitions. Every shot shows a picture (a wide canvas of
shapes over a smooth background) through a moving or still camera, with fresh grain in every
frame; some shots carry a *trap*: an event that changes the pixels a lot but is not a shot
boundary (a camera flash, a fast pan, an object crossing the frame, a slow lighting change,
heavy compression noise on a static shot). The written reel knows where its boundaries are:

- hard cuts: the index of the first frame of the new shot;
- gradual transitions (dissolves, fades through black): the span of blended frames;
- traps: the span of frames where no boundary may be found.

Hard cuts are made hard on purpose: between pictures whose colour histograms are nearly equal
(the same picture's tiles rearranged, the same palette in another layout, a shot and its
reverse shot), and between moving shots. Reels are written as real H.264 with PyAV, either
with x264's defaults (a keyframe at each cut) or with a fixed GOP and scene-cut keyframes off,
so that a detector has to find cuts from pixels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

FPS = 25
DEFAULT_SIZE = (320, 180)
GRAIN = 5  # +- grey levels of fresh noise per frame
# x264 settings: defaults (keyframes at scene cuts) and a fixed GOP without scene-cut keyframes
X264_FIXED_GOP = "scenecut=0:keyint=250"


class Encoding(StrEnum):
    DEFAULTS = "x264-defaults"
    FIXED_GOP = "fixed-gop"


class Camera(StrEnum):
    STILL = "still"
    PAN = "pan"  # moves across the wide canvas at `speed` px per frame (of the output size)
    ZOOM = "zoom"  # slow push-in


class Trap(StrEnum):
    NONE = "none"
    FLASH = "flash"  # a few very bright frames in the middle of the shot
    FAST_PAN = "fast_pan"  # the whole shot is a fast pan
    CROSSING = "crossing"  # a large object crosses the frame
    LIGHTING = "lighting"  # the light dims slowly over the whole shot
    NOISE = "noise"  # a static shot with heavy grain (compression noise)


class Transition(StrEnum):
    CUT = "cut"
    DISSOLVE = "dissolve"
    FADE = "fade"  # out to black, then in from black


@dataclass(frozen=True, slots=True)
class Picture:
    """A wide canvas, described by seeds: same `palette` and another `layout` gives pictures
    with nearly the same colour histogram; `shuffle` rearranges the tiles of the picture;
    `mirror` flips it (a reverse shot)."""

    palette: int
    layout: int
    shuffle: int = 0  # 0: as drawn; n: tiles permuted with seed n
    mirror: bool = False
    shift: float = 0.0  # where the view starts on the canvas, 0..1 of the spare width


@dataclass(frozen=True, slots=True)
class Shot:
    picture: Picture
    frames: int
    camera: Camera = Camera.STILL
    speed: float = 1.0
    trap: Trap = Trap.NONE


@dataclass(frozen=True, slots=True)
class Join:
    """How a shot follows the previous one; gradual joins take `frames` frames of blending."""

    kind: Transition = Transition.CUT
    frames: int = 0


@dataclass(slots=True)
class Truth:
    """Where the boundaries of a written reel are, in frame indices."""

    frames: int
    cuts: list[int] = field(default_factory=list)
    gradual: list[tuple[int, int]] = field(default_factory=list)  # [start, end) blended frames
    traps: list[tuple[str, int, int]] = field(default_factory=list)  # kind, [start, end)
    shot_starts: list[int] = field(default_factory=list)  # every shot, the first included


@dataclass(frozen=True, slots=True)
class Reel:
    name: str
    shots: tuple[Shot, ...]
    joins: tuple[Join, ...]  # len(shots) - 1


def _palette(seed: int) -> np.ndarray:
    rng = np.random.default_rng(10_000 + seed)
    return rng.integers(30, 226, size=(6, 3))


def _canvas(picture: Picture, size: tuple[int, int]) -> np.ndarray:
    """The picture drawn at twice the output width (room to pan), uint8 RGB."""
    w, h = size
    colors = _palette(picture.palette)
    rng = np.random.default_rng(20_000 + 97 * picture.palette + picture.layout)
    base = colors[0][None, None, :] + rng.integers(-25, 25, size=(max(2, h // 20), w // 10, 3))
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize(
        (2 * w, h), Image.Resampling.BICUBIC
    )
    draw = ImageDraw.Draw(image)
    for _ in range(28):
        color = tuple(int(c) for c in colors[rng.integers(1, len(colors))])
        x, y = rng.integers(0, 2 * w), rng.integers(0, h)
        rw, rh = rng.integers(w // 16, w // 4), rng.integers(h // 10, h // 2)
        box = (int(x - rw), int(y - rh), int(x + rw), int(y + rh))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=color)
        else:
            draw.rectangle(box, fill=color)
    canvas = np.asarray(image)
    if picture.shuffle:
        canvas = _shuffle_tiles(canvas, picture.shuffle)
    if picture.mirror:
        canvas = canvas[:, ::-1]
    return np.ascontiguousarray(canvas)


def _shuffle_tiles(canvas: np.ndarray, seed: int, rows: int = 3, cols: int = 8) -> np.ndarray:
    """The same pixels, tiles rearranged: the colour histogram does not change at all."""
    h, w = canvas.shape[:2]
    th, tw = h // rows, w // cols
    tiles = [
        canvas[r * th : (r + 1) * th, c * tw : (c + 1) * tw]
        for r in range(rows)
        for c in range(cols)
    ]
    order = np.random.default_rng(30_000 + seed).permutation(len(tiles))
    # a derangement-ish order: no tile stays where it was
    order = np.roll(order, 1) if any(order[i] == i for i in range(len(order))) else order
    out = canvas.copy()
    for i, j in enumerate(order):
        r, c = divmod(i, cols)
        out[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = tiles[j]
    return out


def _object(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A large dark figure (image, mask) that crosses the frame."""
    w, h = size
    ow, oh = w // 3, int(h * 0.8)
    image = Image.new("RGB", (ow, oh), (30, 25, 20))
    mask = Image.new("L", (ow, oh), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, ow - 1, oh - 1), fill=255)
    ImageDraw.Draw(image).ellipse((ow // 4, oh // 8, 3 * ow // 4, oh // 3), fill=(200, 160, 120))
    return np.asarray(image).astype(np.float32), np.asarray(mask)[..., None] > 0


def shot_frames(shot: Shot, size: tuple[int, int], seed: int) -> Iterator[np.ndarray]:
    """The float32 RGB frames (0..255, before grain) of one shot."""
    w, h = size
    canvas = _canvas(shot.picture, size).astype(np.float32)
    spare = canvas.shape[1] - w
    x0 = shot.picture.shift * spare
    n = shot.frames
    speed = shot.speed * (8.0 if shot.trap is Trap.FAST_PAN else 1.0)
    moving = shot.camera is Camera.PAN or shot.trap is Trap.FAST_PAN
    figure, figure_mask = _object(size) if shot.trap is Trap.CROSSING else (None, None)
    flash_at = n // 2
    flash_len = 1 + seed % 3
    for i in range(n):
        if moving:
            span = 2 * spare
            x = (x0 + speed * i) % span
            x = span - x if x > spare else x  # bounce back at the canvas edge
            frame = canvas[:, int(x) : int(x) + w]
        elif shot.camera is Camera.ZOOM:
            z = 1.0 + 0.15 * i / max(1, n - 1)
            cw, ch = int(w / z), int(h / z)
            left, top = int(x0) + (w - cw) // 2, (h - ch) // 2
            crop = canvas[top : top + ch, left : left + cw].astype(np.uint8)
            frame = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))
            frame = frame.astype(np.float32)
        else:
            frame = canvas[:, int(x0) : int(x0) + w]
        if figure is not None:
            frame = frame.copy()
            fw = figure.shape[1]
            x = int(-fw + (w + fw) * i / max(1, n - 1))
            a, b = max(0, x), min(w, x + fw)
            if b > a:
                top = h - figure.shape[0]
                region = frame[top:, a:b]
                m = figure_mask[:, a - x : b - x]
                region[:] = np.where(m, figure[:, a - x : b - x], region)
        if shot.trap is Trap.LIGHTING:
            frame = frame * (1.0 - 0.55 * i / max(1, n - 1))
        if shot.trap is Trap.FLASH and flash_at <= i < flash_at + flash_len:
            frame = frame * 0.3 + 230.0
        yield frame


def _grainy(frame: np.ndarray, rng: np.random.Generator, amount: int) -> np.ndarray:
    noise = rng.integers(-amount, amount + 1, size=frame.shape, dtype=np.int16)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def render(
    reel: Reel, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0
) -> tuple[Iterator[np.ndarray], Truth]:
    """The uint8 frames of a reel, and where its boundaries are."""
    if len(reel.joins) != len(reel.shots) - 1:
        raise ValueError("a reel needs one join between each two shots")
    truth = Truth(frames=0)
    # Layout first: a gradual join of n frames overlaps the end of one shot with the start of
    # the next (both keep moving through the blend).
    starts, position = [], 0
    for i, shot in enumerate(reel.shots):
        if i:
            join = reel.joins[i - 1]
            overlap = join.frames if join.kind is not Transition.CUT else 0
            position -= overlap
            if join.kind is Transition.CUT:
                truth.cuts.append(position)
            else:
                truth.gradual.append((position, position + overlap))
        blended = sum(
            j.frames for j in reel.joins[max(0, i - 1) : i + 1] if j.kind is not Transition.CUT
        )
        if blended >= shot.frames:
            raise ValueError(f"shot {i} of {reel.name} is shorter than its transitions")
        starts.append(position)
        truth.shot_starts.append(position)
        if shot.trap is not Trap.NONE:
            truth.traps.append((str(shot.trap), position, position + shot.frames))
        position += shot.frames
    truth.frames = position
    return _frames(reel, size, seed, starts), truth


def _frames(
    reel: Reel, size: tuple[int, int], seed: int, starts: list[int]
) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    sources = [shot_frames(s, size, seed + 7 * i) for i, s in enumerate(reel.shots)]
    end = starts[-1] + reel.shots[-1].frames
    for index in range(end):
        live = [i for i, s in enumerate(reel.shots) if starts[i] <= index < starts[i] + s.frames]
        if len(live) == 1:
            (i,) = live
            frame = next(sources[i])
            amount = 3 * GRAIN if reel.shots[i].trap is Trap.NOISE else GRAIN
            yield _grainy(frame, rng, amount)
            continue
        a, b = live[0], live[-1]
        join = reel.joins[b - 1]
        k = index - starts[b]  # 0 .. join.frames - 1
        alpha = (k + 1) / (join.frames + 1)
        fa, fb = next(sources[a]), next(sources[b])
        if join.kind is Transition.DISSOLVE:
            frame = (1 - alpha) * fa + alpha * fb
        else:  # fade: A down to black over the first half, B up from black over the second
            level = abs(2 * alpha - 1)
            frame = (fa if alpha < 0.5 else fb) * level
        yield _grainy(frame, rng, GRAIN)


def write_reel(
    path: Path,
    reel: Reel,
    encoding: Encoding = Encoding.DEFAULTS,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    fps: int = FPS,
    seed: int = 0,
) -> Truth:
    """Encode `reel` as H.264 into `path`; return its boundaries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames, truth = render(reel, size, seed)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if encoding is Encoding.FIXED_GOP:
            stream.options = {"x264-params": X264_FIXED_GOP}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return truth


# --- reels --------------------------------------------------------------------------------


def _cuts(shots: Sequence[Shot]) -> tuple[Join, ...]:
    return tuple(Join() for _ in shots[1:])


def similar_colour_reel(seconds: float = 2.0, variant: int = 0) -> Reel:
    """Hard cuts whose colour histograms hardly change: tiles rearranged, the same palette in
    another layout, shot / reverse shot."""
    n, p = round(seconds * FPS), 50 * variant  # p: another colouring per variant
    shots = (
        Shot(Picture(1 + p, 1), n),
        Shot(Picture(1 + p, 1, shuffle=1), n),  # same pixels, rearranged
        Shot(Picture(1 + p, 2), n),  # same palette, another layout
        Shot(Picture(1 + p, 2, mirror=True, shift=0.6), n),  # reverse shot
        Shot(Picture(1 + p, 2), n),
        Shot(Picture(1 + p, 2, mirror=True, shift=0.6), n),
        Shot(Picture(2 + p, 1), n),
        Shot(Picture(2 + p, 1, shuffle=2), n),
        Shot(Picture(2 + p, 3), n),
    )
    return Reel(f"similar-colours-{variant}", shots, _cuts(shots))


def moving_reel(seconds: float = 2.0, variant: int = 0) -> Reel:
    """Hard cuts between panning and zooming shots."""
    n, p = round(seconds * FPS), 50 * variant  # p: another colouring per variant
    shots = (
        Shot(Picture(3 + p, 1), n, Camera.PAN, speed=2.0),
        Shot(Picture(3 + p, 2, shift=0.5), n, Camera.PAN, speed=-2.5),
        Shot(Picture(4 + p, 1), n, Camera.ZOOM),
        Shot(Picture(4 + p, 1, mirror=True), n, Camera.PAN, speed=3.0),
        Shot(Picture(5 + p, 1), n, Camera.PAN, speed=1.5),
        Shot(Picture(5 + p, 1, shuffle=3), n, Camera.PAN, speed=1.5),
    )
    return Reel(f"moving-{variant}", shots, _cuts(shots))


def gradual_reel(seconds: float = 3.5, variant: int = 0) -> Reel:
    """Dissolves and fades through black of 0.5, 1.0 and 1.5 s."""
    n, p = round(seconds * FPS), 50 * variant  # p: another colouring per variant
    shots = tuple(
        Shot(Picture(6 + i % 3 + p, i), n, Camera.PAN if i % 2 else Camera.STILL, speed=1.0)
        for i in range(7)
    )
    joins = (
        Join(Transition.DISSOLVE, round(0.5 * FPS)),
        Join(Transition.DISSOLVE, round(1.0 * FPS)),
        Join(Transition.DISSOLVE, round(1.5 * FPS)),
        Join(Transition.FADE, round(0.5 * FPS)),
        Join(Transition.FADE, round(1.0 * FPS)),
        Join(Transition.FADE, round(1.5 * FPS)),
    )
    return Reel(f"gradual-{variant}", shots, joins)


def trap_reel(seconds: float = 3.0, variant: int = 0) -> Reel:
    """Shots that change a lot without a boundary, with hard cuts between them."""
    n, p = round(seconds * FPS), 50 * variant  # p: another colouring per variant
    shots = (
        Shot(Picture(9 + p, 1), n, trap=Trap.FLASH),
        Shot(Picture(10 + p, 1), n, trap=Trap.FAST_PAN),
        Shot(Picture(11 + p, 1), n, trap=Trap.CROSSING),
        Shot(Picture(12 + p, 1), n, trap=Trap.LIGHTING),
        Shot(Picture(13 + p, 1), n, trap=Trap.NOISE),
        Shot(Picture(14 + p, 1), n, Camera.PAN, trap=Trap.FLASH),
    )
    return Reel(f"traps-{variant}", shots, _cuts(shots))


def benchmark_reels(variants: int = 3, scale: float = 1.0) -> list[Reel]:
    """The benchmark's reels, each drawn in `variants` colourings; `scale` stretches shots."""
    return [
        make(seconds * scale, variant)
        for variant in range(variants)
        for make, seconds in (
            (similar_colour_reel, 2.0),
            (moving_reel, 2.0),
            (gradual_reel, 3.5),
            (trap_reel, 3.0),
        )
    ]
