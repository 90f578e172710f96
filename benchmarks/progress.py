"""Progress lines on stderr: a benchmark runs for minutes, and a silent one cannot be told from a hung one.

Each benchmark's measuring functions take a `Note` and call it before every step that takes more than a few
seconds; run alone, a script passes a `Progress` (one timestamped line per step on stderr), and the driver
(run_all.py) passes its own, which also knows the stage and the time left. Stdout keeps the tables alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Note = Callable[[str], None]


def quiet(message: str) -> None:
    """A Note that says nothing, for callers that want the figures only."""


def clock(seconds: float) -> str:
    """m:ss, the form a progress line needs (a run takes minutes, never hours)."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


class Progress:
    """A Note printing `[m:ss] message` lines, the time counted from the Progress's creation."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{clock(self.elapsed())}] {message}", file=self.stream or sys.stderr, flush=True)
