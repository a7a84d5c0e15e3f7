"""Mixed precision where the hardware has it: which autocast type, and whether gradients need
scaling (fp16 only).

`auto` picks bf16 on a CUDA GPU that supports it, else fp16 there; fp32 on a CPU, where bf16
pays only on CPUs that compute it natively (AMX) and small models gain nothing. `bf16` may be
asked for on a CPU too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vidsearch.errors import ConfigError
from vidsearch.train.config import Precision


@dataclass(frozen=True, slots=True)
class Mixed:
    device: str  # "cuda" or "cpu"
    dtype: torch.dtype | None  # None: fp32, no autocast

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    @property
    def scales_gradients(self) -> bool:
        return self.dtype is torch.float16

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.dtype is None:
            yield
            return
        with torch.autocast(self.device, dtype=self.dtype):
            yield

    def scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device, enabled=self.scales_gradients)


def choose(precision: Precision, device: str) -> Mixed:
    if precision is Precision.FP32:
        return Mixed(device, None)
    if precision is Precision.BF16:
        return Mixed(device, torch.bfloat16)
    if precision is Precision.FP16:
        if device != "cuda":
            raise ConfigError("optim.precision = fp16 needs a CUDA GPU; use bf16 or fp32 on a CPU")
        return Mixed(device, torch.float16)
    if device == "cuda":
        return Mixed(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return Mixed(device, None)
