"""Task: a text encoder (the student) trained into a frozen image encoder's space.

Each step embeds a batch of captions with the student and contrasts them with the cached
embeddings of their images (symmetric InfoNCE, learnable temperature); with a distillation
weight it also pulls each caption's embedding towards the teacher's embedding of its parallel
caption (the image bundle's English text tower reading the English original).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vidsearch.train.captions import CaptionPairs
from vidsearch.train.loss import LogitScale, distillation, info_nce, same_key_mask
from vidsearch.train.metrics import RetrievalSet
from vidsearch.train.student import Student

Exporter = Callable[[Path, Student], None]
MIN_BATCH = 2  # a contrastive batch needs a negative


class TextTask:
    def __init__(
        self,
        student: Student,
        scale: LogitScale,
        train: CaptionPairs,
        validation: CaptionPairs,
        *,
        train_images: np.ndarray,  # one unit vector per train image row
        validation_images: np.ndarray,
        teacher: np.ndarray | None,  # one unit vector per train caption (zeros: no parallel)
        distillation_weight: float,
        batch_size: int,
        seed: int,
        lr: float,
        head_lr: float,
        exporter: Exporter,
    ) -> None:
        self.student = student
        self.scale = scale
        self.train = train
        self.validation = validation
        self.retrieval: RetrievalSet = validation.retrieval()
        self.distillation_weight = distillation_weight if teacher is not None else 0.0
        self.batch_size = batch_size
        self.seed = seed
        self.lr, self.head_lr = lr, head_lr
        self.exporter = exporter
        self._images = torch.from_numpy(np.ascontiguousarray(train_images, np.float32))
        self._validation_images = validation_images
        self._rows = torch.from_numpy(train.image_rows)
        texts = {text: i for i, text in enumerate(dict.fromkeys(train.texts))}
        self._text_keys = torch.tensor([texts[t] for t in train.texts])
        self._teacher = None if teacher is None else torch.from_numpy(teacher.astype(np.float32))
        self._present = None if teacher is None else self._teacher.abs().sum(dim=1) > 0

    def modules(self) -> dict[str, nn.Module]:
        return {"student": self.student, "scale": self.scale}

    def parameter_groups(self) -> list[dict[str, Any]]:
        groups = self.student.parameter_groups(self.lr, self.head_lr)
        if self.scale.log_scale.requires_grad:
            groups.append(
                {"params": [self.scale.log_scale], "lr": self.head_lr, "weight_decay": 0.0}
            )
        return groups

    def to(self, device: str) -> None:
        self.student.to(device)
        self.scale.to(device)
        self._images = self._images.to(device)
        if self._teacher is not None and self._present is not None:
            self._teacher, self._present = self._teacher.to(device), self._present.to(device)

    def batches(self, epoch: int) -> list[list[int]]:
        order = self.train.epoch(self.seed, epoch)
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        return [chunk for chunk in chunks if len(chunk) >= MIN_BATCH]

    def loss(self, batch: list[int]) -> dict[str, torch.Tensor]:
        index = torch.tensor(batch)
        rows = self._rows[index]
        text = self.student([self.train.texts[i] for i in batch])
        image = self._images[rows.to(self._images.device)]
        positives = same_key_mask(rows) | same_key_mask(self._text_keys[index])
        scale = self.scale()
        contrastive = info_nce(text, image, scale, positives=positives.to(text.device))
        values = {"contrastive": contrastive, "temperature": 1 / scale.detach()}
        loss = contrastive
        if self.distillation_weight and self._teacher is not None and self._present is not None:
            device_index = index.to(self._teacher.device)
            distance = distillation(text, self._teacher[device_index], self._present[device_index])
            loss = loss + self.distillation_weight * distance
            values["distillation"] = distance
        return {"loss": loss, **values}

    def evaluate(self) -> dict[str, float]:
        vectors = self.student.embed(list(self.retrieval.queries))
        return self.retrieval.recall(vectors, self._validation_images)

    def export(self, directory: Path) -> None:
        self.exporter(directory, self.student)
