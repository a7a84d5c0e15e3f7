"""What the training tests share: a small shapes world, configs over it, and callbacks that
interrupt a run the way a kill or Ctrl-C would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidsearch.data.dataset import Dataset
from vidsearch.data.shapes import WorldConfig, write_world
from vidsearch.encoders.model_bundle import EncoderOptions
from vidsearch.train.config import TrainConfig, parse_config
from vidsearch.types import EncoderBackend


def write_small_world(root: Path, images: int = 60) -> Path:
    with Dataset.open(root, create=True) as dataset:
        write_world(dataset, WorldConfig(images=images, size=64, seed=3))
    return root


def text_config(
    output: Path, world: Path, bundle: Path, **sections: dict[str, Any] | Any
) -> TrainConfig:
    """A small Persian run from scratch into `bundle`'s image space; `sections` override."""
    data: dict[str, Any] = {
        "kind": "text",
        "name": "test-fa",
        "output": str(output),
        "bundle": str(bundle),
        "data": {"dataset": str(world), "language": "fa"},
        "text": {"model": "scratch", "max_length": 32, "hidden": 32, "heads": 2, "vocab_size": 120},
        "optim": {"epochs": 2, "batch_size": 16, "lr": 2e-3, "head_lr": 2e-3, "threads": 1},
    }
    for key, value in sections.items():
        data[key] = data.get(key, {}) | value if isinstance(value, dict) else value
    return parse_config(data)


def options(cache: Path) -> EncoderOptions:
    """PyTorch for the frozen towers: the same vectors, no ONNX export to wait for."""
    return EncoderOptions(cache_dir=cache, backend=EncoderBackend.TORCH, threads=1)


class Interrupted(Exception):
    """What the interrupting callback raises (a stand-in for a kill between two steps)."""


class InterruptAt:
    """Raises `Interrupted` once the run reaches optimizer step `step`."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        if step >= self.step:
            raise Interrupted(f"stopped at step {step}")

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        pass
