"""The text encoder being trained (the student), as a sentence-transformers pipeline:

    transformer -> pooling [-> the model's own layers] [-> Dense projection to the image size]

It starts from a sentence-transformers model (hub id or directory, e.g. the seed's
`m3hrdadfi/roberta-zwnj-wnli-mean-tokens`), from a plain transformers encoder (mean pooling is
added), or from scratch (a small BERT and a WordPiece tokenizer trained on the captions). A
Dense layer projects to the image encoder's size when the sizes differ. It is saved in the
sentence-transformers layout, which vidsearch opens as a `sentence-transformers` text tower.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from vidsearch.encoders.loading import locate_model
from vidsearch.errors import ConfigError, ModelError
from vidsearch.text.vocabulary import train_wordpiece
from vidsearch.train.config import SCRATCH, TextConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

INSTALL_HINT = (
    "training a text encoder needs sentence-transformers: "
    "pip install -c constraints.txt 'vidsearch[train]'"
)
MODULES_FILE = "modules.json"  # what makes a directory a sentence-transformers model
EMBED_BATCH = 256


def _modules() -> Any:
    try:
        try:
            from sentence_transformers.sentence_transformer import modules
        except ImportError:  # sentence-transformers < 6
            from sentence_transformers import models as modules
    except ImportError:
        raise ModelError(INSTALL_HINT) from None
    return modules


class Student(nn.Module):
    """A SentenceTransformer whose new layers (projection, or all of a scratch model) are
    known, so they can learn faster than pretrained weights."""

    def __init__(self, model: SentenceTransformer, new: Sequence[nn.Module]) -> None:
        super().__init__()
        self.model = model
        self._new = {id(p) for module in new for p in module.parameters()}

    @property
    def dim(self) -> int:
        return _embedding_size(self.model)

    def parameter_groups(self, lr: float, head_lr: float) -> list[dict[str, Any]]:
        pretrained = [p for p in self.model.parameters() if id(p) not in self._new]
        new = [p for p in self.model.parameters() if id(p) in self._new]
        return [
            g
            for g in ({"params": pretrained, "lr": lr}, {"params": new, "lr": head_lr})
            if g["params"]
        ]

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings, with gradients."""
        device = next(self.model.parameters()).device
        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v
            for k, v in preprocess(list(texts)).items()
        }
        embedding = self.model(features)["sentence_embedding"]
        return nn.functional.normalize(embedding.float(), dim=-1)

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, in eval mode, without gradients (the mode is restored)."""
        training = self.training
        self.eval()
        try:
            out = [
                self(texts[i : i + EMBED_BATCH]).cpu().numpy()
                for i in range(0, len(texts), EMBED_BATCH)
            ]
        finally:
            self.train(training)
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def save(self, directory: Path) -> Path:
        self.model.save(str(directory))
        return directory


def build_student(
    config: TextConfig, *, image_dim: int, texts: Sequence[str], workdir: Path, seed: int
) -> Student:
    """The student for `config`, projected to `image_dim`; its new layers' initial weights
    follow from `seed` alone. A scratch model (and its tokenizer, trained on `texts`) is
    written once into `workdir` and reused (a resumed run finds it there)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    modules = _modules()
    new: list[nn.Module] = []
    if config.model == SCRATCH:
        base = _scratch_base(config, texts, workdir / "scratch-base", seed)
        transformer = modules.Transformer(str(base), max_seq_length=config.max_length)
        pooling = modules.Pooling(_embedding_size(transformer), pooling_mode="mean")
        new += [transformer, pooling]
        layers: list[nn.Module] = [transformer, pooling]
    else:
        directory = locate_model(config.model).directory
        if (directory / MODULES_FILE).is_file():
            layers = list(_load_sentence_transformer(config.model, directory).children())
        else:
            transformer = _load(
                lambda: modules.Transformer(str(directory), max_seq_length=config.max_length),
                config.model,
            )
            layers = [
                transformer,
                modules.Pooling(_embedding_size(transformer), pooling_mode="mean"),
            ]
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(modules=layers, device="cpu")
    model.max_seq_length = config.max_length
    size = _embedding_size(model, config.model)
    if size != image_dim:
        if not config.projection:
            raise ConfigError(
                f"text model '{config.model}' gives {size}-d embeddings but the image encoder "
                f"{image_dim}-d, and text.projection = false: allow the projection layer or "
                "pick a text model of the image encoder's size"
            )
        torch.manual_seed(seed + 1)
        dense = modules.Dense(size, image_dim, bias=False, activation_function=nn.Identity())
        new.append(dense)
        model = SentenceTransformer(modules=[*model.children(), dense], device="cpu")
    return Student(model, new)


def _scratch_base(config: TextConfig, texts: Sequence[str], directory: Path, seed: int) -> Path:
    """A random BERT-style encoder and its tokenizer, written once."""
    if (directory / "config.json").is_file():
        return directory
    from transformers import BertConfig, BertModel

    if config.hidden % config.heads:
        raise ConfigError(
            f"text.hidden ({config.hidden}) must be a multiple of text.heads ({config.heads})"
        )
    tokenizer = train_wordpiece(texts, vocab_size=config.vocab_size, max_length=config.max_length)
    bert = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=2 * config.hidden,
        max_position_embeddings=config.max_length + 2,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
        pad_token_id=tokenizer.pad_token_id,
    )
    temporary = directory.with_name(directory.name + ".tmp")
    torch.manual_seed(seed)
    BertModel(bert).save_pretrained(temporary)  # its pooler unused, but loaders expect it
    tokenizer.save_pretrained(temporary)
    temporary.replace(directory)
    return directory


def _load_sentence_transformer(ref: str, directory: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return _load(
        lambda: SentenceTransformer(str(directory), device="cpu", local_files_only=True), ref
    )


def _load(make: Any, ref: str) -> Any:
    try:
        return make()
    except (ModelError, ConfigError):
        raise
    except Exception as exc:  # torch, transformers and sentence-transformers raise many types
        raise ModelError(f"cannot load text model '{ref}': {type(exc).__name__}: {exc}") from None


def _embedding_size(module: Any, ref: str = "the text model") -> int:
    for name in (
        "get_embedding_dimension",
        "get_sentence_embedding_dimension",
        "get_word_embedding_dimension",
    ):
        method = getattr(module, name, None)
        if method is not None:
            size = method()
            if size:
                return int(size)
    raise ModelError(
        f"{ref} does not say its embedding size, so it cannot be projected to the image "
        "encoder's: give a sentence-transformers or transformers encoder"
    )
