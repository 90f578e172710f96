"""A wall-clock deadline for one invocation attempt, headers and body, that a trickling endpoint cannot extend.

botocore's read_timeout is urllib3's, and urllib3 applies it to each socket read, not to the response: an endpoint
that sends one byte every 10 s never trips a 70 s timeout, and holds the caller for as long as it keeps sending.
Neither botocore nor urllib3 has a total deadline, and neither tells a caller which connection a request went out
on, so the deadline is kept here in two parts:

* CPython raises the audit event `http.client.send` (PEP 578) for every request urllib3 sends, on a new or a
  pooled connection, direct or through a proxy, with the connection as its first argument. A process-wide audit
  hook (installed once, on first use) binds that connection's socket to the attempt running on the same thread.
* One watchdog thread keeps the deadlines of all running attempts. When one passes, it shuts that attempt's
  socket down, so the read blocked on it returns at once and botocore raises its own connection error, which the
  client reports as InvocationTimeoutError. urllib3 closes a connection that failed, so nothing returns to the pool
  broken, and the watchdog ends itself once no attempt has needed it for a second.

The connect phase has no socket to shut down yet: it is bounded by the client's connect_timeout, and an attempt
whose deadline passed meanwhile is stopped by the audit hook before it sends a byte.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_WATCHDOG_IDLE_EXIT_S = 1.0
"""How long the watchdog thread waits for new attempts before it ends (a new attempt starts it again)."""


class DeadlinePassedError(Exception):
    """Raised by the audit hook when an attempt whose deadline has passed tries to send: nothing more is sent."""


class Attempt:
    """One invocation attempt under a deadline (time.monotonic() seconds); `expired` once the watchdog acted."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._socket: socket.socket | None = None
        self._done = False
        self._lock = threading.Lock()

    def bind(self, sock: socket.socket | None) -> None:
        with self._lock:
            if self.expired:
                raise DeadlinePassedError("the invocation deadline passed before the request was sent")
            self._socket = sock

    def expire(self) -> None:
        """Called by the watchdog at the deadline: unblock whatever read the attempt is waiting in."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock, self._socket = self._socket, None
        if sock is not None:
            # socket.socket's own shutdown, also for an SSLSocket: it ends a read blocked in another thread, which
            # close() does not, and leaves the TLS object to the thread that owns it. An OSError means the socket
            # is already closed or reset, and the read has returned anyway.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._socket = None

    @property
    def finished(self) -> bool:
        return self._done


class _Watchdog:
    """Expires attempts at their deadlines; one thread for all of them, started on demand.

    It is woken only when it must act sooner than it planned: a new earliest deadline, or the last running
    attempt finishing (so an idle watchdog can end). Attempts that finish in time are dropped lazily, when the
    watchdog next wakes; waking it for each would cost a thread switch per invocation under the GIL.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Attempt]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = 0  # attempts watched and not yet finished

    def watch(self, attempt: Attempt) -> None:
        with self._condition:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            self._running += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="embeddings-deadline", daemon=True)
                self._thread.start()
            elif earliest is None or attempt.deadline < earliest:
                self._condition.notify()

    def forget(self, attempt: Attempt) -> None:
        """An attempt ended; when it was the last one running, wake the watchdog to tidy up and idle."""
        with self._condition:
            self._running -= 1
            if self._running == 0:
                self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                for _, _, attempt in self._heap:
                    if attempt.deadline <= now:
                        attempt.expire()  # a no-op for an attempt that finished in time
                self._heap = [entry for entry in self._heap if not (entry[2].finished or entry[2].expired)]
                heapq.heapify(self._heap)
                if self._heap:
                    self._condition.wait(self._heap[0][0] - now)
                elif not self._condition.wait(_WATCHDOG_IDLE_EXIT_S) and not self._heap:
                    self._thread = None
                    return

    def thread_alive(self) -> bool:
        with self._condition:
            return self._thread is not None and self._thread.is_alive()


_watchdog = _Watchdog()
_current = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "http.client.send":
        attempt: Attempt | None = getattr(_current, "attempt", None)
        if attempt is not None:
            attempt.bind(getattr(args[0], "sock", None))


def _install_hook() -> bool:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            try:
                sys.addaudithook(_audit)
            except Exception:  # another hook may veto new hooks; the per-read timeout still applies then
                return False
            _hook_installed = True
    return True


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[Attempt]:
    """Run one attempt (the call and the reading of its body) on this thread under a deadline `seconds` away."""
    _install_hook()
    attempt = Attempt(time.monotonic() + seconds)
    previous = getattr(_current, "attempt", None)
    _current.attempt = attempt
    _watchdog.watch(attempt)
    try:
        yield attempt
    finally:
        _current.attempt = previous
        attempt.finish()
        _watchdog.forget(attempt)


def watchdog_running() -> bool:
    """Whether the watchdog thread is alive; for tests that check nothing is left running."""
    return _watchdog.thread_alive()
