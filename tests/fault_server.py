"""A local HTTP server with content and faults on demand, for fetch tests and benchmarks.

    with FaultServer() as server:
        server.add("/page", b"<html>...</html>")
        server.set_robots("User-agent: *\\nDisallow: /private\\n")
        fetcher.fetch(server.url("/slow-body?bytes=100&interval=0.1"))
        assert server.requests_for("/page") == []

It listens on 127.0.0.1, port 0, on daemon threads. Every handler is bounded (at most
`MAX_HANDLER_SECONDS`, and it stops when the server closes), so a test cannot hang on it.

Built-in routes (query parameters in brackets, with defaults):

| path | what |
| --- | --- |
| /robots.txt | 404 until `set_robots` |
| /slow-body [bytes=200, interval=0.1] | Content-Length `bytes`, one byte per `interval` |
| /reset-mid-body [declared=1000, sent=100] | declares `declared` bytes, sends `sent`, closes |
| /429 [ok_after=1, retry_after=1] | 429 with Retry-After, then 200 from request ok_after+1 |
| /500-always | 500 |
| /500-then-ok [fails=1] | 500 `fails` times, then 200 |
| /status [code=503, retry_after, location] | any status, optional Retry-After / Location |
| /redirect [to, code=302] | redirect to `to` |
| /redirect-loop [hop=0] | redirects to /redirect-loop?hop=hop+1, forever |
| /redirect-to-private | 302 to http://10.0.0.1/ |
| /redirect-to-metadata | 302 to http://169.254.169.254/latest/meta-data/ |
| /wrong-content-type | an HTML page labelled image/png |
| /gzip-bomb [members=300] | gzip members of 10 MiB of zeros each (~10 KiB on the wire) |
| /endless-chunked [chunk=1024, interval=0.01] | chunked body that never ends |
| /huge [bytes=20 MiB, chunked=0] | a body of `bytes` bytes |
| /conditional | ETag "v1" + Last-Modified; 304 on a matching If-None-Match/If-Modified-Since |
| /hang | accepts the request and never answers |

Counters of /429 and /500-then-ok are kept per request target (path and query), so a test
can use a fresh one by adding e.g. `&key=test_name`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import http.server
import socket
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable
from typing import Any

MAX_HANDLER_SECONDS = 30.0
GZIP_MEMBER_PLAIN_BYTES = 10 * 1024 * 1024
CONDITIONAL_ETAG = '"v1"'
CONDITIONAL_LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"

HeaderList = list[tuple[str, str]]
# A dynamic route returns a body, or (status, headers, body).
Handler = Callable[["RecordedRequest"], "bytes | tuple[int, dict[str, str] | HeaderList, bytes]"]

_gzip_member_lock = threading.Lock()
_gzip_member: bytes | None = None


def gzip_zero_member() -> bytes:
    """One gzip member of 10 MiB of zeros (about 10 KiB), made once per process."""
    global _gzip_member
    with _gzip_member_lock:
        if _gzip_member is None:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            block = bytes(1024 * 1024)
            parts = [
                compressor.compress(block) for _ in range(GZIP_MEMBER_PLAIN_BYTES // len(block))
            ]
            parts.append(compressor.flush())
            _gzip_member = b"".join(parts)
        return _gzip_member


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    target: str
    headers: HeaderList
    # time.monotonic() when the request line was read.
    at: float

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclasses.dataclass(frozen=True)
class _Route:
    body: bytes | Handler
    status: int
    headers: HeaderList


class _Stopped(Exception):  # noqa: N818 - control flow, not an error
    pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: FaultServer):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-answer are expected here


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection ends after this long, so its thread ends too.
    timeout = 10
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    # --- plumbing --------------------------------------------------------------------------

    @property
    def owner(self) -> FaultServer:
        return self.server.owner

    def _pause(self, seconds: float) -> None:
        if self.owner._stopping.wait(seconds) or time.monotonic() > self._handler_deadline:
            raise _Stopped

    def _head(self, status: int, headers: dict[str, str] | HeaderList) -> None:
        self.send_response(status)
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            self.send_header(name, value)
        self.end_headers()

    def _answer(
        self, status: int, body: bytes, headers: dict[str, str] | HeaderList | None = None
    ) -> None:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {name.lower() for name, _ in pairs}
        if "content-type" not in names:
            pairs.append(("Content-Type", "text/html; charset=utf-8"))
        if "content-length" not in names and "transfer-encoding" not in names:
            pairs.append(("Content-Length", str(len(body))))
        self._head(status, pairs)
        self.wfile.write(body)

    def _count(self, key: str) -> int:
        with self.owner._lock:
            self.owner._counters[key] = self.owner._counters.get(key, 0) + 1
            return self.owner._counters[key]

    def do_GET(self) -> None:
        self._handler_deadline = time.monotonic() + MAX_HANDLER_SECONDS
        split = urllib.parse.urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query)),
            target=self.path,
            headers=list(self.headers.items()),
            at=time.monotonic(),
        )
        self.owner._record(request)
        try:
            route = self.owner._routes.get(split.path)
            if route is not None:
                self._static(route, request)
                return
            builtin = _BUILTIN_ROUTES.get(split.path)
            if builtin is None:
                self._answer(404, b"not found")
                return
            builtin(self, request)
        except (TimeoutError, _Stopped, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _static(self, route: _Route, request: RecordedRequest) -> None:
        if callable(route.body):
            answer = route.body(request)
            if isinstance(answer, tuple):
                status, headers, body = answer
                self._answer(status, body, headers)
                return
            self._answer(route.status, answer, route.headers)
            return
        self._answer(route.status, route.body, route.headers)

    # --- built-in routes -------------------------------------------------------------------

    def _robots(self, request: RecordedRequest) -> None:
        robots = self.owner._robots
        if robots is None:
            self._answer(404, b"no robots.txt")
        else:
            self._answer(robots[1], robots[0], {"Content-Type": "text/plain"})

    def _slow_body(self, request: RecordedRequest) -> None:
        size = int(request.query.get("bytes", 200))
        interval = float(request.query.get("interval", 0.1))
        self._head(200, {"Content-Type": "text/plain", "Content-Length": str(size)})
        for _ in range(size):
            self.wfile.write(b"x")
            self.wfile.flush()
            self._pause(interval)

    def _reset_mid_body(self, request: RecordedRequest) -> None:
        declared = int(request.query.get("declared", 1000))
        sent = int(request.query.get("sent", 100))
        self._head(200, {"Content-Type": "text/plain", "Content-Length": str(declared)})
        self.wfile.write(b"y" * sent)
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _too_many(self, request: RecordedRequest) -> None:
        ok_after = int(request.query.get("ok_after", 1))
        retry_after = request.query.get("retry_after", "1")
        if self._count(request.target) <= ok_after:
            self._answer(429, b"slow down", {"Retry-After": retry_after})
        else:
            self._answer(200, b"<html><body>ok after 429</body></html>")

    def _fail_always(self, request: RecordedRequest) -> None:
        self._answer(500, b"server error")

    def _fail_then_ok(self, request: RecordedRequest) -> None:
        fails = int(request.query.get("fails", 1))
        if self._count(request.target) <= fails:
            self._answer(500, b"server error")
        else:
            self._answer(200, b"<html><body>ok after 500</body></html>")

    def _status(self, request: RecordedRequest) -> None:
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        if "location" in request.query:
            headers["Location"] = request.query["location"]
        self._answer(int(request.query.get("code", 503)), b"status", headers)

    def _redirect(self, request: RecordedRequest) -> None:
        code = int(request.query.get("code", 302))
        self._answer(code, b"", {"Location": request.query.get("to", "/")})

    def _redirect_loop(self, request: RecordedRequest) -> None:
        hop = int(request.query.get("hop", 0))
        self._answer(302, b"", {"Location": f"/redirect-loop?hop={hop + 1}"})

    def _redirect_to_private(self, request: RecordedRequest) -> None:
        self._answer(302, b"", {"Location": "http://10.0.0.1/"})

    def _redirect_to_metadata(self, request: RecordedRequest) -> None:
        self._answer(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})

    def _wrong_content_type(self, request: RecordedRequest) -> None:
        body = b"<html><head><title>Not a PNG</title></head><body><p>Text.</p></body></html>"
        self._answer(200, body, {"Content-Type": "image/png"})

    def _gzip_bomb(self, request: RecordedRequest) -> None:
        members = int(request.query.get("members", 300))
        member = gzip_zero_member()
        headers = {
            "Content-Type": "text/html",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(member) * members),
        }
        self._head(200, headers)
        for _ in range(members):
            self.wfile.write(member)
            self._pause(0)

    def _endless_chunked(self, request: RecordedRequest) -> None:
        chunk = b"z" * int(request.query.get("chunk", 1024))
        interval = float(request.query.get("interval", 0.01))
        self._head(200, {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        while True:
            self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
            self._pause(interval)

    def _huge(self, request: RecordedRequest) -> None:
        size = int(request.query.get("bytes", 20 * 1024 * 1024))
        chunked = request.query.get("chunked", "0") == "1"
        block = b"h" * 65536
        headers = {"Content-Type": "text/plain"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(size)
        self._head(200, headers)
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            self._pause(0)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _conditional(self, request: RecordedRequest) -> None:
        validators = {"ETag": CONDITIONAL_ETAG, "Last-Modified": CONDITIONAL_LAST_MODIFIED}
        if_none_match = request.header("If-None-Match")
        if_modified_since = request.header("If-Modified-Since")
        not_modified = False
        if if_none_match is not None:
            not_modified = CONDITIONAL_ETAG in [tag.strip() for tag in if_none_match.split(",")]
        elif if_modified_since is not None:
            since = email.utils.parsedate_to_datetime(if_modified_since)
            not_modified = since >= email.utils.parsedate_to_datetime(CONDITIONAL_LAST_MODIFIED)
        if not_modified:
            self._head(304, validators)
        else:
            self._answer(200, b"<html><body>conditional content</body></html>", validators)

    def _hang(self, request: RecordedRequest) -> None:
        while True:
            self._pause(0.05)


_BUILTIN_ROUTES: dict[str, Callable[[_RequestHandler, RecordedRequest], None]] = {
    "/robots.txt": _RequestHandler._robots,
    "/slow-body": _RequestHandler._slow_body,
    "/reset-mid-body": _RequestHandler._reset_mid_body,
    "/429": _RequestHandler._too_many,
    "/500-always": _RequestHandler._fail_always,
    "/500-then-ok": _RequestHandler._fail_then_ok,
    "/status": _RequestHandler._status,
    "/redirect": _RequestHandler._redirect,
    "/redirect-loop": _RequestHandler._redirect_loop,
    "/redirect-to-private": _RequestHandler._redirect_to_private,
    "/redirect-to-metadata": _RequestHandler._redirect_to_metadata,
    "/wrong-content-type": _RequestHandler._wrong_content_type,
    "/gzip-bomb": _RequestHandler._gzip_bomb,
    "/endless-chunked": _RequestHandler._endless_chunked,
    "/huge": _RequestHandler._huge,
    "/conditional": _RequestHandler._conditional,
    "/hang": _RequestHandler._hang,
}


class FaultServer:
    """Context manager: a threaded HTTP server on 127.0.0.1 with a request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._routes: dict[str, _Route] = {}
        self._robots: tuple[bytes, int] | None = None
        self._counters: dict[str, int] = {}
        self._log: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FaultServer:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    # --- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # --- content ---------------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str | Handler,
        status: int = 200,
        headers: dict[str, str] | HeaderList | None = None,
    ) -> None:
        """Serve `body` (or what the callable returns) at `path` (query ignored)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        with self._lock:
            self._routes[path] = _Route(body, status, pairs)

    def set_robots(self, text: str | bytes | None, status: int = 200) -> None:
        """robots.txt content and status; None serves 404 again."""
        if isinstance(text, str):
            text = text.encode("utf-8")
        with self._lock:
            self._robots = None if text is None else (text, status)

    # --- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Requests whose path (without query) is `path`."""
        return [request for request in self.requests if request.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
