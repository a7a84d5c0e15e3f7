"""The end-to-end proof, offline, in CPU minutes: a Persian text encoder trained into a frozen
image space retrieves scenes it never saw described, and finds the moment in a video.

1. the shapes world (`vidsearch.data.shapes`): images with English and Persian captions; the
   test split holds colour+shape pairs that no training image shows;
2. a tiny CLIP trained from scratch on the English captions (`kind = "clip"`);
3. a Persian text encoder, from scratch, trained into the tiny CLIP's frozen image space
   (`kind = "text"`: the same `train` as `vidsearch train CONFIG`);
4. Persian Recall@k on the test split (held-out pairs), measured through the saved bundles the
   way search reads them, next to chance, the same encoder untrained, and English CLIP;
5. a video of test scenes, indexed with the trained bundle, searched with Persian captions.

Everything lands in one directory (the configs as JSON, rerunnable with `vidsearch train`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.config import Settings
from vidsearch.data.dataset import Dataset
from vidsearch.data.records import Split
from vidsearch.data.shapes import WorldConfig, parse_caption, render_scene, write_world
from vidsearch.encoders.bundles import resolve_bundle
from vidsearch.encoders.clip_common import ClipFiles
from vidsearch.encoders.model_bundle import EncoderOptions, open_bundle
from vidsearch.train.bundle_output import text_bundle_writer
from vidsearch.train.captions import CaptionPairs, load_pairs
from vidsearch.train.config import CaptionChoice, TrainConfig, parse_config
from vidsearch.train.embeddings import image_vectors
from vidsearch.train.errors import TrainError
from vidsearch.train.runner import TrainResult, torch_threads, train
from vidsearch.train.slideshow import write_slideshow
from vidsearch.train.student import build_student
from vidsearch.types import EncoderBackend

Notify = Callable[[str], None]
REGISTERED_MODEL = "vidsearch-fa-proof"
LANGUAGE = "fa"


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ProofPlan:
    """How big the proof is. The default takes a few CPU minutes; `QUICK` (the test's) about
    one."""

    images: int = 1200
    clip_epochs: int = 40
    text_epochs: int = 30
    scenes: int = 10  # in the video
    image_size: int = 64  # what the tiny CLIP sees (the world is drawn at 128)
    seed: int = 0
    threads: int | None = 1  # PyTorch threads: 1 is fastest for models this small

    def clip_config(self, directory: Path) -> dict[str, Any]:
        return {
            "kind": "clip",
            "name": "shapes-clip",
            "output": str(directory / "clip"),
            "seed": self.seed,
            "data": {"dataset": str(directory / "world"), "language": "en", "captions": "first"},
            "clip": {
                "image_size": self.image_size,
                "patch_size": 8,
                "hidden": 64,
                "layers": 2,
                "heads": 4,
            },
            "optim": {
                "epochs": self.clip_epochs,
                "batch_size": 64,
                "lr": 3e-3,
                "weight_decay": 0.05,
                "threads": self.threads,
            },
        }

    def text_config(self, directory: Path, tracking_uri: str | None) -> dict[str, Any]:
        config: dict[str, Any] = {
            "kind": "text",
            "name": "shapes-fa",
            "output": str(directory / "fa"),
            "bundle": str(directory / "clip" / "bundle"),
            "seed": self.seed,
            "data": {
                "dataset": str(directory / "world"),
                "language": LANGUAGE,
                "captions": "first",
            },
            "text": {"model": "scratch", "max_length": 32, "hidden": 64, "vocab_size": 200},
            "optim": {
                "epochs": self.text_epochs,
                "batch_size": 64,
                "lr": 2e-3,
                "head_lr": 2e-3,
                "threads": self.threads,
            },
        }
        if tracking_uri:
            config["mlflow"] = {
                "tracking_uri": tracking_uri,
                "experiment": "vidsearch-proof",
                "registered_model": REGISTERED_MODEL,
            }
        return config


QUICK = ProofPlan(images=1000, clip_epochs=25, text_epochs=20, scenes=8, image_size=48)


@dataclass
class VideoQuery:
    query: str
    start: float  # where its scene is
    end: float
    found_at: float | None  # the top moment's best frame
    score: float | None

    @property
    def found(self) -> bool:
        return self.found_at is not None and self.start <= self.found_at < self.end


@dataclass
class ProofReport:
    directory: str
    test_queries: int
    test_images: int
    held_out_pairs: list[str]
    chance: dict[str, float]
    trained: dict[str, float]  # Persian, the trained encoder
    untrained: dict[str, float]  # Persian, the same encoder before training
    english: dict[str, float]  # the tiny CLIP's own English text tower
    video: list[VideoQuery]
    seconds: dict[str, float] = field(default_factory=dict)
    registered_version: str | None = None

    @property
    def video_found(self) -> int:
        return sum(q.found for q in self.video)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["video"] = [asdict(q) | {"found": q.found} for q in self.video]
        data["video_found"] = self.video_found
        return data


def run_proof(
    directory: Path,
    plan: ProofPlan = ProofPlan(),
    *,
    tracking_uri: str | None = None,
    cache_dir: Path | None = None,
    backend: EncoderBackend = EncoderBackend.AUTO,
    notify: Notify = _quiet,
) -> ProofReport:
    """Run (or resume) the proof in `directory`; MLflow tracking when `tracking_uri` is given.
    `backend` runs the frozen and trained encoders (ONNX Runtime by default, as indexing
    does; PyTorch skips the one-off ONNX export)."""
    directory = Path(directory).absolute()
    cache_dir = cache_dir or directory / "cache"
    options = EncoderOptions(cache_dir=cache_dir, backend=backend, threads=plan.threads)
    with torch_threads(plan.threads):
        return _prove(directory, plan, options, tracking_uri, notify)


def _prove(
    directory: Path,
    plan: ProofPlan,
    options: EncoderOptions,
    tracking_uri: str | None,
    notify: Notify,
) -> ProofReport:
    seconds: dict[str, float] = {}
    clock = time.monotonic()

    notify("1/5 the shapes world")
    world = WorldConfig(images=plan.images, size=128, seed=plan.seed)
    with Dataset.open(directory / "world", writable=True, create=True) as dataset:
        write_world(dataset, world)
    seconds["world"], clock = time.monotonic() - clock, time.monotonic()

    notify("2/5 a tiny CLIP from scratch, English captions")
    clip = _train(directory / "clip.json", plan.clip_config(directory), options, notify)
    seconds["clip"], clock = clip.seconds, time.monotonic()

    notify("3/5 a Persian text encoder into the tiny CLIP's frozen image space")
    text_config = _config(directory / "fa.json", plan.text_config(directory, tracking_uri))
    persian = train(text_config, notify=notify, encoder_options=options)
    seconds["text"], clock = persian.seconds, time.monotonic()

    notify("4/5 Recall@k on the held-out test split")
    dataset = Dataset.open(directory / "world")
    test_fa = load_pairs(dataset, split="test", language=LANGUAGE, captions=CaptionChoice.FIRST)
    test_en = load_pairs(dataset, split="test", language="en", captions=CaptionChoice.FIRST)
    untrained = _untrained_bundle(directory, text_config, dataset)
    cache = directory / "cache"
    trained = _recall(persian.bundle, test_fa, dataset, options, cache)
    before = _recall(untrained, test_fa, dataset, options, cache)
    english = _recall(persian.bundle, test_en, dataset, options, cache)
    seconds["evaluate"], clock = time.monotonic() - clock, time.monotonic()

    notify("5/5 a video of test scenes, indexed and searched in Persian")
    video = _video_search(directory, persian.bundle, dataset, plan, options)
    seconds["video"] = time.monotonic() - clock

    report = ProofReport(
        str(directory),
        len(test_fa.retrieval()),
        len(test_fa.image_ids),
        list(dataset.manifest.get("shapes", {}).get("held_out_pairs", [])),
        test_fa.retrieval().chance(),
        trained,
        before,
        english,
        video,
        {k: round(v, 2) for k, v in seconds.items()},
        persian.registered_version,
    )
    (directory / "report.json").write_text(
        json.dumps(report.to_json(), indent=2, ensure_ascii=False)
    )
    return report


def _config(path: Path, data: dict[str, Any]) -> TrainConfig:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return parse_config(data, where=str(path))


def _train(
    path: Path, data: dict[str, Any], options: EncoderOptions, notify: Notify
) -> TrainResult:
    return train(_config(path, data), notify=notify, encoder_options=options)


def _untrained_bundle(directory: Path, config: TrainConfig, dataset: Dataset) -> Path:
    """The Persian encoder exactly as training started (same seed), saved as a bundle."""
    target = directory / "fa-untrained"
    if (target / "bundle.json").is_file():
        return target
    source = resolve_bundle(config.bundle)
    train_pairs = load_pairs(
        dataset, split="train", language=LANGUAGE, captions=config.data.captions
    )
    student = build_student(
        config.text,
        image_dim=ClipFiles(source.image.ref).dim,
        texts=train_pairs.texts,
        workdir=Path(config.output) / "cache",
        seed=config.seed,
    )
    text_bundle_writer("shapes-fa-untrained", source, LANGUAGE)(target, student)
    return target


def _recall(
    bundle_dir: Path, pairs: CaptionPairs, dataset: Dataset, options: EncoderOptions, cache: Path
) -> dict[str, float]:
    """Recall@k of `pairs`' queries through a saved bundle, routed by language like a search."""
    retrieval = pairs.retrieval()
    with open_bundle(str(bundle_dir), options) as bundle:
        images = image_vectors(bundle.image, dataset, pairs.image_ids, cache)
        texts = bundle.encode_texts(list(retrieval.queries))
    return retrieval.recall(texts, images)


def _video_search(
    directory: Path, bundle_dir: Path, dataset: Dataset, plan: ProofPlan, options: EncoderOptions
) -> list[VideoQuery]:
    """Scenes of distinct test captions, drawn anew into a video; each found by its caption."""
    import vidsearch
    from vidsearch.ingest import IngestStatus

    captions = {}
    for image in dataset.images(split=Split.TEST):
        fa = dataset.caption((image.image_id, LANGUAGE, "shapes", 0))
        en = dataset.caption((image.image_id, "en", "shapes", 0))
        if fa is not None and en is not None:
            captions.setdefault(fa.caption, en.caption)
    chosen = random.Random(plan.seed).sample(sorted(captions), min(plan.scenes, len(captions)))
    pictures = [
        np.asarray(render_scene(parse_caption(captions[fa]), size=128, seed=10_000 + i))
        for i, fa in enumerate(chosen)
    ]
    path = directory / "video" / "shapes.mp4"
    slides = write_slideshow(path, pictures)
    settings = Settings(
        home=directory / "home",
        model=str(bundle_dir),
        cache_dir=options.cache_dir,
        backend=options.backend,
        threads=options.threads,
        batch_size=16,
        qdrant_url=None,
    )
    found = []
    with vidsearch.open(settings=settings) as library:
        failed = [r for r in library.index([path]).videos if r.status is IngestStatus.FAILED]
        if failed:
            raise TrainError(f"indexing the proof's video {path} failed: {failed[0].error}")
        for fa, slide in zip(chosen, slides, strict=True):
            moments = library.search(fa, top_k=1).moments
            top = moments[0] if moments else None
            found.append(
                VideoQuery(
                    fa,
                    slide.start,
                    slide.end,
                    top.timestamp if top else None,
                    round(float(top.score), 4) if top else None,
                )
            )
    return found
