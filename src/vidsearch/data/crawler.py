"""Crawl image and title pairs from a classifieds website's JSON API (the seed crawled Divar).

Politely: robots.txt is obeyed for the API and for every image (`Robots`), requests carry a
user agent and keep to a rate per host (`PoliteHttp`, slower if robots.txt asks). Resumably:
the position in the listing is saved after every page in `DIR/crawl/<name>.json`, and a post
already stored is not fetched again. Deduplicated: an image whose bytes hash like one already
in the dataset is skipped, whichever post it came with.

The API is described by `CrawlConfig`: the endpoint, GET or POST (with a JSON body), where the
posts are in an answer and which fields hold id, title and image URL (`fieldpath` paths), and
how to page: a page number parameter, or a cursor read from each answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import CrawlError, DataError
from vidsearch.data.fieldpath import FieldPathError, check_path, extract
from vidsearch.data.http import DEFAULT_USER_AGENT, HttpError, PoliteHttp
from vidsearch.data.images import content_hash
from vidsearch.data.progress import NoProgress, Progress
from vidsearch.data.records import SOURCE_PATTERN, CaptionRecord, Split, image_id_for
from vidsearch.data.robots import Robots

DEFAULT_RATE = 1.0  # requests per second per host
MAX_IMAGE_BYTES = 20 * 1024 * 1024
STATE_DIR = "crawl"


@dataclass(frozen=True, slots=True)
class CrawlConfig:
    endpoint: str
    name: str = "classifieds"  # the source name of what it stores, and of its state file
    method: str = "GET"
    body: Mapping[str, Any] | None = None  # JSON body for POST; the page or cursor is added
    items_path: str = "items"
    id_field: str = "id"
    title_field: str = "title"
    image_field: str = "image_url"  # relative URLs are resolved against the endpoint
    page_param: str = "page"  # the query parameter (GET) or body field (POST) for page or cursor
    first_page: int = 1
    cursor_path: str | None = None  # set: page by the cursor each answer gives, not numbers
    language: str = "fa"
    split: Split | None = None
    max_pages: int | None = None  # per run
    max_items: int | None = None  # new images per run
    rate: float | None = DEFAULT_RATE
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if not self.endpoint.startswith(("http://", "https://")):
            raise DataError(f"the crawl endpoint must be an http(s) URL, not {self.endpoint!r}")
        if self.method not in {"GET", "POST"}:
            raise DataError(f"the crawl method is GET or POST, not {self.method!r}")
        if not SOURCE_PATTERN.match(self.name):
            raise DataError(f"invalid crawl name {self.name!r} (letters, digits, . _ + -)")
        for path in (self.items_path, self.id_field, self.title_field, self.image_field):
            check_path(path)
        if self.cursor_path is not None:
            check_path(self.cursor_path)


@dataclass(slots=True)
class CrawlState:
    """Where the crawl is: saved after every page."""

    endpoint: str
    page: int
    cursor: str | None = None
    done: bool = False
    pages: int = 0
    seen: list[str] = field(default_factory=list)  # post ids handled (stored or skipped)
    failures: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class CrawlReport:
    pages: int = 0
    posts: int = 0
    added: int = 0
    seen_before: int = 0
    duplicates: int = 0  # image bytes already in the dataset
    robots_blocked: int = 0
    invalid: int = 0  # no id, title or image URL
    failed: int = 0
    done: bool = False
    state_file: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Crawler:
    def __init__(self, dataset: Dataset, config: CrawlConfig, http: PoliteHttp) -> None:
        self.dataset = dataset
        self.config = config
        self.http = http
        self.robots = Robots(http, user_agent=config.user_agent)
        self.state_path = dataset.root / STATE_DIR / f"{config.name}.json"

    def run(self, *, restart: bool = False, progress: Progress | None = None) -> CrawlReport:
        progress = progress or NoProgress()
        state = self._load_state(restart)
        seen = set(state.seen)
        report = CrawlReport(state_file=str(self.state_path))
        progress.start(f"crawl {self.config.name}", None)
        try:
            while not state.done and not self._enough(report):
                posts = self._fetch_page(state)
                for post in posts:
                    self._take(post, state, seen, report)
                    progress.advance()
                report.pages += 1
                state.pages += 1
                self.dataset.flush()
                self._save_state(state)
        finally:
            progress.finish()
        report.done = state.done
        return report

    def _enough(self, report: CrawlReport) -> bool:
        pages, items = self.config.max_pages, self.config.max_items
        return (pages is not None and report.pages >= pages) or (
            items is not None and report.added >= items
        )

    def _fetch_page(self, state: CrawlState) -> list[Any]:
        """The posts of the current page; advances `state` to the next (or marks it done)."""
        config = self.config
        position: dict[str, Any] = {}
        if config.cursor_path is None:
            position[config.page_param] = state.page
        elif state.cursor is not None:
            position[config.page_param] = state.cursor
        options: dict[str, Any] = {}
        if config.method == "GET":
            options["params"] = position
            url = str(self.http.client.build_request("GET", config.endpoint, params=position).url)
        else:
            options["json"] = {**(config.body or {}), **position}
            url = config.endpoint
        if not self.robots.allowed(url):
            raise CrawlError(
                f"robots.txt disallows {url} for {config.user_agent!r}: not crawling it"
            )
        try:
            document = self.http.request(config.method, config.endpoint, **options).json()
            posts = extract(document, config.items_path)
        except HttpError as exc:
            raise CrawlError(f"the listing failed: {exc}; run again to resume") from None
        except (ValueError, FieldPathError) as exc:
            raise CrawlError(f"{url} did not answer the expected JSON: {exc}") from None
        if not isinstance(posts, list):
            raise CrawlError(f"{config.items_path!r} in the answer of {url} is not a list")
        if config.cursor_path is not None:
            try:
                cursor = extract(document, config.cursor_path)
            except FieldPathError:
                cursor = None
            state.done = not posts or cursor in (None, "") or str(cursor) == state.cursor
            state.cursor = None if cursor is None else str(cursor)
        else:
            state.done = not posts
            state.page += 1
        return posts

    def _take(self, post: Any, state: CrawlState, seen: set[str], report: CrawlReport) -> None:
        config = self.config
        report.posts += 1
        try:
            post_id = str(extract(post, config.id_field))
            title = extract(post, config.title_field)
            image_url = extract(post, config.image_field)
        except FieldPathError:
            report.invalid += 1
            return
        if not isinstance(title, str) or not title.strip() or not isinstance(image_url, str):
            report.invalid += 1
            return
        image_id = image_id_for(config.name, post_id)
        if post_id in seen or self.dataset.image(image_id) is not None:
            report.seen_before += 1
            return
        image_url = urljoin(config.endpoint, image_url)
        if not self.robots.allowed(image_url):
            report.robots_blocked += 1
            self._mark(post_id, state, seen)
            return
        try:
            data = self._download(image_url)
            if self.dataset.image_with_hash(content_hash(data)) is not None:
                report.duplicates += 1
            else:
                self.dataset.add_image(
                    image_id, data, source=config.name, split=config.split, url=image_url
                )
                self.dataset.upsert_caption(
                    CaptionRecord(image_id, config.language, config.name, 0, title)
                )
                report.added += 1
        except DataError as exc:  # HttpError or an unreadable image
            report.failed += 1
            state.failures.append({"post": post_id, "url": image_url, "error": str(exc)})
            return
        self._mark(post_id, state, seen)

    def _mark(self, post_id: str, state: CrawlState, seen: set[str]) -> None:
        seen.add(post_id)
        state.seen.append(post_id)

    def _download(self, url: str) -> bytes:
        response = self.http.request("GET", url)
        data = response.content
        if len(data) > MAX_IMAGE_BYTES:
            raise DataError(f"{url} is larger than {MAX_IMAGE_BYTES} bytes")
        return data

    def _load_state(self, restart: bool) -> CrawlState:
        fresh = CrawlState(self.config.endpoint, self.config.first_page)
        if not self.state_path.is_file():
            return fresh
        try:
            state = CrawlState(**json.loads(self.state_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise CrawlError(f"cannot read the crawl state {self.state_path}: {exc}") from None
        if state.endpoint != self.config.endpoint:
            raise CrawlError(
                f"{self.state_path} belongs to a crawl of {state.endpoint}; give this one "
                "another --name"
            )
        if restart:  # from the first page again, remembering the posts already handled
            return CrawlState(fresh.endpoint, fresh.page, seen=state.seen)
        return state

    def _save_state(self, state: CrawlState) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(asdict(state), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.state_path)


def crawl_config_from_file(path: Path, **overrides: Any) -> CrawlConfig:
    """A `CrawlConfig` from a JSON file of its fields; `overrides` (not None) win."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot read the crawl config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"the crawl config {path} must be a JSON object")
    data |= {k: v for k, v in overrides.items() if v is not None}
    try:
        return CrawlConfig(**data)
    except TypeError as exc:
        raise DataError(f"the crawl config {path}: {exc}") from None
