"""The training loop, the same for every task: AdamW, linear warm-up then cosine decay,
gradient accumulation, mixed precision, gradient clipping, validation every epoch, the best
epoch exported, a checkpoint after every epoch, and resuming from it.

A *task* says what is trained (`Task`): its modules, its parameter groups, the micro-batches
of an epoch, the loss of one, how to evaluate and how to export the model. The trainer knows
nothing of texts or images.

Resuming is exact: a checkpoint holds the weights, the optimizer, scheduler and scaler states
and the RNG state after its epoch, and tasks draw each epoch's order from (seed, epoch) alone,
so a run stopped at any point and resumed ends with the same weights as one never stopped
(on the same machine and thread count: float sums are not associative).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from vidsearch.train.checkpoint import Checkpoints, Progress, restore_rng, rng_states
from vidsearch.train.errors import TrainError
from vidsearch.train.metrics import PRIMARY
from vidsearch.train.precision import Mixed

VALIDATION = "val"  # metric prefix of the per-epoch evaluation
Notify = Callable[[str], None]


class Task(Protocol):
    def modules(self) -> dict[str, nn.Module]:
        """Everything with weights, by a stable name (checkpoints store them by it)."""
        ...

    def parameter_groups(self) -> list[dict[str, Any]]:
        """AdamW parameter groups, each with its own `lr`."""
        ...

    def to(self, device: str) -> None: ...

    def batches(self, epoch: int) -> Sequence[Any]:
        """This epoch's micro-batches: a function of (seed, epoch) only."""
        ...

    def loss(self, batch: Any) -> dict[str, torch.Tensor]:
        """`loss` (what is minimised) and any other scalars worth logging."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Validation metrics; `recall_at_1` picks the best epoch."""
        ...

    def export(self, directory: Path) -> None:
        """Write the model as it is now (a bundle directory)."""
        ...


class MetricSink(Protocol):
    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...


class Callback(Protocol):
    def on_step(self, step: int, metrics: dict[str, float]) -> None: ...

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...


@dataclass(frozen=True, slots=True)
class LoopOptions:
    epochs: int
    accumulation: int = 1
    weight_decay: float = 0.01
    warmup: float = 0.1
    grad_clip: float | None = 1.0


def _quiet(_: str) -> None:
    pass


def schedule(total_steps: int, warmup: float) -> Callable[[int], float]:
    """The learning-rate factor at a step: linear warm-up, then cosine decay to 0."""
    warm = max(1, math.ceil(total_steps * warmup)) if warmup > 0 else 0

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


