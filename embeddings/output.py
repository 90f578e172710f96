"""Where vectors go when they are written to a file: the user's data, so never destroyed, never mixed.

A file output is written beside its target and moved over it only when complete (os.replace, atomic on one file
system): a run that fails, is interrupted or is killed leaves the target as it was. JSON Lines (one vector per
line, line i for text i) go to `<target>.partial` while the run works, flushed after every batch; a run that stops
keeps that file, and the CLI's --resume continues it. The encoding is json.dumps of each vector, so a resumed file
is byte for byte the file an uninterrupted run writes; `check_vector_lines` holds every kept line to that.

Public for any writer of these JSON Lines (the CLI, the batch runner): `vector_lines_file`, `write_file`,
`vector_line`, `partial_path`, `check_vector_lines`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from embeddings.errors import OutputFileError
from embeddings.pooling import UNIT_TOLERANCE

PARTIAL_SUFFIX = ".partial"
PROGRESS_INTERVAL_S = 0.1


def vector_line(vector: Sequence[float]) -> bytes:
    return json.dumps(list(vector)).encode("utf-8") + b"\n"


def partial_path(target: str | os.PathLike[str]) -> Path:
    """Where the JSON Lines for `target` are written until they are complete: `<target>.partial`, same folder."""
    path = Path(target)
    return path.with_name(path.name + PARTIAL_SUFFIX)


@dataclass(frozen=True)
class KeptLines:
    """The complete lines at the start of a JSON Lines file, all checked, and the bytes they take."""

    lines: int
    size: int
    cut: bool  # a last line without its `\n` follows: an interruption cut it short


def _line_fault(line: bytes, dimension: int) -> str | None:
    """What is wrong with one line as a vector this package wrote, or None."""
    try:
        value = json.loads(line)
    except ValueError:
        return "is not JSON"
    if not isinstance(value, list) or not all(type(x) is float for x in value):
        return "is not a JSON array of numbers"
    if len(value) != dimension:
        return f"has {len(value)} numbers, not {dimension}"
    if not all(map(math.isfinite, value)):
        return "holds NaN or infinity"
    length = math.hypot(*value)
    if abs(length - 1.0) > UNIT_TOLERANCE:
        return f"has length {length!r}, not 1"
    if vector_line(value) != line:
        return "is not written the way this command writes vectors"
    return None


def check_vector_lines(path: Path, dimension: int, *, cut_allowed: bool = True) -> KeptLines:
    """Every complete line of `path`: a unit-length vector of `dimension` finite floats, written as `vector_line`
    writes it. The first line that is not raises OutputFileError naming it (counting from 1); nothing is changed.
    A last line without its `\n` is what an interruption leaves in a partial file (`cut_allowed`), never in a
    complete one.
    """
    count = size = 0
    try:
        with path.open("rb") as file:
            for line in file:
                count += 1
                fault = None
                if not line.endswith(b"\n"):
                    if cut_allowed:
                        return KeptLines(count - 1, size, cut=True)
                    fault = _line_fault(line + b"\n", dimension) or "does not end with a line break"
                if fault is not None or (fault := _line_fault(line, dimension)) is not None:
                    raise OutputFileError(
                        f"cannot resume {path}: line {count} {fault}, so the file is not the vectors this command "
                        "writes; it was left unchanged. Choose another --output"
                    )
                size += len(line)
    except OSError as error:
        raise OutputFileError(f"cannot resume {path}: {error.strerror or error}") from None
    return KeptLines(count, size, cut=False)


def _open_new(path: Path, like: Path) -> IO[bytes]:
    """Create `path` (it must not exist), with `like`'s permissions if it exists, else the umask's."""
    file = path.open("xb")
    with contextlib.suppress(OSError):
        if like.exists():
            shutil.copymode(like, path)
    return file


def _hold(file: IO[bytes], partial: Path, target: Path) -> None:
    """Lock `file` (the partial output) for this run, or refuse: a second run writing it at the same time (a
    --resume started while the first still works) would truncate and interleave its lines. An advisory lock
    (flock) that the system drops when the process ends, however it ends, so a killed run never blocks the next.
    Windows has no flock; there, not starting two runs on one file is the user's part."""
    if sys.platform == "win32":
        return
    import fcntl

    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise OutputFileError(
            f"{partial} is being written by another run for {target}, which is still going: let it finish, or stop "
            "it and then --resume"
        ) from None


def _replace(source: Path, target: Path, file: IO[bytes]) -> None:
    file.flush()
    os.fsync(file.fileno())  # the data is on disk before the name points at it
    file.close()
    os.replace(source, target)


