"""Misbehaving HTTP servers on loopback, for what only a real socket shows: an endpoint that trickles its answer.

Raw sockets rather than an HTTP framework, because the point is to send a valid response slowly, byte by byte,
which no framework is built to do.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.embeddings.embeddings_fakes import DIMENSION


def pooled_answer_body(count: int = 1) -> bytes:
    vector = [3.0, 4.0] + [0.0] * (DIMENSION - 2)
    return json.dumps([[vector]] * count).encode()


@dataclass
class TrickleServer:
    """Answers each request with a valid 200, `trickle` deciding which part arrives one byte per `interval_s`.

    `trickle`: "headers" (the status line and headers), "body" (headers at once, then the body), or "none" (the
    whole answer at once). A trickle lasts at most `max_trickle_s`, then the rest is sent at once, so a client
    without a deadline still ends, and a test can tell the two apart.
    """

    trickle: str = "body"
    interval_s: float = 0.05
    max_trickle_s: float = 20.0
    then: list[str] = field(default_factory=list)  # the `trickle` of later requests, in order
    port: int = 0
    requests: int = 0
    disconnected_early: list[bool] = field(default_factory=list)  # per trickled answer: the client hung up first
    _stop: threading.Event = field(default_factory=threading.Event)
    _connections: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)
        threads = []
        while not self._stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            self._connections.append(connection)
            thread = threading.Thread(target=self._handle, args=(connection,), daemon=True)
            thread.start()
            threads.append(thread)
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)

    def _read_request(self, reader: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = reader.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = reader.recv(65536)
            if not chunk:
                return False
            rest += chunk
        return True

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            while self._read_request(connection):
                mode = self.then[self.requests - 1] if 0 < self.requests <= len(self.then) else self.trickle
                self.requests += 1
                body = pooled_answer_body()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"x-amzn-RequestId: trickle-{self.requests}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                slow, fast = {"headers": (head, body), "body": (body, b"")}.get(mode, (b"", head + body))
                if mode == "body":
                    connection.sendall(head)
                if not self._send_slowly(connection, slow):
                    self.disconnected_early.append(True)
                    return
                if mode != "none":
                    self.disconnected_early.append(False)
                connection.sendall(fast)

    def _send_slowly(self, connection: socket.socket, data: bytes) -> bool:
        """False if the client went away first (its deadline), True once all of `data` or the trickle is sent."""
        ends = time.monotonic() + self.max_trickle_s
        for index in range(len(data)):
            if time.monotonic() >= ends:
                connection.sendall(data[index:])
                return True
            try:
                connection.sendall(data[index : index + 1])
            except OSError:
                return False
            if self._stop.wait(self.interval_s):
                return False
            # A shut-down client shows as a readable socket with nothing to read (EOF) or a reset.
            try:
                connection.setblocking(False)
                try:
                    if connection.recv(1) == b"":
                        return False
                except BlockingIOError:
                    pass
                finally:
                    connection.setblocking(True)
            except OSError:
                return False
        return True


@contextmanager
def trickle_server(**options: object) -> Iterator[TrickleServer]:
    server = TrickleServer(**options)  # type: ignore[arg-type]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server.port = listener.getsockname()[1]
    thread = threading.Thread(target=server._serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._stop.set()
        thread.join(timeout=10)
        listener.close()
