"""Index a video's dialogue: read its subtitles, place each cue on its frames, embed, store.

Runs after the video's frames are stored (it needs their shots), and never fails the video:
every problem (an unreadable subtitle file, a sentence encoder that cannot be loaded, the
dialogue index) becomes a warning in the report. A video without subtitles stores nothing and
loads no model. Indexing again replaces the video's cues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.placement import FrameTimeline
from vidsearch.errors import VidsearchError
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.store import IndexStore
from vidsearch.subtitles import Cue, read_subtitles, sidecar_signature
from vidsearch.text.spelling import words_spelling

EMBED_BATCH = 64
META_SIGNATURE = "subtitles:"  # + video id -> the sidecar signature its cues were read with


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

    def is_current(self, video_id: str, path: Path) -> bool:
        """Whether the video's cues were read from the sidecars it has now."""
        stored = self.store.catalog.get_meta(META_SIGNATURE + video_id)
        return stored is not None and stored == sidecar_signature(path)

    def index_video(self, video_id: str, path: Path) -> DialogueReport:
        report = DialogueReport()
        signature = sidecar_signature(path)
        subtitles = read_subtitles(path)
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
