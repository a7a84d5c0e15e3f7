"""Real synthetic speech for tests: sentences spoken by espeak-ng, placed at known times in a
generated video, so speech detection and transcript timing can be checked without a person.

    video = write_speech_video(path, [Utterance("hello there", "en", 2.0), ...])
    video.placed  # where each sentence landed: (start, end) from the synthesised length

Between sentences there is silence, optionally light noise and a music-like tone (chords of
sine waves), which speech detection must ignore.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsearch.errors import VidsearchError
from vidsearch.speech.packing import PackParams, Window
from vidsearch.speech.recognizer import Segment
from vidsearch.subtitles import Cue

AUDIO_RATE = 16_000
ESPEAK_INSTALL = "sudo apt-get install espeak-ng"


class MissingProgramError(VidsearchError):
    """A system program the test helpers drive is not installed."""


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    language: str  # an espeak-ng voice: "en", "fa", ...
    start: float  # seconds in the video


@dataclass(frozen=True, slots=True)
class Placed:
    text: str
    language: str
    start: float
    end: float  # start + the synthesised speech's length (its trailing silence trimmed)


@dataclass(frozen=True, slots=True)
class SpeechVideo:
    path: Path
    duration: float
    placed: tuple[Placed, ...]


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise MissingProgramError(f"espeak-ng is not installed: {ESPEAK_INSTALL}")
    return path


def synthesise(text: str, language: str, *, rate: int = AUDIO_RATE) -> np.ndarray:
    """`text` spoken by espeak-ng's `language` voice: float32 mono at `rate`, silence trimmed."""
    program = espeak_path()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "speech.wav"
        subprocess.run(
            [program, "-v", language, "-s", "150", "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        with wave.open(str(out), "rb") as wav:
            source_rate = wav.getframerate()
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    audio = data.astype(np.float32) / 32768.0
    audio = _resample(audio, source_rate, rate)
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def _resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target or len(audio) == 0:
        return audio
    times = np.arange(int(len(audio) * target / source)) / target
    return np.interp(times, np.arange(len(audio)) / source, audio).astype(np.float32)


def background(
    duration: float, *, noise: float = 0.0, music: bool = False, seed: int = 0
) -> np.ndarray:
    """Silence, with optional white noise (amplitude `noise`) and a slow chord sequence."""
    count = int(duration * AUDIO_RATE)
    rng = np.random.default_rng(seed)
    audio = np.zeros(count, np.float32)
    if noise:
        audio += (rng.standard_normal(count) * noise).astype(np.float32)
    if music:
        t = np.arange(count) / AUDIO_RATE
        chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6)]
        step = (t // 2.0).astype(int) % len(chords)
        for voice in range(3):
            freq = np.array([c[voice] for c in chords])[step]
            audio += (0.05 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return audio


def write_speech_video(
    path: Path,
    utterances: list[Utterance],
    *,
    duration: float | None = None,
    noise: float = 0.0,
    music: bool = False,
    audio_codec: str = "aac",
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    with_audio: bool = True,
) -> SpeechVideo:
    """A video of moving colour with `utterances` spoken at their start times.

    `duration` defaults to 1.5 s after the last sentence; `with_audio=False` writes the
    picture alone (a video without an audio stream). Raises MissingProgramError without
    espeak-ng, ValueError when sentences overlap."""
    spoken = [(u, synthesise(u.text, u.language)) for u in sorted(utterances, key=_start)]
    placed = [Placed(u.text, u.language, u.start, u.start + len(a) / AUDIO_RATE) for u, a in spoken]
    for before, after in zip(placed, placed[1:], strict=False):
        if after.start < before.end:
            raise ValueError(f"{after.text!r} starts before {before.text!r} ends")
    total = duration if duration is not None else (placed[-1].end + 1.5 if placed else 3.0)
    track = background(total, noise=noise, music=music)
    for (_, audio), where in zip(spoken, placed, strict=True):
        first = int(round(where.start * AUDIO_RATE))
        piece = audio[: max(0, len(track) - first)]
        track[first : first + len(piece)] = piece  # speech replaces the background
    _write(Path(path), track if with_audio else None, total, audio_codec, fps, size)
    return SpeechVideo(Path(path), total, tuple(placed))


def _start(utterance: Utterance) -> float:
    return utterance.start


def _write(
    path: Path,
    track: np.ndarray | None,
    duration: float,
    audio_codec: str,
    fps: int,
    size: tuple[int, int],
) -> None:
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        rate = 48_000 if audio_codec in {"libopus", "opus"} else AUDIO_RATE
        audio = None
        if track is not None:  # every stream is added before the first packet is written
            audio = container.add_stream(audio_codec, rate=rate)
            audio.layout = "mono"
        frames = int(duration * fps)
        for index in range(frames):
            hue = index / max(1, frames)
            image = np.empty((height, width, 3), np.uint8)
            image[...] = (int(255 * hue), 128, int(255 * (1 - hue)))
            image[:, (index * 3) % width] = 255  # a moving bar
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is None or track is None:
            return
        samples = _resample(track, AUDIO_RATE, rate)
        chunk = 4096
        for offset in range(0, len(samples), chunk):
            piece = np.ascontiguousarray(samples[offset : offset + chunk])[None, :]
            sound = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
            sound.sample_rate = rate
            sound.pts = offset
            sound.time_base = Fraction(1, rate)
            container.mux(audio.encode(sound))
        container.mux(audio.encode())


def speech_windows(
    video: SpeechVideo, *, language: str | None = None, packing: PackParams | None = None
) -> list[tuple[np.ndarray, str | tuple[Segment, ...], str]]:
    """(audio, what is said, language) for each window the transcriber will pass to Whisper
    for `video` (its spans packed as SpeechTranscriber packs them, `language` as given to
    it), to fit a memorising test model on (vidsearch.testing.tiny_whisper.fit_tiny_whisper).
    What is said: the sentence of a one-span window; a packed window's sentences as
    segments timed in the window. A window's language is its first sentence's (what the
    fitted model will detect). Spans holding no sentence are left out.
    """
    from vidsearch.speech.audio import read_audio
    from vidsearch.speech.packing import WindowPacker, may_pack
    from vidsearch.speech.transcriber import DEFAULT_PACK, speech_spans_with_audio

    packing = packing or DEFAULT_PACK
    packer = WindowPacker(packing)
    heard: list[tuple[np.ndarray, str | tuple[Segment, ...], str]] = []
    cues: list[Cue] = []

    def hear(window: Window) -> None:
        said = [
            (span, offset, placed)
            for span, offset in zip(window.spans, window.offsets, strict=True)
            for placed in video.placed
            if placed.start < span.end and placed.end > span.start
        ]
        if not said:
            return
        spoken = language or said[0][2].language
        cues.extend(Cue(span.start, span.end, p.text, spoken) for span, _, p in said)
        if len(window.spans) == 1:
            heard.append((window.audio, said[0][2].text, spoken))
            return
        segments = tuple(
            Segment(
                offset + max(0.0, p.start - span.start),
                offset + min(span.duration, p.end - span.start),
                p.text,
            )
            for span, offset, p in said
        )
        heard.append((window.audio, segments, spoken))

    for span, audio in speech_spans_with_audio(read_audio(video.path)):
        window = packer.add(span, audio, may_pack=may_pack(cues, language, packing))
        if window is not None:
            hear(window)
    window = packer.finish()
    if window is not None:
        hear(window)
    return heard
