"""On-screen text (OCR): accuracy, cost per image, the pre-filter, and indexing time per video hour.

    python benchmarks/screen_text.py [--per-language 60] [--no-footage]

1. Generated frames (vidsearch.testing.screen_text): per language, lines in fonts of 16-48 px
   over noise, gradients and photo-like texture, half as outlined subtitles in the band (read
   through the band mask, psm 6), half as signs mid-frame (read in grey, psm 3, again at half
   size when nothing was read), as the reader does. CER per language (best line of each
   image, capped at 1), lines found (CER <= 0.25), OCR seconds per image (one worker,
   batches of 8).
2. Batching and workers: the same band images read one per process, in batches, and in two
   parallel processes.
3. Pre-filter: recall on the text images, share of textless images skipped, cost.
4. Generated subtitle video (60 s, 640x360, 25 fps): lines found within +-0.6 s at band rates
   1, 2 and 3 per second, OCR calls, seconds per video second -> added time per video hour.
5. Textless 1280x720 footage (benchmarks/.cache, 2 min; the cost floor of every video):
   seconds per video second with a frame every 2 s, and decoding alone for comparison.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vidsearch.media.decode import decode_frames
from vidsearch.screen_text import ScreenTextReader, TesseractEngine
from vidsearch.screen_text.band import OCR_FRAME_HEIGHT, band_top, outlined_text
from vidsearch.screen_text.prefilter import may_hold_text
from vidsearch.screen_text.tesseract import AUTO_LAYOUT, UNIFORM_BLOCK
from vidsearch.testing.screen_text import (
    BurnedLine,
    character_error_rate,
    text_frames,
    textless_frames,
    write_screen_text_video,
)

FOUND_CER = 0.25
TOLERANCE_S = 0.6


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def ocr_input(image: np.ndarray, in_band: bool) -> np.ndarray:
    """What the reader sends to OCR for this frame: the band's mask, or the grey frame above."""
    gray = Image.fromarray(image).convert("L")
    scale = OCR_FRAME_HEIGHT / gray.height
    gray = gray.resize((round(gray.width * scale), OCR_FRAME_HEIGHT), Image.Resampling.BOX)
    pixels = np.asarray(gray)
    top = band_top(pixels.shape[0])
    return outlined_text(pixels[top:]) if in_band else pixels[:top]


def timed_read(
    engine: TesseractEngine, images: list[np.ndarray], mode: int, batch: int, halve: bool = False
):
    results, started = [], time.perf_counter()
    for i in range(0, len(images), batch):
        results += engine.read(images[i : i + batch], mode, halve_empty=halve)
    return results, (time.perf_counter() - started) / max(1, len(images))


