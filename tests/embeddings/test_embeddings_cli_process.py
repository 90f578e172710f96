"""`python -m embeddings` as a real process, for what only a process shows: a reader that leaves (`| head`), a
full disk, closed file descriptors, and the interpreter's own flush at exit. The CLI runs through cli_stub, so a
fake SageMaker answers; no AWS, no model. Few and small: each test is one short-lived Python process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.process  # each test runs the CLI as a process of its own

STUB = [sys.executable, "-m", "tests.embeddings.cli_stub"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "EMBEDDINGS_"))}
    env["PYTHONPATH"] = str(PROJECT_DIR)
    return env


def _shell(command: str) -> subprocess.CompletedProcess[str]:
    """Run `command` with $STUB standing for the CLI, so the shell can close or redirect its descriptors."""
    env = {**_env(), "STUB": " ".join(STUB)}
    return subprocess.run(
        ["sh", "-c", command], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_reader_that_leaves_early_ends_it_quietly(tmp_path: Path) -> None:
    """Like `python -m embeddings --file texts.txt | head -c 10`: 800 kB of vectors, 10 bytes read."""
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence number {i}\n" for i in range(100)), encoding="utf-8")
    process = subprocess.Popen(
        [*STUB, "--quiet", "--file", str(texts)],
        cwd=PROJECT_DIR,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10).startswith(b"[[")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141  # what a shell reports for `yes | head`: 128 + SIGPIPE
    assert stderr == ""


def test_a_write_error_is_an_error() -> None:
    result = _shell('$STUB "vectorize me" > /dev/full')
    assert result.returncode == 1
    assert result.stderr == "error: cannot write the output to stdout: No space left on device\n"


def test_a_closed_stdout_is_an_error_not_lost_vectors() -> None:
    result = _shell('$STUB "vectorize me" >&-')
    assert result.returncode == 1
    assert result.stderr == "error: stdout is closed, so the vectors could not be printed; nothing was sent\n"


def test_a_closed_stdin_is_an_error() -> None:
    result = _shell("$STUB --file - <&-")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: cannot read texts from stdin: it is closed\n"


def test_texts_piped_into_stdin() -> None:
    """`echo hello | python -m embeddings` answers hello's vector, in a list as --file - does."""
    result = _shell('printf "hello\\nworld\\n" | $STUB --quiet')
    assert (result.returncode, result.stderr) == (0, "")
    vectors = json.loads(result.stdout)
    assert len(vectors) == 2 and all(len(vector) == 384 for vector in vectors)
