"""The HTTP server: uvicorn (with h11) serving local_endpoint.app, configured and subclassed rather than written.

uvicorn does the HTTP/1.1 work: keep-alive, chunked request bodies, rejecting conflicting or malformed
Content-Length, a deep listen queue, and a shutdown that lets in-flight requests finish. uvicorn 0.54 has no
deadline for a request's headers or body (its issue #157), arms its idle timer only after a first response, and
accepts connections until the process runs out of files. The twin's subclass of its h11 protocol adds those
bounds, so no client can hold the twin:

- a connection with no request under way (a new one too) is closed after `keep_alive_timeout_seconds`;
- a request's headers must be complete `header_timeout_seconds` after its first byte, else 408 and close;
- a body still arriving `body_timeout_seconds` after the headers is cut: the app answers 408 in its route's
  shape (local_endpoint/app.py); a body nobody reads any more (the answer went out first) is closed here;
- at most `max_connections` are open, fewer if the open-file limit would not allow as many, so accept() never
  fails: when full, the longest-idle connection makes room, or else the newcomer is closed at once;
- requests h11 refuses get SageMaker's JSON error instead of uvicorn's plain-text 400, and so do two it accepts
  (_TwinH11Connection): a request head over MAX_HEAD_BYTES that arrived whole, and Content-Length together with
  Transfer-Encoding.

Stopping is in two steps (TwinServer.run). The socket is bound before anything else, so `python -m
local_endpoint` reports a busy port before it spends seconds loading a model.
"""

from __future__ import annotations

import ast
import asyncio
import http
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from local_endpoint import codec, runtime_api
from local_endpoint.app import TwinApp
from local_endpoint.config import TwinConfig
from local_endpoint.container import InvocationContainer

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

LISTEN_BACKLOG = 2048
"""Connections the kernel queues before the twin accepts them (uvicorn's default)."""
ACCEPT_BATCH = 16
"""Connections asyncio accepts in one turn of the event loop, before any of them reaches the protocol (and the
connection cap). asyncio takes this from the `backlog` it is given, which it also passes to listen(), so the twin
gives it this and listens again with LISTEN_BACKLOG once serving."""
SHUTDOWN_TIMEOUT_S = 60.0
"""After the first signal, requests still being answered get this long (SageMaker's own limit for a container to
answer an invocation) before uvicorn cancels them; a model call already running still finishes before run()
returns, as torch must not be mid-call when the interpreter exits."""
FILE_HEADROOM = 64
"""Files kept free beyond max_connections when it is fitted under the open-file limit: a batch of connections
accepted but not yet counted (ACCEPT_BATCH), as many being closed, and files the model or the user module opens."""
MAX_HEAD_BYTES = 16 * 1024
"""A request's line and headers, line ends included, at most (docs/local-twin.md: "headers of at most 16 kB").
h11 bounds only a head still incomplete (its max_incomplete_event_size, this); _TwinH11Connection bounds one that
arrived in a single read too. AWS's front ends refuse oversized headers with 400 (ALB: 16 kB a line, 64 kB in all)."""
_BODY_BACKSTOP_S = 1.0
"""The protocol closes a body still arriving this long after the app's deadline: the app's 408 goes out first."""
_STARTUP_TIMEOUT_S = 30.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; raises OSError (port in use, bad address) before any model is loaded.

    The protocol is named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on accepted sockets
    whose `proto` is IPPROTO_TCP. Without it, an answer under one loopback segment (64 kB, e.g. server pooling's
    8 kB per text) waited ~40 ms for the caller's delayed ACK after uvicorn wrote the headers.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def connection_limit(configured: int, *, file_limit: int | None = None, open_files: int | None = None) -> int:
    """How many connections may be open at once: `configured`, or fewer when the process could not open that many
    more files (then accept() would fail with EMFILE and every caller would wait in the listen queue).

    `file_limit` and `open_files` default to the process's soft RLIMIT_NOFILE and its open descriptors now.
    """
    if file_limit is None:
        file_limit = _soft_file_limit()
    if file_limit is None:
        return configured
    if open_files is None:
        open_files = _open_file_count()
    return max(1, min(configured, file_limit - open_files - FILE_HEADROOM))


def _soft_file_limit() -> int | None:
    try:
        import resource
    except ImportError:  # not a Unix: no file limit to fit under
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def _open_file_count() -> int:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return 0


