"""Image-tower variants side by side: ONNX Runtime and OpenVINO, fp32 / bf16 / int8.

    python benchmarks/encoder_variants.py [--rounds 3] [--batches 3] [--only NAME,NAME]

Every variant starts from the SAME exported ONNX graph of the ViT-B/32 image tower (the one
vidsearch exports and verifies: `image.onnx`), and all run in one process, in interleaved
rounds (each figure is the best of its rounds, so a burst of load hurts every variant alike).
For each: images/s at batch 32 and batch 1, CPU-seconds per image at batch 32 (the process's
user + system time, all threads), and the cosine of its embeddings to ONNX Runtime fp32's on
frames cut from real photos (the sample images that scikit-image and matplotlib ship; drawn
scenes when those are missing). Int8 full quantisation calibrates on other crops of the
same photos, never on the frames it is scored on.

Model: `--model DIR` (a CLIP checkpoint folder) or, by default, a random CLIP with OpenAI
ViT-B/32's architecture (index_throughput.py's): true compute cost, but random weights lack
the outlier activations of trained CLIP, so its cosines flatter int8 activations.

Needs the `bench` extra (openvino, nncf, scikit-image). Prints a table, the load average
before and after, and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parent))
from index_throughput import CACHE, ensure_model  # noqa: E402

WORK = CACHE / "encoder-variants"
FRAME_SIZE = (480, 270)  # a 16:9 frame, cut from the photos before CLIP preprocessing
EVAL_FRAMES = 64
CALIB_FRAMES = 64
Run = Callable[[np.ndarray], np.ndarray]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------- frames


def _photos() -> list[Image.Image]:
    """Real photographs shipped inside installed packages (colour, larger than 256 px)."""
    folders = []
    try:
        import skimage

        folders.append(Path(skimage.__file__).parent / "data")
    except ImportError:
        pass
    try:
        import matplotlib

        folders.append(Path(matplotlib.get_data_path()) / "sample_data")
    except ImportError:
        pass
    photos = []
    for folder in folders:
        for path in sorted(folder.glob("*")):
            if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
                continue
            try:
                image = Image.open(path).convert("RGB")
            except OSError:
                continue
            if min(image.size) >= 256:
                photos.append(image)
    return photos


def _drawn_scene(rng: np.random.Generator) -> Image.Image:
    """A gradient sky, textured ground, shapes and a caption (used when no photos exist)."""
    w, h = FRAME_SIZE
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (top * (1 - t) + bottom * t).repeat(w, axis=1)
    horizon = int(rng.uniform(0.4, 0.8) * h)
    sky[horizon:] = rng.uniform(0, 255, 3) + rng.normal(0, 25, (h - horizon, w, 3))
    image = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 7))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(10, 80)
        fill = tuple(int(c) for c in rng.uniform(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + r, y + r), fill=fill)
    draw.text((10, h - 30), f"scene {int(rng.integers(1000))}", fill=(255, 255, 255))
    return image


def frames(seed: int, n: int, photos: list[Image.Image]) -> list[np.ndarray]:
    """`n` 16:9 frames: random crops (zoom 0.35-1) of the photos, resized to FRAME_SIZE."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if not photos:
            out.append(np.asarray(_drawn_scene(rng)))
            continue
        photo = photos[i % len(photos)]
        pw, ph = photo.size
        zoom = rng.uniform(0.35, 1.0)
        cw = min(pw, int(ph * 16 / 9 * zoom)) or pw
        ch = min(ph, int(cw * 9 / 16)) or ph
        x, y = rng.integers(0, pw - cw + 1), rng.integers(0, ph - ch + 1)
        crop = photo.crop((x, y, x + cw, y + ch)).resize(FRAME_SIZE, Image.Resampling.BICUBIC)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out.append(np.asarray(crop))
    return out


# ---------------------------------------------------------------- variants


@dataclass
class Variant:
    name: str
    runtime: str
    weights: str
    activations: str
    build: Callable[[Path, np.ndarray], Run]
    note: str = ""
    result: dict = field(default_factory=dict)


