"""The bounded fetcher against a local fault-injecting server: every fault ends in a result,
a retry or the right error type, within the settings' bounds."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import socket
import string
import time
import tracemalloc
import zlib

import pytest

try:
    import brotli
except ImportError:
    brotli = None

from tests.fault_server import CONDITIONAL_ETAG, CONDITIONAL_LAST_MODIFIED, FaultServer
from transforms.records import PipelineError, dead_letter
from transforms.web import http_client
from transforms.web.http_client import (
    Fetcher,
    FetchError,
    FetchSettings,
    backoff_delay,
    parse_retry_after,
)

LIMIT = 256 * 1024
SETTINGS = FetchSettings(
    contact_url="https://example.org/contact",
    connect_timeout=1.0,
    read_timeout=0.5,
    total_deadline=2.0,
    max_body_bytes=LIMIT,
    max_retries=2,
    backoff_base=0.01,
    backoff_max=0.05,
    max_retry_after=5.0,
    allowed_networks=("127.0.0.0/8",),
)
# Past the deadline a fetch may still be in one read or connect, then it stops.
ELAPSED_BOUND = SETTINGS.total_deadline + SETTINGS.read_timeout + 1.0


class RecordingSleep:
    """Stands in for time.sleep in the fetcher: records waits, does not wait."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


@pytest.fixture
def sleeps():
    return RecordingSleep()


@pytest.fixture
def fetcher(sleeps):
    with Fetcher(SETTINGS, sleep=sleeps) as client:
        yield client


def fetch_error(fetcher: Fetcher, url: str, **kwargs) -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url, **kwargs)
    return caught.value, time.monotonic() - started


def test_plain_page_result_and_request_headers(server, fetcher):
    server.add("/page", "<p>hello</p>", headers=[("X-Twice", "a"), ("x-twice", "b")])
    result = fetcher.fetch(server.url("/page"))
    assert result.status == 200
    assert result.body == b"<p>hello</p>"
    assert result.requested_url == result.url == server.url("/page")
    assert result.header("content-type") == "text/html; charset=utf-8"
    assert result.header_values("X-TWICE") == ["a", "b"]
    assert result.peer_address == "127.0.0.1"
    assert result.redirects == [] and result.attempts == 1
    assert result.fetched_at.tzinfo == dt.timezone.utc
    (request,) = server.requests_for("/page")
    assert request.header("User-Agent") == (
        "news-ingestion-pipeline/0.1.0 (+https://example.org/contact)"
    )
    assert request.header("Accept-Encoding") == http_client.ACCEPT_ENCODING


def test_caller_headers_override_defaults_case_insensitively(server, fetcher):
    server.add("/h", "ok")
    fetcher.fetch(server.url("/h"), {"user-agent": "custom/1", "X-Extra": "1"})
    (request,) = server.requests_for("/h")
    assert request.header("User-Agent") == "custom/1"
    assert request.header("X-Extra") == "1"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(server, fetcher, encoding, compress):
    text = b"<p>" + b"news " * 2000 + b"</p>"
    server.add("/z", compress(text), headers={"Content-Encoding": encoding})
    assert fetcher.fetch(server.url("/z")).body == text


def test_concatenated_gzip_members_are_decoded(server, fetcher):
    server.add(
        "/m", gzip.compress(b"one ") + gzip.compress(b"two"), headers={"Content-Encoding": "gzip"}
    )
    assert fetcher.fetch(server.url("/m")).body == b"one two"


