"""Where the CLI's vectors go while a long run works: JSON Lines written as they come, a run that can be resumed,
and a progress line for the person watching.

JSON Lines (one vector per line, line i for text i) is what makes resuming possible: the lines already in the file
are the texts already done, and a line cut short by a crash has no `\\n`, so it is told apart and redone. The
encoding is json.dumps of the vector, so a resumed file is byte for byte the file an uninterrupted run writes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from embeddings.errors import OutputFileError

FLUSH_INTERVAL_S = 0.2
"""Lines are flushed at least this often: a reader of the pipe or file sees progress, without a write per line."""
PROGRESS_INTERVAL_S = 0.1


def vector_line(vector: list[float]) -> bytes:
    return json.dumps(vector).encode("utf-8") + b"\n"


_NUMBERS = frozenset({int, float})  # exact types: a JSON true is no number here


def _is_vector(line: bytes, dimension: int) -> bool:
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, list) and len(value) == dimension and all(type(x) in _NUMBERS for x in value)


def completed_lines(path: Path, dimension: int) -> int:
    """How many texts an interrupted JSON Lines run at `path` finished; a last line without `\\n` is cut off.

    The first and last complete lines must be vectors of `dimension` numbers: a resume must not append vectors
    to a file that is something else (the input file, another command's output). A file that does not exist yet
    has no lines, so the same command starts a run and resumes it.
    """
    if not path.exists():
        return 0
    count = 0
    kept = 0  # bytes of complete lines
    first: bytes | None = None
    last: bytes | None = None
    try:
        with path.open("rb") as file:
            for line in file:
                if not line.endswith(b"\n"):
                    break
                count += 1
                kept += len(line)
                if first is None:
                    first = line
                last = line
            partial = file.seek(0, 2) > kept
        for number, sample in ((1, first), (count, last)):
            if sample is not None and not _is_vector(sample, dimension):
                raise OutputFileError(
                    f"cannot resume {path}: line {number} is not a vector of {dimension} numbers, so the file is not "
                    "this command's JSON Lines output; choose another --output, or drop --resume to overwrite it"
                )
        if partial:
            with path.open("r+b") as file:
                file.truncate(kept)  # the line an interruption cut short is redone
    except OSError as error:
        raise OutputFileError(f"cannot resume {path}: {error.strerror or error}") from None
    return count


class LineWriter:
    """Appends lines to a binary stream, flushing at least every FLUSH_INTERVAL_S and when closed."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lines = 0
        self._flushed_at = time.monotonic()

    def write(self, line: bytes) -> None:
        self.stream.write(line)
        self.lines += 1
        now = time.monotonic()
        if now - self._flushed_at >= FLUSH_INTERVAL_S:
            self.stream.flush()
            self._flushed_at = now

    def flush(self) -> None:
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class Progress:
    """One line on a terminal's stderr, redrawn in place: texts done of the total, the rate, the time left.

    Also a stream for log records (the retry notes, written from the worker threads), which it prints on lines
    of their own above the progress line, so the two never mix.
    """

    def __init__(self, stream: Any, total: int, done: int = 0) -> None:
        self.stream = stream
        self.total = total
        self.done = done
        self._started_with = done
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._shown = False
        self._lock = threading.Lock()

    def _line(self) -> str:
        elapsed = time.monotonic() - self._started
        new = self.done - self._started_with
        rate = new / elapsed if elapsed > 0 else 0.0
        percent = 100 * self.done // self.total if self.total else 100
        text = f"{self.done:,}/{self.total:,} texts embedded ({percent}%)"
        if rate > 0:
            text += f", {rate:,.0f}/s, {_duration((self.total - self.done) / rate)} left"
        return text

    def _draw(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # stderr closed or gone: progress is not worth an error
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._drawn_at >= PROGRESS_INTERVAL_S or self.done == self.total:
                self._drawn_at = now
                self._draw(self._line())
                self._shown = True

    def write(self, text: str) -> int:
        """A log record's text: above the progress line, which is drawn again below it."""
        with self._lock:
            self._draw(text)
            if self._shown and text.endswith("\n"):
                self._draw(self._line())
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        new = self.done - self._started_with
        summary = f"{new:,} texts embedded in {_duration(elapsed)}"
        if elapsed > 0 and new:
            summary += f" ({new / elapsed:,.0f}/s)"
        if self._started_with:
            summary += f"; {self.done:,}/{self.total:,} done with the resumed ones"
        with self._lock:
            self._draw(summary + "\n")

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self._draw("")
