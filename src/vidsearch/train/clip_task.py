"""Task: a tiny CLIP (a ViT image tower and a text tower) trained from scratch on captions,
for worlds small enough to learn in CPU minutes (the shapes world). It is saved as an ordinary
Hugging Face CLIP directory, which every vidsearch command takes as --model.

Images are preprocessed once, exactly as vidsearch preprocesses frames at indexing time, and
kept in memory; captions are tokenized once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from vidsearch.data.dataset import Dataset
from vidsearch.encoders.preprocess import CLIP_MEAN, CLIP_STD, PreprocessConfig, to_pixel_values
from vidsearch.errors import ConfigError
from vidsearch.text.vocabulary import train_byte_bpe
from vidsearch.train.captions import CaptionPairs
from vidsearch.train.config import ClipConfig
from vidsearch.train.embeddings import load_rgb
from vidsearch.train.loss import info_nce, same_key_mask
from vidsearch.train.metrics import RetrievalSet
from vidsearch.train.text_task import MIN_BATCH

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerFast

EVAL_BATCH = 256
PREPROCESSOR_FILE = "preprocessor_config.json"


def build_clip(
    config: ClipConfig, texts: Sequence[str], *, temperature: float
) -> tuple[CLIPModel, PreTrainedTokenizerFast]:
    """A randomly initialised CLIP of `config`'s sizes and a tokenizer trained on `texts`
    (seed torch first)."""
    from transformers import CLIPConfig, CLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if config.hidden % config.heads:
        raise ConfigError(f"clip.hidden ({config.hidden}) must be a multiple of clip.heads")
    if config.image_size % config.patch_size:
        raise ConfigError(
            f"clip.image_size ({config.image_size}) must be a multiple of clip.patch_size "
            f"({config.patch_size})"
        )
    tokenizer = train_byte_bpe(texts, vocab_size=config.vocab_size, max_length=config.max_length)
    tower = {
        "hidden_size": config.hidden,
        "intermediate_size": 2 * config.hidden,
        "num_hidden_layers": config.layers,
        "num_attention_heads": config.heads,
    }
    clip_config = CLIPConfig(
        text_config=tower
        | {
            "vocab_size": len(tokenizer),
            "max_position_embeddings": config.max_length,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config=tower | {"image_size": config.image_size, "patch_size": config.patch_size},
        projection_dim=config.dim,
        logit_scale_init_value=math.log(1 / temperature),
    )
    return CLIPModel(clip_config), tokenizer


def preprocess_images(dataset: Dataset, image_ids: Sequence[str], image_size: int) -> torch.Tensor:
    """(N, 3, size, size) float32, as vidsearch feeds frames to a CLIP of this size."""
    config = PreprocessConfig(size=image_size)
    chunks = [
        to_pixel_values([load_rgb(dataset, i) for i in image_ids[start : start + 256]], config)
        for start in range(0, len(image_ids), 256)
    ]
    return torch.from_numpy(np.concatenate(chunks))


def save_clip(model: CLIPModel, tokenizer: PreTrainedTokenizerFast, directory: Path) -> Path:
    """A CLIP directory: weights, config, tokenizer and CLIP's preprocessing settings."""
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    size = model.config.vision_config.image_size
    (directory / PREPROCESSOR_FILE).write_text(
        json.dumps(
            {
                "image_mean": list(CLIP_MEAN),
                "image_std": list(CLIP_STD),
                "size": {"shortest_edge": size},
                "crop_size": {"height": size, "width": size},
            },
            indent=2,
        )
    )
    return directory


def _features(output: Any) -> torch.Tensor:
    """transformers >= 5 wraps the projected features in an output object."""
    return output.pooler_output if hasattr(output, "pooler_output") else output


class ClipTask:
    def __init__(
        self,
        model: CLIPModel,
        tokenizer: PreTrainedTokenizerFast,
        train: CaptionPairs,
        validation: CaptionPairs,
        *,
        train_pixels: torch.Tensor,
        validation_pixels: torch.Tensor,
        batch_size: int,
        seed: int,
        lr: float,
        exporter: Any,  # (directory, model, tokenizer) -> None
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.train = train
        self.retrieval: RetrievalSet = validation.retrieval()
        self.batch_size = batch_size
        self.seed = seed
        self.lr = lr
        self.exporter = exporter
        self._pixels = train_pixels
        self._validation_pixels = validation_pixels
        self._rows = torch.from_numpy(train.image_rows)
        self._tokens = self._tokenize(train.texts)
        self._queries = self._tokenize(self.retrieval.queries)
        texts = {text: i for i, text in enumerate(dict.fromkeys(train.texts))}
        self._text_keys = torch.tensor([texts[t] for t in train.texts])
        self._device = "cpu"

    def _tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        tokens = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.model.config.text_config.max_position_embeddings,
            return_tensors="pt",
        )
        return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}

    def modules(self) -> dict[str, nn.Module]:
        return {"clip": self.model}

    def parameter_groups(self) -> list[dict[str, Any]]:
        return [{"params": list(self.model.parameters()), "lr": self.lr}]

    def to(self, device: str) -> None:
        self._device = device
        self.model.to(device)

    def batches(self, epoch: int) -> list[list[int]]:
        order = self.train.epoch(self.seed, epoch)
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        return [chunk for chunk in chunks if len(chunk) >= MIN_BATCH]

    def _texts(self, tokens: dict[str, torch.Tensor], index: torch.Tensor) -> torch.Tensor:
        ids, mask = tokens["input_ids"][index], tokens["attention_mask"][index]
        width = int(mask.sum(dim=1).max())  # drop the padding no caption here needs
        output = self.model.get_text_features(
            input_ids=ids[:, :width].to(self._device),
            attention_mask=mask[:, :width].to(self._device),
        )
        return nn.functional.normalize(_features(output).float(), dim=-1)

    def _images(self, pixels: torch.Tensor) -> torch.Tensor:
        output = self.model.get_image_features(pixel_values=pixels.to(self._device))
        return nn.functional.normalize(_features(output).float(), dim=-1)

    def loss(self, batch: list[int]) -> dict[str, torch.Tensor]:
        index = torch.tensor(batch)
        rows = self._rows[index]
        text = self._texts(self._tokens, index)
        image = self._images(self._pixels[rows])
        positives = same_key_mask(rows) | same_key_mask(self._text_keys[index])
        scale = self.model.logit_scale.exp().clamp(max=100)
        loss = info_nce(text, image, scale, positives=positives.to(text.device))
        return {"loss": loss, "contrastive": loss, "temperature": 1 / scale.detach()}

    def evaluate(self) -> dict[str, float]:
        images = torch.cat(
            [
                self._images(self._validation_pixels[i : i + EVAL_BATCH])
                for i in range(0, len(self._validation_pixels), EVAL_BATCH)
            ]
        )
        count = len(self.retrieval.queries)
        texts = torch.cat(
            [
                self._texts(self._queries, torch.arange(i, min(i + EVAL_BATCH, count)))
                for i in range(0, count, EVAL_BATCH)
            ]
        )
        return self.retrieval.recall(texts.cpu().numpy(), images.cpu().numpy())

    def export(self, directory: Path) -> None:
        self.exporter(directory, self.model, self.tokenizer)
