"""The sources of lines besides subtitles: speech (transcribed) and text on screen (OCR).

Each is a `LineReader`: it names its source, an `identity` that changes exactly when its output
could change (the model, its settings), whether a video wants it, and reads a video's lines.
The indexer keeps what a reader read in the catalog (`LineCache`), keyed by the video's content,
so a video is read again only when the reader's identity changes: a new ASR model transcribes
again, a rebuilt dialogue index or a removed-and-added video only stores the lines again.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vidsearch.errors import VidsearchError
from vidsearch.index.catalog import Catalog
from vidsearch.subtitles import Cue
from vidsearch.types import TextSource

if TYPE_CHECKING:
    from vidsearch.screen_text import ScreenTextReader
    from vidsearch.speech import SpeechTranscriber

# progress(done, total) in seconds of video (or audio)
Progress = Callable[[float, float], None]
# checkpoint(lines so far, seconds of the video read): where a killed read can go on from
Checkpoint = Callable[[list[Cue], float], None]
CACHE_KEY = "lines:"  # + source + ":" + video id -> JSON {"identity", "cues"}
PARTIAL_KEY = "partial:"  # + source + ":" + video id -> JSON {"identity", "cues", "until"}


@dataclass(frozen=True, slots=True)
class Partial:
    """The lines of a read that stopped, and the video time up to which they are complete."""

    cues: list[Cue]
    until: float


@dataclass(slots=True)
class LinesRead:
    cues: list[Cue]
    warnings: list[str] = field(default_factory=list)


class LineReader(Protocol):
    @property
    def source(self) -> TextSource: ...

    @property
    def identity(self) -> str: ...

    @property
    def missing(self) -> str:
        """The warning's head when the reader cannot run ("speech not transcribed")."""
        ...

    def wanted(self, has_subtitles: bool) -> bool:
        """Whether a video with (or without) subtitles is read by this source."""
        ...

    def has_input(self, path: Path) -> bool:
        """Whether the file has anything to read (speech: an audio track); asked before the
        reader's identity or model is needed, so a silent video never loads the ASR model."""
        ...

    def load(self) -> None:
        """Check the model or program now: ModelError names what is missing and the fix."""
        ...

    def read(
        self,
        path: Path,
        frame_times: Sequence[float],
        progress: Progress,
        *,
        resume: Partial | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> LinesRead:
        """The video's lines; a reader that can go on from a `resume` does, and reports where
        it is through `checkpoint` (one that cannot ignores both and reads it all)."""
        ...

    def close(self) -> None: ...


class SpeechLines:
    """Transcribed speech: videos without subtitles, or every video with sound (`every_video`)."""

    source = TextSource.SPEECH
    missing = "speech not transcribed"

    def __init__(
        self, transcriber: Callable[[], SpeechTranscriber], *, every_video: bool = False
    ) -> None:
        """`transcriber` makes the transcriber when a video with sound first needs it: its
        ModelError (the extra or the model missing) is then told once, like a failed load."""
        self._open = transcriber
        self._transcriber: SpeechTranscriber | None = None
        self.every_video = every_video

    @property
    def transcriber(self) -> SpeechTranscriber:
        if self._transcriber is None:
            self._transcriber = self._open()
        return self._transcriber

    @property
    def identity(self) -> str:
        return self.transcriber.identity

    def wanted(self, has_subtitles: bool) -> bool:
        return self.every_video or not has_subtitles

    def has_input(self, path: Path) -> bool:
        from vidsearch.speech.audio import probe_audio

        try:
            return probe_audio(path) is not None
        except VidsearchError:
            return True  # reading it will say what is wrong

    def load(self) -> None:
        """Nothing yet: the model loads with the first video that has sound (a library of
        silent videos never needs it, nor hears that it is missing)."""

    def read(
        self,
        path: Path,
        frame_times: Sequence[float],
        progress: Progress,
        *,
        resume: Partial | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> LinesRead:
        """Goes on from `resume` (the speech before `resume.until` is not heard again)."""
        report = self.transcriber.transcribe(
            path,
            progress=progress,
            resume=resume.cues if resume is not None else (),
            resume_at=resume.until if resume is not None else 0.0,
            checkpoint=checkpoint,
        )
        return LinesRead(printable(report.cues), list(report.warnings))

    def close(self) -> None:
        if self._transcriber is not None:
            self._transcriber.close()


class ScreenLines:
    """Text written in the frames: the kept frames and the subtitle band."""

    source = TextSource.SCREEN
    missing = "text on screen not read"

    def __init__(self, reader: ScreenTextReader) -> None:
        self.reader = reader

    @property
    def identity(self) -> str:
        return self.reader.identity

    def wanted(self, has_subtitles: bool) -> bool:
        return True

    def has_input(self, path: Path) -> bool:
        return True  # every video has frames

    def load(self) -> None:
        self.reader.load()

    def read(
        self,
        path: Path,
        frame_times: Sequence[float],
        progress: Progress,
        *,
        resume: Partial | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> LinesRead:
        """Read whole each time (a pass over a video costs minutes, not hours)."""
        report = self.reader.read(path, frame_times=frame_times, progress=progress)
        return LinesRead(printable(report.cues), list(report.warnings))

    def close(self) -> None:
        self.reader.close()


def printable(cues: Iterable[Cue]) -> list[Cue]:
    """The lines with control characters, lone surrogates and U+FFFD taken out (a model's
    broken bytes must not reach a terminal or a JSON payload); empty ones dropped."""
    kept = []
    for cue in cues:
        text = " ".join("".join(ch for ch in cue.text if _printable(ch)).split())
        if text:
            kept.append(Cue(cue.start, cue.end, text, cue.language))
    return kept


_UNPRINTABLE = frozenset({"Cc", "Cs", "Co", "Cn"})


def _printable(ch: str) -> bool:
    """Whitespace (a line break joins the words) or a character a terminal can show."""
    return ch.isspace() or (unicodedata.category(ch) not in _UNPRINTABLE and ch != "\ufffd")


class LineCache:
    """What each reader read from each video, in the catalog (small: text and times)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, source: TextSource, video_id: str, identity: str) -> list[Cue] | None:
        """The lines read with `identity`, or None (never read, or by another reader)."""
        data = self._load(_key(source, video_id), identity)
        return None if data is None else data[0]

    def put(self, source: TextSource, video_id: str, identity: str, cues: Sequence[Cue]) -> None:
        self._save(_key(source, video_id), {"identity": identity, "cues": _rows(cues)})
        self.catalog.set_meta(_partial_key(source, video_id), "")  # done: no partial left

    def partial(self, source: TextSource, video_id: str, identity: str) -> Partial | None:
        """Where a read of the video by this reader stopped, or None."""
        data = self._load(_partial_key(source, video_id), identity)
        return None if data is None else Partial(*data)

    def put_partial(
        self, source: TextSource, video_id: str, identity: str, cues: Sequence[Cue], until: float
    ) -> None:
        data = {"identity": identity, "cues": _rows(cues), "until": round(until, 3)}
        self._save(_partial_key(source, video_id), data)

    def _load(self, key: str, identity: str) -> tuple[list[Cue], float] | None:
        """(the lines, `until` or 0) kept at `key` by a reader of `identity`, or None (none
        kept, another reader's, or damaged: read again)."""
        raw = self.catalog.get_meta(key)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            if data["identity"] != identity:
                return None
            cues = [Cue(float(s), float(e), str(t), str(lang)) for s, e, t, lang in data["cues"]]
            return cues, float(data.get("until", 0.0))
        except (ValueError, KeyError, TypeError):
            return None

    def _save(self, key: str, data: dict[str, object]) -> None:
        self.catalog.set_meta(key, json.dumps(data, ensure_ascii=False))


def _rows(cues: Sequence[Cue]) -> list[list[object]]:
    return [[round(c.start, 3), round(c.end, 3), c.text, c.language] for c in cues]


def _partial_key(source: TextSource, video_id: str) -> str:
    return f"{PARTIAL_KEY}{source}:{video_id}"


def _key(source: TextSource, video_id: str) -> str:
    return f"{CACHE_KEY}{source}:{video_id}"
