"""Checkpoints: everything needed to continue a run exactly where its last epoch ended.

    OUTPUT/checkpoints/last.pt   format, version, config fingerprint, progress (epochs, steps,
                                 best epoch, history, MLflow run id), module / optimizer /
                                 scheduler / gradient-scaler states, torch RNG states

Written atomically after every epoch (a kill leaves the previous one whole). Only tensors and
plain values are stored, so it loads with `weights_only=True`. A checkpoint made with another
config (anything that shapes the weights) is refused rather than mixed in.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vidsearch.train.errors import CheckpointError

FORMAT = "vidsearch-train-checkpoint"
VERSION = 1
LAST = "last.pt"


@dataclass
class Progress:
    """Where a run is: epochs and optimizer steps done, its best epoch so far, its history."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best_epoch: int | None = None
    best: dict[str, float] = field(default_factory=dict)  # the best epoch's metrics
    history: list[dict[str, float]] = field(default_factory=list)  # metrics of each epoch
    run_id: str | None = None  # the MLflow run, continued on resume
    seconds: float = 0.0  # spent training and validating, over every invocation


class Checkpoints:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint

    @property
    def path(self) -> Path:
        return self.directory / LAST

    def load(self) -> tuple[Progress, dict[str, Any]] | None:
        """(progress, states) of the last checkpoint, or None when there is none."""
        if not self.path.is_file():
            return None
        try:
            data = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and torch errors: the file is unusable either way
            raise CheckpointError(
                f"cannot read the checkpoint {self.path} ({type(exc).__name__}: {exc}); "
                "delete it or start over with --restart"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{self.path} is not a vidsearch training checkpoint")
        if data.get("version") != VERSION:
            raise CheckpointError(
                f"{self.path} is a version {data.get('version')!r} checkpoint; this vidsearch "
                f"reads version {VERSION}: start over with --restart"
            )
        if data.get("fingerprint") != self.fingerprint:
            raise CheckpointError(
                f"the checkpoint in {self.directory} was made with another training config "
                "(model, data or optimisation settings differ): use the same config to resume, "
                "another output folder, or --restart to start over"
            )
        progress = Progress(**data["progress"])
        return progress, data["states"]

    def save(self, progress: Progress, states: dict[str, Any]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(LAST + ".tmp")
        torch.save(
            {
                "format": FORMAT,
                "version": VERSION,
                "fingerprint": self.fingerprint,
                "progress": asdict(progress),
                "states": states,
            },
            temporary,
        )
        os.replace(temporary, self.path)
        return self.path

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
