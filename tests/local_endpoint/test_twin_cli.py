"""`python -m local_endpoint` as users run it: start-up, one boto3 call, clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.local_endpoint.twin_support import runtime_client
from tests.paths import PROJECT_DIR

STARTUP_TIMEOUT_S = 120.0
SERVING = re.compile(r"serving endpoint\(s\) (\S+) at (http://127\.0\.0\.1:\d+)")


def twin_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "local_endpoint", "--port", "0", *args]


def twin_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


@pytest.fixture
def twin_process() -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    process = subprocess.Popen(
        twin_command("--endpoint-name", "cli-twin", "--log-level", "INFO"),
        cwd=PROJECT_DIR,
        env=twin_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


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


def test_module_serves_boto3_and_stops_on_sigterm(
    twin_process: tuple[subprocess.Popen[str], queue.Queue[str]],
) -> None:
    process, lines = twin_process
    serving = wait_for_line(lines, SERVING, STARTUP_TIMEOUT_S)
    assert serving.group(1) == "cli-twin"
    url = serving.group(2)
    assert wait_for_line(lines, re.compile(f"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={re.escape(url)}"), 5)

    response = runtime_client(url).invoke_endpoint(
        EndpointName="cli-twin", Body=json.dumps({"inputs": ["vectorize me"]}), ContentType="application/json"
    )
    assert len(json.loads(response["Body"].read())[0][0][0]) == 384

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert wait_for_line(lines, re.compile("stopped"), 5)


def test_unknown_model_fails_fast_without_the_network() -> None:
    result = subprocess.run(
        twin_command("--model", "someone/not-packaged"),
        cwd=PROJECT_DIR,
        env=twin_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "neither sentence-transformers/all-MiniLM-L6-v2" in result.stderr


def test_help_names_the_environment_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local_endpoint", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0
    assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME" in result.stdout
    assert "--cold-start-seconds" in result.stdout
