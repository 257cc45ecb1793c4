"""The gunicorn worker `cds-service serve` runs: gevent, with bounded reads and JSON errors.

Why gevent: under gthread each connection holds an OS thread from its first byte to its last, so
a few clients that send a request one byte at a time held every thread and nothing else was
answered. Here a connection costs a greenlet until its request is complete; the headers must
arrive within the keep-alive time and the body within the same time again, after which the
connection is closed. The whole body is read before the app runs, so the app never waits on a
client. psycopg 3 (>= 3.1.14) and requests cooperate with gevent's monkey-patching.

Why JSON here: errors found while parsing the request (bad Content-Length, a request line or
headers over the limits) never reach Flask; gunicorn would answer them with HTML pages.
"""

from __future__ import annotations

import io
import socket
import ssl
import time
import uuid

import gevent
import gevent.socket
import orjson
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventWorker

from .errors import error_body

DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
# On SIGTERM the master kills what is left after its graceful timeout; each worker stops draining
# calls this much earlier, so writing its queued card records (audit.writer, with its retries of
# about 5 s) always has time. gunicorn_options adds it to the drain the operator asked for.
FLUSH_RESERVE_S = 10
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
# Fixed messages: gunicorn's own would echo the request line or a header back (ids, tokens).
# Looked up by name: not every supported gunicorn release defines every class.
_PARSE_ERROR_NAMES = [
    (("LimitRequestLine",), 414, "request line is too long"),
    (("LimitRequestHeaders",), 431, "request headers are too large or too many"),
    (("UnsupportedTransferCoding",), 501, "unsupported transfer coding"),
    (("ExpectationFailed",), 417, "unsupported Expect header"),
    (("InvalidChunkSize", "ChunkMissingTerminator", "InvalidChunkExtension"), 400, "malformed chunked request body"),
    (("InvalidHeader", "InvalidHeaderName", "ObsoleteFolding"), 400, "malformed request header (e.g. Content-Length)"),
    (
        ("InvalidRequestLine", "InvalidRequestMethod", "InvalidHTTPVersion", "ParseException"),
        400,
        "malformed request line",
    ),
]


class HeadersTimedOut(Exception):
    """A request had begun to arrive but its headers were not complete within the keep-alive time."""


_PARSE_ERRORS = [
    (tuple(getattr(http_errors, n) for n in names if hasattr(http_errors, n)), status, message)
    for names, status, message in _PARSE_ERROR_NAMES
]


def error_response(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 answer carrying the service's usual JSON error body; closes the connection."""
    body = orjson.dumps(error_body(status, message, uuid.uuid4().hex))
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def classify(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, HeadersTimedOut):
        return 408, "request headers not received in time"
    for kinds, status, message in _PARSE_ERRORS:
        if isinstance(exc, kinds):
            return status, message
    return 500, "internal error; quote the request id to the service operator"


def _closing(start_response):
    """gunicorn drops an app's `Connection: close` header and keeps the connection alive; after a
    refusal whose body was never read (413, 408) it must really close, so tell gunicorn's response."""

    def start(status, headers, exc_info=None):
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
            force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if force_close is not None:
                force_close()
        return start_response(status, headers, exc_info)

    return start


class BufferedBody:
    """WSGI middleware: the request body is read completely, within `timeout_s`, before the app runs.

    A body declared larger than `limit` (by any amount) is not read: the app refuses it from
    Content-Length at once (413). A chunked body is read to one byte past `limit`, so the app can
    tell "over the limit" (413).
    """

    def __init__(self, app, timeout_s: float, limit: int):
        self.app, self.timeout_s, self.limit = app, timeout_s, limit

    def __call__(self, environ, start_response):
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        declared = int(length) if length.isdigit() else None
        if (declared is None and not chunked) or (declared is not None and declared > self.limit):
            return self.app(environ, _closing(start_response))
        try:
            with gevent.Timeout(self.timeout_s):
                data = stream.read(declared if declared is not None else self.limit + 1)
        except gevent.Timeout:
            return self._refuse(start_response, 408, "request body not received in time")
        except OSError:  # gunicorn's NoMoreData: the client stopped sending before the declared end
            return self._refuse(start_response, 400, "request body ended early")
        if declared is not None and len(data) < declared:  # the client closed before the end
            return self._refuse(start_response, 400, "request body ended early")
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.app(environ, _closing(start_response))

    @staticmethod
    def _refuse(start_response, status: int, message: str):
        body = orjson.dumps(error_body(status, message, uuid.uuid4().hex))
        _closing(start_response)(
            f"{status} {_REASONS[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")],
        )
        return [body]


