"""`train(config)`: build the task a config describes, train it (resuming a stopped run),
track it, and leave the trained bundle in OUTPUT/bundle.

    OUTPUT/bundle/        the best epoch's model as a vidsearch bundle (+ training.json)
    OUTPUT/checkpoints/   the last epoch's checkpoint (resume)
    OUTPUT/cache/         frozen image and teacher embeddings, the scratch model's tokenizer
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidsearch.config import default_cache
from vidsearch.data.dataset import Dataset
from vidsearch.encoders.model_bundle import EncoderOptions, ModelBundle, open_bundle
from vidsearch.errors import ConfigError
from vidsearch.train.bundle_output import (
    clip_bundle_writer,
    text_bundle_writer,
    write_training_manifest,
)
from vidsearch.train.captions import CaptionPairs, load_pairs
from vidsearch.train.checkpoint import Checkpoints, Progress
from vidsearch.train.config import Kind, TrainConfig
from vidsearch.train.embeddings import image_vectors, text_vectors
from vidsearch.train.loss import LogitScale
from vidsearch.train.precision import choose
from vidsearch.train.tracking import BEST_PREFIX, Tracker, tracker_for
from vidsearch.train.trainer import Callback, LoopOptions, Trainer

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class TrainResult:
    bundle: Path
    best_epoch: int | None
    metrics: dict[str, float]  # the best epoch's validation metrics
    baseline: dict[str, float]  # before any training (kept in the checkpoint)
    epochs: int
    steps: int
    seconds: float  # this invocation
    resumed: bool
    precision: str
    run_id: str | None
    registered_version: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"bundle": str(self.bundle)}


@dataclass(frozen=True)
class _Built:
    task: Any
    image_identity: Callable[[], str]


def train(
    config: TrainConfig,
    *,
    restart: bool = False,
    callbacks: Sequence[Callback] = (),
    notify: Notify = _quiet,
    tracker: Tracker | None = None,
    encoder_options: EncoderOptions | None = None,
) -> TrainResult:
    """Train as `config` says; a rerun resumes from the last checkpoint (`restart`: start over).

    `encoder_options` run the frozen image encoder and the teacher (default: vidsearch's
    cache for ONNX exports, the fastest backend, `optim.threads`)."""
    started = time.monotonic()
    output = Path(config.output)
    checkpoints = Checkpoints(output / "checkpoints", config.fingerprint())
    bundle_dir = output / "bundle"
    if restart:
        checkpoints.clear()
        shutil.rmtree(bundle_dir, ignore_errors=True)
    resume = checkpoints.load()
    tracker = tracker or tracker_for(config.mlflow, notify=notify)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    mixed = choose(config.optim.precision, device)
    options = encoder_options or EncoderOptions(
        cache_dir=default_cache(), threads=config.optim.threads
    )
    with torch_threads(config.optim.threads):
        torch.manual_seed(config.seed)
        if config.kind is Kind.TEXT:
            built = _text_task(config, output, options, notify)
        else:
            built = _clip_task(config, output)
        trainer = Trainer(
            built.task,
            LoopOptions(
                epochs=config.optim.epochs,
                accumulation=config.optim.accumulation,
                weight_decay=config.optim.weight_decay,
                warmup=config.optim.warmup,
                grad_clip=config.optim.grad_clip,
            ),
            checkpoints,
            bundle_dir=bundle_dir,
            mixed=mixed,
            metrics=tracker,
            callbacks=callbacks,
            notify=notify,
        )
        with tracker.run(resume[0].run_id if resume else None, config.flat()) as run_id:
            progress = trainer.fit(resume, run_id)
            write_training_manifest(
                bundle_dir,
                config,
                progress,
                image_identity=built.image_identity(),
            )
            best = {f"{BEST_PREFIX}{k}": v for k, v in progress.best.items()}
            tracker.log_metrics(best, step=progress.step)
            version = tracker.register(progress.best, tracker.log_bundle(bundle_dir))
    return _result(bundle_dir, progress, resume is not None, mixed.name, version, started)


def _result(
    bundle: Path,
    progress: Progress,
    resumed: bool,
    precision: str,
    version: str | None,
    started: float,
) -> TrainResult:
    baseline = next((h for h in progress.history if h.get("epoch") == 0.0), {})
    return TrainResult(
        bundle,
        progress.best_epoch,
        {k: v for k, v in progress.best.items() if k.startswith("val/")},
        {k: v for k, v in baseline.items() if k.startswith("val/")},
        progress.epoch,
        progress.step,
        time.monotonic() - started,
        resumed,
        precision,
        progress.run_id,
        version,
    )


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """PyTorch uses `count` threads inside (None: as it is), and as many as before after."""
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pairs(
    config: TrainConfig, dataset: Dataset, parallel: str | None
) -> tuple[CaptionPairs, CaptionPairs]:
    common = {"language": config.data.language, "captions": config.data.captions}
    train = load_pairs(dataset, split="train", parallel_language=parallel, **common)
    validation = load_pairs(dataset, split=config.data.validation_split, **common)
    return train, validation


def _text_task(
    config: TrainConfig, output: Path, options: EncoderOptions, notify: Notify
) -> _Built:
    from vidsearch.train.student import build_student
    from vidsearch.train.text_task import TextTask

    text = config.text
    distil = text.distillation > 0
    dataset = Dataset.open(config.data.dataset)
    train, validation = _pairs(config, dataset, text.teacher_language if distil else None)
    cache = output / "cache"
    bundle = open_bundle(config.bundle, options)
    try:
        notify(f"embedding {len(train.image_ids) + len(validation.image_ids)} images once")
        train_images = image_vectors(bundle.image, dataset, train.image_ids, cache)
        validation_images = image_vectors(bundle.image, dataset, validation.image_ids, cache)
        teacher = _teacher(bundle, train, text.teacher_language, cache) if distil else None
        identity = bundle.identity
        spec = bundle.spec
        image_dim = bundle.dim
    finally:
        bundle.close()
    student = build_student(
        text, image_dim=image_dim, texts=train.texts, workdir=cache, seed=config.seed
    )
    optim = config.optim
    task = TextTask(
        student,
        LogitScale(optim.temperature, learn=optim.learn_temperature),
        train,
        validation,
        train_images=train_images,
        validation_images=validation_images,
        teacher=teacher,
        distillation_weight=text.distillation,
        batch_size=optim.batch_size,
        seed=config.seed,
        lr=optim.lr,
        head_lr=optim.head_lr or optim.lr,
        exporter=text_bundle_writer(config.name, spec, config.data.language),
    )
    return _Built(task, lambda: identity)


def _teacher(bundle: ModelBundle, train: CaptionPairs, language: str, cache: Path) -> np.ndarray:
    """The teacher's unit vectors of each caption's parallel (zeros where it has none)."""
    spec = bundle.spec.text_for(language)
    if spec is None:
        raise ConfigError(
            f"distillation needs a {language!r} text encoder in the bundle '{bundle.spec.name}' "
            f"(it has {', '.join(bundle.spec.languages)}); set text.teacher_language"
        )
    present = [i for i, text in enumerate(train.parallel) if text]
    if not present:
        raise ConfigError(
            f"distillation needs parallel {language!r} captions, and the training captions "
            "have none"
        )
    encoder = bundle.text_encoder(spec)
    texts = [train.parallel[i] or "" for i in present]
    vectors = text_vectors(encoder, f"{spec.format}:{spec.ref}", texts, cache)
    teacher = np.zeros((len(train), vectors.shape[1]), np.float32)
    teacher[present] = vectors
    return teacher


def _clip_task(config: TrainConfig, output: Path) -> _Built:
    from vidsearch.encoders.clip_common import ClipFiles
    from vidsearch.train.bundle_output import CLIP_FOLDER
    from vidsearch.train.clip_task import ClipTask, build_clip, preprocess_images

    dataset = Dataset.open(config.data.dataset)
    train, validation = _pairs(config, dataset, None)
    model, tokenizer = build_clip(config.clip, train.texts, temperature=config.optim.temperature)
    size = config.clip.image_size
    task = ClipTask(
        model,
        tokenizer,
        train,
        validation,
        train_pixels=preprocess_images(dataset, train.image_ids, size),
        validation_pixels=preprocess_images(dataset, validation.image_ids, size),
        batch_size=config.optim.batch_size,
        seed=config.seed,
        lr=config.optim.lr,
        exporter=clip_bundle_writer(config.name, config.data.language),
    )
    return _Built(task, lambda: ClipFiles(str(output / "bundle" / CLIP_FOLDER)).identity)
