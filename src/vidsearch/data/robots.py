"""robots.txt, fetched once per site with the crawler's own client and user agent.

Following RFC 9309: a missing robots.txt (404, 410) allows everything; one that cannot be
fetched (401, 403, 5xx, network errors) disallows everything on that site. A `Crawl-delay`
or `Request-rate` slower than the crawler's own rate becomes that site's rate.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from vidsearch.data.http import HttpError, PoliteHttp

ALLOW_ALL_STATUSES = {404, 410}


class Robots:
    def __init__(self, http: PoliteHttp, *, user_agent: str) -> None:
        self.http = http
        self.user_agent = user_agent
        self._sites: dict[str, RobotFileParser | None] = {}  # None: disallow all

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._sites:
            self._sites[site] = self._fetch(site)
        parser = self._sites[site]
        return parser is not None and parser.can_fetch(self.user_agent, url)

    def _fetch(self, site: str) -> RobotFileParser | None:
        parser = RobotFileParser(f"{site}/robots.txt")
        try:
            response = self.http.request("GET", f"{site}/robots.txt")
        except HttpError as exc:
            if exc.status in ALLOW_ALL_STATUSES:
                parser.parse([])
                return parser
            return None
        parser.parse(response.text.splitlines())
        self._slow_down(site, parser)
        return parser

    def _slow_down(self, site: str, parser: RobotFileParser) -> None:
        rates = []
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            rates.append(1.0 / float(delay))
        rate = parser.request_rate(self.user_agent)
        if rate and rate.requests and rate.seconds:
            rates.append(rate.requests / rate.seconds)
        if rates and (self.http.rate is None or min(rates) < self.http.rate):
            self.http.limit_host(site, min(rates))
