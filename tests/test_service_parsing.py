"""Numbers that come from requests (issue 18, items 7 and 3): a `Range` header and a
thumbnail name are parsed by strict ASCII grammars with bounds, so no value reaches an
`int()` that raises or overflows (a 500); and a thumbnail URL makes a file only for a frame
the index holds, so no request writes into the data directory for an arbitrary time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.responses import FileResponse

from service_support import assert_json_error, index_video, live_server
from vidsearch.service.errors import ApiError
from vidsearch.service.names import MAX_PTS, BadNameError, thumbnail_pts
from vidsearch.service.ranges import MAX_POSITION, parse_range
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import SceneSpan

STREAM = "/videos/standard.mp4/stream"
LONG = "9" * 5000  # int() refuses more than 4,300 digits; a 19-digit bound never gets there

# header (latin-1, as HTTP carries it) -> the status it must get
HOSTILE_RANGES: dict[str, int] = {
    "bytes=²-": 400,  # a superscript: str.isdigit() says yes, int() raises
    "bytes=-²": 400,
    "bytes=0-³": 400,
    "bytes=¹-5": 400,
    f"bytes={LONG}-": 400,
    f"bytes=-{LONG}": 400,
    f"bytes=0-{LONG}": 400,
    f"bytes=0-1,{LONG}-": 400,
    "bytes=99999999999999999999-": 400,  # 20 digits
    f"bytes={MAX_POSITION + 1}-": 400,  # 19 digits, past int64
    "bytes=+1-": 400,
    "bytes=1_0-": 400,
    "bytes=0x10-": 400,
    "bytes=1 0-": 400,
    "bytes=1e3-": 400,
    "bytes=--1": 400,
    "bytes=-1-": 400,
    "bytes=\xa05-": 400,  # a no-break space
    "bytes=½-": 400,
    "bytes": 400,
    "bytes=,": 400,
    "bytes=5-2": 400,
    f"bytes={MAX_POSITION}-": 416,  # well formed, outside the file
    "bytes=-0": 416,
    "bytes=0-1, 100000000-": 416,
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> Iterator[tuple[LiveServer, Path]]:
    home = tmp_path_factory.mktemp("parsing") / "home"
    live = live_server(home, tiny_model)
    with httpx.Client(base_url=live.url, timeout=60) as http:
        index_video(http, standard_video[0])
    yield live, home
    live.stop()


@pytest.fixture()
def http(server: tuple[LiveServer, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        yield client


def _thumbnails(home: Path) -> dict[Path, int]:
    return {p.relative_to(home): p.stat().st_mtime_ns for p in (home / "thumbnails").rglob("*")}


# -- Range ------------------------------------------------------------------------------------
def test_hostile_ranges_get_a_json_4xx_on_get_and_head(
    http: httpx.Client, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    size = standard_video[0].stat().st_size
    for header, status in HOSTILE_RANGES.items():
        raw = {"Range": header.encode("latin-1")}
        got = http.get(STREAM, headers=raw)
        assert_json_error(got, status, "Range" if status == 400 else "outside the file")
        if status == 416:
            assert got.headers["content-range"] == f"bytes */{size}"
        assert http.head(STREAM, headers=raw).status_code == status, header
    part = http.get(STREAM, headers={"Range": "bytes=0-1, ,4-5"})  # an empty list element
    assert part.status_code == 206 and part.headers["content-type"].startswith("multipart/")


def test_random_ranges_never_give_a_5xx(http: httpx.Client) -> None:
    rng = random.Random(18)
    for _ in range(150):
        header = "bytes=" + "".join(rng.choices("0123456789-,² \t+_9", k=rng.randint(0, 30)))
        header = header.rstrip(" \t")  # h11 sends no trailing whitespace
        got = http.get(STREAM, headers={"Range": header.encode("latin-1")})
        assert got.status_code in (200, 206, 400, 416), (header, got.status_code, got.text)


def _random_part(rng: random.Random) -> str:
    """A range-spec, often valid, sometimes with one character changed."""
    a, b = rng.randint(0, 1200), rng.randint(0, 1200)
    part = rng.choice([f"{a}-{b}", f"{a}-", f"-{a}", f" {min(a, b)}-{max(a, b)} ", ""])
    if part and rng.random() < 0.3:
        at = rng.randrange(len(part))
        part = part[:at] + rng.choice("²-, +_x\t9") + part[at + 1 :]
    return part


def _union(ranges: list[tuple[int, int]]) -> set[int]:
    return {i for start, end in ranges for i in range(start, end)}


def test_every_accepted_range_is_one_starlette_serves_the_same() -> None:
    """The JSON check and the file response agree: whatever the grammar accepts, Starlette
    parses without an error into the same bytes, and every range is inside the file."""
    rng = random.Random(7)
    size = 1000
    accepted = 0
    for _ in range(5000):
        spec = ",".join(_random_part(rng) for _ in range(rng.randint(1, 3)))
        header = rng.choice(["bytes=", "bytes=", "Bytes =", "items=", "bytes"]) + spec
        try:
            ranges = parse_range(header, size)
        except ApiError as exc:
            assert exc.status in (400, 416), (header, exc.status)
            continue
        accepted += 1
        assert ranges and all(0 <= s < e <= size for s, e in ranges), (header, ranges)
        served = FileResponse._parse_range_header(header, size)
        assert _union(served) == _union(ranges), header
    assert accepted > 200  # the generator does reach the valid grammar


# -- thumbnail names --------------------------------------------------------------------------
HOSTILE_THUMBNAILS = [
    f"{MAX_PTS + 1}.jpg",  # 2^63: OverflowError once
    "99999999999999999999.jpg",
    f"{LONG}.jpg",
    "%C2%B2.jpg",  # ²
    "%D9%A3.jpg",  # an Arabic-Indic 3: `\d` matches it
    "007.jpg",  # a second name for frame 7
    "-1.jpg",
    "+1.jpg",
    "1.JPG",
    "1.jpg.jpg",
    "1e3.jpg",
    "%201.jpg",
    "1%00.jpg",
    ".jpg",
    f"{MAX_PTS}.jpg",  # a valid name for no frame
]


def test_hostile_thumbnail_names_are_404_and_write_nothing(
    http: httpx.Client, server: tuple[LiveServer, Path]
) -> None:
    home = server[1]
    url = http.get("/search", params={"q": "a scene"}).json()["moments"][0]["thumbnail_url"]
    video_id = url.rsplit("/", 2)[-2]
    before = _thumbnails(home)
    for name in HOSTILE_THUMBNAILS:
        assert_json_error(http.get(f"/thumbnails/{video_id}/{name}"), 404, "no thumbnail")
    assert _thumbnails(home) == before


def test_thumbnail_pts_accepts_only_canonical_int64_names() -> None:
    video_id = "0123abcd"
    assert thumbnail_pts(video_id, "0.jpg") == 0
    assert thumbnail_pts(video_id, "1234.jpg") == 1234
    assert thumbnail_pts(video_id, f"{MAX_PTS}.jpg") == MAX_PTS
    bad = ["².jpg", "٣.jpg", "00.jpg", f"{MAX_PTS + 1}.jpg", f"{LONG}.jpg", "1.jpeg", "1.jpg\n"]
    for name in bad:
        with pytest.raises(BadNameError):
            thumbnail_pts(video_id, name)


# -- thumbnails on demand ---------------------------------------------------------------------
def test_only_an_indexed_frame_gets_a_thumbnail_on_demand(
    http: httpx.Client, server: tuple[LiveServer, Path]
) -> None:
    """50 URLs for times inside the video that the index does not hold: 404, no file; an
    indexed frame whose thumbnail was lost is made again, once, then served as kept."""
    home = server[1]
    moments = http.get("/search", params={"q": "a scene", "top_k": 20}).json()["moments"]
    video_id = moments[0]["thumbnail_url"].rsplit("/", 2)[-2]
    indexed = sorted(int(p.stem) for p in (home / "thumbnails" / video_id).glob("*.jpg"))
    assert len(indexed) >= 3
    between = [t for a, b in zip(indexed, indexed[1:], strict=False) for t in range(a + 1, b)]
    strange = random.Random(3).sample(between, 50)
    before = _thumbnails(home)
    for pts in strange:
        assert_json_error(http.get(f"/thumbnails/{video_id}/{pts}.jpg"), 404, "no thumbnail")
    assert _thumbnails(home) == before  # nothing written

    lost = home / "thumbnails" / video_id / f"{indexed[1]}.jpg"
    lost.unlink()
    first = http.get(f"/thumbnails/{video_id}/{indexed[1]}.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    made = lost.stat().st_mtime_ns
    again = http.get(f"/thumbnails/{video_id}/{indexed[1]}.jpg")
    assert again.status_code == 200 and again.content == first.content
    assert lost.stat().st_mtime_ns == made  # kept, not made a second time
    assert set(_thumbnails(home)) == set(before)
