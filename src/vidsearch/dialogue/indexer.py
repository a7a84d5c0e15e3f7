"""Index a video's lines: its subtitles, its speech and the text on its frames; each line is
placed on the video's frames, embedded and stored with its source (`TextSource`).

Runs after the video's frames are stored (it needs their shots), and never fails the video:
every problem (an unreadable subtitle file, a missing OCR program or ASR model, the dialogue
index) becomes a warning in the report; a reader that cannot run says so once a run and the
run goes on without it. Subtitles are read again when the files beside the video change;
speech and screen text when their reader's identity changes (a new model), else the lines kept
in the catalog are stored again where the index lacks them (`sources.LineCache`). Storing a
source replaces that source's lines of the video, nothing else.

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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.placement import FrameTimeline, Placement
from vidsearch.dialogue.sources import Checkpoint, LineCache, LineReader, LinesRead, Progress
from vidsearch.encoders.loading import OFFLINE_HINT
from vidsearch.errors import ModelError, ModelMismatchError, VidsearchError
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.store import IndexStore
from vidsearch.subtitles import Cue, SubtitleReport, read_subtitles, sidecar_signature
from vidsearch.text.spelling import words_spelling
from vidsearch.types import TextSource

EMBED_BATCH = 64
# A long read (an hour of speech) saves where it is at most this often (wall seconds): a killed
# run loses at most this much of it.
CHECKPOINT_EVERY_S = 30.0
META_SIGNATURE = "subtitles:"  # + video id -> the sidecar signature its cues were read with
META_COPIES = "copies:"  # + video id -> JSON list of other files with the same content
WORDS_ONLY = "words-only:"  # + the signature: the cues were stored without their meaning
META_STORED = "stored:"  # + source + ":" + video id -> the reader identity its lines came from
NO_INPUT = "no input"  # stored for a video a reader has nothing to read in (no audio track)
DIALOGUE_MODEL_SETTING = "VIDSEARCH_DIALOGUE_MODEL"
UPGRADED = (
    "the dialogue index held the subtitles' words only: it now holds their meaning too, and "
    "each video's subtitles are indexed again as `vidsearch index` meets it"
)


@dataclass(slots=True)
class DialogueReport:
    cues: int = 0  # lines of every source the video has in the index now
    lines: dict[str, int] = field(default_factory=dict)  # stored in this run, by source
    tracks: list[str] = field(default_factory=list)  # "film.fa.srt (fa)", "stream #2 (en)"
    warnings: list[str] = field(default_factory=list)


# text_progress(stage, done, total): a reader's progress through a video, in seconds
TextProgress = Callable[[str, float, float], None]


class DialogueIndexer:
    """Stores the lines of indexed videos in `store.dialogue`; one per run (it tries the
    sentence encoder, and each reader, once). `subtitles` False: subtitles are not read."""

    def __init__(
        self,
        store: IndexStore,
        encoder: DialogueEncoder,
        *,
        readers: Sequence[LineReader] = (),
        subtitles: bool = True,
        progress: TextProgress | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.readers = list(readers)
        self.subtitles = subtitles
        self.progress = progress
        self.cache = LineCache(store.catalog)
        self.checkpoint_every = CHECKPOINT_EVERY_S  # wall seconds between saves of a long read
        self._meaning: bool | None = None  # whether this run embeds lines (None: not tried)
        self._unavailable: set[TextSource] = set()  # readers that could not load this run

    def is_current(self, video_id: str, paths: Sequence[Path]) -> bool:
        """Whether the video's lines are all stored as this run would store them."""
        return self._subtitles_current(video_id, paths) and not self._to_read(video_id)

    def _subtitles_current(self, video_id: str, paths: Sequence[Path]) -> bool:
        """Whether the video's cues were read from the sidecars its files have now, with
        their meaning unless this run cannot add it (the first video stored without it
        that a run meets is read again, which tries the sentence encoder)."""
        if not self.subtitles:
            return True
        stored = self.store.catalog.get_meta(META_SIGNATURE + video_id)
        return self._current(stored, _signature(paths))

    def _current(self, stored: str | None, wanted: str) -> bool:
        if stored is not None and stored.startswith(WORDS_ONLY):
            return stored == WORDS_ONLY + wanted and self._meaning is False
        return stored == wanted

    def _to_read(self, video_id: str, *, fresh: bool = False) -> list[LineReader]:
        """The readers to store the video's lines with now: those it wants (by whether it
        has subtitles stored) that can run this run, all of them when `fresh`, else those
        whose lines are not stored as they would be now."""
        if not self.readers:
            return []
        has_subtitles = self._has_subtitles(video_id)
        wanted = [
            reader
            for reader in self.readers
            if reader.source not in self._unavailable and reader.wanted(has_subtitles)
        ]
        return wanted if fresh else [r for r in wanted if not self._reader_current(r, video_id)]

    def _reader_current(self, reader: LineReader, video_id: str) -> bool:
        stored = self.store.catalog.get_meta(_stored_key(reader.source, video_id))
        if stored == NO_INPUT:
            return True  # the same content: still nothing to read
        try:
            return self._current(stored, reader.identity)
        except ModelError:
            return False  # reading it says what is missing, once

    def _has_subtitles(self, video_id: str) -> bool:
        """Whether the video has subtitle lines stored (an unusable index: no, for now; the
        store's failure is told where lines are written)."""
        if not self.store.has_dialogue:
            return False
        try:
            return self.store.dialogue.count(video_id, sources={TextSource.SUBTITLE}) > 0
        except VidsearchError:
            return False

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

    def index_video(
        self, video_id: str, paths: Sequence[Path], *, fresh: bool = True
    ) -> DialogueReport:
        """Store the video's lines: its subtitles (found at `paths`, the video's file and its
        copies; an identical cue found twice is stored once), then each reader's. `fresh`
        (a video whose frames were just stored): every source; else only those not current."""
        report = DialogueReport()
        if self.subtitles and (fresh or not self._subtitles_current(video_id, paths)):
            self._index_subtitles(video_id, paths, report)
        for reader in self._to_read(video_id, fresh=fresh):  # after the subtitles: `wanted`
            self._index_reader(reader, video_id, paths, report)
        report.cues = sum(report.lines.values())
        if self.store.has_dialogue:
            try:  # every source's lines, those stored by earlier runs too
                report.cues = self.store.dialogue.count(video_id)
            except VidsearchError:
                pass  # the failure that stopped the lines is in the warnings already
        return report

    def _index_subtitles(
        self, video_id: str, paths: Sequence[Path], report: DialogueReport
    ) -> None:
        signature = _signature(paths)
        subtitles = SubtitleReport()
        for path in paths:
            found = read_subtitles(path)
            subtitles.tracks.extend(found.tracks)
            subtitles.warnings.extend(found.warnings)
        report.warnings.extend(subtitles.warnings)
        report.tracks.extend(f"{t.source} ({t.language})" for t in subtitles.tracks)
        self._replace_lines(
            video_id,
            TextSource.SUBTITLE,
            subtitles.cues(),
            report,
            marker=META_SIGNATURE + video_id,
            value=signature,
            failure="dialogue not indexed",  # both shards tell their failures as ours
        )

    def _replace_lines(
        self,
        video_id: str,
        source: TextSource,
        cues: list[Cue],
        report: DialogueReport,
        *,
        marker: str,
        value: str,
        failure: str,
    ) -> None:
        """Replace the video's lines of `source` with `cues` (none: delete them), then mark in
        the catalog what they came from (`value` at `marker`; prefixed WORDS_ONLY when they
        were stored without their meaning). A failure of the index is a warning headed
        `failure`: the frames go on."""
        try:
            with_meaning = True
            if cues:
                stored, with_meaning = self._store_lines(video_id, source, cues, report)
                report.lines[source] = stored
            elif self.store.has_dialogue:
                self.store.dialogue.delete_video(video_id, sources={source})
            self.store.catalog.set_meta(marker, value if with_meaning else WORDS_ONLY + value)
        except VidsearchError as exc:
            report.warnings.append(f"{failure}: {exc}")

    def _index_reader(
        self, reader: LineReader, video_id: str, paths: Sequence[Path], report: DialogueReport
    ) -> None:
        """The reader's lines of the video: from the cache when this reader read them, else
        read now (a reader that cannot load is off for the rest of the run, said once)."""
        source = reader.source
        path = next((p for p in paths if p.is_file()), paths[0])
        where = {"marker": _stored_key(source, video_id), "failure": f"{source} lines not indexed"}
        if not reader.has_input(path):  # nothing to read: no lines, and none to come
            self._replace_lines(video_id, source, [], report, value=NO_INPUT, **where)
            return
        try:
            identity = reader.identity
        except ModelError as exc:  # its model or program is not there
            self._unavailable.add(source)
            report.warnings.append(f"{reader.missing}: {exc}")
            return
        cues = self.cache.get(source, video_id, identity)
        if cues is None:
            read = self._read(reader, identity, video_id, path, report)
            if read is None:
                return
            cues = read.cues
            self.cache.put(source, video_id, identity, cues)
        self._replace_lines(video_id, source, cues, report, value=identity, **where)

    def _read(
        self,
        reader: LineReader,
        identity: str,
        video_id: str,
        path: Path,
        report: DialogueReport,
    ) -> LinesRead | None:
        source = reader.source
        try:
            reader.load()
        except ModelError as exc:
            self._unavailable.add(source)
            report.warnings.append(f"{reader.missing}: {exc}")
            return None
        frame_times = self._frame_times(video_id)
        resume = self.cache.partial(source, video_id, identity)
        checkpoint = self._checkpoint(source, video_id, identity)
        try:
            read = reader.read(
                path,
                frame_times,
                self._progress_for(str(source)),
                resume=resume,
                checkpoint=checkpoint,
            )
        except ModelError as exc:  # the model failed while running: off for this run
            self._unavailable.add(source)
            report.warnings.append(f"{reader.missing}: {exc}")
            return None
        except VidsearchError as exc:  # this video only (its audio is damaged, say)
            report.warnings.append(f"{reader.missing}: {exc}")
            return None
        report.warnings.extend(read.warnings)
        return read

    def _checkpoint(self, source: TextSource, video_id: str, identity: str) -> Checkpoint:
        """Saves a read's lines so far in the catalog, at most every `checkpoint_every` s."""
        saved = time.monotonic()

        def save(cues: list[Cue], until: float) -> None:
            nonlocal saved
            if time.monotonic() - saved >= self.checkpoint_every:
                self.cache.put_partial(source, video_id, identity, cues, until)
                saved = time.monotonic()

        return save

    def _frame_times(self, video_id: str) -> list[float]:
        if not self.store.has_vectors:
            return []
        payloads = self.store.vectors.payloads(video_id).values()
        return sorted(float(p["timestamp"]) for p in payloads if "timestamp" in p)

    def _progress_for(self, stage: str) -> Progress:
        listener = self.progress

        def told(done: float, total: float) -> None:
            if listener is not None:
                listener(stage, done, total)

        return told

    def close(self) -> None:
        """Free the readers' models."""
        for reader in self.readers:
            reader.close()

    def _copies(self, video_id: str) -> str:
        return self.store.catalog.get_meta(META_COPIES + video_id) or "[]"

    def _store_lines(
        self, video_id: str, source: TextSource, cues: list[Cue], report: DialogueReport
    ) -> tuple[int, bool]:
        """Replace the video's lines of `source`; (how many are stored, whether with their
        meaning)."""
        with_meaning = self._bind(report)
        index = self.store.dialogue
        index.delete_video(video_id, sources={source})
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
                        source,
                    )
                    for offset, cue in enumerate(batch)
                ]
            )
        index.flush()
        return index.count(video_id, sources={source}), with_meaning

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
        self,
        video_id: str,
        index: int,
        cue: Cue,
        place: Placement,
        vector: np.ndarray | None,
        source: TextSource,
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
            source,
        )


def missing_meaning(ref: str, exc: VidsearchError) -> str:
    """The warning for lines indexed by their words only: why, and what to set."""
    head = (
        "lines (subtitles, speech, screen text) indexed for their words and phrases only, "
        "not their meaning"
    )
    if isinstance(exc, ModelMismatchError):
        return f"{head}: {exc}"  # it names the model to set
    reason = str(exc).replace(OFFLINE_HINT, "").strip()  # that hint names the CLIP model's setting
    return (
        f"{head}: the sentence encoder '{ref}' cannot be loaded ({reason}). Set "
        f"{DIALOGUE_MODEL_SETTING} to a sentence-transformers model folder on this machine "
        "(offline: copy one from a machine that has it) and index again to add it"
    )


def _stored_key(source: TextSource, video_id: str) -> str:
    return f"{META_STORED}{source}:{video_id}"


def _signature(paths: Sequence[Path]) -> str:
    """The sidecars of every file (for one file: `sidecar_signature`, as stored before)."""
    return "||".join(sidecar_signature(p) for p in paths)
