"""Moment retrieval with dialogue: generated videos whose scenes and subtitle lines are known,
queries that need the picture, the dialogue or both, and Recall@k per search mode.

    python -m vidsearch.evaluation.dialogue [--videos 3] [--json]

The set: `videos` films of 8 two-second scenes, each scene one palette colour (every colour
once per film, so a colour names one scene per film); English subtitles for even films,
Persian for odd ones (sidecar .srt files). Eight *unique* lines are each said in one scene;
four *repeated* lines are each said in one scene of every film, in scenes of different
colours. Queries:

- picture: "a red scene" (relevant: every scene of that colour);
- dialogue: a few words of a unique line, in its own language (BM25 and meaning both apply);
- dialogue, other language: a unique line's words in the other language (only meaning);
- both: a colour and a repeated line's words: only their combination names one scene.

A moment counts when it is in the target's video and its temporal IoU with the target scene
is at least 0.5. The encoders are `testing.toy_encoders` (colour for pictures, hashed words
with a small lexicon for meaning): the figures measure the fusion, not a model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor
from vidsearch.search import Searcher
from vidsearch.search.fusion import FusionMethod
from vidsearch.testing.toy_encoders import ColourEncoder, HashingSentenceEncoder
from vidsearch.testing.videos import PALETTE, Scene, SceneKind, write_video
from vidsearch.types import Moment, SearchMode

FPS = 25
SCENE_S = 2
MIN_IOU = 0.5
KS = (1, 5)
COLOURS_EN = ["red", "green", "blue", "yellow", "purple", "cyan", "orange", "grey"]
COLOURS_FA = ["قرمز", "سبز", "آبی", "زرد", "بنفش", "فیروزه‌ای", "نارنجی", "خاکستری"]
# (English, Persian, English query words, Persian query words)
UNIQUE_LINES = [
    ("I will never come back.", "من هرگز برنمی‌گردم.", "never come back", "هرگز برنمی‌گردم"),
    ("Where is the key?", "کلید کجاست؟", "where is the key", "کلید کجاست"),
    ("The train leaves at midnight.", "قطار نیمه‌شب می‌رود.", "train at midnight", "قطار نیمه‌شب"),
    ("Call the doctor now!", "همین حالا دکتر را صدا کن!", "call the doctor", "دکتر را صدا کن"),
    ("The money is in the car.", "پول در ماشین است.", "money in the car", "پول در ماشین"),
    ("Happy birthday, my friend.", "تولدت مبارک، دوست من.", "happy birthday friend", "تولدت مبارک"),
    ("Don't open the window.", "پنجره را باز نکن.", "open the window", "پنجره را باز نکن"),
    ("It is raining again.", "دوباره باران می‌بارد.", "raining again", "دوباره باران"),
]
REPEATED_LINES = [
    ("We have no time.", "ما وقت نداریم.", "no time", "وقت نداریم"),
    ("The dog is hungry.", "سگ گرسنه است.", "dog is hungry", "سگ گرسنه"),
    ("Turn off the lights.", "چراغ‌ها را خاموش کن.", "turn off the lights", "چراغ‌ها خاموش"),
    ("She lost her ring.", "او انگشترش را گم کرد.", "lost her ring", "انگشترش گم"),
]
LEXICON = {  # Persian word (as normalised) -> English words: the toy's "multilingual" space
    "من": "i", "هرگز": "never", "برنمیگردم": "come back", "کلید": "key", "کجاست": "where is",
    "قطار": "train", "نیمهشب": "midnight", "میرود": "leaves", "حالا": "now", "دکتر": "doctor",
    "صدا": "call", "پول": "money", "ماشین": "car", "تولدت": "birthday", "مبارک": "happy",
    "دوست": "friend", "پنجره": "window", "باز": "open", "نکن": "don't", "دوباره": "again",
    "باران": "raining", "میبارد": "raining", "وقت": "time", "نداریم": "have no",
    "سگ": "dog", "گرسنه": "hungry", "چراغها": "lights", "خاموش": "turn off",
    "انگشترش": "ring", "گم": "lost",
}  # fmt: skip
STOP_WORDS = frozenset("the is a at in my her i it we she را است کن در او همین کرد ما".split())


class QueryKind(StrEnum):
    PICTURE = "picture"
    DIALOGUE = "dialogue"
    CROSS_LANGUAGE = "dialogue, other language"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Target:
    video: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class EvalQuery:
    text: str
    kind: QueryKind
    targets: tuple[Target, ...]  # any of them counts


@dataclass(slots=True)
class EvalSet:
    videos: list[Path] = field(default_factory=list)
    queries: list[EvalQuery] = field(default_factory=list)


def _srt(lines: Sequence[tuple[float, float, str]]) -> str:
    def clock(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(
        f"{i}\n{clock(a)} --> {clock(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(lines, 1)
    )


def build_set(folder: Path, videos: int = 3) -> EvalSet:
    """Write the videos and their subtitles into `folder`; the queries with their targets."""
    result = EvalSet()
    scenes_per_video = len(PALETTE)
    for v in range(videos):
        name = f"film{v}.mp4"
        persian = v % 2 == 1
        colours = [(c * 3 + v) % len(PALETTE) for c in range(scenes_per_video)]  # a shuffle
        scenes = [Scene(SceneKind.TEXTURE, SCENE_S * FPS, color=c) for c in colours]
        path = folder / name
        write_video(path, scenes, fps=FPS, seed=v * 100)
        lines = []
        span = {s: (s * SCENE_S, (s + 1) * SCENE_S) for s in range(scenes_per_video)}
        # repeated lines: every film says each one, in a scene of another colour per film
        for r, (en, fa, query_en, query_fa) in enumerate(REPEATED_LINES):
            colour = (2 * r + v) % len(PALETTE)
            scene = colours.index(colour)
            start, end = span[scene]
            lines.append((start + 0.4, end - 0.4, fa if persian else en, scene))
            words = query_fa if persian else query_en
            colour_word = COLOURS_FA[colour] if persian else COLOURS_EN[colour]
            target = Target(name, start, end)
            result.queries.append(EvalQuery(f"{colour_word} {words}", QueryKind.BOTH, (target,)))
        # unique lines: film v says lines v, v + videos, ... (each line in exactly one film)
        free = [s for s in range(scenes_per_video) if all(s != x for *_, x in lines)]
        unique = [u for u in range(len(UNIQUE_LINES)) if u % videos == v]
        for scene, u in zip(free, unique, strict=False):
            en, fa, query_en, query_fa = UNIQUE_LINES[u]
            start, end = span[scene]
            lines.append((start + 0.4, end - 0.4, fa if persian else en, scene))
            target = Target(name, start, end)
            own, other = (query_fa, query_en) if persian else (query_en, query_fa)
            result.queries.append(EvalQuery(own, QueryKind.DIALOGUE, (target,)))
            result.queries.append(EvalQuery(other, QueryKind.CROSS_LANGUAGE, (target,)))
        lines.sort()
        (folder / f"film{v}.{'fa' if persian else 'en'}.srt").write_text(
            _srt([(a, b, text) for a, b, text, _ in lines]), encoding="utf-8"
        )
        result.videos.append(path)
    for colour, word in enumerate(COLOURS_EN):
        targets = []
        for v in range(videos):
            colours = [(c * 3 + v) % len(PALETTE) for c in range(scenes_per_video)]
            scene = colours.index(colour)
            targets.append(Target(f"film{v}.mp4", scene * SCENE_S, (scene + 1) * SCENE_S))
        result.queries.append(EvalQuery(f"a {word} scene", QueryKind.PICTURE, tuple(targets)))
    return result


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def first_hit(moments: Sequence[Moment], targets: Sequence[Target]) -> int | None:
    """The rank (1-based) of the first moment matching a target, or None."""
    for rank, m in enumerate(moments, 1):
        if any(
            m.video == t.video and iou((m.start, m.end), (t.start, t.end)) >= MIN_IOU
            for t in targets
        ):
            return rank
    return None


@dataclass(frozen=True, slots=True)
class Setting:
    label: str
    mode: SearchMode
    fusion: FusionMethod = FusionMethod.RRF


SETTINGS = (
    Setting("visual", SearchMode.VISUAL),
    Setting("dialogue (RRF)", SearchMode.DIALOGUE, FusionMethod.RRF),
    Setting("dialogue (score sum)", SearchMode.DIALOGUE, FusionMethod.SCORE_SUM),
    Setting("hybrid (RRF)", SearchMode.HYBRID, FusionMethod.RRF),
    Setting("hybrid (score sum)", SearchMode.HYBRID, FusionMethod.SCORE_SUM),
)


def evaluate(folder: Path, videos: int = 3) -> dict[str, dict[str, dict[str, float]]]:
    """Recall@k: {setting: {query kind (and "all"): {"R@1": ..., "R@5": ...}}}."""
    data = build_set(folder / "videos", videos)
    encoder = ColourEncoder()
    dialogue = DialogueEncoder(
        "toy-hashing",
        open_encoder=lambda _: HashingSentenceEncoder(LEXICON, stop_words=STOP_WORDS),
    )
    results: dict[str, dict[str, dict[str, float]]] = {}
    with IndexStore(folder / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue)
        for path in data.videos:
            report = ingestor.index_file(path)
            if report.error or report.warnings:
                raise RuntimeError(f"{path}: {report.error or report.warnings}")
        for setting in SETTINGS:
            searcher = Searcher(store, encoder, dialogue=dialogue, fusion=setting.fusion)
            ranks: dict[str, list[int | None]] = {}
            for query in data.queries:
                found = searcher.search_text(query.text, mode=setting.mode, top_k=max(KS))
                rank = first_hit(found.moments, query.targets)
                ranks.setdefault(str(query.kind), []).append(rank)
                ranks.setdefault("all", []).append(rank)
            results[setting.label] = {
                kind: {
                    f"R@{k}": round(sum(r is not None and r <= k for r in found) / len(found), 3)
                    for k in KS
                }
                for kind, found in ranks.items()
            }
    return results


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    kinds = [str(k) for k in QueryKind] + ["all"]
    head = "| setting | " + " | ".join(f"{k} R@1 / R@5" for k in kinds) + " |"
    rows = [head, "|" + " --- |" * (len(kinds) + 1)]
    for label, by_kind in results.items():
        cells = [f"{by_kind[k]['R@1']:.2f} / {by_kind[k]['R@5']:.2f}" for k in kinds]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=3, help="films in the set (2-8)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vidsearch-dialogue-eval-") as folder:
        results = evaluate(Path(folder), max(2, min(8, args.videos)))
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
