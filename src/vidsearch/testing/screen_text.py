"""Frames and videos with on-screen text whose ground truth is known, for OCR tests and benchmarks.

Text is rendered with real fonts (Noto Sans and Serif for English; Nazli, Homa and Noto Naskh
for Persian, shaped right to left by Pillow's libraqm layout) over backgrounds that make OCR
work: fine noise, gradients and a photo-like multi-scale texture. The subtitle video burns
lines in at known times over moving texture, with a sign in the middle of the frame in one shot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from vidsearch.text.spelling import words_spelling

NOTO = Path("/usr/share/fonts/truetype/noto")
FARSIWEB = Path("/usr/share/fonts/truetype/farsiweb")
ENGLISH_FONTS = (
    NOTO / "NotoSans-Regular.ttf",
    NOTO / "NotoSans-Bold.ttf",
    NOTO / "NotoSerif-Regular.ttf",
)
PERSIAN_FONTS = (
    FARSIWEB / "nazli.ttf",
    FARSIWEB / "homa.ttf",
    NOTO / "NotoNaskhArabic-Regular.ttf",
)
BACKGROUNDS = ("noise", "gradient", "photo")
FONT_SIZES = (16, 20, 24, 32, 40, 48)
VIDEO_SIZE = (640, 360)
VIDEO_FPS = 25
LIGHT_BOX = (235, 230, 210)
GREY_BOX = (150, 150, 150)  # no bright pixels: nothing like an outlined subtitle

ENGLISH_LINES = (
    "Where did you leave the keys",
    "The train leaves at seven",
    "I never said that to her",
    "Open the window please",
    "We are going to the market",
    "This is not the right road",
    "Call me when you get home",
    "The museum is closed today",
    "He found the letter in the box",
    "Nobody knows the answer",
    "Turn left after the bridge",
    "She bought fresh bread and milk",
)
PERSIAN_LINES = (
    "کلیدها را کجا گذاشتی",
    "قطار ساعت هفت حرکت می‌کند",
    "من هرگز این را به او نگفتم",
    "لطفا پنجره را باز کن",
    "ما به بازار می‌رویم",
    "این راه درست نیست",
    "وقتی به خانه رسیدی زنگ بزن",
    "موزه امروز بسته است",
    "نامه را در جعبه پیدا کرد",
    "هیچ کس جواب را نمی‌داند",
    "بعد از پل به چپ بپیچ",
    "او نان تازه و شیر خرید",
)


@dataclass(frozen=True, slots=True)
class TextFrame:
    """One generated image (RGB uint8) and the line of text drawn on it."""

    image: np.ndarray
    text: str
    language: str  # "en" or "fa"
    font: str
    size: int
    background: str


@dataclass(frozen=True, slots=True)
class BurnedLine:
    """A line of text on screen from `start` to `end` (seconds); `region` is where."""

    text: str
    language: str
    start: float
    end: float
    # "band": a burned-in subtitle (outlined); "sign": dark on a light box, mid-frame;
    # "low sign": dark on a grey plate low in the frame, where subtitles sit
    region: str


@dataclass(frozen=True, slots=True)
class ScreenTextVideo:
    path: Path
    duration: float
    lines: tuple[BurnedLine, ...]
    sign_times: tuple[float, ...]  # frame times at which the sign is on screen


def background(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An RGB background of `kind`: "noise", "gradient", "photo" or "plain"."""
    w, h = size
    if kind == "noise":
        base = rng.integers(60, 160, size=3)
        image = base[None, None, :] + rng.normal(0, 18, size=(h, w, 3))
    elif kind == "gradient":
        a, b = rng.integers(0, 255, size=(2, 3))
        ramp = np.linspace(0.0, 1.0, w)[None, :, None]
        image = a + (b - a) * ramp + np.zeros((h, 1, 1))
    elif kind == "photo":
        image = np.zeros((h, w, 3))
        for cells, amplitude in ((4, 70.0), (16, 35.0), (64, 15.0)):
            coarse = rng.normal(0, amplitude, size=(max(2, h * cells // w), cells, 3))
            coarse_image = Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8))
            image += np.asarray(coarse_image.resize((w, h), Image.Resampling.BICUBIC)) - 128.0
        image += rng.integers(70, 170, size=3)
    else:
        image = np.full((h, w, 3), rng.integers(0, 255, size=3))
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_line(
    image: Image.Image,
    text: str,
    font_path: Path,
    size: int,
    *,
    center: tuple[int, int],
    outline: bool = True,
    box: tuple[int, int, int] = LIGHT_BOX,
) -> None:
    """Draw `text` centred at `center`: white with a dark outline (subtitle style), or dark on
    a `box` of that colour when `outline` is False (a sign)."""
    font = ImageFont.truetype(str(font_path), size)
    rtl = any("\u0600" <= c <= "\u06ff" for c in text)
    layout = {"direction": "rtl", "language": "fa"} if rtl else {"language": "en"}
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, **layout)
    x = center[0] - (right - left) // 2 - left
    y = center[1] - (bottom - top) // 2 - top
    if outline:
        stroke = max(1, size // 12)
        draw.text(
            (x, y), text, font=font, fill=(255, 255, 255), stroke_width=stroke,
            stroke_fill=(0, 0, 0), **layout,
        )  # fmt: skip
    else:
        pad = size // 3
        draw.rectangle((x + left - pad, y + top - pad, x + right + pad, y + bottom + pad), fill=box)
        draw.text((x, y), text, font=font, fill=(20, 20, 30), **layout)


def text_frames(
    count_per_language: int = 60,
    *,
    size: tuple[int, int] = VIDEO_SIZE,
    seed: int = 0,
) -> Iterator[TextFrame]:
    """Frames with one line each, cycling fonts, sizes (16-48 px) and backgrounds, placed in the
    subtitle band or mid-frame; English and Persian alternate."""
    _require_raqm()
    rng = np.random.default_rng(seed)
    for i in range(count_per_language):
        for language, lines, fonts in (
            ("en", ENGLISH_LINES, ENGLISH_FONTS),
            ("fa", PERSIAN_LINES, PERSIAN_FONTS),
        ):
            font = fonts[i % len(fonts)]
            font_size = FONT_SIZES[(i // len(fonts)) % len(FONT_SIZES)]
            text = _fitting_line(lines, i, font, font_size, int(size[0] * 0.92))
            kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]  # apart from the font
            image = Image.fromarray(background(kind, size, rng))
            in_band = i % 2 == 0
            y = int(size[1] * 0.88) if in_band else int(size[1] * rng.uniform(0.2, 0.6))
            draw_line(image, text, font, font_size, center=(size[0] // 2, y), outline=in_band)
            yield TextFrame(np.asarray(image), text, language, font.name, font_size, kind)


def _fitting_line(lines: Sequence[str], start: int, font: Path, size: int, width: int) -> str:
    """The first of `lines` from `start` on that fits in `width` px at `size` (the shortest
    when none does): text cut off by the frame's edge has no ground truth."""
    face = ImageFont.truetype(str(font), size)
    ordered = [lines[(start + k) % len(lines)] for k in range(len(lines))]
    for text in ordered:
        if face.getlength(text) <= width:
            return text
    return min(ordered, key=face.getlength)


def textless_frames(
    count: int, *, size: tuple[int, int] = VIDEO_SIZE, seed: int = 1
) -> Iterator[np.ndarray]:
    """Backgrounds alone (every kind, "plain" included): what a pre-filter should skip."""
    rng = np.random.default_rng(seed)
    kinds = (*BACKGROUNDS, "plain")
    for i in range(count):
        yield background(kinds[i % len(kinds)], size, rng)


def default_burned_lines() -> tuple[BurnedLine, ...]:
    """Alternating English and Persian subtitles (1.2-2.5 s each, some back to back) and a sign
    shown mid-frame from 7 s to 10 s."""
    return (
        BurnedLine("Where did you leave the keys", "en", 0.5, 2.0, "band"),
        BurnedLine("کلیدها را کجا گذاشتی", "fa", 2.5, 4.0, "band"),
        BurnedLine("The train leaves at seven", "en", 4.0, 5.2, "band"),
        BurnedLine("قطار ساعت هفت حرکت می‌کند", "fa", 5.8, 7.6, "band"),
        BurnedLine("Open the window please", "en", 8.0, 10.5, "band"),
        BurnedLine("ما به بازار می‌رویم", "fa", 11.0, 12.4, "band"),
        BurnedLine("MUSEUM ENTRANCE", "en", 7.0, 10.0, "sign"),
    )


def write_screen_text_video(
    path: Path,
    lines: Sequence[BurnedLine] | None = None,
    *,
    duration: float = 13.0,
    size: tuple[int, int] = VIDEO_SIZE,
    fps: int = VIDEO_FPS,
    seed: int = 0,
) -> ScreenTextVideo:
    """Write an H.264 video of moving texture with `lines` burned in at their times (default:
    `default_burned_lines`). A cut every 3.5 s changes the texture's colours."""
    _require_raqm()
    lines = tuple(default_burned_lines() if lines is None else lines)
    rng = np.random.default_rng(seed)
    w, h = size
    textures = [background("photo", (2 * w, h), rng) for _ in range(int(duration // 3.5) + 1)]
    frames = round(duration * fps)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for index in range(frames):
            t = index / fps
            texture = textures[int(t // 3.5)]
            shift = (index * 3) % w
            image = Image.fromarray(np.ascontiguousarray(texture[:, shift : shift + w]))
            for i, line in enumerate(lines):
                if line.start <= t < line.end:
                    fonts = ENGLISH_FONTS if line.language == "en" else PERSIAN_FONTS
                    if line.region == "band":
                        center = (w // 2, int(h * 0.9))
                        draw_line(image, line.text, fonts[i % 2], 24, center=center)
                    elif line.region == "sign":
                        center = (w // 2, int(h * 0.4))
                        draw_line(image, line.text, fonts[0], 36, center=center, outline=False)
                    else:
                        center = (w // 2, int(h * 0.88))
                        draw_line(
                            image, line.text, fonts[0], 36, center=center, outline=False,
                            box=GREY_BOX,
                        )  # fmt: skip
            frame = av.VideoFrame.from_image(image)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    signs = [line for line in lines if line.region != "band"]
    sign_times = tuple(
        t for line in signs for t in np.arange(line.start + 0.5, line.end - 0.2, 1.0).round(2)
    )
    return ScreenTextVideo(path, frames / fps, lines, tuple(float(t) for t in sign_times))


def write_textless_video(
    path: Path, *, duration: float = 8.0, size: tuple[int, int] = VIDEO_SIZE, fps: int = VIDEO_FPS
) -> ScreenTextVideo:
    """Moving texture with no text at all."""
    return write_screen_text_video(path, (), duration=duration, size=size, fps=fps, seed=3)


def _require_raqm() -> None:
    """Persian needs libraqm's shaping: without it Pillow draws isolated letters left to right."""
    if not features.check("raqm"):
        raise RuntimeError("Pillow was built without libraqm: Persian text cannot be shaped")


def character_error_rate(found: str, truth: str) -> float:
    """Edit distance between `found` and `truth` over the length of `truth`, both spelled for
    matching (Persian normalised, spaces collapsed)."""
    a, b = _spelled(found), _spelled(truth)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(1, len(b))


def _spelled(text: str) -> str:
    return " ".join(words_spelling(text).split())