@dataclass
class _ConnectionLimits:
    """What the connections of one TwinServer share: its deadlines and how many of them may be open."""

    header_timeout_s: float
    body_timeout_s: float
    shutdown_grace_s: float
    max_connections: int
    full: bool = False  # the cap is being enforced now; logged once each time it starts


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


class _TwinH11Connection(h11.Connection):
    """h11's server side, refusing two requests h11 itself lets through, as AWS's front ends refuse them:

    - a head over MAX_HEAD_BYTES: h11 refuses it only while it is incomplete, so 70 kB of headers sent at once
      were read;
    - Content-Length together with Transfer-Encoding: h11 lets Transfer-Encoding win (RFC 9112 allows it), but a
      proxy in front that believed Content-Length would see another request boundary, which is how requests are
      smuggled. AWS's desync classification (aws/http-desync-guardian, `BothTeClPresent`) calls it ambiguous and
      its strict mode answers 400 and closes the connection. Transfer-Encoding other than `chunked` is refused by
      h11 itself.

    The refusal is raised from next_event as h11's own are, so uvicorn answers it as it answers those
    (send_400_response, below).
    """

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self._max_head_bytes = max_head_bytes

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        buffered = len(self.trailing_data[0]) if self.their_state is h11.IDLE else 0
        event = super().next_event()
        if isinstance(event, h11.Request):
            head_bytes = buffered - len(self.trailing_data[0])
            if head_bytes > self._max_head_bytes:
                raise h11.RemoteProtocolError(
                    f"request line and headers of {head_bytes} bytes, over the {self._max_head_bytes}-byte limit"
                )
            names = {name for name, _ in event.headers}  # lower case, as h11 normalises them
            if b"content-length" in names and b"transfer-encoding" in names:
                raise h11.RemoteProtocolError(
                    "both Content-Length and Transfer-Encoding are set; send only one of them (a request whose "
                    "length two servers may read differently is how requests are smuggled)"
                )
        return event


# h11 quotes what it could not parse as a Python repr: "illegal request line: bytearray(b'HELLO WORLD')".
_QUOTED_BYTES = re.compile(r""": (?:bytearray\()?(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")\)?""")
_QUOTE_AT_MOST = 120


def _parser_message(refused: h11.RemoteProtocolError) -> str:
    """h11's reason for refusing a request, with what the caller sent quoted as text rather than as a Python repr."""

    def as_sent(match: re.Match[str]) -> str:
        try:
            sent: bytes = ast.literal_eval(match[1])
        except (ValueError, SyntaxError):  # not a repr after all: leave it
            return match[0]
        text = sent.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
        if len(text) > _QUOTE_AT_MOST:
            text = text[:_QUOTE_AT_MOST] + "..."
        return f' "{text}"'

    if refused.error_status_hint == 431:  # h11's "Receive buffer too long": a head still incomplete
        return f"request line and headers over the {MAX_HEAD_BYTES}-byte limit"
    return _QUOTED_BYTES.sub(as_sent, str(refused)).rstrip(".")


