"""`python -m local_endpoint` as users run it: bad options refused before any model loads, start-up, a boto3 call,
and a SIGTERM in the middle of it that still delivers the answer, cuts a stalled upload short and exits 0.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import local_endpoint.__main__ as twin_cli
from tests.local_endpoint.twin_process import (
    BUSY_IN_TORCH_UNTIL_RELEASED,
    twin_command,
    twin_env,
    twin_process,
    wait_for_file,
    write_artifact,
)
from tests.local_endpoint.twin_support import read_answer, runtime_client, start_stalled_upload
from tests.paths import MODEL_ARTIFACT_DIR, PROJECT_DIR


@pytest.mark.process
def test_sigterm_answers_the_invocation_under_way_cuts_a_stalled_upload_and_exits_0(tmp_path: Path) -> None:
    artifact = write_artifact(tmp_path / "artifact", BUSY_IN_TORCH_UNTIL_RELEASED)
    with twin_process(
        "--endpoint-name", "cli-twin", "--model-artifact", str(artifact), "--shutdown-grace-seconds", "0.5"
    ) as twin:
        assert twin.endpoint_names == "cli-twin"
        assert twin.wait_for(f"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={re.escape(twin.url)}", 5)

        started, release = tmp_path / "started", tmp_path / "release"
        body = json.dumps({"started_file": str(started), "release_file": str(release)})
        answers: list[Any] = []

        def invoke() -> None:
            response = runtime_client(twin.url).invoke_endpoint(
                EndpointName="cli-twin", Body=body, ContentType="application/json"
            )
            answers.append(response)
            answers.append(response["Body"].read())

        caller = threading.Thread(target=invoke)
        caller.start()
        wait_for_file(started, 30)
        stalled = start_stalled_upload(twin.port, "/endpoints/cli-twin/invocations")
        twin.process.send_signal(signal.SIGTERM)
        # The invocation is still inside torch when the twin starts shutting down; only then may it finish.
        assert twin.wait_for("SIGTERM: stopping")
        with stalled:
            cut = read_answer(stalled)
        assert not release.exists()
        release.touch()
        caller.join(timeout=60)

        assert twin.process.wait(timeout=60) == 0
        assert twin.wait_for("stopped", 5)
    assert cut[0] == 503 and cut[1]["x-amzn-errortype"] == "ServiceUnavailable"
    assert "not complete within the 0.5s grace" in json.loads(cut[2])["message"]
    assert len(answers) == 2, "the caller got no answer"
    assert answers[0]["ResponseMetadata"]["HTTPStatusCode"] == 200
    answer = json.loads(answers[1])
    assert answer["released"] is True and answer["rounds"] > 0 and answer["finite"] is True


@pytest.fixture
def model_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every attempt to load a model; the validation tests assert there was none."""
    loads: list[str] = []

    def load_pipeline(source: Any, task: str) -> Any:
        loads.append(source.location)
        raise RuntimeError("a model load was attempted")

    monkeypatch.setattr(twin_cli, "load_pipeline", load_pipeline)
    monkeypatch.delenv("SAGEMAKER_ENDPOINT", raising=False)
    return loads


