"""Waiting for a job with something to watch: its status, the time since it was created, and how many shards
already have their answer in S3. On a terminal one line is redrawn in place; elsewhere (a log, CI) a line is
printed whenever the status or the count changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from embeddings.batch.jobs import RUNNING, describe
from embeddings.batch.store import Store
from embeddings.output import duration

POLL_INTERVAL_S = 30.0
"""DescribeTransformJob's quota is a few calls per second per account; a job takes minutes. Twice a minute is
plenty, and a finished job is seen within half a minute."""
FIRST_POLL_S = 1.0
"""The first pause; each next one doubles up to POLL_INTERVAL_S. A job that ends within seconds (one found nearly
done, or a job on the local twin, which has no instances to start) is seen within seconds, for five more
DescribeTransformJob calls in the first half minute."""

Pause = Callable[[float], None]


def pause(seconds: float) -> None:
    """Wait between polls; Ctrl-C ends it at once (a lock's timed wait is interruptible on POSIX)."""
    threading.Event().wait(seconds)


class Watcher:
    def __init__(self, stream: TextIO | None, terminal: bool) -> None:
        self.stream = stream
        self.terminal = terminal
        self._last = ""

    def show(self, line: str, key: str) -> None:
        if self.stream is None:
            return
        if self.terminal:
            self.stream.write("\r\x1b[K" + line)
        elif key != self._last:
            self.stream.write(line + "\n")
        self._last = key
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None and self.terminal and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _elapsed(job: dict[str, Any]) -> str:
    created = job.get("CreationTime")
    if not isinstance(created, datetime):
        return "?"
    end = job.get("TransformEndTime") if job["TransformJobStatus"] not in RUNNING else None
    until = end if isinstance(end, datetime) else datetime.now(UTC)
    return duration((until - created).total_seconds())


def wait(
    sagemaker: Any,
    store: Store,
    name: str,
    shards: int,
    watcher: Watcher,
    pause: Pause = pause,
    interval_s: float = POLL_INTERVAL_S,
) -> dict[str, Any]:
    """Poll job `name` until it ends; its last description."""
    delay = min(FIRST_POLL_S, interval_s)
    try:
        while True:
            job = describe(sagemaker, name)
            status = job["TransformJobStatus"]
            present = len(store.outputs(name))
            watcher.show(
                f"job {name}: {status}, {_elapsed(job)} elapsed, {present}/{shards} output shards",
                f"{status} {present}",
            )
            if status not in RUNNING:
                return job
            pause(delay)
            delay = min(delay * 2, interval_s)
    finally:
        watcher.done()