def _ort_session(path: Path) -> Run:
    from vidsearch.encoders.sessions import open_session

    session = open_session(path)  # the providers and options vidsearch uses
    return lambda pixels: session.run(None, {"pixel_values": pixels})[0]


def ort_fp32(fp32: Path, _: np.ndarray) -> Run:
    return _ort_session(fp32)


def ort_int8_dynamic(per_channel: bool) -> Callable[[Path, np.ndarray], Run]:
    def build(fp32: Path, _: np.ndarray) -> Run:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        out = WORK / f"ort-int8-dynamic{'-pc' if per_channel else ''}.onnx"
        quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=per_channel)
        return _ort_session(out)

    return build


def ort_int8_weight_only(fp32: Path, _: np.ndarray) -> Run:
    """MatMulNBits with 8-bit symmetric weights, fp32 compute (accuracy_level 1)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(fp32), bits=8, block_size=32, is_symmetric=True, accuracy_level=1
    )
    quantizer.process()
    out = WORK / "ort-int8-weight-only.onnx"
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)
    return _ort_session(out)


def ort_int8_static(fp32: Path, calib: np.ndarray) -> Run:
    """Static QDQ: uint8 activations (MinMax on the calibration frames), int8 per-channel
    weights, on MatMul/Gemm/Conv only (as NNCF does; Add/Mul/Softmax stay fp32)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(np.array_split(calib, max(1, len(calib) // 8)))

        def get_next(self) -> dict | None:
            batch = next(self.batches, None)
            return None if batch is None else {"pixel_values": batch}

    prepared = WORK / "ort-prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    out = WORK / "ort-int8-static.onnx"
    quantize_static(
        prepared,
        out,
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gemm", "Conv"],
    )
    return _ort_session(out)


def _ov_compile(model, precision: str, **extra: object) -> Run:
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY", **extra}
    compiled = ov.Core().compile_model(model, "CPU", config)
    request = compiled.create_infer_request()

    def run(pixels: np.ndarray) -> np.ndarray:
        request.infer({0: pixels})
        return request.get_output_tensor(0).data.copy()

    return run


def ov_plain(precision: str) -> Callable[[Path, np.ndarray], Run]:
    def build(fp32: Path, _: np.ndarray) -> Run:
        import openvino as ov

        return _ov_compile(ov.Core().read_model(fp32), precision)

    return build


def _nncf():
    import nncf

    nncf.set_log_level(logging.ERROR)  # no bit-width tables on stdout
    return nncf


def ov_weight_only(precision: str, dynamic_quantization: bool = True):
    """NNCF's data-free 8-bit weight compression (asymmetric, per output channel: its
    default, the method of the published 63.30% vs 63.37% figure). OpenVINO's CPU plugin
    then quantises the activations of those layers to int8 at run time (groups of 32) by
    default; `dynamic_quantization=False` turns that off (true weight-only)."""
    extra = {} if dynamic_quantization else {"DYNAMIC_QUANTIZATION_GROUP_SIZE": 0}

    def build(fp32: Path, _: np.ndarray) -> Run:
        import openvino as ov

        nncf = _nncf()
        model = nncf.compress_weights(
            ov.Core().read_model(fp32), mode=nncf.CompressWeightsMode.INT8_ASYM
        )
        return _ov_compile(model, precision, **extra)

    return build


def ov_int8_full(fp32: Path, calib: np.ndarray) -> Run:
    """NNCF post-training quantisation (transformer preset: SmoothQuant, MatMul inputs)."""
    import openvino as ov

    nncf = _nncf()
    batches = np.array_split(calib, max(1, len(calib) // 8))
    model = nncf.quantize(
        ov.Core().read_model(fp32),
        nncf.Dataset(batches),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(batches),
    )
    return _ov_compile(model, "bf16")


VARIANTS = [
    Variant("ort-fp32", "onnxruntime", "fp32", "fp32", ort_fp32, "vidsearch's default"),
    Variant(
        "ort-int8-wo", "onnxruntime", "int8 sym /32", "fp32", ort_int8_weight_only, "MatMulNBits"
    ),
    Variant(
        "ort-int8-dyn",
        "onnxruntime",
        "int8/tensor",
        "int8 dynamic",
        ort_int8_dynamic(False),
        "VIDSEARCH_INT8=1 today",
    ),
    Variant(
        "ort-int8-dyn-pc", "onnxruntime", "int8/channel", "int8 dynamic", ort_int8_dynamic(True)
    ),
    Variant(
        "ort-int8-static", "onnxruntime", "int8/channel", "uint8 static", ort_int8_static, "QDQ"
    ),
    Variant("ov-fp32", "openvino", "fp32", "fp32", ov_plain("f32")),
    Variant("ov-bf16", "openvino", "fp32 (bf16 at run)", "bf16", ov_plain("bf16"), "AMX"),
    Variant(
        "ov-int8-wo",
        "openvino",
        "int8 asym/ch",
        "int8 dynamic /32",
        ov_weight_only("f32"),
        "NNCF; OV default",
    ),
    Variant(
        "ov-int8-wo-nodq",
        "openvino",
        "int8 asym/ch",
        "fp32",
        ov_weight_only("f32", dynamic_quantization=False),
        "NNCF; true weight-only",
    ),
    Variant(
        "ov-int8-wo-bf16", "openvino", "int8 asym/ch", "bf16 + int8 dyn", ov_weight_only("bf16")
    ),
    Variant("ov-int8-full", "openvino", "int8/channel", "int8 static", ov_int8_full, "NNCF PTQ"),
]
SKIPPED = {
    "ort-bf16": "ONNX Runtime's CPU provider has no bf16 kernels on x86 (its bf16 fast-math "
    "GEMM option is for ARM64 only)",
}


# ---------------------------------------------------------------- measurement


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def _timed(run: Run, batches: list[np.ndarray]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) to run every batch once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        run(batch)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(args: argparse.Namespace) -> dict:
    from vidsearch.encoders.clip_common import ClipFiles
    from vidsearch.encoders.factory import ensure_onnx_export
    from vidsearch.encoders.preprocess import to_pixel_values

    model = ClipFiles(str(args.model or ensure_model()))
    folder = ensure_onnx_export(model, CACHE / "vidsearch-cache", int8=False, notify=print)
    fp32_path = folder / "image.onnx"
    WORK.mkdir(parents=True, exist_ok=True)
    photos = _photos()
    config = model.preprocess_config()
    eval_pixels = to_pixel_values(frames(1, EVAL_FRAMES, photos), config)
    calib_pixels = to_pixel_values(frames(2, CALIB_FRAMES, photos), config)
    b32 = [eval_pixels[i : i + 32] for i in range(0, 32 * args.batches, 32) if i < EVAL_FRAMES]
    while len(b32) < args.batches:
        b32.append(b32[len(b32) % 2])
    b1 = [eval_pixels[i : i + 1] for i in range(args.singles)]
    print(f"{len(photos)} photos -> {EVAL_FRAMES} scored frames, {CALIB_FRAMES} calibration")

    chosen = [v for v in VARIANTS if not args.only or v.name in args.only.split(",")]
    runs: dict[str, Run] = {}
    reference = None
    for variant in chosen:
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                logging.disable(logging.WARNING)  # quantisers log advice through the root logger
                try:
                    runs[variant.name] = variant.build(fp32_path, calib_pixels)
                finally:
                    logging.disable(logging.NOTSET)
            out = np.concatenate([runs[variant.name](b) for b in np.split(eval_pixels, 2)])
            runs[variant.name](b1[0])  # warm the batch-1 shape too
        except Exception as exc:  # a variant this install cannot build is reported, not fatal
            variant.result = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            runs.pop(variant.name, None)
            print(f"  {variant.name}: FAILED {variant.result['error']}")
            continue
        if reference is None:
            reference = out  # the first variant (ort-fp32) is the reference
        cos = _cosines(out, reference)
        variant.result = {
            "build_s": round(time.perf_counter() - started, 1),
            "cos_min": float(cos.min()),
            "cos_mean": float(cos.mean()),
            "b32": [],
            "b1": [],
            "cpu_per_image": [],
        }
        print(f"  built {variant.name} in {variant.result['build_s']} s, cos {cos.min():.5f}")
        gc.collect()

    for round_ in range(args.rounds):
        print(f"round {round_ + 1}/{args.rounds}, load average {loadavg()}")
        for variant in chosen:
            if variant.name not in runs:
                continue
            wall, cpu = _timed(runs[variant.name], b32)
            images = 32 * len(b32)
            variant.result["b32"].append(images / wall)
            variant.result["cpu_per_image"].append(cpu / images)
            wall, _ = _timed(runs[variant.name], b1)
            variant.result["b1"].append(len(b1) / wall)
    return {"model": str(model.model_ref), "photos": len(photos), "variants": chosen}


def report(measured: dict, before: str, args: argparse.Namespace) -> None:
    variants: list[Variant] = measured["variants"]
    base = next((v.result for v in variants if v.name == "ort-fp32" and "b32" in v.result), None)
    header = (
        "| variant | weights | activations | img/s b32 | vs ort-fp32 | img/s b1 "
        "| CPU-s/img | cos min | cos mean | build s | note |"
    )
    print("\n" + header + "\n" + "|---" * 11 + "|")
    rows = []
    for v in variants:
        r = v.result
        if "error" in r:
            print(f"| {v.name} | {v.weights} | {v.activations} | failed: {r['error']} |")
            rows.append({"name": v.name, "error": r["error"]})
            continue
        row = {
            "name": v.name,
            "runtime": v.runtime,
            "weights": v.weights,
            "activations": v.activations,
            "img_s_b32": round(max(r["b32"]), 2),
            "img_s_b1": round(max(r["b1"]), 2),
            "cpu_s_per_image": round(min(r["cpu_per_image"]), 4),
            "cos_min": round(r["cos_min"], 6),
            "cos_mean": round(r["cos_mean"], 6),
            "build_s": r["build_s"],
        }
        row["speedup_b32"] = round(row["img_s_b32"] / max(base["b32"]), 2) if base else None
        rows.append(row)
        print(
            f"| {v.name} | {v.weights} | {v.activations} | {row['img_s_b32']:.1f} "
            f"| {row['speedup_b32']}x | {row['img_s_b1']:.1f} | {row['cpu_s_per_image']:.3f} "
            f"| {row['cos_min']:.5f} | {row['cos_mean']:.5f} | {row['build_s']} | {v.note} |"
        )
    for name, why in SKIPPED.items():
        print(f"| {name} | – | – | not run: {why} |")
    after = loadavg()
    print(f"\nload average before {before}, after {after}; best of {args.rounds} rounds")
    print(
        json.dumps(
            {
                "benchmark": "encoder_variants",
                "model": measured["model"],
                "photos": measured["photos"],
                "eval_frames": EVAL_FRAMES,
                "calibration_frames": CALIB_FRAMES,
                "rounds": args.rounds,
                "loadavg_before": before,
                "loadavg_after": after,
                "cpu_count": os.cpu_count(),
                "variants": rows,
                "skipped": SKIPPED,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a CLIP checkpoint folder (default: random)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=2, help="batches of 32 per round")
    parser.add_argument("--singles", type=int, default=16, help="batch-1 calls per round")
    parser.add_argument("--only", help="comma-separated variant names (ort-fp32 always first)")
    args = parser.parse_args()
    if args.only and "ort-fp32" not in args.only.split(","):
        args.only = "ort-fp32," + args.only
    before = loadavg()
    print(f"load average before: {before}")
    report(measure(args), before, args)


if __name__ == "__main__":
    main()
