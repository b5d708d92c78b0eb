"""A bounded, safe HTTP GET for live ingestion, on urllib3 (modelled on Miniflux's fetcher).

Every fetch is bounded: connect and read timeouts, a total deadline across retries, redirects
and a slow-drip or endless body, a body size limit after decompression, a number of redirects
and of retries. Every connection is made to an address the guard vetted after DNS (no DNS
rebinding between check and connect); every redirect hop is checked again (scheme and address).

Errors are `FetchError`s whose `error_type` becomes the dead letter's reason:

| error_type | meaning | retried |
| --- | --- | --- |
| `unsupported_scheme` | not http/https (also on a redirect) | no |
| `invalid_url` | no host, bad port, unparseable | no |
| `blocked_address` | the host resolves to a loopback/private/metadata/... address | no |
| `dns_error` | the host does not resolve | no |
| `timeout` | connect or read timeout, or the total deadline passed | yes |
| `connection_error` | refused, reset, body shorter than its Content-Length | yes |
| `tls_error` | handshake or certificate failure | no |
| `too_large` | body over `max_body_bytes` (after decompression) | no |
| `decompression_bomb` | over the limit after decompression, at over `max_compression_ratio` | no |
| `decoding_error` | corrupt gzip/deflate data | no |
| `unsupported_content_encoding` | a Content-Encoding we did not ask for (zstd, chains) | no |
| `too_many_redirects` | more than `max_redirects` hops | no |
| `http_status:<code>` | final status other than 2xx/304; 429 and 5xx after retries | 429, 5xx |
| `disallowed_by_robots` | raised by politeness.PoliteFetcher | no |

A 304 is a result (status 304, empty body), not an error. `br` is asked for only when the
`brotli` package can bound its output (1.2+, `output_buffer_limit`): a bounded decoder is what
keeps a bomb harmless.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import http.client
import random
import socket
import sys
import time
import urllib.parse
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import urllib3
from urllib3 import exceptions as urllib3_errors
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pipeline.version import PIPELINE_VERSION
from transforms.records import PipelineError
from transforms.web.address_guard import AddressPolicy, unsupported_scheme

try:
    import brotli
except ImportError:  # optional: without it we do not ask for br
    brotli = None

PRODUCT_NAME = "news-ingestion-pipeline"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
RETRYABLE_ERROR_TYPES = frozenset({"timeout", "connection_error"})
DEFAULT_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/feed+json,application/xml;q=0.9,*/*;q=0.8"
)

# brotli before 1.2 cannot bound its output, so a bomb would be expanded whole.
BROTLI_BOUNDED = brotli is not None and hasattr(brotli.Decompressor, "can_accept_more_data")
_BROTLI_ERRORS: tuple[type[Exception], ...] = (brotli.error,) if brotli is not None else ()
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI_BOUNDED else "gzip, deflate"
# Headers that must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_READ_CHUNK_BYTES = 64 * 1024
# At most this many resolved addresses are tried, all within one connect timeout.
_MAX_ADDRESSES_TRIED = 4

# Looked up at call time so tests can substitute a resolver.
_getaddrinfo = socket.getaddrinfo

# A gate wraps each request sent (every hop and retry); politeness uses it for per-host
# concurrency, delay and robots.txt. It gets the URL and the absolute monotonic deadline.
RequestGate = Callable[[str, float], AbstractContextManager[Any]]


@dataclasses.dataclass(frozen=True)
class FetchSettings:
    """Every knob of fetching, in one place. Times in seconds, sizes in bytes."""

    product: str = PRODUCT_NAME
    contact_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_deadline: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    # A compressed body that grows past max_body_bytes at more than this ratio is a bomb.
    max_compression_ratio: float = 100.0
    max_redirects: int = 5
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # A longer Retry-After is a failure (with retry_after set), not a wait.
    max_retry_after: float = 60.0
    allow_private_addresses: bool = False
    # CIDRs reachable even when private, e.g. ("127.0.0.0/8",) for a test server.
    allowed_networks: tuple[str, ...] = ()
    per_host_concurrency: int = 2
    per_host_min_delay: float = 1.0
    respect_robots: bool = True
    # robots.txt: kept this long; an unreachable one (5xx, 429, timeout) disallows this long.
    robots_ttl: float = 86_400.0
    robots_error_ttl: float = 3_600.0
    robots_max_bytes: int = 512 * 1024
    # A robots.txt Crawl-delay above this is capped (waits stay bounded by the deadline).
    max_crawl_delay: float = 30.0
    max_pools: int = 256

    @property
    def user_agent(self) -> str:
        contact = f" (+{self.contact_url})" if self.contact_url else ""
        return f"{self.product}/{PIPELINE_VERSION}{contact}"

    @property
    def robots_agent(self) -> str:
        """The token matched against robots.txt User-agent lines."""
        return self.product

    @classmethod
    def from_pipeline_options(cls, options: Any, **overrides: Any) -> FetchSettings:
        """From NewsPipelineOptions (or anything with the same attribute names)."""
        values: dict[str, Any] = {}
        for option, field in (
            ("contact_url", "contact_url"),
            ("request_timeout", "total_deadline"),
            ("max_page_bytes", "max_body_bytes"),
            ("per_host_concurrency", "per_host_concurrency"),
            ("per_host_delay", "per_host_min_delay"),
            ("allow_private_addresses", "allow_private_addresses"),
        ):
            value = getattr(options, option, None)
            if value is not None:
                values[field] = value
        values.update(overrides)
        return cls(**values)


class FetchError(PipelineError):
    """A fetch that gave no usable response; `error_type` is the dead-letter reason."""

    def __init__(
        self,
        error_type: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        url: str | None = None,
        attempts: int = 0,
    ):
        super().__init__(error_type, message)
        self.status = status
        self.retry_after = retry_after
        self.url = url
        self.attempts = attempts


@dataclasses.dataclass(frozen=True)
class Redirect:
    status: int
    from_url: str
    to_url: str


@dataclasses.dataclass
class FetchResult:
    requested_url: str
    url: str
    status: int
    reason: str
    # As received: order, case and repeated names kept.
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: dt.datetime
    peer_address: str | None
    redirects: list[Redirect]
    # Requests sent in all: first try, retries and redirect hops.
    attempts: int
    elapsed: float = 0.0

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of a header, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def headers_for_decoded_body(self) -> list[tuple[str, str]]:
        """Headers that describe `body` as kept (decoded): for archiving the response (WARC)."""
        dropped = {"content-encoding", "content-length", "transfer-encoding"}
        kept = [(name, value) for name, value in self.headers if name.lower() not in dropped]
        return [*kept, ("Content-Length", str(len(self.body)))]

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def moved_permanently(self) -> bool:
        """Every hop was 301/308: a stored URL (a feed's) may be replaced by `url`."""
        return bool(self.redirects) and all(
            hop.status in PERMANENT_REDIRECT_STATUSES for hop in self.redirects
        )


# --- connections that only reach vetted addresses -------------------------------------------


def _resolve_and_vet(host: str, port: int, policy: AddressPolicy) -> list[tuple[Any, ...]]:
    """getaddrinfo, then refuse the host if any of its addresses is forbidden."""
    try:
        infos = _getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError("dns_error", f"{host} does not resolve: {error}") from error
    if not infos:
        raise FetchError("dns_error", f"{host} resolves to no address")
    for info in infos:
        address = info[4][0]
        reason = policy.check(address)
        if reason is not None:
            where = host if address == host else f"{host} resolves to {address}"
            raise FetchError("blocked_address", f"{where}: {reason}")
    return infos


class _GuardedConnectionMixin:
    """Resolves, vets every address, then connects to a vetted IP (Host and SNI unchanged)."""

    address_policy: AddressPolicy = AddressPolicy()
    peer_address: str | None = None

    def _new_conn(self) -> socket.socket:
        host = self._dns_host  # type: ignore[attr-defined]
        infos = _resolve_and_vet(host, self.port, self.address_policy)  # type: ignore[attr-defined]
        connect_deadline = time.monotonic() + (self.timeout or 0.0)  # type: ignore[attr-defined]
        last_error: OSError | None = None
        for family, socktype, proto, _, sockaddr in infos[:_MAX_ADDRESSES_TRIED]:
            remaining = connect_deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = socket.socket(family, socktype, proto)
            try:
                for option in self.socket_options or ():  # type: ignore[attr-defined]
                    sock.setsockopt(*option)
                sock.settimeout(remaining)
                sock.connect(sockaddr)
            except OSError as error:
                sock.close()
                last_error = error
                continue
            self.peer_address = sockaddr[0]
            sys.audit("http.client.connect", self, host, self.port)  # type: ignore[attr-defined]
            return sock
        if last_error is None or isinstance(last_error, TimeoutError):
            raise urllib3_errors.ConnectTimeoutError(
                self,
                f"connection to {host} timed out (connect timeout={self.timeout})",  # type: ignore[attr-defined]
            )
        raise urllib3_errors.NewConnectionError(
            self,  # type: ignore[arg-type]
            f"failed to connect to {host}: {last_error}",
        )


def _guarded_pool_classes(policy: AddressPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections check addresses against `policy`."""

    class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
        address_policy = policy

    class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
        address_policy = policy

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


# --- bounded decompression ------------------------------------------------------------------


class _BodyOverflowError(Exception):
    pass


class _BoundedDecoder:
    """gzip (multi-member) or deflate (zlib or raw), never producing more than `limit` bytes."""

    def __init__(self, encoding: str, limit: int):
        self._encoding = encoding
        self._limit = limit
        self.produced = 0
        # Compressed bytes that produced the output so far (the ratio tells a bomb).
        self.consumed = 0
        self._first_chunk = True
        self._finished = False
        self._decompressor = self._new_decompressor()

    def _new_decompressor(self) -> Any:
        if self._encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS)

    def _decompress(self, data: bytes) -> bytes:
        room = self._limit - self.produced
        decompressor = self._decompressor
        output = decompressor.decompress(data, room + 1)
        self.produced += len(output)
        self.consumed += (
            len(data) - len(decompressor.unconsumed_tail) - len(decompressor.unused_data)
        )
        if self.produced > self._limit or self._decompressor.unconsumed_tail:
            raise _BodyOverflowError
        return output

    def feed(self, data: bytes) -> bytes:
        if self._finished:
            return b""
        if self._first_chunk:
            self._first_chunk = False
            if self._encoding == "deflate":
                try:
                    return self._feed_members(data)
                except zlib.error:
                    # Servers often send raw deflate under "deflate" (urllib3 allows it too).
                    self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.produced = 0
                    self.consumed = 0
        return self._feed_members(data)

    def _feed_members(self, data: bytes) -> bytes:
        parts = [self._decompress(data)]
        # Concatenated gzip members; each round consumes at least one member's header.
        while self._encoding == "gzip" and self._decompressor.eof:
            rest = self._decompressor.unused_data
            if not rest.startswith(b"\x1f\x8b"):
                self._finished = True  # trailing bytes after the last member are ignored
                break
            self._decompressor = self._new_decompressor()
            parts.append(self._decompress(rest))
        return b"".join(parts)

    def flush(self) -> bytes:
        output = self._decompressor.flush()
        self.produced += len(output)
        if self.produced > self._limit:
            raise _BodyOverflowError
        return output


class _BoundedBrotliDecoder:
    """brotli, never producing more than `limit` bytes (needs brotli >= 1.2)."""

    # Small slices, so that the input behind the output is known closely (the bomb ratio).
    _SLICE = 4096

    def __init__(self, limit: int):
        self._limit = limit
        self.produced = 0
        self.consumed = 0
        self._decompressor = brotli.Decompressor()

    def _take(self, output: bytes) -> bytes:
        self.produced += len(output)
        if self.produced > self._limit:
            raise _BodyOverflowError
        return output

    def feed(self, data: bytes) -> bytes:
        parts = []
        for start in range(0, len(data), self._SLICE):
            piece = data[start : start + self._SLICE]
            self.consumed += len(piece)
            room = self._limit - self.produced + 1
            parts.append(self._take(self._decompressor.process(piece, output_buffer_limit=room)))
            # Output held back by the limit must be drained before more input is accepted.
            while not self._decompressor.can_accept_more_data():
                room = self._limit - self.produced + 1
                output = self._decompressor.process(b"", output_buffer_limit=room)
                if not output:
                    break
                parts.append(self._take(output))
        return b"".join(parts)

    def flush(self) -> bytes:
        return b""


# --- retry timing ---------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(retry_number: int, base: float, maximum: float, draw: float) -> float:
    """Exponential backoff with jitter: base * 2**(n-1), capped, times 0.5..1 (`draw` in 0..1)."""
    return min(maximum, base * 2 ** (retry_number - 1)) * (0.5 + draw / 2)


# --- the fetcher ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Hop:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    peer_address: str | None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _translate(error: Exception, url: str) -> FetchError:
    if isinstance(error, FetchError):
        return error
    if isinstance(error, (urllib3_errors.TimeoutError, TimeoutError)):
        return FetchError("timeout", f"{url}: {error}")
    if isinstance(error, urllib3_errors.SSLError):
        return FetchError("tls_error", f"{url}: {error}")
    if isinstance(error, (urllib3_errors.LocationValueError, ValueError)):
        return FetchError("invalid_url", f"{url}: {error}")
    return FetchError("connection_error", f"{url}: {error}")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


class Fetcher:
    """Thread-safe bounded GET. `fetch` returns a FetchResult or raises FetchError."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        # Deadlines are time.monotonic() values, shared with the politeness layer.
        self.settings = settings or FetchSettings()
        self._sleep = sleep
        self._random = random.Random()
        policy = AddressPolicy.from_settings(
            self.settings.allow_private_addresses, self.settings.allowed_networks
        )
        self._pool = urllib3.PoolManager(
            num_pools=self.settings.max_pools,
            maxsize=max(1, self.settings.per_host_concurrency),
            block=False,
        )
        self._pool.pool_classes_by_scheme = _guarded_pool_classes(policy)
        self._default_headers = {
            "User-Agent": self.settings.user_agent,
            "Accept": DEFAULT_ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        deadline: float | None = None,
        gate: RequestGate | None = None,
        max_body_bytes: int | None = None,
    ) -> FetchResult:
        """GET `url`, following redirects. `deadline` (monotonic) may only shorten the total.

        `headers` are added to (and override) User-Agent/Accept/Accept-Encoding, e.g. the
        conditional If-None-Match / If-Modified-Since of a feed poll.
        """
        started = time.monotonic()
        own_deadline = started + self.settings.total_deadline
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
        limit = self.settings.max_body_bytes if max_body_bytes is None else max_body_bytes
        request_headers = dict(self._default_headers)
        for name, value in (headers or {}).items():
            for existing in [key for key in request_headers if key.lower() == name.lower()]:
                del request_headers[existing]
            request_headers[name] = value

        redirects: list[Redirect] = []
        attempts = 0
        current = url
        while True:
            reason = unsupported_scheme(current)
            if reason is not None:
                raise FetchError("unsupported_scheme", f"{current}: {reason}", url=current)
            hop, attempts = self._send_with_retries(
                current, request_headers, deadline, gate, limit, attempts
            )
            location = hop.header("Location")
            if hop.status in REDIRECT_STATUSES and location:
                target = urllib.parse.urljoin(current, location.strip())
                if len(redirects) >= self.settings.max_redirects:
                    raise FetchError(
                        "too_many_redirects",
                        f"{url}: more than {self.settings.max_redirects} redirects",
                        status=hop.status,
                        url=current,
                        attempts=attempts,
                    )
                redirects.append(Redirect(hop.status, current, target))
                if _origin(target) != _origin(current):
                    request_headers = {
                        name: value
                        for name, value in request_headers.items()
                        if name.lower() not in _CREDENTIAL_HEADERS
                    }
                current = target
                continue
            if 200 <= hop.status < 300 or hop.status == 304:
                return FetchResult(
                    requested_url=url,
                    url=current,
                    status=hop.status,
                    reason=hop.reason,
                    headers=hop.headers,
                    body=hop.body if hop.status != 304 else b"",
                    fetched_at=dt.datetime.now(dt.timezone.utc),
                    peer_address=hop.peer_address,
                    redirects=redirects,
                    attempts=attempts,
                    elapsed=time.monotonic() - started,
                )
            raise self._status_error(hop, current, attempts)

    def _status_error(self, hop: _Hop, url: str, attempts: int) -> FetchError:
        return FetchError(
            f"http_status:{hop.status}",
            f"{url}: HTTP {hop.status} {hop.reason}".rstrip(),
            status=hop.status,
            retry_after=parse_retry_after(hop.header("Retry-After")),
            url=url,
            attempts=attempts,
        )

    def _send_with_retries(
        self,
        url: str,
        headers: dict[str, str],
        deadline: float,
        gate: RequestGate | None,
        limit: int,
        attempts: int,
    ) -> tuple[_Hop, int]:
        settings = self.settings
        for retry_number in range(settings.max_retries + 1):
            with gate(url, deadline) if gate is not None else contextlib.nullcontext():
                attempts += 1
                try:
                    hop = self._send_once(url, headers, deadline, limit)
                except FetchError as error:
                    error.url = error.url or url
                    error.attempts = attempts
                    if error.error_type not in RETRYABLE_ERROR_TYPES:
                        raise
                    failure: FetchError = error
                    wait = None
                else:
                    if hop.status != 429 and hop.status < 500:
                        return hop, attempts
                    failure = self._status_error(hop, url, attempts)
                    wait = failure.retry_after
                    if wait is not None and wait > settings.max_retry_after:
                        failure.args = (f"{failure}; Retry-After {wait:.0f} s is too long",)
                        raise failure
            if retry_number == settings.max_retries:
                raise failure
            if wait is None:
                draw = self._random.random()
                wait = backoff_delay(
                    retry_number + 1, settings.backoff_base, settings.backoff_max, draw
                )
            if time.monotonic() + wait >= deadline:
                raise failure
            self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _send_once(self, url: str, headers: dict[str, str], deadline: float, limit: int) -> _Hop:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"{url}: total deadline passed")
        timeout = urllib3.Timeout(
            connect=min(self.settings.connect_timeout, remaining),
            read=min(self.settings.read_timeout, remaining),
        )
        try:
            response = self._pool.urlopen(
                "GET",
                url,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                timeout=timeout,
            )
        except Exception as error:  # every failure becomes a typed FetchError
            raise _translate(error, url) from error
        connection = response.connection
        hop = _Hop(
            status=response.status,
            reason=response.reason or "",
            headers=list(response.headers.items()),
            body=b"",
            peer_address=getattr(connection, "peer_address", None),
        )
        clean = False
        try:
            if 200 <= hop.status < 300:
                hop.body = self._read_body(response, hop, url, deadline, limit)
                clean = True
        except FetchError:
            raise
        except Exception as error:
            raise _translate(error, url) from error
        finally:
            if not clean:
                # Unread body: the connection cannot be reused.
                response.close()
            response.release_conn()
        return hop

    def _read_body(
        self,
        response: urllib3.BaseHTTPResponse,
        hop: _Hop,
        url: str,
        deadline: float,
        limit: int,
    ) -> bytes:
        encoding = (hop.header("Content-Encoding") or "identity").strip().lower()
        if encoding in ("identity", ""):
            decoder = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            decoder = _BoundedDecoder("deflate" if encoding == "deflate" else "gzip", limit)
        elif encoding == "br" and BROTLI_BOUNDED:
            decoder = _BoundedBrotliDecoder(limit)
        else:
            raise FetchError(
                "unsupported_content_encoding", f"{url}: Content-Encoding {encoding!r}"
            )
        declared = hop.header("Content-Length")
        if decoder is None and declared and declared.strip().isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"{url}: Content-Length {declared} > {limit} bytes")

        chunks: list[bytes] = []
        size = 0
        wire_bytes = 0
        sock = getattr(response.connection, "sock", None)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchError("timeout", f"{url}: total deadline passed reading the body")
                if sock is not None:
                    # Each read waits at most until the deadline: a slow drip cannot outlast it.
                    sock.settimeout(min(self.settings.read_timeout, remaining))
                data = response.read1(_READ_CHUNK_BYTES, decode_content=False)
                if not data:
                    break
                wire_bytes += len(data)
                if wire_bytes > limit:
                    raise _BodyOverflowError
                output = decoder.feed(data) if decoder is not None else data
                size += len(output)
                if size > limit:
                    raise _BodyOverflowError
                chunks.append(output)
            if decoder is not None:
                chunks.append(decoder.flush())
        except _BodyOverflowError:
            if decoder is not None and decoder.produced > (
                self.settings.max_compression_ratio * max(decoder.consumed, 1)
            ):
                raise FetchError(
                    "decompression_bomb",
                    f"{url}: {decoder.consumed} compressed bytes expand past {limit} bytes",
                ) from None
            raise FetchError("too_large", f"{url}: body larger than {limit} bytes") from None
        except (zlib.error, *_BROTLI_ERRORS) as error:
            raise FetchError("decoding_error", f"{url}: bad {encoding} data: {error}") from error
        except (http.client.IncompleteRead, urllib3_errors.ProtocolError) as error:
            raise FetchError("connection_error", f"{url}: body cut short: {error}") from error
        return b"".join(chunks)
