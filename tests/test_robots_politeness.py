"""robots.txt rules and caching, the per-host limiter, and the polite fetcher on top."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fault_server import FaultServer
from transforms.web.http_client import Fetcher, FetchError, FetchSettings
from transforms.web.politeness import HostLimiter, PoliteFetcher, host_key
from transforms.web.robots import (
    RULES_ALLOW_ALL,
    RULES_DISALLOW_ALL,
    RULES_PARSED,
    RobotsCache,
    robots_origin,
)

SETTINGS = FetchSettings(
    connect_timeout=1.0,
    read_timeout=0.5,
    total_deadline=3.0,
    max_retries=1,
    backoff_base=0.01,
    backoff_max=0.02,
    allowed_networks=("127.0.0.0/8",),
    per_host_min_delay=0.0,
)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


@pytest.fixture
def polite():
    with PoliteFetcher(SETTINGS) as fetcher:
        yield fetcher


def test_disallowed_page_is_never_requested(server, polite):
    server.set_robots("User-agent: *\nDisallow: /private\n")
    server.add("/private/page", "secret")
    server.add("/public", "fine")
    with pytest.raises(FetchError) as caught:
        polite.fetch(server.url("/private/page"))
    assert caught.value.error_type == "disallowed_by_robots"
    assert polite.fetch(server.url("/public")).body == b"fine"
    assert server.requests_for("/private/page") == []
    assert len(server.requests_for("/robots.txt")) == 1  # cached for the second fetch


def test_group_for_our_agent_wins_over_star(server, polite):
    server.set_robots(
        "User-agent: news-ingestion-pipeline\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    server.add("/a", "a")
    with pytest.raises(FetchError) as caught:
        polite.fetch(server.url("/a"))
    assert caught.value.error_type == "disallowed_by_robots"
    assert server.requests_for("/a") == []


def test_redirect_hop_to_a_disallowed_page_is_not_requested(server, polite):
    server.set_robots("User-agent: *\nDisallow: /private\n")
    server.add("/go", b"", status=302, headers={"Location": "/private/x"})
    server.add("/private/x", "secret")
    with pytest.raises(FetchError) as caught:
        polite.fetch(server.url("/go"))
    assert caught.value.error_type == "disallowed_by_robots"
    assert len(server.requests_for("/go")) == 1
    assert server.requests_for("/private/x") == []


def test_feeds_skip_robots_and_so_does_respect_robots_false(server, polite):
    server.set_robots("User-agent: *\nDisallow: /\n")
    server.add("/feed.xml", "<rss/>")
    assert polite.fetch(server.url("/feed.xml"), check_robots=False).body == b"<rss/>"
    with PoliteFetcher(FetchSettings(**{**vars(SETTINGS), "respect_robots": False})) as ignoring:
        assert ignoring.fetch(server.url("/feed.xml")).status == 200
    assert server.requests_for("/robots.txt") == []


@pytest.mark.parametrize(
    ("status", "state", "page_fetched"),
    [
        (404, RULES_ALLOW_ALL, True),
        (403, RULES_ALLOW_ALL, True),
        (410, RULES_ALLOW_ALL, True),
        (500, RULES_DISALLOW_ALL, False),
        (503, RULES_DISALLOW_ALL, False),
        (429, RULES_DISALLOW_ALL, False),
    ],
)
def test_robots_status_decides_allow_all_or_disallow_all(
    server, polite, status, state, page_fetched
):
    server.set_robots("User-agent: *\nDisallow: /\n", status=status)
    server.add("/page", "page")
    rules = polite.robots.rules_for(server.url("/page"))
    assert rules.state == state
    if page_fetched:
        assert polite.fetch(server.url("/page")).status == 200
    else:
        with pytest.raises(FetchError) as caught:
            polite.fetch(server.url("/page"))
        assert caught.value.error_type == "disallowed_by_robots"
    assert len(server.requests_for("/page")) == int(page_fetched)


def test_unreachable_robots_disallows_for_the_error_ttl_then_asks_again(server):
    clock = FakeClock()
    with Fetcher(SETTINGS) as fetcher:
        cache = RobotsCache(fetcher, clock=clock)
        server.set_robots("", status=500)
        assert cache.rules_for(server.url("/")).state == RULES_DISALLOW_ALL
        server.set_robots("User-agent: *\nDisallow: /x\n")
        clock.now += SETTINGS.robots_error_ttl - 1
        assert cache.rules_for(server.url("/")).state == RULES_DISALLOW_ALL
        clock.now += 2
        assert cache.rules_for(server.url("/")).state == RULES_PARSED
    # The 500 was retried by the fetcher; the cached answer was not asked again until expiry.
    assert len(server.requests_for("/robots.txt")) == (SETTINGS.max_retries + 1) + 1


def test_good_rules_are_kept_when_robots_becomes_unreachable(server):
    clock = FakeClock()
    with Fetcher(SETTINGS) as fetcher:
        cache = RobotsCache(fetcher, clock=clock)
        server.set_robots("User-agent: *\nDisallow: /x\n")
        assert cache.allowed(server.url("/y")) and not cache.allowed(server.url("/x"))
        clock.now += SETTINGS.robots_ttl + 1
        server.set_robots("", status=503)
        rules = cache.rules_for(server.url("/y"))
        assert rules.state == RULES_PARSED
        assert cache.allowed(server.url("/y")) and not cache.allowed(server.url("/x"))
    assert len(server.requests_for("/robots.txt")) == 1 + (SETTINGS.max_retries + 1)


def test_robots_timeout_disallows(server):
    def slow_robots(request):
        time.sleep(SETTINGS.read_timeout + 0.5)
        return b"User-agent: *\nAllow: /\n"

    server.add("/robots.txt", slow_robots)
    settings = FetchSettings(**{**vars(SETTINGS), "max_retries": 0})
    with Fetcher(settings) as fetcher:
        rules = RobotsCache(fetcher).rules_for(server.url("/"))
    assert rules.state == RULES_DISALLOW_ALL and rules.source == "timeout"


def test_robots_of_a_blocked_host_raise_the_real_reason():
    with Fetcher(FetchSettings()) as fetcher, pytest.raises(FetchError) as caught:
        RobotsCache(fetcher).rules_for("http://10.0.0.1/page")
    assert caught.value.error_type == "blocked_address"


def test_robots_origin_is_scheme_host_and_port():
    assert robots_origin("HTTP://Example.COM:80/a?b") == "http://example.com"
    assert robots_origin("https://example.com:8443/a") == "https://example.com:8443"
    assert robots_origin("http://[::1]:8080/") == "http://[::1]:8080"
    assert host_key("https://Example.com:8443/x") == "example.com"


def test_robots_is_fetched_once_under_concurrency(server, polite):
    server.set_robots("User-agent: *\nDisallow: /private\n")
    for index in range(8):
        server.add(f"/p{index}", f"page {index}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: polite.fetch(server.url(f"/p{i}")), range(8)))
    assert [result.body for result in results] == [f"page {i}".encode() for i in range(8)]
    assert len(server.requests_for("/robots.txt")) == 1


def test_per_host_delay_separates_requests_in_the_server_log(server):
    delay = 0.25
    settings = FetchSettings(**{**vars(SETTINGS), "per_host_min_delay": delay})
    for index in range(4):
        server.add(f"/d{index}", "x")
    with PoliteFetcher(settings) as polite, ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: polite.fetch(server.url(f"/d{i}")), range(4)))
    # robots.txt is a request to the host too.
    times = sorted(request.at for request in server.requests)
    assert len(times) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # The limiter spaces request starts by `delay`; allow for the server threads' own lag
    # (without the limiter these gaps are a few milliseconds).
    assert min(gaps) >= delay - 0.1, gaps


def test_crawl_delay_from_robots_lengthens_the_delay(server):
    server.set_robots("User-agent: *\nCrawl-delay: 1\nDisallow: /private\n")
    server.add("/c1", "1")
    server.add("/c2", "2")
    settings = FetchSettings(**{**vars(SETTINGS), "per_host_min_delay": 0.05})
    with PoliteFetcher(settings) as polite:
        assert polite.robots.crawl_delay(server.url("/c1")) == 1.0
        polite.fetch(server.url("/c1"))
        polite.fetch(server.url("/c2"))
    first, second = server.requests_for("/c1")[0], server.requests_for("/c2")[0]
    assert second.at - first.at >= 1.0 - 0.1


def test_crawl_delay_is_capped(server):
    server.set_robots("User-agent: *\nCrawl-delay: 3600\n")
    with Fetcher(SETTINGS) as fetcher:
        assert RobotsCache(fetcher).crawl_delay(server.url("/")) == SETTINGS.max_crawl_delay


# --- HostLimiter alone ----------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_spaces_starts_by_the_delay_per_host():
    fake = FakeTime()
    limiter = HostLimiter(concurrency=2, min_delay=0.5, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for host in ("a.example", "a.example", "b.example", "a.example"):
        with limiter.slot(host, fake.now + 10):
            starts.append((host, fake.now))
        fake.now += 0.1  # the request itself took 0.1 s
    assert starts == [
        ("a.example", 100.0),
        ("a.example", 100.5),  # waited 0.4 s after the 0.1 s request
        ("b.example", 100.6),  # another host: no wait
        ("a.example", 101.0),
    ]
    assert fake.sleeps == pytest.approx([0.4, 0.3])


def test_limiter_uses_the_longer_of_its_delay_and_the_callers():
    fake = FakeTime()
    limiter = HostLimiter(concurrency=1, min_delay=0.5, clock=fake.clock, sleep=fake.sleep)
    with limiter.slot("a.example", fake.now + 10, min_delay=2.0):
        pass
    with limiter.slot("a.example", fake.now + 10, min_delay=2.0):
        pass
    with limiter.slot("a.example", fake.now + 10, min_delay=0.1):
        pass
    assert fake.sleeps == [2.0, 0.5]


def test_limiter_caps_concurrency_per_host():
    limiter = HostLimiter(concurrency=2, min_delay=0.0)
    active = 0
    most = 0
    lock = threading.Lock()

    def one_request(_):
        nonlocal active, most
        with limiter.slot("a.example", time.monotonic() + 5):
            with lock:
                active += 1
                most = max(most, active)
            time.sleep(0.02)
            with lock:
                active -= 1

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(one_request, range(12)))
    assert 1 <= most <= 2


def test_limiter_hosts_are_independent_and_waits_end_at_the_deadline():
    limiter = HostLimiter(concurrency=1, min_delay=0.0)
    holding = threading.Event()
    release = threading.Event()

    def hold():
        with limiter.slot("busy.example", time.monotonic() + 5):
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        with limiter.slot("other.example", time.monotonic() + 0.5):
            pass  # another host is not blocked
        with (
            pytest.raises(FetchError) as caught,
            limiter.slot("busy.example", time.monotonic() + 0.1),
        ):
            pass
        assert caught.value.error_type == "timeout"
    finally:
        release.set()
        holder.join(5)


def test_limiter_refuses_a_delay_that_passes_the_deadline_without_waiting_it():
    fake = FakeTime()
    limiter = HostLimiter(concurrency=2, min_delay=60.0, clock=fake.clock, sleep=fake.sleep)
    with limiter.slot("a.example", fake.now + 1):
        pass
    with (
        pytest.raises(FetchError) as caught,
        limiter.slot("a.example", fake.now + 1),
    ):
        pass
    assert caught.value.error_type == "timeout"
    assert fake.sleeps == []  # refused at once, not after waiting
