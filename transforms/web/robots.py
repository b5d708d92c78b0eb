"""robots.txt per origin (scheme, host, port), fetched with our own Fetcher and cached.

Parsing and matching are the standard library's `urllib.robotparser` (first matching rule of
the group for our User-agent token, else of `*`; Crawl-delay). What a fetch of robots.txt
means follows RFC 9309 and Google's crawler:

- 2xx: parsed rules, kept `robots_ttl` (1 day).
- 4xx other than 429, or too many redirects: no rules, everything allowed, `robots_ttl`.
- 429, 5xx, timeout, connection or TLS failure, too large: everything disallowed (or the
  last good rules, if we had some) for `robots_error_ttl` (1 hour), then asked again.
- blocked address, DNS failure, invalid URL: raised to the caller, not cached (the page
  would fail the same way, and its dead letter should say so).
- a timeout caused by the caller's short deadline (less than 90 % of `total_deadline` left
  when the robots fetch started) is raised to the caller, not cached.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
import urllib.parse
import urllib.robotparser
from collections.abc import Callable

from transforms.web.http_client import Fetcher, FetchError, FetchSettings, RequestGate

RULES_PARSED = "parsed"
RULES_ALLOW_ALL = "allow_all"
RULES_DISALLOW_ALL = "disallow_all"
# Failures that say nothing of robots.txt: raised to the caller, not cached.
_HOST_ERRORS = frozenset({"blocked_address", "dns_error", "invalid_url", "unsupported_scheme"})


def robots_origin(url: str) -> str:
    """scheme://host[:port] with the default port left out, lower-cased."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def robots_url(url: str) -> str:
    return robots_origin(url) + "/robots.txt"


@dataclasses.dataclass
class RobotsRules:
    origin: str
    state: str  # RULES_PARSED, RULES_ALLOW_ALL or RULES_DISALLOW_ALL
    expires_at: float  # time.monotonic()
    parser: urllib.robotparser.RobotFileParser | None = None
    # Why: the HTTP status of robots.txt, or the FetchError type.
    source: str = ""

    def allows(self, url: str, agent: str) -> bool:
        if self.state == RULES_ALLOW_ALL:
            return True
        if self.state == RULES_DISALLOW_ALL or self.parser is None:
            return False
        return self.parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


def parse_robots(origin: str, body: bytes, expires_at: float) -> RobotsRules:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
    parser.parse(text.splitlines())
    return RobotsRules(origin, RULES_PARSED, expires_at, parser, source="200")


class RobotsCache:
    """Thread-safe cache of robots rules; one fetch per origin at a time."""

    def __init__(
        self,
        fetcher: Fetcher,
        settings: FetchSettings | None = None,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        # `clock` is for expiry only (tests move it); deadlines are always time.monotonic().
        self._fetcher = fetcher
        self.settings = settings or fetcher.settings
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[str, RobotsRules] = collections.OrderedDict()
        self._fetch_locks: dict[str, threading.Lock] = {}

    def cached(self, url: str) -> RobotsRules | None:
        """The rules of the URL's origin if cached and fresh; never fetches."""
        origin = robots_origin(url)
        with self._lock:
            rules = self._entries.get(origin)
        if rules is not None and rules.expires_at > self._clock():
            return rules
        return None

    def rules_for(
        self, url: str, *, deadline: float | None = None, gate: RequestGate | None = None
    ) -> RobotsRules:
        """The rules of the URL's origin, fetched if needed (waits bounded by `deadline`)."""
        rules = self.cached(url)
        if rules is not None:
            return rules
        origin = robots_origin(url)
        if deadline is None:
            deadline = time.monotonic() + self.settings.total_deadline
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(origin, threading.Lock())
        if not fetch_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise FetchError("timeout", f"{origin}: waited past the deadline for robots.txt")
        try:
            rules = self.cached(url)  # another thread may have fetched it meanwhile
            if rules is None:
                rules = self._fetch(origin, deadline, gate)
                self._store(rules)
            return rules
        finally:
            fetch_lock.release()
            with self._lock:
                if self._fetch_locks.get(origin) is fetch_lock:
                    del self._fetch_locks[origin]

    def allowed(
        self, url: str, *, deadline: float | None = None, gate: RequestGate | None = None
    ) -> bool:
        rules = self.rules_for(url, deadline=deadline, gate=gate)
        return rules.allows(url, self.settings.robots_agent)

    def crawl_delay(
        self, url: str, *, deadline: float | None = None, gate: RequestGate | None = None
    ) -> float | None:
        """Crawl-delay for our agent, capped at settings.max_crawl_delay."""
        delay = self.rules_for(url, deadline=deadline, gate=gate).crawl_delay(
            self.settings.robots_agent
        )
        return None if delay is None else min(delay, self.settings.max_crawl_delay)

    def _store(self, rules: RobotsRules) -> None:
        with self._lock:
            self._entries[rules.origin] = rules
            self._entries.move_to_end(rules.origin)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def _fetch(self, origin: str, deadline: float, gate: RequestGate | None) -> RobotsRules:
        settings = self.settings
        started = time.monotonic()
        try:
            result = self._fetcher.fetch(
                origin + "/robots.txt",
                deadline=deadline,
                gate=gate,
                max_body_bytes=settings.robots_max_bytes,
            )
        except FetchError as error:
            now = self._clock()
            status = error.status
            if error.error_type == "too_many_redirects" or (
                status is not None and 400 <= status < 500 and status != 429
            ):
                return RobotsRules(
                    origin, RULES_ALLOW_ALL, now + settings.robots_ttl, source=error.error_type
                )
            if error.error_type in _HOST_ERRORS:
                raise  # about the host, not its robots.txt: the page would fail the same way
            if error.error_type == "timeout" and deadline - started < 0.9 * settings.total_deadline:
                raise  # our caller's deadline was short; the site may be fine
            with self._lock:
                previous = self._entries.get(origin)
            expires_at = now + settings.robots_error_ttl
            if previous is not None and previous.state == RULES_PARSED:
                return dataclasses.replace(previous, expires_at=expires_at)
            return RobotsRules(origin, RULES_DISALLOW_ALL, expires_at, source=error.error_type)
        expires_at = self._clock() + settings.robots_ttl
        if result.status == 304 or not result.body.strip():
            return RobotsRules(origin, RULES_ALLOW_ALL, expires_at, source=str(result.status))
        rules = parse_robots(origin, result.body, expires_at)
        rules.source = str(result.status)
        return rules
