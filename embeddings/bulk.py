"""Several invocations at once, as many as the endpoint serves, without losing or reordering a single vector.

A serverless endpoint with MaxConcurrency N serves N invocations at a time and throttles the N+1st
(ThrottlingException). One call of EmbeddingClient.embed therefore runs its batches on up to N worker threads (a
boto3 client is thread-safe), and every attempt first takes a permit from an AdaptiveLimit, which halves the
number allowed in flight when the endpoint pushes back and adds them back one at a time as answers succeed
(additive increase, multiplicative decrease, as TCP does). Workers take batches from a BatchFeed, which plans
them in input order and gives the vectors back in input order to the caller's thread; a throttled batch is
retried by its worker, so nothing is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from embeddings.batching import Batch
from embeddings.deadline import Attempt


class CancelledError(Exception):
    """The run this worker belonged to has ended (an error elsewhere, or the caller stopped reading)."""


class Run:
    """What the threads of one bulk call share: a stop signal, and the attempts to cut short when it fires."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._attempts: set[Attempt] = set()
        self._on_stop: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_stop(self, wake: Callable[[], None]) -> None:
        """Call `wake` when the run stops, e.g. to wake threads waiting on a condition of their own."""
        with self._lock:
            self._on_stop.append(wake)

    def check(self) -> None:
        if self.stopped.is_set():
            raise CancelledError("the embedding run was stopped")

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.add(attempt)
        if self.stopped.is_set():
            attempt.expire()

    def discard(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.discard(attempt)

    def stop(self) -> None:
        """End the run now: waiting workers wake, and attempts in flight have their connections shut down."""
        self.stopped.set()
        with self._lock:
            attempts, wakers = list(self._attempts), list(self._on_stop)
        for attempt in attempts:
            attempt.expire()
        for wake in wakers:
            wake()


class AdaptiveLimit:
    """How many attempts may be in flight: starts at `maximum`, halves on push-back, regrows by one per window.

    A push-back only halves the limit once per window: the attempts that were already in flight when it was
    halved may be throttled too, and they say nothing new. Thread-safe.
    """

    def __init__(self, maximum: int, run: Run | None = None) -> None:
        self.maximum = maximum
        self._limit = float(maximum)
        self._in_flight = 0
        self._started = 0  # attempts admitted so far; identifies an attempt's window
        self._halved_after = 0  # push-backs from attempts admitted up to here are already accounted for
        self._condition = threading.Condition()
        self._run = run
        self.lowest = float(maximum)  # the lowest the limit went, for callers and tests to see the adaptation
        if run is not None:
            run.on_stop(self._wake_all)

    def _wake_all(self) -> None:
        with self._condition:
            self._condition.notify_all()

    @property
    def limit(self) -> int:
        with self._condition:
            return max(1, int(self._limit))

    def acquire(self) -> int:
        """Wait for a permit; returns the attempt's ticket for `release`. Raises CancelledError if the run ends."""
        with self._condition:
            while True:
                if self._run is not None:
                    self._run.check()
                if self._in_flight < max(1, int(self._limit)):
                    self._in_flight += 1
                    self._started += 1
                    return self._started
                self._condition.wait()

    def release(self, ticket: int, *, pushed_back: bool) -> None:
        with self._condition:
            self._in_flight -= 1
            if pushed_back:
                if ticket > self._halved_after:
                    self._limit = max(1.0, self._limit / 2)
                    self.lowest = min(self.lowest, self._limit)
                    self._halved_after = self._started
            else:
                self._limit = min(float(self.maximum), self._limit + 1 / self._limit)
            self._condition.notify_all()


class BatchFeed:
    """Hands batches to the workers in input order, and their outcomes back to the reader in input order.

    Workers take the next batch themselves as soon as they are free, so no thread switch stands between one
    answer and the next request. `may_plan` says whether a batch may be planned while others are in flight (in
    `auto` pooling mode, not before the first answer showed the mode). At most `window` batches are in flight or
    done and not yet read, which bounds memory when an early batch is slow. Thread-safe.
    """

    def __init__(
        self,
        total: int,
        first: tuple[Batch, int],
        plan: Callable[[int], tuple[Batch, int]],
        may_plan: Callable[[], bool],
        window: int,
        run: Run,
    ) -> None:
        self._total = total
        self._first: tuple[Batch, int] | None = first
        self._begin = first[0].start
        self._next_start = first[0].stop
        self._plan = plan
        self._may_plan = may_plan
        self._window = window
        self._run = run
        self._in_flight = 0
        self._done: dict[int, tuple[Batch, list[list[float]] | BaseException]] = {}
        self._failed = False
        self._awaited = self._begin  # the start of the batch the reader waits for
        # One lock, two conditions: a finished batch wakes the reader only if it is the one the reader awaits,
        # and the workers only if one may be waiting for room or for the mode; each needless wake-up is a thread
        # switch under the GIL.
        lock = threading.Lock()
        self._for_work = threading.Condition(lock)
        self._for_reader = threading.Condition(lock)
        self._workers_waiting = 0
        run.on_stop(self._wake_all)

    def _wake_all(self) -> None:
        with self._for_work:
            self._for_work.notify_all()
            self._for_reader.notify_all()

    def take(self) -> tuple[Batch, int] | None:
        """The next batch and its planning sequence, or None once there is nothing more to do."""
        with self._for_work:
            while True:
                if self._run.stopped.is_set() or self._failed:
                    return None
                if self._first is not None:
                    task, self._first = self._first, None
                    self._in_flight += 1
                    return task
                if self._next_start >= self._total:
                    return None
                if len(self._done) + self._in_flight < self._window and (self._in_flight == 0 or self._may_plan()):
                    batch, sequence = self._plan(self._next_start)
                    self._next_start = batch.stop
                    self._in_flight += 1
                    return batch, sequence
                self._workers_waiting += 1
                self._for_work.wait()
                self._workers_waiting -= 1

    def put(self, batch: Batch, outcome: list[list[float]] | BaseException) -> None:
        with self._for_work:
            self._in_flight -= 1
            self._done[batch.start] = (batch, outcome)
            failed = isinstance(outcome, BaseException)
            self._failed = self._failed or failed
            if batch.start == self._awaited:
                self._for_reader.notify()
            if self._workers_waiting and (failed or self._in_flight == 0 or self._may_plan()):
                self._for_work.notify_all()

    def in_order(self) -> Iterator[list[list[float]]]:
        """Each batch's vectors in input order; the first failed batch in order raises its error."""
        start = self._begin
        while start < self._total:
            with self._for_reader:
                self._awaited = start
                while start not in self._done:
                    self._for_reader.wait()
                batch, outcome = self._done.pop(start)
                if self._workers_waiting:
                    self._for_work.notify_all()  # room in the window
            if isinstance(outcome, BaseException):
                raise outcome
            yield outcome
            start = batch.stop