class Trainer:
    def __init__(
        self,
        task: Task,
        options: LoopOptions,
        checkpoints: Checkpoints,
        *,
        bundle_dir: Path,
        mixed: Mixed,
        metrics: MetricSink,
        callbacks: Sequence[Callback] = (),
        notify: Notify = _quiet,
    ) -> None:
        self.task = task
        self.options = options
        self.checkpoints = checkpoints
        self.bundle_dir = Path(bundle_dir)
        self.mixed = mixed
        self.metrics = metrics
        self.callbacks = tuple(callbacks)
        self.notify = notify
        task.to(mixed.device)
        self._parameters = [p for m in task.modules().values() for p in m.parameters()]
        self.optimizer = torch.optim.AdamW(
            task.parameter_groups(), weight_decay=options.weight_decay
        )
        batches = len(task.batches(0))
        if not batches:
            raise TrainError(
                "the training split gives no batch of two or more captions: add data or "
                "lower optim.batch_size"
            )
        self.steps_per_epoch = math.ceil(batches / options.accumulation)
        self.total_steps = self.steps_per_epoch * options.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, schedule(self.total_steps, options.warmup)
        )
        self.scaler = mixed.scaler()

    # -- state ------------------------------------------------------------------------------
    def _states(self) -> dict[str, Any]:
        return {
            "modules": {name: m.state_dict() for name, m in self.task.modules().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_states(),
        }

    def _restore(self, states: dict[str, Any]) -> None:
        for name, module in self.task.modules().items():
            module.load_state_dict(states["modules"][name])
        self.optimizer.load_state_dict(states["optimizer"])
        self.scheduler.load_state_dict(states["scheduler"])
        self.scaler.load_state_dict(states["scaler"])
        restore_rng(states["rng"])

    # -- the loop ---------------------------------------------------------------------------
    def fit(
        self, resume: tuple[Progress, dict[str, Any]] | None = None, run_id: str | None = None
    ) -> Progress:
        """Train to the last epoch, from `resume` (a loaded checkpoint) if given."""
        if resume is not None:
            progress, states = resume
            self._restore(states)
            self.notify(f"resuming after epoch {progress.epoch} (step {progress.step})")
        else:
            progress = Progress()
            baseline = self._evaluate()
            self.metrics.log_metrics(baseline, step=0)
            progress.history.append({"epoch": 0.0, **baseline})
            self.notify(f"before training: {_describe(baseline)}")
        progress.run_id = run_id or progress.run_id
        while progress.epoch < self.options.epochs:
            started = time.monotonic()
            progress.step = self._train_epoch(progress.epoch, progress.step)
            progress.epoch += 1
            metrics = self._evaluate() | {"epoch": float(progress.epoch)}
            metrics["train/epoch_seconds"] = time.monotonic() - started
            progress.seconds += metrics["train/epoch_seconds"]
            self.metrics.log_metrics(metrics, step=progress.step)
            progress.history.append(metrics)
            key = f"{VALIDATION}/{PRIMARY}"
            if progress.best_epoch is None or metrics[key] > progress.best[key]:
                progress.best_epoch, progress.best = progress.epoch, metrics
                self._export()
            self.checkpoints.save(progress, self._states())
            self.notify(f"epoch {progress.epoch}/{self.options.epochs}: {_describe(metrics)}")
            for callback in self.callbacks:
                callback.on_epoch(progress.epoch, metrics)
        return progress

    def _train_epoch(self, epoch: int, step: int) -> int:
        for module in self.task.modules().values():
            module.train()
        batches = self.task.batches(epoch)
        accumulation = self.options.accumulation
        self.optimizer.zero_grad(set_to_none=True)
        for index, batch in enumerate(batches):
            group_start = index - index % accumulation
            group_size = min(accumulation, len(batches) - group_start)
            with self.mixed.autocast():
                values = self.task.loss(batch)
            self.scaler.scale(values["loss"] / group_size).backward()
            if index + 1 < group_start + group_size:
                continue
            self._step()
            step += 1
            logged = {f"train/{k}": float(v.detach()) for k, v in values.items()}
            logged["train/lr"] = self.scheduler.get_last_lr()[-1]
            self.metrics.log_metrics(logged, step=step)
            for callback in self.callbacks:
                callback.on_step(step, logged)
        return step

    def _step(self) -> None:
        if self.options.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self._parameters, self.options.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _evaluate(self) -> dict[str, float]:
        for module in self.task.modules().values():
            module.eval()
        with torch.no_grad():
            metrics = self.task.evaluate()
        return {f"{VALIDATION}/{k}": v for k, v in metrics.items()}

    def _export(self) -> None:
        """The model as it is now replaces the exported one (never half-written)."""
        temporary = self.bundle_dir.with_name(self.bundle_dir.name + ".tmp")
        shutil.rmtree(temporary, ignore_errors=True)
        self.task.export(temporary)
        old = self.bundle_dir.with_name(self.bundle_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.bundle_dir.exists():
            self.bundle_dir.rename(old)
        temporary.rename(self.bundle_dir)
        shutil.rmtree(old, ignore_errors=True)


def _describe(metrics: dict[str, float]) -> str:
    shown = {
        k.removeprefix(f"{VALIDATION}/"): v for k, v in metrics.items() if k.startswith(VALIDATION)
    }
    return ", ".join(f"{k} {v:.3f}" for k, v in shown.items())