def accuracy(per_language: int) -> dict:
    frames = list(text_frames(per_language))
    engine = TesseractEngine(workers=1)
    out: dict = {"cer": {}, "found": {}, "by_size": {}}
    costs = {}
    scores: dict[str, list[tuple[int, float]]] = {"en": [], "fa": []}
    for region, in_band, mode in (("band", True, UNIFORM_BLOCK), ("frame", False, AUTO_LAYOUT)):
        chosen = [f for i, f in enumerate(frames) if ((i // 2) % 2 == 0) == in_band]
        images = [ocr_input(f.image, in_band) for f in chosen]
        results, cost = timed_read(engine, images, mode, 8, halve=not in_band)
        costs[region] = cost
        for frame, lines in zip(chosen, results, strict=True):
            cer = min([character_error_rate(line.text, frame.text) for line in lines] or [1.0])
            scores[frame.language].append((frame.size, min(1.0, cer)))
    for language, pairs in scores.items():
        cers = [c for _, c in pairs]
        out["cer"][language] = float(np.mean(cers))
        out["found"][language] = float(np.mean([c <= FOUND_CER for c in cers]))
        for label, sizes in (("16-20", (16, 20)), ("24-32", (24, 32)), ("40-48", (40, 48))):
            part = [c for s, c in pairs if s in sizes]
            out["by_size"][f"{language} {label}px"] = (
                float(np.mean(part)),
                float(np.mean([c <= FOUND_CER for c in part])),
            )
    out["seconds_per_band_image"] = costs["band"]
    out["seconds_per_frame_image"] = costs["frame"]
    out["images"] = len(frames)
    return out


def batching(per_language: int) -> dict:
    frames = list(text_frames(min(per_language, 16)))
    images = [ocr_input(f.image, True) for f in frames][:24]
    one = TesseractEngine(workers=1)
    out = {}
    for batch in (1, 8, 24):
        out[f"1 process, batches of {batch}"] = timed_read(one, images, UNIFORM_BLOCK, batch)[1]
    two = TesseractEngine(workers=2)
    started = time.perf_counter()
    futures = [two.submit(images[i : i + 8], UNIFORM_BLOCK) for i in range(0, len(images), 8)]
    for future in futures:
        future.result()
    out["2 processes, batches of 8"] = (time.perf_counter() - started) / len(images)
    two.close()
    return out


def prefilter(per_language: int) -> dict:
    frames = list(text_frames(per_language))
    texts = [ocr_input(f.image, (i // 2) % 2 == 0) for i, f in enumerate(frames)]
    plain = [
        ocr_input(image, in_band)
        for image in textless_frames(len(frames))
        for in_band in (True, False)
    ]
    started = time.perf_counter()
    passed = [may_hold_text(image) for image in texts]
    skipped = [not may_hold_text(image) for image in plain]
    cost = (time.perf_counter() - started) / (len(texts) + len(plain))
    small = [p for p, f in zip(passed, frames, strict=True) if f.size <= 20]
    return {
        "recall": float(np.mean(passed)),
        "recall_16_20px": float(np.mean(small)),
        "textless_skipped": float(np.mean(skipped)),
        "seconds_per_call": cost,
    }


def long_lines(duration: float) -> list[BurnedLine]:
    """A subtitle every 2.5 s (1.0-2.0 s long, English and Persian in turn), and a sign."""
    from vidsearch.testing.screen_text import ENGLISH_LINES, PERSIAN_LINES

    lines, t, i = [], 0.5, 0
    while t + 2.0 < duration:
        language = "en" if i % 2 == 0 else "fa"
        text = (ENGLISH_LINES if language == "en" else PERSIAN_LINES)[(i // 2) % 12]
        lines.append(BurnedLine(text, language, t, t + 1.0 + (i % 3) * 0.5, "band"))
        t, i = t + 2.5, i + 1
    lines.append(BurnedLine("MUSEUM ENTRANCE", "en", 20.0, 24.0, "sign"))
    return lines


def video(folder: Path) -> dict:
    duration = 60.0
    lines = long_lines(duration)
    clip = write_screen_text_video(folder / "subtitles.mp4", lines, duration=duration)
    frame_times = [t + 1.0 for t in np.arange(0.0, duration - 1.0, 2.0)]
    out = {}
    for rate in (1.0, 2.0, 3.0):
        reader = ScreenTextReader(TesseractEngine(), band_rate=rate)
        report = reader.read(clip.path, frame_times=frame_times)
        reader.close()
        found, errors = 0, []
        for line in lines:
            hits = [
                c
                for c in report.cues
                if character_error_rate(c.text, line.text) <= FOUND_CER
                and abs(c.start - line.start) <= TOLERANCE_S
                and abs(c.end - line.end) <= TOLERANCE_S
            ]
            if line.region == "band":
                found += bool(hits)
                errors += [abs(c.start - line.start) for c in hits[:1]]
                errors += [abs(c.end - line.end) for c in hits[:1]]
            else:
                found += any(
                    character_error_rate(c.text, line.text) <= FOUND_CER for c in report.cues
                )
        out[rate] = {
            "lines": len(lines),
            "found": found,
            "cues": len(report.cues),
            "mean_time_error_s": float(np.mean(errors)) if errors else None,
            "max_time_error_s": float(np.max(errors)) if errors else None,
            "sampled": report.frames_sampled,
            "ocr_calls": report.frames_read,
            "seconds": report.seconds,
            "per_video_hour_s": report.seconds / duration * 3600,
        }
    return out


def footage() -> dict | None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _footage import footage as cached_footage

    path = cached_footage(2.0)
    started = time.perf_counter()
    count = sum(1 for _ in decode_frames(path))
    decode_s = time.perf_counter() - started
    duration = 120.0
    reader = ScreenTextReader(TesseractEngine())
    report = reader.read(path, frame_times=list(np.arange(1.0, duration, 2.0)))
    reader.close()
    return {
        "decoded_frames": count,
        "decode_only_s_per_video_s": decode_s / duration,
        "reader_s_per_video_s": report.seconds / duration,
        "per_video_hour_s": report.seconds / duration * 3600,
        "ocr_calls": report.frames_read,
        "sampled": report.frames_sampled,
        "cues": len(report.cues),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-language", type=int, default=60)
    parser.add_argument("--no-footage", action="store_true")
    args = parser.parse_args()
    engine = TesseractEngine()
    engine.load()
    print(f"load average before: {load_average()}  ({os.cpu_count()} cores)")
    print(f"tesseract {engine.version}, languages eng+fas")
    results: dict = {"load_average_before": load_average()}

    acc = accuracy(args.per_language)
    results["accuracy"] = acc
    print(f"\n1. generated frames: {acc['images']} ({args.per_language} per language)")
    for language in ("en", "fa"):
        print(
            f"   {language}: CER {acc['cer'][language]:.3f}, "
            f"lines found {acc['found'][language]:.0%}"
        )
    for label, (cer, found) in acc["by_size"].items():
        print(f"   {label:12s} CER {cer:.3f}  found {found:.0%}")
    band_ms = acc["seconds_per_band_image"] * 1000
    frame_ms = acc["seconds_per_frame_image"] * 1000
    print(
        f"   OCR per image (1 process, batches of 8): band {band_ms:.0f} ms, "
        f"frame above the band {frame_ms:.0f} ms"
    )

    batch = batching(args.per_language)
    results["batching"] = batch
    print("\n2. band images, seconds per image:")
    for label, seconds in batch.items():
        print(f"   {label:28s} {seconds * 1000:.0f} ms")

    pre = prefilter(args.per_language)
    results["prefilter"] = pre
    print(
        f"\n3. pre-filter: recall {pre['recall']:.1%} (16-20 px: {pre['recall_16_20px']:.1%}), "
        f"textless skipped {pre['textless_skipped']:.1%}, "
        f"{pre['seconds_per_call'] * 1000:.2f} ms/call"
    )

    with tempfile.TemporaryDirectory() as folder:
        vid = video(Path(folder))
    results["video"] = {str(k): v for k, v in vid.items()}
    print("\n4. subtitle video (60 s, 640x360), frames OCR'd every 2 s:")
    for rate, row in vid.items():
        print(
            f"   band {rate:g}/s: found {row['found']}/{row['lines']}, cues {row['cues']}, "
            f"start/end error mean {row['mean_time_error_s']:.2f} s, "
            f"max {row['max_time_error_s']:.2f} s, "
            f"OCR calls {row['ocr_calls']}/{row['sampled']} samples, {row['seconds']:.1f} s "
            f"-> {row['per_video_hour_s'] / 60:.1f} min per video hour"
        )

    if not args.no_footage:
        foot = footage()
        results["footage"] = foot
        print("\n5. textless 1280x720 footage (2 min, grain), frames every 2 s, band 2/s:")
        print(
            f"   reader {foot['reader_s_per_video_s']:.3f} s per video s "
            f"-> {foot['per_video_hour_s'] / 60:.1f} min per video hour; decoding alone "
            f"{foot['decode_only_s_per_video_s']:.3f} s/s; OCR calls {foot['ocr_calls']}/"
            f"{foot['sampled']}, cues {foot['cues']}"
        )
    results["load_average_after"] = load_average()
    print(f"\nload average after: {load_average()}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
