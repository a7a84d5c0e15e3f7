"""A synthetic captioned-image world: coloured shapes in positions on a grey background,
with English and Persian captions, for proving a training run end to end.

    "a red circle at the top left and a blue square at the center"
    «دایره قرمز در بالا سمت چپ و مربع آبی در وسط»

Five colours, three shapes, five positions; one to `max_objects` shapes per image, each in
its own position. Everything follows from the seed: the same seed writes the same images
(byte for byte) and captions. Splits: `test` images each hold at least one *held-out* colour
and shape pair (say, "green triangle") that no `train` or `validation` image shows, though
each colour and each shape appears in training with others; so `validation` measures
in-distribution retrieval and `test` compositional generalisation. Each image has a caption
of the whole scene (n = 0) and one per shape (n = 1...), in both languages.

`render_caption` draws a frame for any caption of this grammar, in either language, so a
video of such scenes can be made later.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from vidsearch.data.errors import DataError
from vidsearch.data.progress import NoProgress, Progress
from vidsearch.data.records import CaptionRecord, Split
from vidsearch.text import normalize_persian

if TYPE_CHECKING:
    from PIL import Image

    from vidsearch.data.dataset import Dataset

SOURCE = "shapes"
BACKGROUND = (128, 128, 128)
DEFAULT_IMAGES = 600
DEFAULT_SIZE = 224
DEFAULT_MAX_OBJECTS = 3
DEFAULT_HELD_OUT = 3
DEFAULT_VALIDATION = 0.1
DEFAULT_TEST = 0.2


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    WHITE = "white"


class Shape(StrEnum):
    CIRCLE = "circle"
    SQUARE = "square"
    TRIANGLE = "triangle"


class Position(StrEnum):
    TOP_LEFT = "top left"
    TOP_RIGHT = "top right"
    BOTTOM_LEFT = "bottom left"
    BOTTOM_RIGHT = "bottom right"
    CENTER = "center"


PERSIAN: dict[str, str] = {
    Colour.RED: "قرمز",
    Colour.GREEN: "سبز",
    Colour.BLUE: "آبی",
    Colour.YELLOW: "زرد",
    Colour.WHITE: "سفید",
    Shape.CIRCLE: "دایره",
    Shape.SQUARE: "مربع",
    Shape.TRIANGLE: "مثلث",
    Position.TOP_LEFT: "بالا سمت چپ",
    Position.TOP_RIGHT: "بالا سمت راست",
    Position.BOTTOM_LEFT: "پایین سمت چپ",
    Position.BOTTOM_RIGHT: "پایین سمت راست",
    Position.CENTER: "وسط",
}
RGB = {
    Colour.RED: (220, 30, 30),
    Colour.GREEN: (30, 170, 50),
    Colour.BLUE: (30, 70, 220),
    Colour.YELLOW: (245, 215, 30),
    Colour.WHITE: (250, 250, 250),
}
CENTRES = {
    Position.TOP_LEFT: (0.25, 0.25),
    Position.TOP_RIGHT: (0.75, 0.25),
    Position.BOTTOM_LEFT: (0.25, 0.75),
    Position.BOTTOM_RIGHT: (0.75, 0.75),
    Position.CENTER: (0.5, 0.5),
}
AND = {"en": " and ", "fa": " و "}


@dataclass(frozen=True, slots=True)
class Thing:
    """One shape in a scene."""

    colour: Colour
    shape: Shape
    position: Position

    def caption(self, language: str) -> str:
        if language == "en":
            return f"a {self.colour} {self.shape} at the {self.position}"
        if language == "fa":
            return f"{PERSIAN[self.shape]} {PERSIAN[self.colour]} در {PERSIAN[self.position]}"
        raise DataError(f"the shapes world speaks en and fa, not {language!r}")


Scene = tuple[Thing, ...]


def scene_caption(scene: Scene, language: str) -> str:
    return AND[language].join(thing.caption(language) for thing in scene)


def _alternatives(values: dict[str, str]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


_EN = re.compile(
    rf"^an? ({_alternatives({c.value: c for c in Colour})}) "
    rf"({_alternatives({s.value: s for s in Shape})}) "
    rf"(?:at|in) the ({_alternatives({p.value: p for p in Position})})$"
)
_FROM_PERSIAN = {normalize_persian(fa): en for en, fa in PERSIAN.items()}
_FA = re.compile(
    rf"^({_alternatives({normalize_persian(PERSIAN[s]): s for s in Shape})}) "
    rf"({_alternatives({normalize_persian(PERSIAN[c]): c for c in Colour})}) "
    rf"در ({_alternatives({normalize_persian(PERSIAN[p]): p for p in Position})})$"
)


def parse_caption(text: str) -> Scene:
    """The scene an English or Persian caption of this world describes."""
    persian = bool(re.search("[\u0600-\u06ff]", text))
    clean = normalize_persian(text) if persian else " ".join(text.lower().split())
    clean = clean.strip(" .")
    things = []
    for part in clean.split(AND["fa"] if persian else AND["en"]):
        match = (_FA if persian else _EN).match(part.strip())
        if match is None:
            raise DataError(f"not a caption of the shapes world: {text!r} (at {part!r})")
        words = [_FROM_PERSIAN[w] for w in match.groups()] if persian else list(match.groups())
        if persian:
            words = [words[1], words[0], words[2]]  # Persian puts the shape first
        things.append(Thing(Colour(words[0]), Shape(words[1]), Position(words[2])))
    if len({t.position for t in things}) != len(things):
        raise DataError(f"two shapes in one position: {text!r}")
    return tuple(things)


def render_scene(scene: Scene, *, size: int = DEFAULT_SIZE, seed: int = 0) -> Image.Image:
    """An RGB image of `scene`; `seed` jitters sizes and places a little."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for thing in scene:
        cx, cy = CENTRES[thing.position]
        x = (cx + rng.uniform(-0.03, 0.03)) * size
        y = (cy + rng.uniform(-0.03, 0.03)) * size
        r = rng.uniform(0.09, 0.12) * size
        colour = RGB[thing.colour]
        if thing.shape is Shape.CIRCLE:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif thing.shape is Shape.SQUARE:
            s = r * 0.9
            draw.rectangle((x - s, y - s, x + s, y + s), fill=colour)
        else:
            draw.polygon([(x, y - r), (x - r, y + r * 0.8), (x + r, y + r * 0.8)], fill=colour)
    return image


