"""Speech transcription cost: Silero VAD alone, and Whisper on faster-whisper (CTranslate2,
int8) against transformers (PyTorch, float32), on the same espeak-ng speech.

    python benchmarks/asr.py [--sizes tiny,base,small] [--seconds 90] [--tokens-per-second 4]

Real Whisper weights cannot be downloaded here, so each size is a RANDOM model with the real
architecture (d_model, layers, heads, 51865-token vocabulary, 80 mel bins): the compute is
true, the text meaningless. A random decoder never stops by itself, so every speech window is
decoded to exactly `tokens-per-second x its length` tokens (assumed; real speech gives ~3-4
tokens/s with timestamps), which keeps the decoder's share honest. The pipeline is the real
one: audio decoding, VAD, one Whisper window per speech span, language detected.
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
from vidsearch.speech.vad import SileroVad, SpeechSpan, VadParams, detect_speech
from vidsearch.testing.speech import Utterance, write_speech_video
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


def speech_video(seconds: float) -> tuple[Path, list[Utterance]]:
    """Groups of 2-3 sentences 0.3 s apart (one speech span), 3 s of music between groups."""
    path = CACHE / f"speech-{seconds:.0f}s.mkv"
    utterances: list[Utterance] = []
    at, index = 1.0, 0
    from vidsearch.testing.speech import synthesise

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


def window(audio: np.ndarray, start: float, span: SpeechSpan) -> np.ndarray:
    lo = int(round((span.start - start) * SAMPLE_RATE))
    hi = int(round((span.end - start) * SAMPLE_RATE))
    return audio[max(0, lo) : hi]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,base,small")
    parser.add_argument("--backends", default="faster-whisper,transformers")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--tokens-per-second", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime before measuring: {load}")
    path, utterances = speech_video(args.seconds)

    started = time.perf_counter()
    blocks = list(read_audio(path))
    decode_s = time.perf_counter() - started
    audio_s = blocks[-1].end - blocks[0].start
    audio = np.concatenate([b.samples for b in blocks])
    vad = SileroVad()
    vad.load()
    started = time.perf_counter()
    spans = list(detect_speech(vad, blocks, VadParams()))
    vad_s = time.perf_counter() - started
    speech_s = sum(s.duration for s in spans)
    spoken_s = sum(len(u.text) for u in utterances)  # for the JSON only
    print(
        f"audio {audio_s:.1f} s, {len(utterances)} sentences; VAD kept {speech_s:.1f} s in "
        f"{len(spans)} spans ({100 * (1 - speech_s / audio_s):.0f}% of the audio removed)"
    )
    print(
        f"audio decoding {decode_s / audio_s * 3600:.1f} s per audio hour, "
        f"VAD {vad_s / audio_s * 3600:.1f} s per audio hour (1 thread)"
    )
    rows = []
    for size in args.sizes.split(","):
        root = model_folders(size)
        for backend in args.backends.split(","):
            if backend == "faster-whisper":
                recognizer = FasterWhisperRecognizer(str(root / "ct2"), threads=args.threads)
            else:
                recognizer = TransformersWhisperRecognizer(str(root / "hf"), threads=args.threads)
            started = time.perf_counter()
            recognizer.load()
            load_s = time.perf_counter() - started
            recognizer.transcribe(audio[: SAMPLE_RATE * 2], language="en", max_new_tokens=2)
            tokens = 0
            started = time.perf_counter()
            for span in spans:
                cap = max(1, round(args.tokens_per_second * span.duration))
                tokens += cap
                recognizer.transcribe(
                    window(audio, blocks[0].start, span), language=None, max_new_tokens=cap
                )
            asr_s = time.perf_counter() - started
            recognizer.close()
            total = decode_s + vad_s + asr_s
            row = {
                "size": size,
                "backend": backend,
                "load_s": round(load_s, 2),
                "asr_s": round(asr_s, 2),
                "tokens": tokens,
                "rtf_speech": round(asr_s / speech_s, 3),
                "rtf_audio": round(total / audio_s, 3),
            }
            rows.append(row)
            print(
                f"{size:6} {backend:15} load {load_s:5.1f} s  ASR {asr_s:6.1f} s  "
                f"RTF per speech s {row['rtf_speech']:.2f}  RTF of the audio "
                f"(decode+VAD+ASR) {row['rtf_audio']:.2f}",
                flush=True,
            )
    after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime after: {after}")
    print(
        json.dumps(
            {
                "load_before": load,
                "load_after": after,
                "audio_s": round(audio_s, 1),
                "speech_s": round(speech_s, 1),
                "spans": len(spans),
                "characters": spoken_s,
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
