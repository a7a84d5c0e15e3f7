"""The dialogue encoder: a multilingual sentence encoder for meaning, BM25 for the words.

The sentence encoder is found and loaded on first use (a video without subtitles never loads
it); Persian text is normalised before it is embedded, as queries are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vidsearch.text.keywords import Keywords, SparseTerms
from vidsearch.text.language import detect_language
from vidsearch.text.spelling import encoder_spelling
from vidsearch.types import EncoderBackend


class SentenceEncoder(Protocol):
    """A text encoder whose `identity` names its vector space (as SentenceTextEncoder's)."""

    @property
    def identity(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def close(self) -> None: ...


def open_sentence_encoder(
    ref: str,
    *,
    cache_dir: Path | None = None,
    backend: EncoderBackend = EncoderBackend.AUTO,
    batch_size: int = 32,
    threads: int | None = None,
    notify: Callable[[str], None] | None = None,
) -> SentenceEncoder:
    """A sentence-transformers model (hub id or directory), located now, its weights loaded
    when used: on ONNX Runtime from an export kept in `cache_dir` (made once, with PyTorch),
    else on PyTorch (`encoders/onnx_sentence.py`). `cache_dir` None: the settings' cache
    directory as the environment gives it (VIDSEARCH_CACHE_DIR)."""
    from vidsearch.encoders.onnx_sentence import open_sentence_encoder as open_encoder

    if cache_dir is None:
        from vidsearch.config import make_settings

        cache_dir = make_settings().cache_dir
    return open_encoder(
        ref,
        cache_dir=cache_dir,
        backend=backend,
        batch_size=batch_size,
        threads=threads,
        notify=notify,
    )


class DialogueEncoder:
    """Lines and queries to a sentence vector (meaning) and BM25 terms (words)."""

    def __init__(
        self,
        ref: str,
        *,
        open_encoder: Callable[[str], SentenceEncoder] = open_sentence_encoder,
        keywords: Keywords | None = None,
    ) -> None:
        """`open_encoder(ref)` makes the sentence encoder on first use."""
        self.ref = ref
        self._open_encoder = open_encoder
        self._encoder: SentenceEncoder | None = None
        self.keywords = keywords or Keywords()
        self._opening = threading.Lock()
        self._using = threading.Lock()  # a fast tokenizer is not for two threads at once

    @property
    def sentences(self) -> SentenceEncoder:
        with self._opening:
            if self._encoder is None:
                self._encoder = self._open_encoder(self.ref)
            return self._encoder

    @property
    def identity(self) -> str:
        return self.sentences.identity

    @property
    def dim(self) -> int:
        return self.sentences.dim

    def embed(self, texts: Sequence[str], languages: Sequence[str | None]) -> np.ndarray:
        """Unit vectors of `texts`, each prepared for its language (None: from its script)."""
        prepared = [
            encoder_spelling(text, language or detect_language(text))
            for text, language in zip(texts, languages, strict=True)
        ]
        if not prepared:
            return np.zeros((0, self.dim), np.float32)
        with self._using:
            return self.sentences.encode_texts(prepared)

    def embed_query(self, prepared: str) -> np.ndarray:
        """The unit vector of a query already spelled for encoders (`TextQuery.for_encoders`)."""
        with self._using:
            return self.sentences.encode_texts([prepared])[0]

    def words(self, text: str) -> SparseTerms:
        return self.keywords.document(text)

    def query_words(self, spelled: str) -> SparseTerms:
        """A query's BM25 terms; `spelled` as `TextQuery.for_words` (see text/spelling.py)."""
        return self.keywords.query(spelled)

    def close(self) -> None:
        with self._opening:
            if self._encoder is not None:
                self._encoder.close()
                self._encoder = None