def render_caption(caption: str, *, size: int = DEFAULT_SIZE, seed: int = 0) -> Image.Image:
    """A frame showing what `caption` (English or Persian, this world's grammar) describes."""
    return render_scene(parse_caption(caption), size=size, seed=seed)


def shapes_dictionary() -> dict[str, str]:
    """English -> Persian phrases covering every caption of this world (for
    `DictionaryTranslator`): "a red circle" -> «دایره قرمز», "at the top left" -> «در بالا سمت
    چپ», "and" -> «و»."""
    entries = {"and": "و"}
    for colour in Colour:
        for shape in Shape:
            phrase = f"{PERSIAN[shape]} {PERSIAN[colour]}"
            entries[f"a {colour} {shape}"] = entries[f"{colour} {shape}"] = phrase
    for position in Position:
        entries[f"at the {position}"] = f"در {PERSIAN[position]}"
    return entries


@dataclass(frozen=True, slots=True)
class WorldConfig:
    images: int = DEFAULT_IMAGES
    seed: int = 0
    size: int = DEFAULT_SIZE
    max_objects: int = DEFAULT_MAX_OBJECTS
    held_out: int = DEFAULT_HELD_OUT
    validation: float = DEFAULT_VALIDATION
    test: float = DEFAULT_TEST

    def __post_init__(self) -> None:
        if self.images < 1 or not 32 <= self.size <= 4096:
            raise DataError("the world needs at least 1 image of 32 to 4096 pixels")
        if not 1 <= self.max_objects <= len(Position):
            raise DataError(f"max objects must be 1 to {len(Position)}, not {self.max_objects}")
        if not 0 <= self.held_out <= len(Colour):
            raise DataError(f"held-out pairs must be 0 to {len(Colour)}, not {self.held_out}")
        if self.validation < 0 or self.test < 0 or self.validation + self.test >= 1:
            raise DataError("validation and test fractions must be >= 0 and sum below 1")
        if self.test > 0 and self.held_out == 0:
            raise DataError("a test split needs held-out pairs (held_out >= 1)")


