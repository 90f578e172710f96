"""`python -m local_endpoint` as a process of its own, for what needs one: signals, exit statuses, file limits.

The twin serves a model artifact whose user module needs no model weights, so it starts in well under a second
(BUSY_IN_TORCH_UNTIL_RELEASED imports torch, for the one test that must have torch mid-call).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.paths import PROJECT_DIR

STARTUP_TIMEOUT_S = 120.0
SERVING = re.compile(r"serving endpoint\(s\) (\S+) at (http://127\.0\.0\.1:\d+)")

# A user module whose invocation waits, in plain Python, until the test releases it.
WAITS_UNTIL_RELEASED = """
import pathlib
import time


def model_fn(model_dir):
    return None


def predict_fn(data, model):
    started, release = pathlib.Path(data["started_file"]), pathlib.Path(data["release_file"])
    started.touch()
    give_up_at = time.monotonic() + 60
    while not release.exists() and time.monotonic() < give_up_at:
        time.sleep(0.01)
    return {"released": release.exists()}
"""

# A user module whose invocation stays inside torch, on the twin's worker thread, until the test releases it. The
# abort this guards against (exit 134, "terminate called without an active exception") came from a thread still
# inside torch when the interpreter shut down; torch alone reproduces it, without the seconds transformers takes to
# import. Loading the packaged model is proven by the in-process tests of `main` and of the twin.
BUSY_IN_TORCH_UNTIL_RELEASED = """
import pathlib
import time

import torch


def model_fn(model_dir):
    torch.manual_seed(0)
    return torch.nn.Linear(256, 256)


def predict_fn(data, model):
    started, release = pathlib.Path(data["started_file"]), pathlib.Path(data["release_file"])
    x = torch.ones(64, 256)
    rounds = 0
    give_up_at = time.monotonic() + 60
    with torch.no_grad():
        while not release.exists() and time.monotonic() < give_up_at:
            x = torch.tanh(model(x))
            rounds += 1
            if rounds == 1:
                started.touch()
    return {"rounds": rounds, "released": release.exists(), "finite": bool(torch.isfinite(x).all())}
"""


def twin_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "local_endpoint", "--port", "0", *args]


def twin_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **extra}


def write_artifact(folder: Path, user_module: str) -> Path:
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text(user_module, encoding="utf-8")
    return folder


def wait_for_line(lines: queue.Queue[str], pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        match = pattern.search(line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern.pattern!r} within {timeout_s}s; got:\n{''.join(seen)}")


def wait_for_file(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout_s}s"
        time.sleep(0.01)


@dataclass
class RunningTwin:
    process: subprocess.Popen[str]
    lines: queue.Queue[str]  # stderr, where the twin logs, line by line, from the line after `startup_log`
    reader: threading.Thread
    startup_log: str  # up to the line saying where it serves
    endpoint_names: str
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def wait_for(self, pattern: str, timeout_s: float = 10) -> re.Match[str]:
        return wait_for_line(self.lines, re.compile(pattern), timeout_s)

    def rest_of_stderr(self) -> str:
        """Every line logged since the last wait_for, once the process has ended."""
        assert self.process.poll() is not None, "the twin is still running"
        self.reader.join(timeout=10)
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        return "".join(lines)


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


@contextmanager
def twin_process(
    *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> Iterator[RunningTwin]:
    """The twin started with `args` (after --port 0), once it logs where it serves; killed if still running."""
    process = subprocess.Popen(
        twin_command(*args),
        cwd=PROJECT_DIR,
        env=env or twin_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    try:
        startup: list[str] = []
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (serving := SERVING.search(startup[-1] if startup else "")):
            try:
                startup.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"the twin did not start; it logged:\n{''.join(startup)}") from None
        yield RunningTwin(process, lines, reader, "".join(startup), serving.group(1), serving.group(2))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