def run_cli(argv: list[str]) -> int:
    try:
        return twin_cli.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--cold-start-seconds", "nan"], "'nan'"),
        (["--cold-start-seconds", "inf"], "'inf'"),
        (["--cold-start-seconds", "-1"], "'-1'"),
        (["--cold-start-seconds", "soon"], "'soon'"),
        (["--max-payload-bytes", "-5"], "'-5'"),
        (["--max-payload-bytes", "0"], "'0'"),
        (["--endpoint-name", ""], "''"),
        (["--endpoint-name", "my_endpoint"], "'my_endpoint'"),
        (["--endpoint-name=-starts-with-hyphen"], "'-starts-with-hyphen'"),
        (["--endpoint-name", "x" * 64], "'" + "x" * 64 + "'"),
        (["--port", "99999"], "'99999'"),
        (["--port", "-1"], "'-1'"),
        (["--max-concurrency", "0"], "'0'"),
        (["--max-concurrency", "201"], "'201'"),
        (["--account-id", "12345"], "'12345'"),
        (["--keep-alive-timeout-seconds", "0"], "'0'"),
        (["--header-timeout-seconds", "soon"], "'soon'"),
        (["--body-timeout-seconds", "inf"], "'inf'"),
        (["--shutdown-grace-seconds", "-1"], "'-1'"),
        (["--max-connections", "0"], "'0'"),
        (["--model-artifact", "no/such/model.tar.gz"], "'no/such/model.tar.gz' does not exist"),
        (["--model-artifact", str(PROJECT_DIR / "README.md")], "is neither a folder nor a .tar.gz"),
        (["--model-artifact", str(PROJECT_DIR / "tests")], "has no code/inference.py"),
        (["--transform-jobs", "--model-name", "my_model"], "'my_model' is not a valid SageMaker model name"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_before_any_model_loads(
    argv: list[str], named: str, model_loads: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = run_cli(["--port", "0", *argv])

    stderr = capsys.readouterr().err
    assert status == 2
    assert stderr.count("\n") == 1 and stderr.startswith("python -m local_endpoint: error: argument ")
    assert named in stderr and ("use " in stderr or "allowed" in stderr)
    assert "Traceback" not in stderr
    assert model_loads == []


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The configuration of every twin the CLI would serve: no model is loaded and no server runs."""
    configs: list[Any] = []

    class RecordingServer:
        def __init__(self, sock: socket.socket, container: Any, config: Any) -> None:
            sock.close()
            configs.append(config)
            self.max_connections, self.url = config.max_connections, "http://127.0.0.1:0"

        def run(self, before_forced_exit: Any = None) -> None:
            pass

    monkeypatch.setattr(twin_cli, "load_pipeline", lambda source, task: object())
    monkeypatch.setattr(twin_cli, "TwinServer", RecordingServer)
    return configs


def test_the_limits_given_on_the_command_line_are_the_twins(model_loads: list[str], served: list[Any]) -> None:
    limits = {
        "--keep-alive-timeout-seconds": "7.5",
        "--header-timeout-seconds": "2",
        "--body-timeout-seconds": "45",
        "--shutdown-grace-seconds": "0",
        "--max-connections": "64",
    }

    assert run_cli(["--port", "0", *[item for pair in limits.items() for item in pair]]) == 0

    [config] = served
    assert (
        config.keep_alive_timeout_seconds,
        config.header_timeout_seconds,
        config.body_timeout_seconds,
        config.shutdown_grace_seconds,
        config.max_connections,
    ) == (7.5, 2.0, 45.0, 0.0, 64)


@pytest.mark.parametrize(
    ("makelevel", "suggestion"),
    [
        (None, r"; use another port: --port (\d+), or --port 0 for any free one"),
        ("1", r"; use another port: make twin TWIN_PORT=(\d+)"),
    ],
    ids=["cli", "make-twin"],
)
def test_a_port_in_use_is_reported_with_a_free_one_before_any_model_loads(
    makelevel: str | None,
    suggestion: str,
    model_loads: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """From `make twin` the way out is TWIN_PORT (the Makefile passes --port $(TWIN_PORT)); from the CLI, --port."""
    if makelevel is None:
        monkeypatch.delenv("MAKELEVEL", raising=False)
    else:
        monkeypatch.setenv("MAKELEVEL", makelevel)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = run_cli(["--port", str(port)])

        stderr = capsys.readouterr().err
        assert status == 2
        assert stderr.count("\n") == 1
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use; " in stderr
        suggested = re.search(suggestion + "$", stderr.strip())
        assert suggested, stderr
        with socket.socket() as free:  # the suggested port is another one, and free
            free.bind(("127.0.0.1", int(suggested.group(1))))
        assert int(suggested.group(1)) != port
    assert model_loads == []


def test_an_invalid_endpoint_name_from_the_environment_is_refused(
    model_loads: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_ENDPOINT", "not valid")

    assert run_cli(["--port", "0"]) == 2
    stderr = capsys.readouterr().err
    assert "$SAGEMAKER_ENDPOINT" in stderr and "'not valid'" in stderr
    assert model_loads == []


def test_model_name_goes_with_transform_jobs(model_loads: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--port", "0", "--model-name", "m"]) == 2
    assert capsys.readouterr().err == "python -m local_endpoint: error: --model-name goes with --transform-jobs\n"
    assert model_loads == []


def test_an_invalid_model_name_from_the_environment_is_refused_with_transform_jobs(
    model_loads: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_MODEL_NAME", "not valid")

    assert run_cli(["--port", "0", "--transform-jobs"]) == 2
    stderr = capsys.readouterr().err
    assert "$SAGEMAKER_MODEL_NAME: 'not valid' is not a valid SageMaker model name" in stderr
    assert model_loads == []


@pytest.mark.parametrize(
    ("argv", "environment", "model_name"),
    [
        (["--transform-jobs"], {}, "alex-embedding-model"),
        (["--transform-jobs"], {"SAGEMAKER_MODEL_NAME": "from-env"}, "from-env"),
        (["--transform-jobs", "--model-name", "given"], {"SAGEMAKER_MODEL_NAME": "from-env"}, "given"),
    ],
)
def test_transform_jobs_serve_the_model_named_by_the_option_the_environment_or_the_default(
    argv: list[str], environment: dict[str, str], model_name: str, served: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGEMAKER_MODEL_NAME", raising=False)
    monkeypatch.delenv("HF_TASK", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert run_cli(["--port", "0", *argv]) == 0

    [config] = served
    assert (config.transform_jobs, config.model_name) == (True, model_name)
    assert dict(config.model_environment) == {"HF_TASK": "feature-extraction"}


def test_a_model_that_fails_to_load_is_one_line(
    model_loads: list[str], minilm_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["--port", "0"]) == 2

    assert model_loads == [str(minilm_dir)]  # by default, the packaged weights, offline
    stderr = capsys.readouterr().err
    assert "cannot load model 'sentence-transformers/all-MiniLM-L6-v2'" in stderr
    assert "RuntimeError: a model load was attempted" in stderr
    assert "Traceback" not in stderr


def test_a_model_artifact_gets_the_local_model_as_model_dir(
    model_loads: list[str], minilm_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    constructed: list[tuple[Any, ...]] = []

    def artifact_container(artifact: str, model_dir: str, task: str) -> Any:
        constructed.append((artifact, model_dir, task))
        raise RuntimeError("model_fn failed\non two lines")

    monkeypatch.setattr(twin_cli, "ArtifactContainer", artifact_container)

    assert run_cli(["--port", "0", "--model-artifact", str(MODEL_ARTIFACT_DIR)]) == 2

    # The container's view with HF_MODEL_ID set: the user module gets the model's own folder, not the artifact.
    assert constructed == [(str(MODEL_ARTIFACT_DIR), str(minilm_dir.resolve()), "feature-extraction")]
    assert model_loads == []  # no pipeline besides the artifact's model_fn
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"cannot serve model artifact {str(MODEL_ARTIFACT_DIR)!r}" in stderr
    assert "RuntimeError: model_fn failed on two lines" in stderr


def test_an_unreadable_model_tar_gz_is_one_line_naming_it(
    model_loads: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"not gzip at all")

    assert run_cli(["--port", "0", "--model-artifact", str(archive)]) == 2

    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"cannot serve model artifact {str(archive)!r}" in stderr and "ModelArtifactError" in stderr
    assert model_loads == []


@pytest.mark.process
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


@pytest.mark.process
def test_help_names_the_environment_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local_endpoint", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0
    assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME" in result.stdout
    assert "--cold-start-seconds" in result.stdout
