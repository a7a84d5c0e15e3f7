"""The crawler against a fake classifieds API, a fake image server and their robots.txt, all
on 127.0.0.1: pagination (page numbers, a cursor over POST), dedup by image hash, robots.txt
obeyed, the rate limit honoured, resuming after an interruption."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from data_support import FakeServer, Reply, Request
from vidsearch.cli import app
from vidsearch.data import CrawlError, Dataset
from vidsearch.data.crawler import CrawlConfig, Crawler
from vidsearch.data.http import PoliteHttp

USER_AGENT = "vidsearch-test-crawler/1.0"


def _jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (shade, 255 - shade, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


class Site:
    """A classifieds API (/api/posts?page=N, /robots.txt) or an image host (/img/..)."""

    def __init__(self, robots: str = "User-agent: *\nDisallow: /private/\n") -> None:
        self.robots = robots
        self.pages: list[list[dict]] = []
        self.images = {f"/img/{n}.jpg": _jpeg(n * 30) for n in range(8)}
        self.images["/img/copy-of-1.jpg"] = self.images["/img/1.jpg"]
        self.images["/private/secret.jpg"] = _jpeg(200)

    def __call__(self, request: Request) -> Reply:
        if request.path == "/robots.txt":
            return Reply(200, self.robots.encode())
        if request.path == "/api/posts":
            page = int(request.query.get("page", "1"))
            return Reply(200, {"items": self.pages[page - 1] if page <= len(self.pages) else []})
        if request.path in self.images:
            return Reply(200, self.images[request.path])
        return Reply(404, b"not found")


def _post(n: int, image: str, title: str | None = None) -> dict:
    return {
        "id": f"p{n}",
        "title": title if title is not None else f"آگهی شماره {n}",
        "image_url": image,
    }


@pytest.fixture()
def sites():
    api, images = Site(), Site()
    with FakeServer(api) as api_server, FakeServer(images) as image_server:
        host = image_server.url
        api.pages = [
            [
                _post(1, f"{host}/img/1.jpg"),
                _post(2, f"{host}/img/2.jpg"),
                _post(3, "/img/3.jpg"),
            ],  # relative: the API host serves it
            [
                _post(4, f"{host}/img/copy-of-1.jpg"),  # same bytes as p1's image
                _post(5, f"{host}/private/secret.jpg"),  # robots.txt says no
                _post(6, f"{host}/img/6.jpg", title=""),
            ],  # no title
            [
                _post(7, f"{host}/img/missing.jpg"),
                _post(1, f"{host}/img/1.jpg"),  # repeat
                _post(8, f"{host}/img/7.jpg"),
            ],
        ]
        yield api_server, image_server


def _crawl(root: Path, endpoint: str, **options) -> tuple:
    config = CrawlConfig(endpoint, name="divar", user_agent=USER_AGENT, rate=None, **options)
    with (
        PoliteHttp(user_agent=USER_AGENT, rate=config.rate, retries=0) as http,
        Dataset.open(root, writable=True, create=True) as dataset,
    ):
        return Crawler(dataset, config, http).run(), http


def test_crawl_pages_dedups_by_hash_and_obeys_robots(sites, tmp_path: Path) -> None:
    api, images = sites
    report, _ = _crawl(tmp_path / "ds", f"{api.url}/api/posts")
    assert report.done and report.pages == 4  # three pages of posts and an empty one
    assert (report.posts, report.added, report.duplicates) == (9, 4, 1)
    assert (report.robots_blocked, report.invalid, report.failed, report.seen_before) == (
        1,
        1,
        1,
        1,
    )
    assert "/private/secret.jpg" not in images.paths()  # never asked for
    assert Counter(images.paths() + api.paths())["/robots.txt"] == 2  # once per host
    assert {r.headers["user-agent"] for r in api.requests + images.requests} == {USER_AGENT}
    dataset = Dataset.open(tmp_path / "ds")
    assert sorted(r.image_id for r in dataset.images()) == [
        "divar-p1",
        "divar-p2",
        "divar-p3",
        "divar-p8",
    ]
    assert dataset.image("divar-p3").url == f"{api.url}/img/3.jpg"
    assert [c.caption for c in dataset.captions()][0] == "آگهی شماره 1"  # normalised digits
    state = json.loads((tmp_path / "ds" / "crawl" / "divar.json").read_text())
    assert state["done"] and state["failures"][0]["post"] == "p7"
    requests = len(api.requests) + len(images.requests)
    again, _ = _crawl(tmp_path / "ds", f"{api.url}/api/posts")  # finished: nothing to do
    assert again.pages == 0 and len(api.requests) + len(images.requests) == requests


class _Interrupt(Exception):
    pass


class _StopAfterPosts:
    def __init__(self, count: int) -> None:
        self.count = count

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.count -= n
        if self.count == 0:
            raise _Interrupt

    def finish(self) -> None:
        pass


def test_crawl_resumes_where_it_stopped(sites, tmp_path: Path) -> None:
    api, images = sites
    root, endpoint = tmp_path / "ds", f"{api.url}/api/posts"
    first, _ = _crawl(root, endpoint, max_pages=1)
    assert (first.pages, first.added, first.done) == (1, 3, False)
    assert [r.query["page"] for r in api.requests if r.path == "/api/posts"] == ["1"]

    config = CrawlConfig(endpoint, name="divar", user_agent=USER_AGENT, rate=None)
    with (
        PoliteHttp(user_agent=USER_AGENT, rate=None, retries=0) as http,
        Dataset.open(root, writable=True) as dataset,
        pytest.raises(_Interrupt),
    ):  # killed after the first post of page 3
        Crawler(dataset, config, http).run(progress=_StopAfterPosts(4))
    fetched = [p for p in images.paths() if p.startswith("/img/")]
    assert fetched.count("/img/1.jpg") == 1

    last, _ = _crawl(root, endpoint)
    pages = [r.query["page"] for r in api.requests if r.path == "/api/posts"]
    assert pages == ["1", "2", "3", "3", "4"]  # page 3 again, where the kill left it
    assert last.done and last.added == 1  # p8; p7's image is missing
    assert [p for p in images.paths() if p.startswith("/img/")].count("/img/1.jpg") == 1
    rows = (root / "images.jsonl").read_text().splitlines()
    assert len(rows) == len(set(rows)) == 4


def test_rate_limits_per_host_and_robots_request_rate(tmp_path: Path) -> None:
    api = Site(robots="User-agent: *\nRequest-rate: 10/1\n")  # 10 a second on this host
    images = Site()
    with FakeServer(api) as api_server, FakeServer(images) as image_server:
        api.pages = [[_post(n, f"{image_server.url}/img/{n}.jpg") for n in range(4)]] * 1
        config = CrawlConfig(
            f"{api_server.url}/api/posts", name="shop", user_agent=USER_AGENT, rate=25.0
        )
        with (
            PoliteHttp(user_agent=USER_AGENT, rate=config.rate) as http,
            Dataset.open(tmp_path / "ds", create=True) as dataset,
        ):
            report = Crawler(dataset, config, http).run()
    assert report.added == 4 and report.done

    def gaps(server: FakeServer) -> list[float]:
        times = [r.time for r in server.requests]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    assert len(api_server.requests) == 3 and len(image_server.requests) == 5
    assert min(gaps(api_server)) >= 0.1 - 0.01  # robots.txt's Request-rate
    assert min(gaps(image_server)) >= 1 / 25 - 0.01  # the crawler's own rate


def test_robots_disallowing_the_api_stops_the_crawl(tmp_path: Path) -> None:
    api = Site(robots="User-agent: vidsearch-test-crawler\nDisallow: /api/\n")
    with FakeServer(api) as server:
        with pytest.raises(CrawlError, match="robots.txt disallows .*/api/posts"):
            _crawl(tmp_path / "ds", f"{server.url}/api/posts")
        assert server.paths() == ["/robots.txt"]


def test_cursor_pagination_over_post_like_divar(tmp_path: Path) -> None:
    images = Site()
    bodies: list[dict] = []

    def divar(request: Request) -> Reply:
        if request.path == "/robots.txt":
            return Reply(404, b"")  # no robots.txt: everything allowed
        bodies.append(request.body)
        cursor = request.body.get("last-post-date")
        start = {None: 0, "1700000300": 2, "1700000100": 4}[cursor]
        posts = [
            {"data": {"token": f"t{n}", "title": f"mobile {n}", "image_url": f"/img/{n}.jpg"}}
            for n in range(start, min(start + 2, 5))
        ]
        next_cursor = {0: "1700000300", 2: "1700000100", 4: None}[start]
        return Reply(200, {"web_widgets": {"post_list": posts}, "last_post_date": next_cursor})

    with FakeServer(lambda r: images(r) if r.path.startswith("/img/") else divar(r)) as server:
        report, _ = _crawl(
            tmp_path / "ds",
            f"{server.url}/v8/web-search/tehran",
            method="POST",
            body={"city_ids": ["1"]},
            items_path="web_widgets.post_list[].data",
            id_field="token",
            page_param="last-post-date",
            cursor_path="last_post_date",
            language="en",
        )
    assert report.done and report.added == 5 and report.pages == 3
    assert bodies[0] == {"city_ids": ["1"]}
    assert bodies[1] == {"city_ids": ["1"], "last-post-date": "1700000300"}
    dataset = Dataset.open(tmp_path / "ds")
    assert [c.caption for c in dataset.captions(language="en")] == [f"mobile {n}" for n in range(5)]


def test_cli_crawl_and_its_errors(sites, tmp_path: Path) -> None:
    api, _ = sites
    runner = CliRunner()
    args = ["data", "crawl", str(tmp_path / "ds"), "--endpoint", f"{api.url}/api/posts"]
    result = runner.invoke(app, [*args, "--rate", "100", "--max-pages", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 3 and not json.loads(result.stdout)["done"]
    result = runner.invoke(app, [*args, "--rate", "100"])
    assert result.exit_code == 0 and "finished: no more pages" in result.stdout
    result = runner.invoke(app, ["data", "crawl", str(tmp_path / "ds"), "--endpoint", "ftp://x"])
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "error: the crawl endpoint must be an http(s) URL, not 'ftp://x'"
    )
    result = runner.invoke(app, [*args, "--name", "other", "--items-path", "a..b"])
    assert result.exit_code == 1 and "invalid field path 'a..b'" in result.stderr