def test_corrupt_gzip_is_a_decoding_error(server, fetcher):
    server.add("/bad", b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"})
    error, _ = fetch_error(fetcher, server.url("/bad"))
    assert error.error_type == "decoding_error"


def test_unrequested_encoding_is_refused(server, fetcher):
    server.add("/zstd", b"\x28\xb5\x2f\xfd-not-really", headers={"Content-Encoding": "zstd"})
    error, _ = fetch_error(fetcher, server.url("/zstd"))
    assert error.error_type == "unsupported_content_encoding"


def test_not_modified_is_a_result_with_conditional_headers(server, fetcher):
    first = fetcher.fetch(server.url("/conditional"))
    assert first.status == 200 and first.header("ETag") == CONDITIONAL_ETAG
    by_etag = fetcher.fetch(server.url("/conditional"), {"If-None-Match": first.header("ETag")})
    by_date = fetcher.fetch(
        server.url("/conditional"), {"If-Modified-Since": CONDITIONAL_LAST_MODIFIED}
    )
    for result in (by_etag, by_date):
        assert result.status == 304 and result.not_modified
        assert result.body == b""
        assert result.attempts == 1
    sent = server.requests_for("/conditional")
    assert sent[1].header("If-None-Match") == CONDITIONAL_ETAG
    assert sent[2].header("If-Modified-Since") == CONDITIONAL_LAST_MODIFIED


def test_slow_drip_body_ends_at_the_total_deadline(server, fetcher):
    # 100 bytes at one per 0.1 s would take 10 s; each byte comes well within read_timeout.
    error, elapsed = fetch_error(fetcher, server.url("/slow-body?bytes=100&interval=0.1"))
    assert error.error_type == "timeout"
    assert elapsed < ELAPSED_BOUND
    assert error.attempts <= SETTINGS.max_retries + 1


def test_endless_chunked_body_ends_at_the_deadline(server, fetcher):
    error, elapsed = fetch_error(fetcher, server.url("/endless-chunked?chunk=512&interval=0.02"))
    assert error.error_type == "timeout"
    assert elapsed < ELAPSED_BOUND


def test_endless_fast_chunked_body_ends_at_the_size_limit(server, fetcher):
    error, elapsed = fetch_error(fetcher, server.url("/endless-chunked?chunk=65536&interval=0"))
    assert error.error_type == "too_large"
    assert elapsed < ELAPSED_BOUND


def test_server_that_never_answers_times_out_with_bounded_retries(server, fetcher):
    error, elapsed = fetch_error(fetcher, server.url("/hang"))
    assert error.error_type == "timeout"
    assert elapsed < ELAPSED_BOUND
    assert 1 <= len(server.requests_for("/hang")) <= SETTINGS.max_retries + 1


def test_reset_mid_body_is_retried_then_a_connection_error(server, fetcher, sleeps):
    error, _ = fetch_error(fetcher, server.url("/reset-mid-body"))
    assert error.error_type == "connection_error"
    assert error.attempts == SETTINGS.max_retries + 1
    assert len(server.requests_for("/reset-mid-body")) == SETTINGS.max_retries + 1
    assert len(sleeps.waits) == SETTINGS.max_retries
    assert all(0 < wait <= SETTINGS.backoff_max for wait in sleeps.waits)


def test_429_waits_retry_after_then_succeeds(server, fetcher, sleeps):
    result = fetcher.fetch(server.url("/429?ok_after=1&retry_after=1"))
    assert result.status == 200 and result.attempts == 2
    assert sleeps.waits == [1.0]


def test_retry_after_longer_than_the_cap_is_a_failure_not_a_wait(server, fetcher, sleeps):
    error, _ = fetch_error(fetcher, server.url("/429?ok_after=5&retry_after=120"))
    assert error.error_type == "http_status:429"
    assert error.status == 429 and error.retry_after == 120.0
    assert error.attempts == 1 and sleeps.waits == []
    assert len(server.requests_for("/429")) == 1


def test_retry_after_as_http_date_is_honoured(server, fetcher, sleeps):
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3)
    date = soon.strftime("%a, %d %b %Y %H:%M:%S GMT")
    server.add("/busy", b"busy", status=503, headers={"Retry-After": date})
    error, _ = fetch_error(fetcher, server.url("/busy"))
    # The wait (about 3 s) is under the cap but passes the 2 s deadline: fail, don't wait.
    assert error.error_type == "http_status:503"
    assert sleeps.waits == []
    assert 0 < error.retry_after <= 3.0


def test_500_always_is_retried_max_retries_times(server, fetcher, sleeps):
    error, _ = fetch_error(fetcher, server.url("/500-always"))
    assert error.error_type == "http_status:500" and error.status == 500
    assert error.attempts == SETTINGS.max_retries + 1
    assert len(server.requests_for("/500-always")) == SETTINGS.max_retries + 1
    assert len(sleeps.waits) == SETTINGS.max_retries


def test_500_then_ok_succeeds_on_retry(server, fetcher):
    result = fetcher.fetch(server.url("/500-then-ok?fails=2"))
    assert result.status == 200 and result.attempts == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_other_4xx_are_never_retried(server, fetcher, status):
    server.add("/gone", b"no", status=status)
    error, _ = fetch_error(fetcher, server.url("/gone"))
    assert error.error_type == f"http_status:{status}"
    assert len(server.requests_for("/gone")) == 1


