"""The HTTP server: uvicorn serving local_endpoint.app, configured rather than hand-written.

uvicorn (with h11) owns the HTTP/1.1 work the stdlib server got wrong: keep-alive, chunked request bodies,
rejecting conflicting or malformed Content-Length, a deep listen queue, idle timeouts, and a graceful shutdown
that lets in-flight requests finish. The twin only adds its own answer for requests h11 refuses (SageMaker's JSON
error instead of uvicorn's plain-text 400).

The socket is bound before anything else, so `python -m local_endpoint` reports a busy port before it spends
seconds loading a model.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from local_endpoint import codec, runtime_api
from local_endpoint.app import TwinApp
from local_endpoint.config import TwinConfig
from local_endpoint.container import InvocationContainer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

LISTEN_BACKLOG = 2048
"""Connections the kernel queues before the twin accepts them (uvicorn's default; the stdlib server had 5)."""
GRACEFUL_SHUTDOWN_TIMEOUT_S = 120.0
"""On SIGTERM, in-flight requests get this long to finish before their tasks are cancelled."""
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


class _SageMakerErrorsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering requests h11 refuses with SageMaker's JSON error, not plain text."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from its `except h11.RemoteProtocolError` block, so the parser's reason is at hand.
        refused = sys.exc_info()[1]
        detail = str(refused) if isinstance(refused, h11.RemoteProtocolError) and str(refused) else msg
        error = runtime_api.invalid_http_request(detail.rstrip("."))
        body = error.body()
        headers = [
            (b"content-type", codec.JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-amzn-errortype", (error.code or "").encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=error.status, headers=headers)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


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
        self.config = config or TwinConfig()
        self.socket = address if isinstance(address, socket.socket) else bind_socket(*address)
        self.app = TwinApp(container, self.config, clock=clock)
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(
                self.app,
                http=_SageMakerErrorsH11Protocol,
                loop="asyncio",
                lifespan="off",
                log_config=None,  # the twin's logging setup applies
                access_log=access_log,
                backlog=LISTEN_BACKLOG,
                timeout_keep_alive=self.config.keep_alive_timeout_seconds,  # type: ignore[arg-type]
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_TIMEOUT_S,  # type: ignore[arg-type]
                server_header=False,
                headers=[("Server", "local-endpoint")],
            )
        )

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.socket.getsockname()[0]
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

    def run(self) -> None:
        """Serve until stopped; then in-flight requests finish, and so does every pipeline call.

        From the main thread uvicorn handles SIGINT/SIGTERM itself, and re-raises the signal once it has shut
        down: callers that want a clean exit status install their own handler first (see __main__).
        """
        try:
            self._uvicorn.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.app.close()

    def stop(self) -> None:
        """Ask `run()` to shut down gracefully (thread-safe)."""
        self._uvicorn.should_exit = True


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
