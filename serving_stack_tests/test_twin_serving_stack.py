"""The twin in front of the container's own serving stack (`python -m local_endpoint --serving-stack`): boto3, the
project's client and the tutorial's AWS CLI command reach the toolkit and multi-model-server through the SageMaker
Runtime API, and stopping the twin stops the stack.

The twin runs in the main venv (uvicorn); its stack runs with this venv's python (ALEX_SERVING_PYTHON).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from embeddings import EmbeddingClient
from serving_stack_tests.cases import LIST_TEXTS, TUTORIAL_TEXT, RenderedCases
from serving_stack_tests.conftest import leftover_stack_processes, main_python
from tests.paths import PROJECT_DIR

ENDPOINT = "alex-embedding-endpoint"
STARTUP_TIMEOUT_S = 300.0
MIN_COSINE = 0.9999


@dataclass
class RunningTwin:
    process: subprocess.Popen[str]
    url: str
    log: Path
    references: dict[str, Any]

    def runtime(self) -> Any:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=120)
        return session.client("sagemaker-runtime", endpoint_url=self.url, config=config)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def twin(rendered: RenderedCases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    """The twin on the artifact-server case: the model.tar.gz and environment the program deploys by default."""
    case = rendered.case("artifact-server")
    folder = tmp_path_factory.mktemp("twin")
    case_file = rendered.folder / "cases" / "artifact-server.json"
    port = free_port()
    log = folder / "twin.log"
    environment = {**os.environ, "ALEX_SERVING_PYTHON": sys.executable, "HF_HUB_OFFLINE": "1"}
    command = [
        str(main_python()),
        "-m",
        "local_endpoint",
        "--port",
        str(port),
        "--serving-stack",
        "--model-artifact",
        str(case.artifact),
        "--container-env-file",
        str(case_file),
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=environment, stdout=output, stderr=output, text=True)
    running = RunningTwin(process, f"http://127.0.0.1:{port}", log, rendered.references())
    try:
        wait_for_first_answer(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_first_answer(twin: RunningTwin) -> None:
    runtime = twin.runtime()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if twin.process.poll() is not None:
            raise AssertionError(f"the twin exited with {twin.process.returncode}:\n{twin.log.read_text()[-3000:]}")
        try:
            runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b'{"inputs": "x"}', ContentType="application/json")
            return
        except (EndpointConnectionError, ClientError):
            time.sleep(0.5)
    raise AssertionError(f"no answer from the twin in {STARTUP_TIMEOUT_S}s:\n{twin.log.read_text()[-3000:]}")


def test_boto3_gets_the_stacks_sentence_vector(twin: RunningTwin) -> None:
    response = twin.runtime().invoke_endpoint(
        EndpointName=ENDPOINT, Body=json.dumps({"inputs": TUTORIAL_TEXT}), ContentType="application/json"
    )

    assert response["ContentType"] == "application/json"
    result = json.loads(response["Body"].read())
    assert cosine(result[0][0], twin.references["sentence"]["tutorial"]) >= MIN_COSINE


@pytest.mark.parametrize(("pooling", "answer_type"), [("auto", "application/json"), ("server", "application/x-npy")])
def test_the_projects_client_embeds_through_the_stack(twin: RunningTwin, pooling: str, answer_type: str) -> None:
    runtime = twin.runtime()
    types: list[str] = []
    runtime.meta.events.register(
        "after-call.sagemaker-runtime.InvokeEndpoint", lambda parsed, **_: types.append(parsed["ContentType"])
    )
    client = EmbeddingClient(endpoint_name=ENDPOINT, runtime_client=runtime, pooling=pooling)

    vectors = client.embed(LIST_TEXTS)

    assert types == [answer_type] and client.answer_type == answer_type  # npy asked for, answered, and kept
    for index, vector in enumerate(vectors):
        assert cosine(vector, twin.references["sentence"][f"list{index}"]) >= MIN_COSINE


def test_the_tutorials_aws_cli_command_works_against_the_twin(twin: RunningTwin, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"inputs": TUTORIAL_TEXT}))
    aws = main_python().parent / "aws"
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": twin.url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    command = [
        str(aws),
        "sagemaker-runtime",
        "invoke-endpoint",
        "--endpoint-name",
        ENDPOINT,
        "--body",
        "fileb://x.json",
        "--content-type",
        "application/json",
        "out.json",
    ]

    completed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False)

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["ContentType"] == "application/json"
    result = json.loads((tmp_path / "out.json").read_text())
    assert cosine(result[0][0], twin.references["sentence"]["tutorial"]) >= MIN_COSINE


def test_the_stacks_400_reaches_boto3_as_a_model_error_with_its_message(twin: RunningTwin) -> None:
    with pytest.raises(ClientError) as refused:
        twin.runtime().invoke_endpoint(EndpointName=ENDPOINT, Body=b'{"inputs": 42}', ContentType="application/json")

    assert refused.value.response["Error"]["Code"] == "ModelError"
    message = refused.value.response["Error"]["Message"]
    assert "Received client error (400) from primary" in message and "is a JSON number (42)" in message


def test_stopping_the_twin_stops_the_stack(twin: RunningTwin) -> None:
    assert leftover_stack_processes()  # the stack runs while the twin does
    twin.process.send_signal(signal.SIGTERM)

    assert twin.process.wait(timeout=60) == 0
    assert leftover_stack_processes() == []
    assert "container's own serving stack" in twin.log.read_text()
