"""Index a video's dialogue: read its subtitles, place each cue on its frames, embed, store.

Runs after the video's frames are stored (it needs their shots), and never fails the video:
every problem (an unreadable subtitle file, the dialogue index) becomes a warning in the
report. A video without subtitles stores nothing and loads no model. Indexing again replaces
the video's cues.

Words and phrases need no neural model: when the sentence encoder cannot be loaded (offline,
a broken model, another model than the index's), the cues are stored all the same, without
their meaning, and the run says so once (`missing_meaning`). Such a video's signature is marked
`WORDS_ONLY`, so a later run that loads the encoder reads it again and adds the meaning; over a
words-only index, the first video embedded rebuilds it (`IndexStore.bind_dialogue_model`): the
cues of the videos that run does not meet come back when `vidsearch index` next meets them.

A video's subtitles are read from every place its content is known at: the file the catalog
names and the byte-identical copies met since (`remember_copy`), so indexing a copy that has
no subtitle file beside it never takes away the original's cues, and a copy that brings
subtitles adds them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.placement import FrameTimeline, Placement
from vidsearch.encoders.loading import OFFLINE_HINT
from vidsearch.errors import ModelError, ModelMismatchError, VidsearchError
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.store import IndexStore
from vidsearch.subtitles import Cue, SubtitleReport, read_subtitles, sidecar_signature
from vidsearch.text.spelling import words_spelling

EMBED_BATCH = 64
META_SIGNATURE = "subtitles:"  # + video id -> the sidecar signature its cues were read with
META_COPIES = "copies:"  # + video id -> JSON list of other files with the same content
WORDS_ONLY = "words-only:"  # + the signature: the cues were stored without their meaning
DIALOGUE_MODEL_SETTING = "VIDSEARCH_DIALOGUE_MODEL"
UPGRADED = (
    "the dialogue index held the subtitles' words only: it now holds their meaning too, and "
    "each video's subtitles are indexed again as `vidsearch index` meets it"
)


@dataclass(slots=True)
class DialogueReport:
    cues: int = 0
    tracks: list[str] = field(default_factory=list)  # "film.fa.srt (fa)", "stream #2 (en)"
    warnings: list[str] = field(default_factory=list)


class DialogueIndexer:
    """Stores the cues of indexed videos in `store.dialogue`; one per run (it tries the
    sentence encoder once)."""

    def __init__(self, store: IndexStore, encoder: DialogueEncoder) -> None:
        self.store = store
        self.encoder = encoder
        self._meaning: bool | None = None  # whether this run embeds lines (None: not tried)

    def is_current(self, video_id: str, paths: Sequence[Path]) -> bool:
        """Whether the video's cues were read from the sidecars its files have now, with
        their meaning unless this run cannot add it (the first video stored without it
        that a run meets is read again, which tries the sentence encoder)."""
        stored = self.store.catalog.get_meta(META_SIGNATURE + video_id)
        signature = _signature(paths)
        if stored is not None and stored.startswith(WORDS_ONLY):
            return stored == WORDS_ONLY + signature and self._meaning is False
        return stored == signature

    def locations(self, video_id: str, main: Path) -> list[Path]:
        """`main` (the file the catalog names) and the known copies that still exist."""
        copies = [Path(c) for c in json.loads(self._copies(video_id))]
        return [main, *(c for c in copies if c != main and c.is_file())]

    def remember_copy(self, video_id: str, path: Path) -> None:
        """`path` holds the same content as the video: its subtitles count too."""
        copies = json.loads(self._copies(video_id))
        if str(path) not in copies:
            copies.append(str(path))
            self.store.catalog.set_meta(META_COPIES + video_id, json.dumps(copies))

    def index_video(self, video_id: str, paths: Sequence[Path]) -> DialogueReport:
        """Replace the video's cues with those of the subtitles found at `paths` (the video's
        file and its copies; an identical cue found twice is stored once)."""
        report = DialogueReport()
        signature = _signature(paths)
        subtitles = SubtitleReport()
        for path in paths:
            found = read_subtitles(path)
            subtitles.tracks.extend(found.tracks)
            subtitles.warnings.extend(found.warnings)
        report.warnings.extend(subtitles.warnings)
        report.tracks.extend(f"{t.source} ({t.language})" for t in subtitles.tracks)
        cues = subtitles.cues()
        try:
            with_meaning = True
            if cues:
                report.cues, with_meaning = self._store_cues(video_id, cues, report)
            elif self.store.has_dialogue:
                self.store.dialogue.delete_video(video_id)
            marked = signature if with_meaning else WORDS_ONLY + signature
            self.store.catalog.set_meta(META_SIGNATURE + video_id, marked)
        except VidsearchError as exc:  # both shards tell their failures as ours: frames go on
            report.warnings.append(f"dialogue not indexed: {exc}")
            report.cues = 0
        return report

    def forget(self, video_id: str) -> None:
        self.store.catalog.set_meta(META_SIGNATURE + video_id, "")
        self.store.catalog.set_meta(META_COPIES + video_id, "[]")

    def _copies(self, video_id: str) -> str:
        return self.store.catalog.get_meta(META_COPIES + video_id) or "[]"

    def _store_cues(
        self, video_id: str, cues: list[Cue], report: DialogueReport
    ) -> tuple[int, bool]:
        """Replace the video's cues; (how many are stored, whether with their meaning)."""
        with_meaning = self._bind(report)
        index = self.store.dialogue
        index.delete_video(video_id)
        timeline = FrameTimeline.from_payloads(self.store.vectors.payloads(video_id).values())
        for first in range(0, len(cues), EMBED_BATCH):
            batch = cues[first : first + EMBED_BATCH]
            vectors = self._embed(batch, report) if with_meaning else None
            with_meaning = vectors is not None
            index.upsert(
                [
                    self._point(
                        video_id,
                        first + offset,
                        cue,
                        timeline.place(cue.start, cue.end),
                        None if vectors is None else vectors[offset],
                    )
                    for offset, cue in enumerate(batch)
                ]
            )
        index.flush()
        return index.count(video_id), with_meaning

    def _bind(self, report: DialogueReport) -> bool:
        """Tie the dialogue index to the sentence encoder, tried once per run; whether the
        cues get their meaning (if not, the index takes their words all the same)."""
        if self._meaning is None:
            encoder = self.encoder
            try:
                upgraded = self.store.bind_dialogue_model(
                    encoder.identity, encoder.ref, encoder.dim
                )
            except (ModelError, ModelMismatchError) as exc:
                self._without_meaning(exc, report)
            else:
                self._meaning = True
                if upgraded:
                    report.warnings.append(UPGRADED)
        if not self._meaning:
            self.store.bind_dialogue_words()
        return bool(self._meaning)

    def _embed(self, cues: list[Cue], report: DialogueReport) -> np.ndarray | None:
        try:
            return self.encoder.embed([c.text for c in cues], [c.language for c in cues])
        except ModelError as exc:
            self._without_meaning(exc, report)
            return None

    def _without_meaning(self, exc: VidsearchError, report: DialogueReport) -> None:
        """From now on this run stores words only; the report says so (once a run)."""
        self._meaning = False
        report.warnings.append(missing_meaning(self.encoder.ref, exc))

    def _point(
        self, video_id: str, index: int, cue: Cue, place: Placement, vector: np.ndarray | None
    ) -> CuePoint:
        return CuePoint(
            video_id,
            index,
            cue.start,
            cue.end,
            cue.text,
            cue.language,
            words_spelling(cue.text),
            place.shot,
            place.shot_start,
            place.shot_end,
            place.anchor_pts,
            place.anchor_timestamp,
            vector,
            self.encoder.words(cue.text),
        )


def missing_meaning(ref: str, exc: VidsearchError) -> str:
    """The warning for subtitles indexed by their words only: why, and what to set."""
    head = "subtitles indexed for their words and phrases only, not their meaning"
    if isinstance(exc, ModelMismatchError):
        return f"{head}: {exc}"  # it names the model to set
    reason = str(exc).replace(OFFLINE_HINT, "").strip()  # that hint names the CLIP model's setting
    return (
        f"{head}: the sentence encoder '{ref}' cannot be loaded ({reason}). Set "
        f"{DIALOGUE_MODEL_SETTING} to a sentence-transformers model folder on this machine "
        "(offline: copy one from a machine that has it) and index again to add it"
    )


def _signature(paths: Sequence[Path]) -> str:
    """The sidecars of every file (for one file: `sidecar_signature`, as stored before)."""
    return "||".join(sidecar_signature(p) for p in paths)
