"""The serving-stack launcher's refusals, which need no Java and no serving venv: each names what is wrong and
what to do. The stack itself runs in `make test-serving-stack` (serving_stack_tests/)."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from local_endpoint import serving_stack
from local_endpoint.serving_stack import (
    MAX_MMS_PORT,
    ServingStack,
    ServingStackError,
    _MachineLock,
    free_port,
    java_executable,
    load_environment_file,
    serving_python,
)


def fake_python(tmp_path: Path) -> Path:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return python


def test_a_missing_serving_venv_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALEX_SERVING_PYTHON", raising=False)
    monkeypatch.setattr(serving_stack, "DEFAULT_SERVING_PYTHON", tmp_path / "nowhere" / "python")

    with pytest.raises(ServingStackError) as missing:
        serving_python()

    assert str(tmp_path / "nowhere" / "python") in str(missing.value)
    assert "(default)" in str(missing.value) and "make serving-venv" in str(missing.value)


def test_the_serving_python_comes_from_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path)
    monkeypatch.setenv("ALEX_SERVING_PYTHON", str(python))
    assert serving_python() == python

    with pytest.raises(ServingStackError, match=r"\(given\).*make serving-venv"):
        serving_python(tmp_path / "other")
    monkeypatch.setenv("ALEX_SERVING_PYTHON", str(tmp_path / "gone"))
    with pytest.raises(ServingStackError, match=r"\(\$ALEX_SERVING_PYTHON\)"):
        serving_python()


def test_no_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(ServingStackError, match=r"java was not found.*install a Java runtime, 17 or newer"):
        java_executable()


def test_a_port_above_what_the_model_server_accepts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ServingStackError, match=f"port 40000 is not allowed: multi-model-server accepts 1 to {MAX_MMS_PORT}"
    ):
        ServingStack(None, {}, python=fake_python(tmp_path), port=40000)
    assert 1 <= free_port() <= MAX_MMS_PORT


def test_a_second_stack_on_the_machine_is_refused_naming_the_holder(tmp_path: Path) -> None:
    lock_file = tmp_path / "stack.lock"
    first, second = _MachineLock(lock_file), _MachineLock(lock_file)
    first.acquire(timeout=0)
    try:
        with pytest.raises(ServingStackError) as refused:
            second.acquire(timeout=0.3)
    finally:
        first.release()
    message = str(refused.value)
    assert f"held by pid {os.getpid()}" in message
    assert "/etc/sagemaker-mms.properties" in message and "only one stack can run at a time" in message
    second.acquire(timeout=0)  # free again once the first is released
    second.release()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"HF_TASK": "feature-extraction"}, {"HF_TASK": "feature-extraction"}),
        ({"name": "case", "environment": {"HF_TASK": "x"}}, {"HF_TASK": "x"}),
    ],
)
def test_an_environment_file_is_an_object_of_strings_or_a_rendered_case(
    tmp_path: Path, content: dict[str, object], expected: dict[str, str]
) -> None:
    path = tmp_path / "environment.json"
    path.write_text(json.dumps(content))

    assert load_environment_file(path) == expected


def test_a_bad_environment_file_is_named_with_what_it_must_hold(tmp_path: Path) -> None:
    path = tmp_path / "environment.json"
    path.write_text(json.dumps({"SAGEMAKER_MODEL_SERVER_WORKERS": 1}))

    with pytest.raises(ServingStackError, match=r"must hold a JSON object of strings"):
        load_environment_file(path)
    with pytest.raises(ServingStackError, match=r"cannot read the container environment file"):
        load_environment_file(tmp_path / "missing.json")


def run_twin(argv: list[str]) -> int:
    from local_endpoint import __main__ as twin_cli

    try:
        return twin_cli.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_the_twins_stack_options_need_serving_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_twin(["--port", "0", "--container-env", "HF_TASK=feature-extraction"]) == 2

    stderr = capsys.readouterr().err
    assert "--container-env, --container-env-file and --serving-python go with --serving-stack" in stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "the serving stack needs a model: --model-artifact with a model.tar.gz"),
        (["--model-artifact", "ARCHIVE", "--container-env", "HF_TASK"], "container environment 'HF_TASK' is not NAME="),
        (["--model-artifact", "ARCHIVE", "--serving-python", "/nowhere/python"], "run `make serving-venv`"),
    ],
    ids=["no-model", "bad-environment", "no-serving-venv"],
)
def test_the_twin_refuses_a_stack_it_cannot_start_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"")
    argv = ["--port", "0", "--serving-stack", *(str(archive) if arg == "ARCHIVE" else arg for arg in extra)]

    assert run_twin(argv) == 2

    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1 and "cannot serve through the container's serving stack: " in stderr[0]
    assert message in stderr[0]


def test_an_invocation_the_stack_does_not_answer_in_time_is_a_timeout_error(tmp_path: Path) -> None:
    port = free_port()  # one the model server would accept
    with socket.create_server(("127.0.0.1", port)):  # listens (the kernel accepts), never answers
        stack = ServingStack(None, {}, python=fake_python(tmp_path), port=port)

        with pytest.raises(TimeoutError):
            stack.invoke(b'{"inputs": "x"}', "application/json", None, timeout=0.2)
        kept_alive = stack._connection(60.0, fresh=False)  # as an earlier call on this thread left it
        kept_alive.connect()

        assert stack._connection(0.2, fresh=False) is kept_alive
        assert kept_alive.sock is not None and kept_alive.sock.gettimeout() == 0.2  # this call's timeout, not 60 s
        kept_alive.close()
