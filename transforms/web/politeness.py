"""Polite fetching: robots.txt, per-host concurrency and a minimum delay between requests.

`PoliteFetcher.fetch` is what the live pipeline calls from its thread pool. Every request it
sends (each redirect hop and each retry, and robots.txt itself) passes through a per-host
slot: at most `per_host_concurrency` at once to one host, and request starts at least
`max(per_host_min_delay, robots Crawl-delay)` apart (Crawl-delay capped at `max_crawl_delay`).
All waits end at the request's deadline (`total_deadline` from the call), with a `timeout`
FetchError rather than a longer wait.

robots.txt decision: article pages are fetched with `check_robots=True` (the default): a
disallowed page, or redirect hop, is never requested (`disallowed_by_robots`). Feeds are
fetched with `check_robots=False`, like Miniflux and other feed readers: the operator
subscribed to them and a feed is published to be polled by machines; RFC 9309 is for
crawlers that discover URLs. A feed still gets the per-host limits, and the Crawl-delay of a
robots.txt already cached for its host. `respect_robots=False` in the settings turns robots
checks off everywhere (for an operator's own sites).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator

from transforms.web.http_client import Fetcher, FetchError, FetchResult, FetchSettings
from transforms.web.robots import RobotsCache, robots_url


def host_key(url: str) -> str:
    """Politeness is per host name (any scheme or port reaches the same server)."""
    return (urllib.parse.urlsplit(url).hostname or "").lower()


@dataclasses.dataclass
class _HostState:
    active: int = 0
    last_start: float | None = None
    last_delay: float = 0.0


class HostLimiter:
    """Per-host concurrency and minimum delay between request starts; thread-safe."""

    def __init__(
        self,
        concurrency: int = 2,
        min_delay: float = 1.0,
        *,
        max_hosts: int = 4096,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # Waits for a free slot use real time; `clock` and `sleep` are for the delay (tests).
        self._clock = clock
        self._sleep = sleep
        self.concurrency = concurrency
        self.min_delay = min_delay
        self._max_hosts = max_hosts
        self._condition = threading.Condition()
        self._hosts: dict[str, _HostState] = {}

    @contextlib.contextmanager
    def slot(self, host: str, deadline: float, min_delay: float | None = None) -> Iterator[None]:
        """Hold one of the host's slots, starting no sooner than the delay allows.

        `min_delay` (e.g. a robots.txt Crawl-delay) only lengthens the limiter's own delay.
        Raises FetchError("timeout") instead of waiting past `deadline` (time.monotonic()).
        """
        delay = max(self.min_delay, min_delay or 0.0)
        with self._condition:
            state = self._hosts.get(host)
            if state is None:
                self._forget_idle_hosts()
                state = self._hosts.setdefault(host, _HostState())
            while state.active >= self.concurrency:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise FetchError("timeout", f"{host}: no free connection slot before deadline")
                self._condition.wait(remaining)
            now = self._clock()
            start = now if state.last_start is None else max(now, state.last_start + delay)
            if start > deadline:
                raise FetchError(
                    "timeout", f"{host}: the per-host delay of {delay:g} s passes the deadline"
                )
            state.last_start = start
            state.last_delay = delay
            state.active += 1
        try:
            wait = start - self._clock()
            if wait > 0:
                self._sleep(wait)
            yield
        finally:
            with self._condition:
                state.active -= 1
                self._condition.notify_all()

    def _forget_idle_hosts(self) -> None:
        if len(self._hosts) < self._max_hosts:
            return
        now = self._clock()
        for host, state in list(self._hosts.items()):
            if state.active == 0 and (
                state.last_start is None or state.last_start + state.last_delay < now
            ):
                del self._hosts[host]


class PoliteFetcher:
    """robots.txt + HostLimiter + Fetcher; thread-safe, one per process or pipeline worker."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        fetcher: Fetcher | None = None,
        robots: RobotsCache | None = None,
        limiter: HostLimiter | None = None,
    ):
        self.settings = settings or FetchSettings()
        self.fetcher = fetcher or Fetcher(self.settings)
        self.robots = robots or RobotsCache(self.fetcher, self.settings)
        self.limiter = limiter or HostLimiter(
            self.settings.per_host_concurrency, self.settings.per_host_min_delay
        )

    def close(self) -> None:
        self.fetcher.close()

    def __enter__(self) -> PoliteFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _limit_only(self, url: str, deadline: float) -> contextlib.AbstractContextManager[None]:
        cached = self.robots.cached(url)
        delay = cached.crawl_delay(self.settings.robots_agent) if cached else None
        if delay is not None:
            delay = min(delay, self.settings.max_crawl_delay)
        return self.limiter.slot(host_key(url), deadline, delay)

    def _robots_gate(self, url: str, deadline: float) -> contextlib.AbstractContextManager[None]:
        agent = self.settings.robots_agent
        # Checked before taking a slot: fetching robots.txt takes a slot of its own.
        rules = self.robots.rules_for(url, deadline=deadline, gate=self._limit_only)
        if not rules.allows(url, agent):
            raise FetchError(
                "disallowed_by_robots",
                f"{url}: disallowed for {agent} by {robots_url(url)} "
                f"({rules.state}, robots.txt answered {rules.source})",
                url=url,
            )
        return self._limit_only(url, deadline)

    def fetch(
        self, url: str, headers: dict[str, str] | None = None, *, check_robots: bool = True
    ) -> FetchResult:
        """Fetch politely; `check_robots=False` for feeds (see the module's docstring)."""
        deadline = time.monotonic() + self.settings.total_deadline
        use_robots = check_robots and self.settings.respect_robots
        gate = self._robots_gate if use_robots else self._limit_only
        return self.fetcher.fetch(url, headers, deadline=deadline, gate=gate)
