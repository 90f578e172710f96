"""`make example`: the ingest Lambda's handler run on this machine against the twin, as the docs show it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.process  # each test runs invoke_locally.py as a process

SCRIPT = PROJECT_DIR / "examples" / "ingest_lambda" / "invoke_locally.py"


def _run(url: str, *texts: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "EMBEDDINGS_"))}
    environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = url
    return subprocess.run(
        [sys.executable, str(SCRIPT), *texts], env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_handler_answers_through_the_twin(ingest_twin: Any) -> None:
    result = _run(ingest_twin.url, "first chunk", "second chunk", "third")

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["endpoint"], answer["count"], answer["dimension"]) == ("alex-embedding-endpoint", 3, 384)
    assert [vector["length"] for vector in answer["vectors"]] == [1.0, 1.0, 1.0]


def test_with_no_twin_listening_it_fails_at_once_in_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = _run(f"http://127.0.0.1:{port}", "a text")

    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "make twin" in line
