"""`python -m embeddings` for many texts: JSON Lines as the work proceeds, a file output, resuming an interrupted
run, concurrency from the option or the environment, and a progress line on a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from embeddings.__main__ import main
from embeddings.output import Progress
from embeddings.pooling import l2_normalize
from tests.embeddings.embeddings_fakes import (
    FakeSageMaker,
    Terminal,
    aws_error,
    float32_unit_row,
    pooled_container,
    request_json,
)
from tests.paths import PROJECT_DIR

TEXTS = [f"line {i}: the report for region {i % 7} was filed on time" for i in range(40)]


pytestmark = pytest.mark.usefixtures("no_cli_env")


@pytest.fixture
def texts_file(tmp_path: Path) -> Path:
    path = tmp_path / "texts.txt"
    path.write_text("".join(f"{text}\n" for text in TEXTS), encoding="utf-8")
    return path


def run(argv: list[str], sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*argv, "--pooling", "server", "--batch-size", "4"], runtime_client=sagemaker.runtime_client)
    out, err = capsys.readouterr()
    return code, out, err


def expected_lines(texts: list[str]) -> str:
    """What the client prints for pooled_container's answers: each float32 row, normalised again in float64."""
    return "".join(json.dumps(l2_normalize(float32_unit_row(text))) + "\n" for text in texts)


def failing_from(text: str, *, permanent: bool = False) -> Any:
    """A pooling endpoint that fails for the batch holding `text` and every batch after it is planned: for
    good (a ValidationError), or for now (ServiceUnavailable, which --max-wait 0 does not retry)."""

    def respond(request: Any) -> Any:
        if text in request_json(request)["inputs"]:
            if permanent:
                return aws_error(400, "ValidationError", {"message": "1 validation error detected"})(request)
            return aws_error(503, "ServiceUnavailable", {"message": "try again"})(request)
        return pooled_container()(request)

    return respond


def test_jsonl_prints_one_vector_per_line_in_order(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], texts_file: Path
) -> None:
    sagemaker.answer(pooled_container())

    code, out, _ = run(["--file", str(texts_file), "--jsonl", "--quiet"], sagemaker, capsys)

    assert code == 0 and out == expected_lines(TEXTS)
    code, listed, _ = run(["--file", str(texts_file), "--quiet"], sagemaker, capsys)
    assert [json.loads(line) for line in out.splitlines()] == json.loads(listed)


def test_output_writes_the_usual_form_to_a_file(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sagemaker.answer(pooled_container())
    target = tmp_path / "vector.json"

    code, out, _ = run(["vectorize me", "--output", str(target), "--quiet"], sagemaker, capsys)

    assert (code, out) == (0, "")
    assert json.loads(target.read_text()) == pytest.approx(float32_unit_row("vectorize me"))


def test_an_interrupted_run_resumes_to_the_uninterrupted_output(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], texts_file: Path, tmp_path: Path
) -> None:
    sagemaker.answer(pooled_container())
    complete_lines = tmp_path / "complete-lines.jsonl"
    assert run(["--file", str(texts_file), "-o", str(complete_lines), "--jsonl", "--quiet"], sagemaker, capsys)[0] == 0
    assert complete_lines.read_text() == expected_lines(TEXTS)

    # A run that fails at text 22 (the batch of texts 20-23) keeps the 20 vectors before it beside its target...
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    sagemaker.answer(failing_from(TEXTS[22]))
    argv = ["--file", str(texts_file), "-o", str(target), "--jsonl", "--quiet", "--max-wait", "0"]
    code, out, err = run(argv, sagemaker, capsys)
    assert (code, out) == (1, "")
    assert err.endswith(f"; 20 of 40 vectors kept in {partial}; rerun with --resume to continue\n")
    assert partial.read_text() == expected_lines(TEXTS[:20]) and not target.exists()
    # ...and a crash mid-write leaves half a line, which the resume drops and redoes.
    with partial.open("ab") as file:
        file.write(expected_lines(TEXTS[20:21]).encode()[:1000])

    sagemaker.answer(pooled_container())
    before = len(sagemaker.requests)
    code, out, _ = run(["--file", str(texts_file), "-o", str(target), "--resume", "--quiet"], sagemaker, capsys)

    assert (code, out) == (0, "")
    assert target.read_bytes() == complete_lines.read_bytes() and not partial.exists()
    assert [text for body in sagemaker.request_bodies[before:] for text in body["inputs"]] == TEXTS[20:]

    # Resuming a finished run sends nothing and changes nothing.
    before = len(sagemaker.requests)
    assert run(["--file", str(texts_file), "-o", str(target), "--resume", "--quiet"], sagemaker, capsys)[0] == 0
    assert len(sagemaker.requests) == before and target.read_bytes() == complete_lines.read_bytes()