class CdsWorker(GeventWorker):
    """gunicorn's gevent worker with the changes described at the top of this module, and two
    more: on shutdown, connections idle between keep-alive requests (and only those) are closed at
    once rather than held open (and the worker with them) until their keep-alive time runs out;
    and calls drain for FLUSH_RESERVE_S less than the master waits, leaving that time to write
    records."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._idle: set = set()
        self._connection = None  # gevent.local (made in run, after patching): each greenlet's client socket

    def timeout_ctx(self):
        """The wait for a request's headers, in two parts: an idle keep-alive connection (no byte
        of a new request) is closed silently when its time is up, as clients expect; a request
        that has begun but whose headers do not arrive in time gets a JSON 408 before closing."""
        client = getattr(self._connection, "client", None) if self._connection is not None else None
        return _HeaderDeadline(self.cfg.keepalive, client)

    def init_process(self):
        # In the forked worker, on its own copy of the settings (the master built this object and
        # keeps its own): calls drain for CDS_GRACEFUL_TIMEOUT_S, then the records are written.
        self.cfg.set("graceful_timeout", max(1, self.cfg.graceful_timeout - FLUSH_RESERVE_S))
        super().init_process()

    def run(self):
        from gevent.local import local

        self._connection = local()
        # A failed TLS handshake (a scanner, a TLS 1.1 client) fails in gevent's server before
        # gunicorn sees the connection; without this gevent prints a traceback for each one.
        hub = gevent.get_hub()
        hub.NOT_ERROR = (*hub.NOT_ERROR, ssl.SSLError)
        gevent.spawn(self._close_idle_when_stopping)
        super().run()

    def _close_idle_when_stopping(self) -> None:
        """Once, when the worker stops: close each kept-alive connection waiting for its next request.

        Only those: a connection whose next request has begun to arrive, and a new connection that
        has not finished its first (a balancer sends the request as it connects), are calls in
        flight; closing them would fail a call the client already sent (one whose token this
        worker had accepted could not even be re-sent elsewhere). They are answered, then closed."""
        while self.alive:
            gevent.sleep(0.2)
        for client in list(self._idle):
            _close_unless_input(client)

    def handle(self, listener, client, addr):
        if self._connection is not None:
            self._connection.client = client
        try:
            super().handle(listener, client, addr)
        finally:
            self._idle.discard(client)

    def handle_request(self, listener_name, req, sock, addr):
        self._idle.discard(sock)
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            if self.alive:
                self._idle.add(sock)
            else:  # answered while stopping (gunicorn chose keep-alive when the call began): now close
                _close_unless_input(sock)

    def load_wsgi(self):
        super().load_wsgi()
        config = getattr(self.wsgi, "config", None) or {}
        # the app sets MAX_CONTENT_LENGTH one byte over its limit (see create_app)
        limit = (config.get("MAX_CONTENT_LENGTH") or DEFAULT_BODY_LIMIT + 1) - 1
        self.wsgi = BufferedBody(self.wsgi, self.cfg.keepalive, limit)

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, ssl.SSLError):  # e.g. a client offering only TLS 1.1: no HTTP to answer in
            self.log.info("TLS handshake refused: %s", exc.reason or type(exc).__name__)
            return
        status, message = classify(exc)
        if status == 500:
            self.log.exception("error handling a request")
        else:
            self.log.info("refused a malformed request: %s", message)
        try:
            client.settimeout(1.0)
            client.sendall(error_response(status, message))
            _linger(client)
        except OSError:  # the client has gone; nothing more to do
            pass


class _HeaderDeadline:
    """timeout_ctx's context manager (see CdsWorker.timeout_ctx)."""

    def __init__(self, seconds: float, client):
        self.seconds, self.client, self._timer = seconds, client, None

    def __enter__(self):
        if self.client is not None and not _buffered(self.client):
            try:
                gevent.socket.wait_read(self.client.fileno(), timeout=self.seconds)
            except (TimeoutError, OSError):  # idle all along: the parser sees the end and closes quietly
                try:
                    self.client.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
                return self
        self._timer = gevent.Timeout(self.seconds, HeadersTimedOut())
        self._timer.start()
        return self

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.close()
        return False


def _buffered(client) -> bool:
    """Bytes already decrypted and waiting in a TLS socket's buffer (the OS socket looks idle)."""
    pending = getattr(client, "pending", None)
    return bool(pending and pending())


def _close_unless_input(client) -> None:
    """Shut a connection between requests, unless bytes of a next request (or its end) are
    already waiting: that request is then read and answered, and the connection closed after it."""
    raw = getattr(client, "_sock", client)  # the OS socket: gevent's shutdown would fail the waiting read with EBADF
    try:
        raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return
    except BlockingIOError:
        pass
    except OSError:  # reset or closed already: nothing to save, nothing to shut
        return
    try:
        raw.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _linger(client, limit: int = 1024 * 1024, seconds: float = 2.0) -> None:
    """Half-close, then read what the client had already sent (at most `limit` bytes or `seconds`):
    closing with unread input sends a reset, and the client's kernel may then drop our answer
    before the client reads it."""
    client.shutdown(socket.SHUT_WR)
    drained, until = 0, time.monotonic() + seconds
    while drained < limit and time.monotonic() < until:
        chunk = client.recv(65536)
        if not chunk:
            return
        drained += len(chunk)
