"""Tokenizers trained offline on a list of texts: WordPiece and byte-level BPE, each in the
conventions of a model family (its special tokens, the template around one text, the roles
transformers knows them by).

Used by training (models trained from scratch) and by the tiny test models, so both build
their tokenizers one way. The results are Hugging Face fast tokenizers, saved with the model,
so every loader (transformers, sentence-transformers, vidsearch's encoders) reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast


@dataclass(frozen=True, slots=True)
class TokenizerStyle:
    """A family's conventions. Special tokens get the first ids, in this order."""

    specials: tuple[str, ...]
    template: str  # around one text, `$A`; the special tokens in it are added by the tokenizer
    roles: Mapping[str, str] = field(default_factory=dict)  # e.g. {"pad_token": "[PAD]"}
    lowercase: bool = False  # WordPiece only; case is kept by default (Persian marks matter)

    @property
    def unknown(self) -> str | None:
        return self.roles.get("unk_token")


BERT = TokenizerStyle(
    specials=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
    template="[CLS] $A [SEP]",
    roles={
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    },
)
CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
CLIP = TokenizerStyle(  # padded with <|endoftext|>: CLIP pools at the first one
    specials=(CLIP_BOS, CLIP_EOS),
    template=f"{CLIP_BOS} $A {CLIP_EOS}",
    roles={"bos_token": CLIP_BOS, "eos_token": CLIP_EOS, "pad_token": CLIP_EOS},
)
ROBERTA = TokenizerStyle(
    specials=("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
    template="<s> $A </s>",
    roles={
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    },
)
MARIAN = TokenizerStyle(
    specials=("<pad>", "</s>", "<unk>"),
    template="$A </s>",
    roles={"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"},
    lowercase=True,
)


def train_wordpiece(
    texts: Iterable[str], *, vocab_size: int, max_length: int, style: TokenizerStyle = BERT
) -> PreTrainedTokenizerFast:
    """BERT's normaliser (accents kept) and pre-tokenizer, WordPiece learned from `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if style.unknown is None:
        raise ValueError("a WordPiece style needs an unk_token role")
    tok = Tokenizer(models.WordPiece(unk_token=style.unknown))
    tok.normalizer = normalizers.BertNormalizer(lowercase=style.lowercase, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(style.specials), show_progress=False
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return _finish(tok, style, max_length)


def train_byte_bpe(
    texts: Iterable[str], *, vocab_size: int, max_length: int, style: TokenizerStyle = CLIP
) -> PreTrainedTokenizerFast:
    """Byte-level BPE (any script, no unknown characters) learned from `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=style.unknown))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(style.specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return _finish(tok, style, max_length)


def _finish(tok: Tokenizer, style: TokenizerStyle, max_length: int) -> PreTrainedTokenizerFast:
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    in_template = [t for t in style.template.split() if t in style.specials]
    tok.post_processor = processors.TemplateProcessing(
        single=style.template,
        special_tokens=[(t, tok.token_to_id(t)) for t in dict.fromkeys(in_template)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=max_length, **dict(style.roles)
    )
