"""Write a tiny random MarianMT translation model, offline, for tests of the local translator.

    python -m vidsearch.testing.tiny_translator DIR

A `MarianMTModel` of a few hundred KB with a WordPiece tokenizer trained on an English and
Persian corpus, loadable by `AutoModelForSeq2SeqLM` and `AutoTokenizer` like a real one. Its
"translations" are random tokens: real loading and generation code, and garbage output for
the similarity filter to catch.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vidsearch.testing.tiny_model import CORPUS
from vidsearch.text import normalize_persian
from vidsearch.text.vocabulary import MARIAN, train_wordpiece


def _tokenizer():  # -> transformers.PreTrainedTokenizerFast
    corpus = [*CORPUS, *map(normalize_persian, CORPUS)] * 4
    return train_wordpiece(corpus, vocab_size=300, max_length=64, style=MARIAN)


def write_tiny_translator(directory: Path, *, seed: int = 0) -> Path:
    """A tiny random MarianMT checkpoint and its tokenizer in `directory`."""
    import torch
    from transformers import MarianConfig, MarianMTModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = _tokenizer()
    config = MarianConfig(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    print(write_tiny_translator(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
