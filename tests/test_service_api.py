"""The HTTP API on a real uvicorn server (127.0.0.1) with the tiny model: reads, media, errors."""

from __future__ import annotations

import base64
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service_support import assert_json_error, index_video, live_server, serving
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import SceneSpan

MAX_IMAGE_BYTES = 200_000


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_multilingual: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> Iterator[LiveServer]:
    """A bundle: the tiny CLIP for images and English, a tiny multilingual model for Persian."""
    live = live_server(
        tmp_path_factory.mktemp("api") / "home",
        tiny_multilingual,
        max_image_bytes=MAX_IMAGE_BYTES,
    )
    try:
        with httpx.Client(base_url=live.url) as http:
            index_video(http, standard_video[0])
        yield live
    finally:
        live.stop()


@pytest.fixture()
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_health_and_readiness(http: httpx.Client, tiny_multilingual: Path) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["model_loaded"] and body["index_open"] and body["jobs_worker"]
    assert body["model"] == str(tiny_multilingual) and body["videos"] == 1


def test_openapi_documents_every_route_with_models(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    expected = {
        ("get", "/search"),
        ("post", "/search"),
        ("get", "/{video_name}/"),
        ("get", "/videos"),
        ("post", "/videos"),
        ("get", "/videos/{name}"),
        ("delete", "/videos/{name}"),
        ("get", "/videos/{name}/stream"),
        ("get", "/thumbnails/{video_id}/{file}"),
        ("get", "/jobs/{job_id}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    }
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert expected <= found
    json_routes = expected - {
        ("get", "/videos/{name}/stream"),
        ("get", "/thumbnails/{video_id}/{file}"),
        ("get", "/metrics"),
    }
    for method, path in json_routes:
        op = spec["paths"][path][method]
        assert op.get("description") or op.get("summary"), (method, path)
        ok = op["responses"].get("200") or op["responses"].get("202")
        schema = ok["content"]["application/json"]["schema"]
        assert "$ref" in schema, (method, path, schema)  # a named response model
    for path in ("/search", "/videos"):  # the multipart bodies are described too
        body = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert body["schema"]["properties"]
    assert "ErrorOut" in spec["components"]["schemas"]
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_text_search_returns_moments_with_urls(
    http: httpx.Client, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    response = http.get("/search", params={"q": "a textured scene", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "a textured scene" and len(body["moments"]) == 3
    for moment in body["moments"]:
        assert moment["video"] == "standard.mp4"
        assert moment["start"] <= moment["timestamp"] < moment["end"]
        assert moment["frames"] and -1 <= moment["score"] <= 1
        assert moment["play_url"].endswith(f"/videos/standard.mp4/stream#t={moment['start']:.3f}")
        thumb = http.get(moment["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"
        stream = http.get(moment["play_url"].split("#")[0], headers={"Range": "bytes=0-15"})
        assert stream.status_code == 206


def test_search_options(http: httpx.Client) -> None:
    one = http.get("/search", params={"q": "scene", "top_k": 1}).json()
    assert len(one["moments"]) == 1
    only = http.get("/search", params={"q": "scene", "video": "standard.mp4"}).json()
    assert {m["video"] for m in only["moments"]} == {"standard.mp4"}
    none = http.get("/search", params={"q": "scene", "min_score": 0.999}).json()
    assert none["moments"] == []
    english = http.get("/search", params={"q": "a man running on the beach"}).json()
    assert english["encoder"]["language"] == "en"
    persian = http.get("/search", params={"q": "مردی که در ساحل می‌دود"}).json()
    assert persian["query"] == "مردی که در ساحل می‌دود" and persian["moments"]
    assert persian["encoder"]["language"] == "fa"
    assert persian["encoder"]["name"] != english["encoder"]["name"]  # routed by language
    forced = http.get("/search", params={"q": "a man running", "lang": "fa"}).json()
    assert forced["encoder"] == persian["encoder"]


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({}, 422, "q: Field required"),
        ({"q": ""}, 422, "q: String should have at least 1 character"),
        ({"q": "x" * 1001}, 422, "q: String should have at most 1000 characters"),
        ({"q": "dog", "top_k": 0}, 422, "top_k"),
        ({"q": "dog", "top_k": "many"}, 422, "top_k"),
        ({"q": "dog", "min_score": 2}, 422, "min_score"),
        ({"q": "   "}, 400, "empty query"),
        ({"q": "dog", "video": "nope.mp4"}, 400, "no indexed video named 'nope.mp4'"),
    ],
)
def test_search_errors(http: httpx.Client, params: dict, status: int, fragment: str) -> None:
    assert_json_error(http.get("/search", params=params), status, fragment)


def test_image_search(http: httpx.Client) -> None:
    moment = http.get("/search", params={"q": "scene", "top_k": 1}).json()["moments"][0]
    jpeg = http.get(moment["thumbnail_url"]).content
    response = http.post("/search", files={"image": ("frame.jpg", jpeg, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "frame.jpg"
    best = body["moments"][0]  # the frame itself is its own best match
    assert (best["video"], best["timestamp"]) == (moment["video"], moment["timestamp"])
    assert best["score"] == pytest.approx(1.0, abs=0.02)
    top2 = http.post(
        "/search", params={"top_k": 2}, files={"image": ("f.jpg", jpeg, "image/jpeg")}
    ).json()
    assert len(top2["moments"]) == 2


def test_image_search_errors(http: httpx.Client) -> None:
    assert_json_error(
        http.post("/search", content=b"{}", headers={"content-type": "application/json"}),
        415,
        "multipart/form-data",
    )
    assert_json_error(
        http.post("/search", files={"image": ("x.png", b"not an image", "image/png")}),
        415,
        "x.png: not an image",
    )
    assert_json_error(
        http.post("/search", files={"other": ("x.png", b"data", "image/png")}), 422, "'image'"
    )
    big = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > MAX_IMAGE_BYTES
    assert_json_error(
        http.post("/search", files={"image": ("big.png", buffer.getvalue(), "image/png")}),
        413,
        "larger than the limit",
    )


def test_seed_design_route_returns_base64_frames(http: httpx.Client) -> None:
    response = http.get("/standard.mp4/", params={"search_entry": "a red scene", "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["video"] == "standard.mp4" and body["query"] == "a red scene"
    assert len(body["frames"]) == 3
    scores = [f["score"] for f in body["frames"]]
    assert scores == sorted(scores, reverse=True)
    for frame in body["frames"]:
        image = Image.open(io.BytesIO(base64.b64decode(frame["image"])))
        assert image.format == "JPEG" and image.width > 0
        assert 0 <= frame["timestamp"] <= 14
    assert_json_error(http.get("/nope.mp4/", params={"search_entry": "x"}), 404, "'nope.mp4'")
    assert_json_error(http.get("/standard.mp4/"), 422, "search_entry: Field required")


def test_videos(http: httpx.Client, standard_video: tuple[Path, list[SceneSpan]]) -> None:
    videos = http.get("/videos").json()["videos"]
    assert [(v["name"], v["frames"], v["complete"], v["uploaded"]) for v in videos] == [
        ("standard.mp4", 6, True, True)
    ]
    one = http.get("/videos/standard.mp4").json()
    assert one == videos[0]
    assert one["duration"] == pytest.approx(standard_video[1][-1].end, abs=0.05)
    assert one["stream_url"].endswith("/videos/standard.mp4/stream")
    assert_json_error(http.get("/videos/nope.mp4"), 404, "no indexed video named 'nope.mp4'")


def test_stream_supports_ranges(
    http: httpx.Client, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    data = standard_video[0].read_bytes()
    size = len(data)
    full = http.get("/videos/standard.mp4/stream")
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4"
    cases = {
        "bytes=0-99": (0, 100),
        "bytes=1000-": (1000, size),
        "bytes=-500": (size - 500, size),
        f"bytes={size - 10}-{size + 100}": (size - 10, size),
    }
    for header, (start, end) in cases.items():
        part = http.get("/videos/standard.mp4/stream", headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == data[start:end], header
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
    body = assert_json_error(
        http.get("/videos/standard.mp4/stream", headers={"Range": f"bytes={size}-"}),
        416,
        "outside the file",
    )
    assert body["status"] == 416
    for bad in ("bytes=abc", "items=0-1", "bytes=5-2", "bytes="):
        assert_json_error(
            http.get("/videos/standard.mp4/stream", headers={"Range": bad}), 400, "Range"
        )
    assert_json_error(http.get("/videos/nope.mp4/stream"), 404, "nope.mp4")


def test_head_on_a_stream_answers_the_headers(
    http: httpx.Client, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    size = standard_video[0].stat().st_size
    url = "/videos/standard.mp4/stream"
    whole = http.head(url)
    assert whole.status_code == 200 and whole.content == b""
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == http.get(url).headers["etag"]
    part = http.head(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == b""
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.headers["content-length"] == "100"
    outside = http.head(url, headers={"Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.content == b""
    assert outside.headers["content-range"] == f"bytes */{size}"
    assert http.head("/videos/nope.mp4/stream").status_code == 404
    assert "head" in http.get("/openapi.json").json()["paths"]["/videos/{name}/stream"]


def test_errors_are_json(http: httpx.Client) -> None:
    assert_json_error(http.get("/no/such/route"), 404, "/no/such/route")
    assert_json_error(http.put("/videos"), 405, "PUT is not allowed")
    assert_json_error(http.get("/jobs/unknown"), 404, "no job 'unknown'")
    assert_json_error(http.get("/thumbnails/abc/def"), 404)


def test_web_page_and_static_files(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="q"' in page.text and 'dir="auto"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert http.get(asset).status_code == 200


def test_the_core_never_imports_the_service_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vidsearch.cli, vidsearch.ingest, vidsearch.search, vidsearch.index; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client', "
        "'vidsearch.service') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_missing_thumbnail_is_made_from_the_video(
    tmp_path: Path, tiny_model: Path, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    """As for a frame indexed on another machine into a shared Qdrant server: the moment still
    names its thumbnail, and the route makes it from the video (then keeps it)."""
    home = tmp_path / "home"
    with (
        serving(home, tiny_model, standard_video[0]) as live,
        httpx.Client(base_url=live.url, timeout=30) as http,
    ):
        originals = {p.relative_to(home): _pixels(p.read_bytes()) for p in home.rglob("*.jpg")}
        assert originals
        shutil.rmtree(home / "thumbnails")
        moments = http.get("/search", params={"q": "a scene", "top_k": 5}).json()["moments"]
        assert moments and all(m["thumbnail_url"] for m in moments)
        for moment in moments:
            response = http.get(moment["thumbnail_url"])
            assert response.status_code == 200, response.text
            video_id, file = moment["thumbnail_url"].rsplit("/", 2)[-2:]
            made = Path("thumbnails") / video_id / file
            assert (home / made).is_file()  # kept for the next request
            difference = np.abs(_pixels(response.content) - originals[made]).mean()
            assert difference < 6, difference  # the same frame (decoded exactly this time)

        shutil.rmtree(home / "thumbnails")
        for video in (home / "uploads").glob("*.mp4"):
            video.unlink()
        assert_json_error(http.get(moments[0]["thumbnail_url"]), 404, "no readable video")


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float32)