def test_redirects_are_followed_and_recorded(server, fetcher):
    server.add("/final", "<p>here</p>")
    server.add("/moved", b"", status=301, headers={"Location": "/final"})
    server.add("/start", b"", status=308, headers={"Location": server.url("/moved")})
    result = fetcher.fetch(server.url("/start"))
    assert result.body == b"<p>here</p>"
    assert result.url == server.url("/final")
    assert [(hop.status, hop.to_url) for hop in result.redirects] == [
        (308, server.url("/moved")),
        (301, server.url("/final")),
    ]
    assert result.moved_permanently and result.attempts == 3


def test_temporary_redirect_is_not_a_permanent_move(server, fetcher):
    server.add("/final", "ok")
    result = fetcher.fetch(server.url("/redirect?to=/final&code=302"))
    assert result.url == server.url("/final") and not result.moved_permanently


def test_redirect_loop_stops_at_max_redirects(server, fetcher):
    error, _ = fetch_error(fetcher, server.url("/redirect-loop"))
    assert error.error_type == "too_many_redirects"
    assert len(server.requests_for("/redirect-loop")) == SETTINGS.max_redirects + 1


@pytest.mark.parametrize("path", ["/redirect-to-private", "/redirect-to-metadata"])
def test_redirect_hop_to_a_private_address_is_blocked(server, fetcher, path):
    # 127.0.0.0/8 is open for the test server; 10.0.0.1 and 169.254.169.254 are not.
    error, _ = fetch_error(fetcher, server.url(path))
    assert error.error_type == "blocked_address"
    assert error.url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/")


def test_redirect_to_another_scheme_is_refused(server, fetcher):
    error, _ = fetch_error(fetcher, server.url("/redirect?to=file:///etc/passwd"))
    assert error.error_type == "unsupported_scheme"


def test_loopback_is_blocked_by_default_and_never_contacted(server):
    with Fetcher(FetchSettings()) as default_fetcher:
        error, _ = fetch_error(default_fetcher, server.url("/page"))
    assert error.error_type == "blocked_address"
    assert server.requests == []


def test_https_connections_are_guarded_too(server, fetcher):
    error, _ = fetch_error(fetcher, "https://10.0.0.1/")
    assert error.error_type == "blocked_address"
    # A TLS handshake with a plain-HTTP server fails, and is not retried.
    error, _ = fetch_error(fetcher, f"https://127.0.0.1:{server.port}/")
    assert error.error_type == "tls_error"
    assert error.attempts == 1


def test_connection_goes_to_the_vetted_address_with_the_host_header_kept(
    server, fetcher, monkeypatch
):
    calls = []

    def resolve(host, port, *args):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(http_client, "_getaddrinfo", resolve)
    server.add("/named", "ok")
    result = fetcher.fetch(f"http://news.example:{server.port}/named")
    assert result.body == b"ok" and result.peer_address == "127.0.0.1"
    assert calls == ["news.example"]
    (request,) = server.requests_for("/named")
    assert request.header("Host") == f"news.example:{server.port}"


def test_every_resolved_address_is_checked(server, fetcher, monkeypatch):
    def resolve(host, port, *args):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(http_client, "_getaddrinfo", resolve)
    error, _ = fetch_error(fetcher, f"http://rebind.example:{server.port}/")
    assert error.error_type == "blocked_address" and "10.0.0.1" in str(error)
    assert server.requests == []