def test_resume_starts_a_run_whose_output_does_not_exist_yet(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], texts_file: Path, tmp_path: Path
) -> None:
    sagemaker.answer(pooled_container())
    target = tmp_path / "new.jsonl"

    assert run(["--file", str(texts_file), "-o", str(target), "--resume", "--quiet"], sagemaker, capsys)[0] == 0
    assert target.read_text() == expected_lines(TEXTS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"first line of my input\nsecond\n", "line 1 is not JSON"),
        (expected_lines(TEXTS[:1]).encode() + b'{"not": "a vector"}\n', "line 2 is not a JSON array of numbers"),
    ],
    ids=["the-input-file", "another-output"],
)
def test_resume_refuses_a_file_that_is_not_this_runs_output(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    texts_file: Path,
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    sagemaker.answer(pooled_container())
    target = tmp_path / "out.jsonl"
    target.write_bytes(content)

    code, out, err = run(["--file", str(texts_file), "-o", str(target), "--resume"], sagemaker, capsys)

    assert (code, out) == (1, "") and message in err and err.count("\n") == 1
    assert target.read_bytes() == content and sagemaker.requests == []


def test_resume_needs_an_output(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], texts_file: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["--file", str(texts_file), "--resume"], sagemaker, capsys)
    assert caught.value.code == 2
    assert "--resume needs --output FILE" in capsys.readouterr().err


def test_max_concurrency_from_the_option_or_the_environment(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three invocations must be in flight together, or the barrier in the fake breaks and the run fails."""
    barrier = threading.Barrier(3, timeout=30)

    def together(request: Any) -> Any:
        barrier.wait()
        return pooled_container()(request)

    sagemaker.answer(together)
    texts = TEXTS[:12]

    assert run([*texts, "--max-concurrency", "3", "--quiet"], sagemaker, capsys)[0] == 0
    monkeypatch.setenv("EMBEDDINGS_MAX_CONCURRENCY", "3")
    code, out, _ = run([*texts, "--quiet"], sagemaker, capsys)
    assert code == 0 and len(json.loads(out)) == 12


@pytest.mark.parametrize(
    ("argv", "environment", "expected"),
    [
        (["--max-concurrency", "0"], None, "argument --max-concurrency: must be a whole number of at least 1, got '0'"),
        ([], "four", "$EMBEDDINGS_MAX_CONCURRENCY is 'four'; it must be a whole number of at least 1"),
        ([], "0", "$EMBEDDINGS_MAX_CONCURRENCY is '0'; it must be a whole number of at least 1"),
    ],
)
def test_a_bad_max_concurrency_is_a_usage_error(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environment: str | None,
    expected: str,
) -> None:
    if environment is not None:
        monkeypatch.setenv("EMBEDDINGS_MAX_CONCURRENCY", environment)
    with pytest.raises(SystemExit) as caught:
        run(["x", *argv], sagemaker, capsys)
    assert caught.value.code == 2 and expected in capsys.readouterr().err
    assert sagemaker.requests == []


def test_a_terminal_sees_progress_and_a_pipe_does_not(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, texts_file: Path
) -> None:
    sagemaker.answer(pooled_container())
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)

    code, out, _ = run(["--file", str(texts_file), "--jsonl"], sagemaker, capsys)

    shown = terminal.getvalue()
    assert code == 0 and out == expected_lines(TEXTS)
    assert "\r\x1b[K40/40 texts embedded (100%)" in shown
    assert shown.endswith("\n") and "40 texts embedded in " in shown.rsplit("\r\x1b[K", 1)[1]

    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    run(["--file", str(texts_file), "--jsonl", "--quiet"], sagemaker, capsys)
    assert quiet.getvalue() == ""


def test_a_retry_note_does_not_mix_with_the_progress_line() -> None:
    terminal = Terminal()
    progress = Progress(terminal, total=3)
    progress.advance()
    progress.write("endpoint x: attempt 1 failed with ThrottlingException, retrying in 0.2s\n")

    lines = terminal.getvalue().split("\r\x1b[K")
    assert lines[-2] == "endpoint x: attempt 1 failed with ThrottlingException, retrying in 0.2s\n"
    assert lines[-1].startswith("1/3 texts embedded (33%)")


@pytest.mark.process
def test_ctrl_c_keeps_what_was_written_and_the_resume_finishes_it(tmp_path: Path) -> None:
    """A real process: SIGINT mid-run ends it at once with 130, and --resume completes the same file."""
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence {i}\n" for i in range(60)), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "EMBEDDINGS_"))}
    env.update({"PYTHONPATH": str(PROJECT_DIR), "CLI_STUB_SERVICE_S": "0.05"})
    command = [sys.executable, "-m", "tests.embeddings.cli_stub", "--file", str(texts), "-o", str(output)]
    options = ["--jsonl", "--batch-size", "2", "--max-concurrency", "2", "--pooling", "server"]

    process = subprocess.Popen([*command, *options], cwd=PROJECT_DIR, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # Until a whole line is there: a partial file is kept when it holds one (a cut-off line alone is no vector).
    while (not partial.exists() or b"\n" not in partial.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    done = partial.read_bytes().count(b"\n")
    assert 0 < done < 60 and not output.exists()
    assert stderr.endswith(f"vectors kept in {partial}; rerun with --resume to continue\n"), stderr
    assert "Traceback" not in stderr

    resumed = subprocess.run(
        [*command, *options, "--resume", "--quiet"], cwd=PROJECT_DIR, env=env, capture_output=True, timeout=60
    )
    uninterrupted = tmp_path / "uninterrupted.jsonl"
    subprocess.run(
        [*command[:-1], str(uninterrupted), *options, "--quiet"], cwd=PROJECT_DIR, env=env, check=True, timeout=60
    )
    assert resumed.returncode == 0, resumed.stderr
    assert output.read_bytes() == uninterrupted.read_bytes()
    assert output.read_bytes().count(b"\n") == 60 and not partial.exists()