class _TwinH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the twin's connection deadlines, connection cap and SageMaker-style errors.

    One subclass per server carries its limits (`_protocol_class`); uvicorn makes one instance per connection.
    The hooks are uvicorn's own: `handle_events` runs after every read and after a response, when h11's state
    says which phase the request is in.
    """

    limits: ClassVar[_ConnectionLimits]
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _idle_since = 0.0

    # --- connection life ----------------------------------------------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _TwinH11Connection(MAX_HEAD_BYTES)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        self._keep_within_limit()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._cancel_deadlines()

    def handle_events(self) -> None:
        super().handle_events()
        self._watch_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown closes idle connections; a body still arriving gets the shutdown grace."""
        super().shutdown()
        if self._body_timer is not None and not self.transport.is_closing():
            cut_off = self.loop.time() + self.limits.shutdown_grace_s + _BODY_BACKSTOP_S
            if self._body_timer.when() > cut_off:
                self._body_timer.cancel()
                self._body_timer = self.loop.call_at(cut_off, self._on_body_timeout)

    # --- deadlines ------------------------------------------------------------------------------------------

    def _watch_request(self) -> None:
        """Arm or disarm the header and body deadlines for the phase h11 is in now."""
        if self.transport.is_closing():
            self._cancel_deadlines()
            return
        their_state = self.conn.their_state
        if their_state is h11.IDLE:
            if self._header_timer is None and self.conn.trailing_data[0]:
                self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._on_header_timeout)
        else:
            _cancel(self._header_timer)
            self._header_timer = None
        if their_state is h11.SEND_BODY:
            if self._body_timer is None:
                when = self.limits.body_timeout_s + _BODY_BACKSTOP_S
                self._body_timer = self.loop.call_later(when, self._on_body_timeout)
        else:
            _cancel(self._body_timer)
            self._body_timer = None

    def _cancel_deadlines(self) -> None:
        _cancel(self._header_timer)
        _cancel(self._body_timer)
        self._header_timer = self._body_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE or self.conn.our_state is not h11.IDLE:
            return
        seconds = self.limits.header_timeout_s
        logger.warning("%s: request headers not complete within %gs: answered 408, closed", self._peer(), seconds)
        self._send_error_and_close(runtime_api.request_timeout("headers", seconds, "header_timeout_seconds"))

    def _on_body_timeout(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        logger.warning("%s: request body still arriving past its deadline: closed the connection", self._peer())
        self.transport.close()

    # --- the connection cap ---------------------------------------------------------------------------------

    def _is_idle(self) -> bool:
        """Between requests with nothing received: closing it loses nothing, as a keep-alive timeout would."""
        conn = self.conn
        return conn.our_state is h11.IDLE and conn.their_state is h11.IDLE and not conn.trailing_data[0]

    def _keep_within_limit(self) -> None:
        limits = self.limits
        open_connections = [
            c for c in self.connections if isinstance(c, _TwinH11Protocol) and not c.transport.is_closing()
        ]
        if len(open_connections) <= limits.max_connections:
            limits.full = False
            return
        if not limits.full:
            limits.full = True
            logger.warning(
                "%d connections open, max_connections is %d: closing the longest-idle connection for each new "
                "one, or the new one when none is idle",
                len(open_connections),
                limits.max_connections,
            )
        idle = [c for c in open_connections if c is not self and c._is_idle()]
        if idle:
            min(idle, key=lambda c: c._idle_since).timeout_keep_alive_handler()
        else:
            self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    # --- answers written by the protocol itself -------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """Every request the parser refuses gets 400, as AWS's front ends answer malformed requests, whatever
        status h11 suggests (431 for a long head, 501 for an unknown Transfer-Encoding)."""
        # uvicorn calls this from its `except h11.RemoteProtocolError` block, so the parser's reason is at hand.
        refused = sys.exc_info()[1]
        detail = _parser_message(refused) if isinstance(refused, h11.RemoteProtocolError) else ""
        self._send_error_and_close(runtime_api.invalid_http_request(detail or "the HTTP parser refused it"))

    def _send_error_and_close(self, error: runtime_api.ApiError) -> None:
        """The error as the app writes its own (app._send): reason phrase, request id, JSON body; then close."""
        body = error.body()
        headers = [
            (b"content-type", codec.JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            (b"x-amzn-errortype", (error.code or "").encode()),
            (b"connection", b"close"),
        ]
        reason = http.HTTPStatus(error.status).phrase.encode()
        self.transport.write(self.conn.send(h11.Response(status_code=error.status, headers=headers, reason=reason)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"


def _protocol_class(limits: _ConnectionLimits) -> type[_TwinH11Protocol]:
    class TwinH11Protocol(_TwinH11Protocol):
        pass

    TwinH11Protocol.limits = limits
    return TwinH11Protocol


class _UvicornServer(uvicorn.Server):
    """uvicorn's server, minus its signal handling (TwinServer.run has its own, for the whole of the stop), with
    accepts in small batches (ACCEPT_BATCH) and the app told first when a shutdown begins, so bodies still arriving
    get the grace, not their full time."""

    def __init__(self, config: uvicorn.Config, app: TwinApp) -> None:
        super().__init__(config)
        self._app = app

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for sock in sockets or []:
            sock.listen(LISTEN_BACKLOG)  # asyncio listened with ACCEPT_BATCH; the kernel's queue stays deep

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app.begin_shutdown()
        await super().shutdown(sockets)


class TwinServer:
    """The twin on a bound socket: `run()` serves until `stop()` or SIGTERM/SIGINT (from the main thread)."""

    def __init__(
        self,
        address: tuple[str, int] | socket.socket,
        container: InvocationContainer,
        config: TwinConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        access_log: bool = True,
    ) -> None:
        self.config = config = config or TwinConfig()
        self.socket = address if isinstance(address, socket.socket) else bind_socket(*address)
        self._address: tuple[str, int] = self.socket.getsockname()[:2]  # the socket is closed on shutdown
        self.app = TwinApp(container, config, clock=clock)
        self.max_connections = connection_limit(config.max_connections)
        if self.max_connections < config.max_connections:
            logger.warning(
                "at most %d connections at once, not max_connections=%d: the process may open %s files (ulimit -n)",
                self.max_connections,
                config.max_connections,
                _soft_file_limit(),
            )
        limits = _ConnectionLimits(
            header_timeout_s=config.header_timeout_seconds,
            body_timeout_s=config.body_timeout_seconds,
            shutdown_grace_s=config.shutdown_grace_seconds,
            max_connections=self.max_connections,
        )
        self._uvicorn = _UvicornServer(
            uvicorn.Config(
                self.app,
                http=_protocol_class(limits),
                loop="asyncio",
                lifespan="off",
                log_config=None,  # the twin's logging setup applies
                access_log=access_log,
                backlog=ACCEPT_BATCH,
                # uvicorn annotates these as int; it hands them to asyncio, which takes any number of seconds.
                timeout_keep_alive=config.keep_alive_timeout_seconds,  # type: ignore[arg-type]
                timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,  # type: ignore[arg-type]
                server_header=False,
                headers=[("Server", "local-endpoint")],
            ),
            self.app,
        )
        self._stopping = False
        self._forced = False

    @property
    def port(self) -> int:
        return self._address[1]

    @property
    def url(self) -> str:
        host = self._address[0]
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def started(self) -> bool:
        return bool(self._uvicorn.started)

    def cold_start_remaining(self) -> float:
        """Seconds until the simulated serverless cold start is over; 0 once warm."""
        return self.app.cold_start_remaining()

    def end_cold_start(self) -> None:
        """Warm up now, so tests can drive a cold start without depending on how fast the machine is."""
        self.app.end_cold_start()

    def run(self, *, before_forced_exit: Callable[[], None] | None = None) -> None:
        """Serve until stopped, then return once every model call has finished.

        The stop is graceful: no new connections, idle ones closed, bodies still arriving get
        `shutdown_grace_seconds` (then 503 ServiceUnavailable), requests whose body is complete are answered.

        From the main thread SIGINT and SIGTERM are handled here until run() returns: the first stops gracefully,
        the second ends the process at once with status 128 + the signal's number (130 for Ctrl-C), through
        os._exit after `before_forced_exit` (cleanup that must not be skipped) and flushing the logs. Nothing
        gentler will do: a worker thread may be inside torch, which the interpreter's exit would wait for.
        """
        handlers: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                handlers[signum] = signal.signal(signum, self._signal_handler(before_forced_exit))
        try:
            self._uvicorn.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.app.close()
            for signum, handler in handlers.items():
                if handler is not None:  # None: installed outside Python, cannot be put back
                    signal.signal(signum, handler)

    def stop(self) -> None:
        """Ask `run()` to shut down gracefully (thread-safe)."""
        self._uvicorn.should_exit = True

    def _signal_handler(self, before_forced_exit: Callable[[], None] | None) -> Callable[[int, FrameType | None], None]:
        def handle(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if not self._stopping:
                self._stopping = True
                logger.info(
                    "%s: stopping; invocations under way are answered, uploads still arriving get %gs; send %s again "
                    "to stop at once",
                    name,
                    self.config.shutdown_grace_seconds,
                    "Ctrl-C" if signum == signal.SIGINT else name,
                )
                self.stop()
                return
            self._exit_now(signum, before_forced_exit)

        return handle

    def _exit_now(self, signum: int, before_forced_exit: Callable[[], None] | None) -> None:
        if self._forced:  # a third signal while the second one's cleanup runs
            return
        self._forced = True
        status = 128 + signum
        calls = self.app.model_calls
        abandoned = f", abandoning {calls} model call(s) under way" if calls else ""
        logger.warning("second %s: stopping at once%s (exit status %d)", signal.Signals(signum).name, abandoned, status)
        try:
            if before_forced_exit is not None:
                before_forced_exit()
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)


@contextmanager
def serve_in_thread(
    container: InvocationContainer,
    config: TwinConfig | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
) -> Iterator[TwinServer]:
    """A running twin for tests and benchmarks; port 0 picks a free port (see `.port` / `.url`)."""
    server = TwinServer((host, port), container, config, access_log=False)
    thread = threading.Thread(target=server.run, name=f"twin-{server.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    if not server.started:
        server.stop()
        thread.join(timeout=10)
        raise RuntimeError(f"the twin did not start on {server.url}")
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=30)
