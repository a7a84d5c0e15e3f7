"""Write a tiny random CLIP model directory, usable anywhere vidsearch accepts a model.

    python -m vidsearch.testing.tiny_model DIR [--full-size]

Needs the `torch` extra (it builds the weights with PyTorch): without it, a `ModelError` with
the install line. `write_tiny_onnx_towers` then lays the model's ONNX export out as published
ONNX towers (`onnx-clip`), the folder a core install (no PyTorch) runs.

Same file layout as a real Hugging Face CLIP checkpoint (config.json, model.safetensors,
tokenizer files, preprocessor_config.json), a few hundred KB, built offline and
deterministic (same seed -> same weights -> same identity). Its vectors mean nothing
semantically, but exact frames still find themselves, so the whole pipeline can be tried.
The tokenizer is a byte-level BPE trained on a small English + Persian corpus.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidsearch.encoders.torch_extra import require_torch
from vidsearch.errors import VidsearchError
from vidsearch.text.vocabulary import CLIP, train_byte_bpe

TINY_DIM = 32
CORPUS = [
    "a man running on the beach at sunset",
    "a red car parked in the street",
    "two dogs playing in the snow",
    "a woman reading a book in a cafe",
    "children laughing in a green park",
    "مردی که هنگام غروب در ساحل می‌دود",
    "یک ماشین قرمز در خیابان پارک شده است",
    "دو سگ در برف بازی می‌کنند",
    "زنی در کافه کتاب می‌خواند",
    "۱۲۳ 123 video film فیلم",
]


def _tokenizer(vocab_size: int = 600):  # -> transformers.PreTrainedTokenizerFast
    return train_byte_bpe(CORPUS * 4, vocab_size=vocab_size, max_length=77, style=CLIP)


def write_tiny_model(
    directory: Path, *, seed: int = 0, image_size: int = 224, full_size: bool = False
) -> Path:
    """Create (or overwrite) a tiny CLIP model in `directory` and return it.

    `full_size=True` writes a random model with OpenAI ViT-B/32's architecture instead
    (~600 MB): meaningless vectors, true compute cost, for benchmarks.
    """
    torch = require_torch("writing the tiny test model", "transformers")
    from transformers import CLIPConfig, CLIPModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    if full_size:
        config = CLIPConfig(
            text_config={
                "bos_token_id": tokenizer.bos_token_id,
                "eos_token_id": tokenizer.eos_token_id,
                "pad_token_id": tokenizer.pad_token_id,
            },
            vision_config={"image_size": image_size, "patch_size": 32},
            projection_dim=512,
        )
    else:
        config = _tiny_config(tokenizer, image_size)
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    with _no_progress_bars():  # "Writing model shards": a bar for one file of a few KB
        model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_preprocessor_config(directory, image_size)
    return directory


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers' tqdm bars off, then as they were."""
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


def write_tiny_onnx_towers(
    directory: Path, clip_dir: Path, cache_dir: Path, *, int8: bool = False
) -> Path:
    """Export the CLIP checkpoint `clip_dir` to ONNX (once, into `cache_dir`) and lay it out
    in `directory` as published towers: `onnx/*.onnx`, tokenizer, preprocessing config and
    an `onnx-clip.json` saying they are the checkpoint's image space (its identity)."""
    from vidsearch.encoders.clip_common import ClipFiles
    from vidsearch.encoders.factory import ensure_onnx_export
    from vidsearch.encoders.onnx_towers import exported_manifest, write_onnx_towers

    model = ClipFiles(str(clip_dir))
    export = ensure_onnx_export(model, Path(cache_dir), int8=int8)
    manifest = exported_manifest(
        identity=model.identity,
        dim=model.dim,
        text_length=model.text_length,
        image_size=model.preprocess_config().size,
        int8=int8,
    )
    return write_onnx_towers(export, Path(clip_dir), Path(directory), manifest)


def write_preprocessor_config(directory: Path, image_size: int) -> None:
    """CLIP's image preprocessing, as Hugging Face's `preprocessor_config.json`."""
    (directory / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711],
                "size": {"shortest_edge": image_size},
                "crop_size": {"height": image_size, "width": image_size},
            },
            indent=2,
        )
    )


def _tiny_config(tokenizer, image_size: int):
    from transformers import CLIPConfig

    return CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 32,
        },
        projection_dim=TINY_DIM,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    full_size = "--full-size" in args
    args = [a for a in args if a != "--full-size"]
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    try:
        print(write_tiny_model(Path(args[0]), full_size=full_size))
    except VidsearchError as exc:  # PyTorch missing: one line with the install command
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
