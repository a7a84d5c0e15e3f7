"""The training objective: symmetric InfoNCE (CLIP's loss) with a learnable temperature, and an
optional distillation term pulling each student embedding towards a teacher's.

InfoNCE over a batch of B (text, image) pairs: logits = scale * T @ I^T, cross-entropy towards
the diagonal in both directions, averaged. Pairs that are positives of each other (the same
image twice, or two identical captions) are not counted as negatives: their logits are masked.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MAX_SCALE = 100.0  # CLIP clamps its logit scale here


class LogitScale(nn.Module):
    """exp(log_scale), starting at 1 / temperature, clamped to MAX_SCALE; `learn=False` fixes
    it."""

    def __init__(self, temperature: float, *, learn: bool = True) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / temperature)), requires_grad=learn
        )

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(MAX_SCALE)).exp()


def same_key_mask(keys: torch.Tensor) -> torch.Tensor:
    """(B, B) True where rows i != j share a key."""
    same = keys[:, None] == keys[None, :]
    return same & ~torch.eye(len(keys), dtype=torch.bool, device=keys.device)


def info_nce(
    text: torch.Tensor,
    image: torch.Tensor,
    scale: torch.Tensor,
    *,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE of L2-normalised (B, D) `text` and `image`; `positives` is a (B, B)
    mask of off-diagonal pairs that must not count as negatives."""
    logits = scale * text.float() @ image.float().T
    if positives is not None:
        logits = logits.masked_fill(positives, float("-inf"))
    targets = torch.arange(len(text), device=text.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def distillation(
    student: torch.Tensor, teacher: torch.Tensor, present: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cosine distance of normalised student rows to teacher rows (rows where `present`)."""
    distance = 1 - (student.float() * teacher.float()).sum(dim=-1)
    if present is None:
        return distance.mean()
    if not bool(present.any()):
        return distance.sum() * 0.0
    return distance[present].mean()
