"""Two small encoders whose scores mean something on generated footage, offline.

The tiny random models exercise the real loading code but score at random; these two are
transparent stand-ins for measuring *fusion* (dialogue evaluation), not models to ship:

- `ColourEncoder` (image + text, the `Encoder` protocol): an image is its similarity to each
  colour of the synthetic videos' palette; a text is the palette colours it names (English or
  Persian colour words). Textured scenes of one colour score high, others low, with the
  texture's noise in between, as a real CLIP would rank colour queries.
- `HashingSentenceEncoder` (text): a bag of words hashed into a vector, Persian words first
  looked up in a small Persian-English lexicon, so a Persian query lands near the English line
  that shares its meaning, as a multilingual sentence encoder would (and nowhere else).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

import numpy as np

from vidsearch.encoders.base import l2_normalize
from vidsearch.testing.videos import PALETTE
from vidsearch.text.persian import normalize_persian

COLOUR_WORDS: Mapping[str, int] = {  # word -> index into PALETTE
    "red": 0, "green": 1, "blue": 2, "yellow": 3, "purple": 4, "magenta": 4, "cyan": 5,
    "teal": 5, "orange": 6, "grey": 7, "gray": 7,
    "قرمز": 0, "سبز": 1, "آبی": 2, "زرد": 3, "بنفش": 4, "فیروزهای": 5, "نارنجی": 6,
    "خاکستری": 7,
}  # fmt: skip
COLOUR_SHARPNESS = 40.0  # how fast image similarity falls off with colour distance (0-255)
_WORD = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(normalize_persian(text))]


class ColourEncoder:
    """Images and texts to `len(PALETTE)`-d unit vectors over the palette's colours."""

    identity = "toy-colour-v1"
    name = "toy-colour"

    def __init__(self) -> None:
        self._palette = np.asarray(PALETTE, np.float32)

    @property
    def dim(self) -> int:
        return len(PALETTE)

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        rows = []
        for image in images:
            mean = np.asarray(image, np.float32).reshape(-1, 3).mean(axis=0)
            distance = np.linalg.norm(self._palette - mean, axis=1)
            rows.append(np.exp(-distance / COLOUR_SHARPNESS))
        return l2_normalize(np.asarray(rows, np.float32).reshape(-1, self.dim))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.full((len(texts), self.dim), 0.05, np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in words_of(text):
                if word in COLOUR_WORDS:
                    row[COLOUR_WORDS[word]] = 1.0
        return l2_normalize(rows)

    def load(self) -> ColourEncoder:
        return self  # nothing to locate: the palette is the model

    def close(self) -> None:
        pass


class HashingSentenceEncoder:
    """Texts to signed feature-hashed bags of (lexicon-translated, crudely stemmed) words."""

    identity = "toy-hashing-v1"
    name = "toy-hashing"

    def __init__(
        self,
        lexicon: Mapping[str, str] | None = None,
        *,
        dim: int = 128,
        stop_words: frozenset[str] = frozenset(),
    ) -> None:
        """`lexicon`: Persian word (normalised) -> English words."""
        self._lexicon = {normalize_persian(k): v for k, v in (lexicon or {}).items()}
        self._dim = dim
        self._stop = stop_words

    @property
    def dim(self) -> int:
        return self._dim

    def _tokens(self, text: str) -> list[str]:
        tokens = []
        for word in words_of(text):
            for token in self._lexicon.get(word, word).split():
                if token in self._stop:
                    continue
                if len(token) > 5 and token.endswith("ing"):
                    token = token[:-3]
                elif len(token) > 3 and token.endswith("s"):
                    token = token[:-1]
                tokens.append(token)
        return tokens

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self._dim), np.float32)
        for row, text in zip(rows, texts, strict=True):
            for token in self._tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                row[value % self._dim] += 1.0 if (value >> 32) & 1 else -1.0
        return l2_normalize(rows)

    def load(self) -> HashingSentenceEncoder:
        return self  # nothing to locate: the lexicon is the model

    def close(self) -> None:
        pass
