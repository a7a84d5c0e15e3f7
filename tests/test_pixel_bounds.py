"""No image costs more pixels than the model needs (issue 18, item 1): a 196-byte 1x60000 PNG
once made the server allocate 12.5 GB, a 13000x13000 PNG bomb 1.9 GB, a 2x4096 video 700 MB.
Query images are checked from their header (aspect ratio, decoded pixels; JPEGs in draft
mode), the encoders' preprocessing scales only the centred square, and a frame's working
image has a bounded long side."""

from __future__ import annotations

import io
import resource
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service_support import assert_json_error, live_server
from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values
from vidsearch.errors import QueryError
from vidsearch.media.decode import WORKING_MAX_SIDE, WORKING_SHORT_SIDE, working_size
from vidsearch.search.images import (
    QUERY_MAX_ASPECT,
    QUERY_MAX_PIXELS,
    decode_query_image,
    query_pixels,
)

MB = 1 << 20


def _reference(image: np.ndarray, size: int) -> np.ndarray:
    """The reference CLIP transform: scale the whole image, then crop."""
    pil = Image.fromarray(image)
    w, h = pil.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    pil = pil.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(pil.crop((left, top, left + size, top + size)))


def _gradient(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(y * 0.7) % 256, (x * 5) % 256, ((x + y) * 0.3) % 256], -1).astype(np.uint8)


def png_of_zeros(width: int, height: int) -> bytes:
    """A grayscale PNG of width x height zeros, compressed row by row (never held whole)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    packer, row, parts = zlib.compressobj(9), b"\0" * (width + 1), []
    for _ in range(height):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + (chunk(b"IEND", b""))
    )


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (100, 100), (37, 1000), (1000, 37)])
@pytest.mark.parametrize("size", [224, 336])
def test_preprocessing_keeps_the_reference_transform(shape: tuple[int, int], size: int) -> None:
    image = _gradient(*shape)
    got = to_pixel_values([image], PreprocessConfig(size=size))
    expected = _reference(image, size).astype(np.float32) / 255.0
    expected = (expected - np.asarray(PreprocessConfig().mean)) / np.asarray(PreprocessConfig().std)
    assert got.shape == (1, 3, size, size)
    # the same source pixels are sampled; only rounding between Pillow's passes differs
    assert np.abs(got[0].transpose(1, 2, 0) - expected).max() < 3 / 255 / min(CLIP_STDS)


CLIP_STDS = PreprocessConfig().std

_PREPROCESS_PEAK = """
import resource, sys
import numpy as np
from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values
h, w = int(sys.argv[1]), int(sys.argv[2])
image = np.full((h, w, 3), 128, np.uint8)
to_pixel_values([image[:8, :8]], PreprocessConfig())  # warm up Pillow and numpy
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
batch = to_pixel_values([image], PreprocessConfig())
assert batch.shape == (1, 3, 224, 224), batch.shape
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.parametrize("shape", [(1, 4000), (4000, 1), (2, 4096), (4096, 3), (5, 20000)])
def test_preprocessing_an_extreme_aspect_ratio_costs_one_square(shape: tuple[int, int]) -> None:
    """Scaling 1x4000 whole would make 224x896000 (600 MB); only the square is scaled."""
    run = subprocess.run(
        [sys.executable, "-c", _PREPROCESS_PEAK, *map(str, shape)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(run.stdout) < 50 * MB


@pytest.mark.parametrize(
    ("width", "height"), [(1, 60000), (60000, 1), (21, 1), (1000, 30000), (5000, 5000)]
)
def test_query_images_out_of_bounds_are_refused_before_decoding(width: int, height: int) -> None:
    data = png_of_zeros(width, height)
    with pytest.raises(QueryError, match=f"{width}x{height}"):
        decode_query_image(data, "q.png")
    with pytest.raises(QueryError, match=f"{width}x{height}"):
        query_pixels(Image.open(io.BytesIO(data)))


def test_the_bounds_are_inclusive() -> None:
    assert decode_query_image(_png(QUERY_MAX_ASPECT, 1), "q.png").shape == (1, 20, 3)
    assert query_pixels(np.zeros((1, QUERY_MAX_ASPECT, 3), np.uint8))[0].shape == (1, 20, 3)
    with pytest.raises(QueryError, match="elongated"):
        query_pixels(np.zeros((1, QUERY_MAX_ASPECT + 1, 3), np.uint8))


def test_a_large_jpeg_is_decoded_in_draft_mode() -> None:
    """6000x4000 (24 MP, over the limit) decodes at half size, both sides >= 1024."""
    out = io.BytesIO()
    Image.fromarray(_gradient(4000, 6000)).save(out, format="JPEG", quality=70)
    assert 6000 * 4000 > QUERY_MAX_PIXELS
    pixels = decode_query_image(out.getvalue(), "big.jpg")
    assert pixels.shape == (2000, 3000, 3)


@pytest.mark.parametrize(("width", "height"), [(4096, 2), (2, 4096), (60000, 2), (1920, 1080)])
def test_working_images_are_bounded(width: int, height: int) -> None:
    w, h = working_size(width, height)
    assert max(w, h) <= WORKING_MAX_SIDE and min(w, h) <= WORKING_SHORT_SIDE
    assert w % 2 == 0 and h % 2 == 0


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    live = live_server(tmp_path_factory.mktemp("pixels") / "home", tiny_model)
    yield live
    live.stop()


@pytest.mark.parametrize(
    ("width", "height", "fragment"),
    [(1, 60000, "elongated"), (60000, 1, "elongated"), (13000, 13000, "pixels")],
)
def test_hostile_query_images_are_400_quickly_in_bounded_memory(
    server, width: int, height: int, fragment: str
) -> None:
    data = png_of_zeros(width, height)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.perf_counter()
        response = http.post("/search", files={"image": ("bomb.png", data, "image/png")})
        elapsed = time.perf_counter() - started
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert_json_error(response, 400, fragment)
    assert elapsed < 5 and growth < 200 * MB


_INDEX_PEAK = """
import resource, sys
from pathlib import Path
import av, numpy as np
import vidsearch
video, home, model = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
with av.open(str(video), "w") as out:  # 2x4096: scaled whole to 224 wide, 700 MB a frame
    stream = out.add_stream("libx264", rate=5)
    stream.width, stream.height, stream.pix_fmt = 2, 4096, "yuv420p"
    for i in range(10):
        frame = np.full((4096, 2, 3), i * 20, np.uint8)
        out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
    out.mux(stream.encode())
with vidsearch.open(home, model, interval=0.5) as library:
    library.load()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = library.index([video])
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert report.indexed == 1, report.to_json()
    print(growth)
"""


def test_a_2x4096_video_indexes_in_bounded_memory(tmp_path: Path, tiny_model: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _INDEX_PEAK, str(tmp_path / "tall.mp4"), str(tmp_path / "home")]
        + [str(tiny_model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert int(run.stdout.split()[-1]) < 150 * MB
