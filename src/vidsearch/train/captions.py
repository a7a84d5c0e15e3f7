"""Training pairs from a vidsearch dataset: the captions of one split in one language, each tied
to its image, with the parallel caption in another language where there is one (for
distillation), the order of each epoch, and the retrieval task of a split.

A caption's parallel is the caption with the same image, source and number in the other
language, the source compared without its machine-translation suffix (`flickr30k+mt` pairs
with `flickr30k`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DatasetError
from vidsearch.data.records import TRANSLATED_SUFFIX, CaptionRecord, Split
from vidsearch.train.config import CaptionChoice
from vidsearch.train.metrics import RetrievalSet


@dataclass(frozen=True)
class CaptionPairs:
    """Captions and the images they describe: caption `i` is `texts[i]`, of image
    `image_ids[image_rows[i]]`."""

    split: str
    language: str
    image_ids: tuple[str, ...]  # each image once, in dataset order
    texts: tuple[str, ...]
    image_rows: np.ndarray  # int64, one per caption
    parallel: tuple[str | None, ...] = ()  # per caption, when a parallel language was asked

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def captions_of(self) -> tuple[tuple[int, ...], ...]:
        """Caption indices of each image row."""
        rows: list[list[int]] = [[] for _ in self.image_ids]
        for caption, row in enumerate(self.image_rows.tolist()):
            rows[row].append(caption)
        return tuple(tuple(r) for r in rows)

    def epoch(self, seed: int, epoch: int) -> list[int]:
        """One caption per image, images shuffled: the same for the same (seed, epoch), whatever
        ran before (so a resumed run sees exactly the batches an uninterrupted one did)."""
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(self.image_ids))
        picks = rng.integers(0, 1 << 30, size=len(order))
        return [
            self.captions_of[row][pick % len(self.captions_of[row])]
            for row, pick in zip(order.tolist(), picks.tolist(), strict=True)
        ]

    def retrieval(self) -> RetrievalSet:
        """Text -> image retrieval over this split's images: each distinct caption text is one
        query, relevant to every image that has it (identical captions are not told apart)."""
        relevant: dict[str, set[int]] = {}
        for text, row in zip(self.texts, self.image_rows.tolist(), strict=True):
            relevant.setdefault(text, set()).add(row)
        return RetrievalSet(
            tuple(relevant), tuple(frozenset(rows) for rows in relevant.values()), self.image_ids
        )


def load_pairs(
    dataset: Dataset,
    *,
    split: str,
    language: str,
    captions: CaptionChoice = CaptionChoice.ALL,
    parallel_language: str | None = None,
) -> CaptionPairs:
    """The kept captions of `split` in `language`; a DatasetError names what is missing."""
    records = [
        c
        for c in dataset.captions(language=language, split=Split(split))
        if captions is CaptionChoice.ALL or c.n == 0
    ]
    if not records:
        have = dataset.counts()
        raise DatasetError(
            f"no {language!r} captions in the {split} split of {dataset.root} "
            f"(captions by language: {have['captions_by_language'] or 'none'}; "
            f"images by split: {have['images_by_split'] or 'none'})"
        )
    rows: dict[str, int] = {}
    for record in records:
        rows.setdefault(record.image_id, len(rows))
    parallel: tuple[str | None, ...] = ()
    if parallel_language is not None:
        parallel = tuple(_parallel(dataset, r, parallel_language) for r in records)
    return CaptionPairs(
        split,
        language,
        tuple(rows),
        tuple(r.caption for r in records),
        np.array([rows[r.image_id] for r in records], dtype=np.int64),
        parallel,
    )


def _parallel(dataset: Dataset, caption: CaptionRecord, language: str) -> str | None:
    sources = dict.fromkeys([caption.source, caption.source.removesuffix(TRANSLATED_SUFFIX)])
    for source in sources:
        found = dataset.caption((caption.image_id, language, source, caption.n))
        if found is not None and found.keep:
            return found.caption
    return None
