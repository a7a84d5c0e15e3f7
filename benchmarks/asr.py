"""Speech transcription cost: Silero VAD alone, and Whisper on faster-whisper (CTranslate2,
int8) against transformers (PyTorch, float32), on the same espeak-ng speech, with short spans
packed into shared windows and without.

    python benchmarks/asr.py [--sizes tiny,base,small] [--seconds 90] [--tokens-per-second 4]
    python benchmarks/asr.py --preset dialogue --utterances 40 --sizes tiny,base \
        --backends faster-whisper

Real Whisper weights cannot be downloaded here, so each size is a RANDOM model with the real
architecture (d_model, layers, heads, 51865-token vocabulary, 80 mel bins): the compute is
true, the text meaningless. A random decoder never stops by itself, so every speech window is
decoded to exactly `tokens-per-second x its speech` tokens (assumed; real speech gives ~3-4
tokens/s with timestamps; a packed window's silent gaps do not count), which keeps the
decoder's share honest. The pipeline is the real one (SpeechTranscriber): audio decoding,
VAD, windows (one per speech span, or packed), language detected.

Presets: `groups` (2-3 sentences 0.3 s apart, 3 s of music between groups) and `dialogue`
(`--utterances` short English lines of 1-3 s, 1-2 s pauses: one VAD span each).
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from vidsearch.speech.audio import SAMPLE_RATE, read_audio
from vidsearch.speech.faster import FasterWhisperRecognizer
from vidsearch.speech.hf_whisper import TransformersWhisperRecognizer
from vidsearch.speech.packing import NO_PACKING, PackParams
from vidsearch.speech.recognizer import Recognizer, Transcription
from vidsearch.speech.transcriber import SpeechTranscriber
from vidsearch.speech.vad import SileroVad, VadParams, detect_speech
from vidsearch.testing.speech import Utterance, synthesise, write_speech_video
from vidsearch.testing.tiny_whisper import (
    TINY_WHISPER_VERSION,
    WHISPER_SHAPES,
    convert_for_ctranslate2,
    write_tiny_whisper_hf,
)

CACHE = Path(__file__).parent / ".cache" / "asr"
SENTENCES = [
    ("the red car is parked in the street near the old market", "en"),
    ("two dogs are playing in the snow behind the house", "en"),
    ("یک ماشین قرمز در خیابان پارک شده است", "fa"),
    ("a woman reads a book in a quiet cafe by the river", "en"),
    ("دو سگ در برف بازی می‌کنند", "fa"),
    ("children laugh in a green park on a sunny afternoon", "en"),
    ("مردی هنگام غروب در ساحل می‌دود", "fa"),
]


LINES = [  # dialogue: 1-3 s each at espeak-ng's 150 words a minute
    "where are you going",
    "I told you already",
    "not tonight",
    "the train leaves at seven",
    "did you see her face",
    "come back here",
    "we should call the police",
    "I don't know",
    "open the door please",
    "that was my brother",
    "how much did it cost",
    "look behind you",
    "nobody saw anything",
    "give me the keys",
    "it is raining again",
]


def dialogue_video(count: int, seed: int = 0) -> tuple[Path, list[Utterance]]:
    """`count` short lines (1-3 s) separated by 1-2 s pauses, light noise, no music."""
    path = CACHE / f"dialogue-{count}-seed{seed}.mkv"
    rng = np.random.default_rng(seed)
    lengths = {line: len(synthesise(line, "en")) / SAMPLE_RATE for line in LINES}
    utterances: list[Utterance] = []
    at = 1.0
    for _ in range(count):
        line = LINES[int(rng.integers(len(LINES)))]
        utterances.append(Utterance(line, "en", round(at, 2)))
        at += lengths[line] + float(rng.uniform(1.0, 2.0))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_speech_video(path, utterances, duration=at + 1.0, noise=0.002)
    return path, utterances


def speech_video(seconds: float) -> tuple[Path, list[Utterance]]:
    """Groups of 2-3 sentences 0.3 s apart (one speech span), 3 s of music between groups."""
    path = CACHE / f"speech-{seconds:.0f}s.mkv"
    utterances: list[Utterance] = []
    at, index = 1.0, 0
    lengths: dict[int, float] = {}
    while at < seconds - 8:
        for _ in range(2 + index % 2):
            text, language = SENTENCES[index % len(SENTENCES)]
            key = index % len(SENTENCES)
            if key not in lengths:
                lengths[key] = len(synthesise(text, language)) / SAMPLE_RATE
            utterances.append(Utterance(text, language, round(at, 2)))
            at += lengths[key] + 0.3
            index += 1
        at += 3.0
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_speech_video(path, utterances, duration=seconds, music=True, noise=0.002)
    return path, utterances


def model_folders(size: str) -> Path:
    root = CACHE / f"whisper-{size}-random-v{TINY_WHISPER_VERSION}"
    if not (root / "complete").exists():
        write_tiny_whisper_hf(root / "hf", shape=WHISPER_SHAPES[size])
        convert_for_ctranslate2(root / "hf", root / "ct2")
        (root / "complete").write_text("1\n")
    return root


class CappedRecognizer:
    """Decodes each window to `tokens_per_second` x its speech (the non-silent samples: a
    packed window's gaps are exact zeros) and times the recogniser's calls."""

    def __init__(self, inner: Recognizer, tokens_per_second: float) -> None:
        self.inner = inner
        self.rate = tokens_per_second
        self.windows = 0
        self.tokens = 0
        self.seconds = 0.0

    @property
    def identity(self) -> str:
        return self.inner.identity

    def load(self) -> None:
        self.inner.load()

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, max_new_tokens: int | None = None
    ) -> Transcription:
        cap = max(1, round(self.rate * np.count_nonzero(audio) / SAMPLE_RATE))
        started = time.perf_counter()
        result = self.inner.transcribe(audio, language=language, max_new_tokens=cap)
        self.seconds += time.perf_counter() - started
        self.windows += 1
        self.tokens += cap
        return result

    def close(self) -> None:
        self.inner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,base,small")
    parser.add_argument("--backends", default="faster-whisper,transformers")
    parser.add_argument("--preset", choices=("groups", "dialogue"), default="groups")
    parser.add_argument("--seconds", type=float, default=90.0, help="groups: audio length")
    parser.add_argument("--utterances", type=int, default=40, help="dialogue: lines")
    parser.add_argument("--packing", choices=("both", "on", "off"), default="both")
    parser.add_argument("--tokens-per-second", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime before measuring: {load}")
    if args.preset == "dialogue":
        path, utterances = dialogue_video(args.utterances)
    else:
        path, utterances = speech_video(args.seconds)

    started = time.perf_counter()
    blocks = list(read_audio(path))
    decode_s = time.perf_counter() - started
    audio_s = blocks[-1].end - blocks[0].start
    vad = SileroVad()
    vad.load()
    started = time.perf_counter()
    spans = list(detect_speech(vad, blocks, VadParams()))
    vad_s = time.perf_counter() - started
    speech_s = sum(s.duration for s in spans)
    print(
        f"{args.preset}: audio {audio_s:.1f} s, {len(utterances)} sentences; VAD kept "
        f"{speech_s:.1f} s in {len(spans)} spans ({100 * (1 - speech_s / audio_s):.0f}% of "
        "the audio removed)"
    )
    print(
        f"audio decoding {decode_s / audio_s * 3600:.1f} s per audio hour, "
        f"VAD {vad_s / audio_s * 3600:.1f} s per audio hour (1 thread)"
    )
    packings = {"off": NO_PACKING, "on": PackParams()}
    chosen = ("off", "on") if args.packing == "both" else (args.packing,)
    rows = []
    for size in args.sizes.split(","):
        root = model_folders(size)
        for backend in args.backends.split(","):
            if backend == "faster-whisper":
                inner: Recognizer = FasterWhisperRecognizer(str(root / "ct2"), threads=args.threads)
            else:
                inner = TransformersWhisperRecognizer(str(root / "hf"), threads=args.threads)
            started = time.perf_counter()
            inner.load()
            load_s = time.perf_counter() - started
            inner.transcribe(blocks[0].samples[: SAMPLE_RATE * 2], language="en", max_new_tokens=2)
            for packing in chosen:
                capped = CappedRecognizer(inner, args.tokens_per_second)
                transcriber = SpeechTranscriber(capped, vad, packing=packings[packing])
                started = time.perf_counter()
                report = transcriber.transcribe(path)
                total = time.perf_counter() - started
                row = {
                    "size": size,
                    "backend": backend,
                    "packing": packing,
                    "windows": capped.windows,
                    "load_s": round(load_s, 2),
                    "asr_s": round(capped.seconds, 2),
                    "tokens": capped.tokens,
                    "rtf_speech": round(capped.seconds / speech_s, 3),
                    "rtf_audio": round(total / audio_s, 3),
                    "cues": len(report.cues),
                    "language": report.language,
                }
                rows.append(row)
                print(
                    f"{size:6} {backend:15} packing {packing:3}  windows {capped.windows:3}  "
                    f"load {load_s:5.1f} s  ASR {capped.seconds:6.1f} s  RTF per speech s "
                    f"{row['rtf_speech']:.2f}  RTF of the audio (decode+VAD+ASR) "
                    f"{row['rtf_audio']:.2f}",
                    flush=True,
                )
            inner.close()
    after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime after: {after}")
    print(
        json.dumps(
            {
                "preset": args.preset,
                "load_before": load,
                "load_after": after,
                "audio_s": round(audio_s, 1),
                "speech_s": round(speech_s, 1),
                "spans": len(spans),
                "sentences": len(utterances),
                "vad_s_per_audio_hour": round(vad_s / audio_s * 3600, 1),
                "decode_s_per_audio_hour": round(decode_s / audio_s * 3600, 1),
                "tokens_per_second_assumed": args.tokens_per_second,
                "threads": args.threads,
                "rows": rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