def test_unresolvable_host_is_a_dns_error(fetcher, monkeypatch):
    def resolve(host, port, *args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(http_client, "_getaddrinfo", resolve)
    error, _ = fetch_error(fetcher, "http://nowhere.example/")
    assert error.error_type == "dns_error" and error.attempts == 1


@pytest.mark.parametrize(
    ("url", "error_type"),
    [("ftp://example.com/", "unsupported_scheme"), ("http:///path", "invalid_url")],
)
def test_bad_urls(fetcher, url, error_type):
    error, _ = fetch_error(fetcher, url)
    assert error.error_type == error_type


def test_huge_body_is_too_large(server, fetcher):
    # Declared: refused from Content-Length; chunked: cut while streaming.
    for path in ("/huge", "/huge?chunked=1"):
        error, _ = fetch_error(fetcher, server.url(path))
        assert error.error_type == "too_large"
        assert error.attempts == 1
    small = fetcher.fetch(server.url(f"/huge?bytes={LIMIT}&chunked=1"))
    assert len(small.body) == LIMIT  # exactly the limit is allowed


def test_compressed_large_page_is_too_large_not_a_bomb(server, fetcher):
    # Random words compress about 3:1, like prose, not 1000:1 like a bomb.
    rng = random.Random(7)
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10))) for _ in range(5000)
    ]
    body = " ".join(rng.choices(vocabulary, k=LIMIT // 2)).encode()
    assert len(body) > LIMIT
    server.add("/big.gz", gzip.compress(body), headers={"Content-Encoding": "gzip"})
    error, _ = fetch_error(fetcher, server.url("/big.gz"))
    assert error.error_type == "too_large"


def test_gzip_bomb_is_stopped_without_expanding_it(server, fetcher):
    # 300 members of 10 MiB of zeros: 3 GiB expanded.
    tracemalloc.start()
    try:
        error, elapsed = fetch_error(fetcher, server.url("/gzip-bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.error_type == "decompression_bomb"
    assert peak < 16 * LIMIT  # a few buffers of the limit, not gigabytes
    assert elapsed < ELAPSED_BOUND


needs_bounded_brotli = pytest.mark.skipif(
    not http_client.BROTLI_BOUNDED, reason="brotli >= 1.2 is not installed"
)


@needs_bounded_brotli
def test_brotli_body_is_decoded(server, fetcher):
    text = b"<p>" + b"brotli news " * 3000 + b"</p>"
    server.add("/b", brotli.compress(text), headers={"Content-Encoding": "br"})
    assert fetcher.fetch(server.url("/b")).body == text
    assert "br" in server.requests_for("/b")[0].header("Accept-Encoding")


@needs_bounded_brotli
def test_brotli_bomb_is_stopped_without_expanding_it(server, fetcher):
    bomb = brotli.compress(bytes(64 * 1024 * 1024), quality=1)  # 64 MiB in a few KiB
    server.add("/bomb.br", bomb, headers={"Content-Encoding": "br"})
    tracemalloc.start()
    try:
        error, _ = fetch_error(fetcher, server.url("/bomb.br"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.error_type == "decompression_bomb"
    assert peak < 16 * LIMIT


def test_headers_for_decoded_body_match_the_body(server, fetcher):
    text = b"<p>" + b"archived " * 500 + b"</p>"
    server.add("/arch", gzip.compress(text), headers={"Content-Encoding": "gzip"})
    result = fetcher.fetch(server.url("/arch"))
    assert result.header("Content-Encoding") == "gzip"
    archived = dict((name.lower(), value) for name, value in result.headers_for_decoded_body())
    assert "content-encoding" not in archived
    assert archived["content-length"] == str(len(text))
    assert archived["content-type"] == result.content_type


def test_wrong_content_type_is_returned_as_is(server, fetcher):
    result = fetcher.fetch(server.url("/wrong-content-type"))
    assert result.content_type == "image/png" and result.body.startswith(b"<html>")


def test_fetch_error_becomes_a_dead_letter_with_its_type(server, fetcher):
    error, _ = fetch_error(fetcher, server.url("/500-always"))
    assert isinstance(error, PipelineError)
    record = dead_letter(server.url("/500-always"), "fetch", error)
    assert record["error_type"] == "http_status:500"


def test_parse_retry_after():
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_delay(1, 0.5, 8.0, 1.0) == 0.5
    assert backoff_delay(3, 0.5, 8.0, 1.0) == 2.0
    assert backoff_delay(3, 0.5, 8.0, 0.0) == 1.0
    assert backoff_delay(10, 0.5, 8.0, 1.0) == 8.0


def test_settings_from_pipeline_options():
    class Options:
        contact_url = "https://ops.example/"
        request_timeout = 12.0
        max_page_bytes = 1000
        per_host_concurrency = 3
        per_host_delay = 0.5
        allow_private_addresses = True

    settings = FetchSettings.from_pipeline_options(Options(), max_retries=0)
    assert settings.total_deadline == 12.0 and settings.max_body_bytes == 1000
    assert settings.per_host_concurrency == 3 and settings.per_host_min_delay == 0.5
    assert settings.allow_private_addresses and settings.max_retries == 0
    assert settings.user_agent.endswith("(+https://ops.example/)")
