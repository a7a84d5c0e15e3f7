"""Index a video's dialogue: read its subtitles, place each cue on its frames, embed, store.

Runs after the video's frames are stored (it needs their shots), and never fails the video:
every problem (an unreadable subtitle file, a sentence encoder that cannot be loaded, the
dialogue index) becomes a warning in the report. A video without subtitles stores nothing and
loads no model. Indexing again replaces the video's cues.

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

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.placement import FrameTimeline
from vidsearch.errors import VidsearchError
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.store import IndexStore
from vidsearch.subtitles import Cue, SubtitleReport, read_subtitles, sidecar_signature
from vidsearch.text.spelling import words_spelling

EMBED_BATCH = 64
META_SIGNATURE = "subtitles:"  # + video id -> the sidecar signature its cues were read with
META_COPIES = "copies:"  # + video id -> JSON list of other files with the same content


@dataclass(slots=True)
class DialogueReport:
    cues: int = 0
    tracks: list[str] = field(default_factory=list)  # "film.fa.srt (fa)", "stream #2 (en)"
    warnings: list[str] = field(default_factory=list)


class DialogueIndexer:
    """Stores the cues of indexed videos in `store.dialogue`."""

    def __init__(self, store: IndexStore, encoder: DialogueEncoder) -> None:
        self.store = store
        self.encoder = encoder

    def is_current(self, video_id: str, paths: Sequence[Path]) -> bool:
        """Whether the video's cues were read from the sidecars its files have now."""
        stored = self.store.catalog.get_meta(META_SIGNATURE + video_id)
        return stored is not None and stored == _signature(paths)

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
            if self.store.has_dialogue:
                self.store.dialogue.delete_video(video_id)
            if cues:
                report.cues = self._store_cues(video_id, cues)
            self.store.catalog.set_meta(META_SIGNATURE + video_id, signature)
        except VidsearchError as exc:  # both shards tell their failures as ours: frames go on
            report.warnings.append(f"dialogue not indexed: {exc}")
            report.cues = 0
        return report

    def forget(self, video_id: str) -> None:
        self.store.catalog.set_meta(META_SIGNATURE + video_id, "")
        self.store.catalog.set_meta(META_COPIES + video_id, "[]")

    def _copies(self, video_id: str) -> str:
        return self.store.catalog.get_meta(META_COPIES + video_id) or "[]"

    def _store_cues(self, video_id: str, cues: list[Cue]) -> int:
        encoder = self.encoder
        self.store.bind_dialogue_model(encoder.identity, encoder.ref, encoder.dim)
        timeline = FrameTimeline.from_payloads(self.store.vectors.payloads(video_id).values())
        index = self.store.dialogue
        for first in range(0, len(cues), EMBED_BATCH):
            batch = cues[first : first + EMBED_BATCH]
            vectors = encoder.embed([c.text for c in batch], [c.language for c in batch])
            points = []
            for offset, (cue, vector) in enumerate(zip(batch, vectors, strict=True)):
                place = timeline.place(cue.start, cue.end)
                points.append(
                    CuePoint(
                        video_id,
                        first + offset,
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
                        encoder.words(cue.text),
                    )
                )
            index.upsert(points)
        index.flush()
        return index.count(video_id)


def _signature(paths: Sequence[Path]) -> str:
    """The sidecars of every file (for one file: `sidecar_signature`, as stored before)."""
    return "||".join(sidecar_signature(p) for p in paths)
