"""Write tiny random model bundles, offline, in the layouts of the real ones.

    python -m vidsearch.testing.tiny_bundles DIR [multilingual|clipfa]

`multilingual` (like `multilingual-b32`): a tiny CLIP (image + English text) and a tiny
sentence-transformers text model (DistilBERT, mean pooling, a Dense projection to the CLIP's
32 dimensions) for Persian and English. `clipfa` (like `clipfa`): a tiny `CLIPVisionModel` and
a tiny `RobertaModel`, both embedding by their pooled output. Each is a directory with a
`bundle.json`, usable anywhere vidsearch takes --model. The vectors mean nothing; the files,
the loading code and the routing are the real ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vidsearch.encoders.bundles import (
    BundleSpec,
    ImageEncoderSpec,
    TextEncoderSpec,
    TowerFormat,
    write_bundle,
)
from vidsearch.testing.tiny_model import (
    CORPUS,
    TINY_DIM,
    write_preprocessor_config,
    write_tiny_model,
)
from vidsearch.text.persian import normalize_persian
from vidsearch.text.vocabulary import ROBERTA, train_byte_bpe, train_wordpiece

HIDDEN = 48  # the text models' width: their Dense layer projects it to TINY_DIM


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bars on stderr


def _corpus() -> list[str]:
    return [*CORPUS, *(normalize_persian(line) for line in CORPUS)] * 4


def write_tiny_sentence_model(directory: Path, *, dim: int = TINY_DIM, seed: int = 0) -> Path:
    """A sentence-transformers model: tiny DistilBERT, mean pooling, Dense(48 -> dim)."""
    _quiet_transformers()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import DistilBertConfig, DistilBertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Dense, Pooling, Transformer

    directory = Path(directory)
    base = directory.with_name(directory.name + ".base")
    tokenizer = train_wordpiece(_corpus(), vocab_size=400, max_length=64)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=HIDDEN,
        hidden_dim=2 * HIDDEN,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    DistilBertModel(config).eval().save_pretrained(base)
    tokenizer.save_pretrained(base)
    transformer = Transformer(str(base), max_seq_length=64)
    pooling = Pooling(HIDDEN, pooling_mode="mean")
    dense = Dense(HIDDEN, dim, bias=False, activation_function=torch.nn.Identity())
    SentenceTransformer(modules=[transformer, pooling, dense], device="cpu").save(str(directory))
    _remove_tree(base)
    return directory


def write_tiny_vision_model(directory: Path, *, seed: int = 0, image_size: int = 224) -> Path:
    """A `CLIPVisionModel` checkpoint with CLIP's preprocessing config (CLIPfa's image half)."""
    _quiet_transformers()
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    config = CLIPVisionConfig(
        hidden_size=TINY_DIM,
        intermediate_size=2 * TINY_DIM,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=32,
    )
    torch.manual_seed(seed)
    CLIPVisionModel(config).eval().save_pretrained(directory)
    write_preprocessor_config(Path(directory), image_size)
    return Path(directory)


def write_tiny_pooled_text_model(directory: Path, *, seed: int = 0) -> Path:
    """A `RobertaModel` (with its pooler) and byte-level BPE tokenizer (CLIPfa's text half)."""
    _quiet_transformers()
    import torch
    from transformers import RobertaConfig, RobertaModel

    tokenizer = train_byte_bpe(_corpus(), vocab_size=500, max_length=64, style=ROBERTA)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_DIM,
        intermediate_size=2 * TINY_DIM,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=66,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    RobertaModel(config, add_pooling_layer=True).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


def write_tiny_multilingual_bundle(directory: Path, *, clip_dir: Path | None = None) -> Path:
    """A bundle like `multilingual-b32`: the tiny CLIP (written into `directory/image` unless
    `clip_dir` gives one already built) and a tiny multilingual text model."""
    _quiet_transformers()
    directory = Path(directory)
    image = Path(clip_dir) if clip_dir is not None else write_tiny_model(directory / "image")
    text = write_tiny_sentence_model(directory / "text-multilingual")
    spec = BundleSpec(
        "tiny-multilingual",
        ImageEncoderSpec(TowerFormat.CLIP, str(image.absolute())),
        (
            TextEncoderSpec(TowerFormat.CLIP, str(image.absolute()), ("en",)),
            TextEncoderSpec(
                TowerFormat.SENTENCE_TRANSFORMERS, str(text.absolute()), ("fa", "en", "ar")
            ),
        ),
        "tiny random CLIP + tiny multilingual text model (meaningless vectors, real code paths)",
    )
    write_bundle(directory, spec)
    return directory


def write_tiny_clipfa_bundle(directory: Path) -> Path:
    """A bundle like `clipfa`: a tiny CLIPVisionModel and a tiny RoBERTa, Persian."""
    directory = Path(directory)
    image = write_tiny_vision_model(directory / "vision")
    text = write_tiny_pooled_text_model(directory / "text")
    spec = BundleSpec(
        "tiny-clipfa",
        ImageEncoderSpec(TowerFormat.CLIP_VISION, str(image.absolute())),
        (TextEncoderSpec(TowerFormat.POOLED_TEXT, str(text.absolute()), ("fa",)),),
        "tiny random CLIPfa-format pair (meaningless vectors, real code paths)",
    )
    write_bundle(directory, spec)
    return directory


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if (
        not 1 <= len(args) <= 2
        or args[0] in {"-h", "--help"}
        or args[1:]
        not in (
            [],
            ["multilingual"],
            ["clipfa"],
        )
    ):
        print(__doc__)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    writer = write_tiny_clipfa_bundle if args[1:] == ["clipfa"] else write_tiny_multilingual_bundle
    print(writer(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