def held_out_pairs(config: WorldConfig) -> list[tuple[Colour, Shape]]:
    """Colour and shape pairs kept out of training: distinct colours, shapes spread evenly."""
    rng = random.Random(f"held-out-{config.seed}")
    colours = rng.sample(list(Colour), config.held_out)
    shapes = rng.sample(list(Shape), len(Shape))
    return [(colour, shapes[i % len(shapes)]) for i, colour in enumerate(colours)]


def plan_world(config: WorldConfig) -> list[tuple[str, Split, Scene]]:
    """(image id, split, scene) for every image, from the seed alone."""
    held = set(held_out_pairs(config))
    rng = random.Random(config.seed)
    plan = []
    tests = round(config.images * config.test)
    validations = round(config.images * config.validation)
    splits = [Split.TEST] * tests + [Split.VALIDATION] * validations
    splits += [Split.TRAIN] * (config.images - len(splits))
    rng.shuffle(splits)
    for number, split in enumerate(splits):
        count = rng.randint(1, config.max_objects)
        positions = rng.sample(list(Position), count)
        things = []
        for index, position in enumerate(positions):
            if split is Split.TEST and index == 0:
                colour, shape = rng.choice(sorted(held))
            else:
                while True:
                    colour, shape = rng.choice(list(Colour)), rng.choice(list(Shape))
                    if split is Split.TEST or (colour, shape) not in held:
                        break
            things.append(Thing(colour, shape, position))
        rng.shuffle(things)
        plan.append((f"{SOURCE}-{number:06d}", split, tuple(things)))
    return plan


def write_world(
    dataset: Dataset, config: WorldConfig, *, progress: Progress | None = None
) -> dict[str, int]:
    """Render the world into `dataset` (images already there are not drawn again)."""
    progress = progress or NoProgress()
    dataset.manifest["shapes"] = {
        "seed": config.seed,
        "images": config.images,
        "size": config.size,
        "max_objects": config.max_objects,
        "held_out_pairs": [f"{c} {s}" for c, s in held_out_pairs(config)],
    }
    drawn = captions = 0
    plan = plan_world(config)
    progress.start("draw shapes", len(plan))
    try:
        for number, (image_id, split, scene) in enumerate(plan):
            existing = dataset.image(image_id)
            if existing is None or not (dataset.root / existing.file).is_file():
                image = render_scene(scene, size=config.size, seed=config.seed * 1_000_003 + number)
                dataset.add_image(image_id, image, source=SOURCE, split=split)
                drawn += 1
            elif existing.split != split:
                raise DataError(
                    f"{dataset.root} already holds a shapes world made with other settings "
                    f"({image_id} is in {existing.split}, not {split}); use a new directory"
                )
            for language in ("en", "fa"):
                texts = [scene_caption(scene, language)]
                texts += [thing.caption(language) for thing in scene] if len(scene) > 1 else []
                captions += dataset.upsert_captions(
                    CaptionRecord(image_id, language, SOURCE, n, text)
                    for n, text in enumerate(texts)
                )
            progress.advance()
    finally:
        progress.finish()
        dataset.flush()
    return {"images": len(plan), "drawn": drawn, "captions": captions}