@contextlib.contextmanager
def replaced_file(target: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A file whose content replaces `target` when the block ends normally; if the block (or the write) fails,
    `target` still holds what it held and nothing is left beside it. Written beside `target` with its
    permissions, fsync'ed, then renamed over it: for outputs that are whole or nothing (a JSON list, the batch
    runner's OUTPUT), where `vector_lines_file` is for JSON Lines a resume can continue."""
    path = Path(target)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        file = _open_new(temporary, path)
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with file:
            yield file
            _replace(temporary, path, file)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(error, OSError):
            raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
        raise


def write_file(target: str | os.PathLike[str], data: bytes) -> None:
    """`target` now holds `data`, or, if anything fails, still holds what it held."""
    with replaced_file(target) as file:
        file.write(data)


class VectorLines:
    """The JSON Lines file that `vector_lines_file` writes: `path` (the partial file), `lines` (complete lines in
    it), and `write`, which appends one line per vector."""

    def __init__(self, path: Path, file: IO[bytes], lines: int) -> None:
        self.path = path
        self.lines = lines
        self._file = file

    def write(self, vectors: Sequence[Sequence[float]]) -> None:
        """Append the vectors and flush them to the file in one write, so that a reader sees whole batches (a
        line is ~8 kB, the buffer's size: written one by one, a batch reached the file a line at a time, and the
        last one cut). `lines` counts them once they are written."""
        data = b"".join(vector_line(vector) for vector in vectors)
        self._file.write(data)
        self._file.flush()
        self.lines += len(vectors)


@contextlib.contextmanager
def vector_lines_file(
    target: str | os.PathLike[str], *, kept: KeptLines | None = None, companions: Sequence[str] = ()
) -> Iterator[VectorLines]:
    """Write JSON Lines vectors for `target` so that it is never half-written, emptied or lost.

    The lines go to `partial_path(target)`, a new file in target's folder (an existing one is an error, naming
    it: it belongs to an interrupted run). Leaving the block normally replaces `target` with it (fsync, then
    os.replace), and each `<partial><suffix>` of `companions` becomes `<target><suffix>`. Leaving it by an
    exception leaves `target` untouched and re-raises: the partial file is kept if it holds a line (`.path`,
    `.lines` say where and how many), and removed with its companions if not.

    `kept` continues an existing partial file instead (as checked by `check_vector_lines`): a line cut short by
    an interruption is dropped, and the lines are appended after the kept ones. The partial file is locked while
    the block runs; continuing one that another run still holds is an error, and changes nothing.
    """
    path = Path(target)
    partial = partial_path(path)
    try:
        if kept is None:
            file = _open_new(partial, path)
            _hold(file, partial, path)
        else:
            file = partial.open("r+b")
            _hold(file, partial, path)  # before anything of it changes
            file.truncate(kept.size)
            file.seek(kept.size)
    except FileExistsError:
        raise OutputFileError(
            f"{partial} exists: it holds the vectors of an interrupted run for {path}. Continue it with --resume, "
            "or delete it to start over"
        ) from None
    except OSError as error:
        raise OutputFileError(f"cannot write {partial}: {error.strerror or error}") from None
    lines = VectorLines(partial, file, 0 if kept is None else kept.lines)
    try:
        with file:
            yield lines
            _replace(partial, path, file)
    except BaseException:
        if lines.lines == 0:
            for leftover in (partial, *(partial.with_name(partial.name + suffix) for suffix in companions)):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise
    for suffix in companions:
        with contextlib.suppress(FileNotFoundError):
            os.replace(partial.with_name(partial.name + suffix), path.with_name(path.name + suffix))


def duration(seconds: float) -> str:
    """`1h02m`, `3m05s`, `42s`: how the CLIs print a time (progress, summaries, the batch runner's estimate)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def report(message: str) -> None:
    """One line on stderr, whatever the message holds; nothing if stderr itself is closed or broken."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(" ".join(message.splitlines()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


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
            text += f", {rate:,.0f}/s, {duration((self.total - self.done) / rate)} left"
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
        summary = f"{new:,} texts embedded in {duration(elapsed)}"
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

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """No progress line while the block writes to the same terminal (stdout and stderr both on it): the
        vectors start on a clean line, and the progress line is drawn again below them."""
        with self._lock:
            if self._shown:
                self._draw("")
            try:
                yield
            finally:
                if self._shown:
                    self._draw(self._line())
