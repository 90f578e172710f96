"""How the client is built (AWS configuration, credentials) and what it does with bad arguments or answers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import boto3
import pytest

from embeddings import (
    ConfigurationError,
    EmbeddingClient,
    MissingCredentialsError,
    ResponseShapeError,
    make_runtime_client,
)
from embeddings.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from tests.embeddings.embeddings_fakes import (
    DIMENSION,
    ENDPOINT,
    FakeClock,
    FakeSageMaker,
    dummy_session,
    http_response,
    ok_json,
    synthetic_container,
)
from tests.paths import PROJECT_DIR


def test_own_client_has_the_recommended_timeouts_and_no_botocore_retries(bare_aws_env: Any) -> None:
    client = EmbeddingClient(ENDPOINT, region_name="eu-west-1")
    config = client._runtime.meta.config
    assert (config.read_timeout, config.connect_timeout) == (READ_TIMEOUT_S, CONNECT_TIMEOUT_S) == (70, 10)
    assert config.retries["total_max_attempts"] == 1
    assert client._runtime.meta.region_name == "eu-west-1"
    assert client._runtime.meta.endpoint_url == "https://runtime.sagemaker.eu-west-1.amazonaws.com"


def test_endpoint_url_from_the_standard_environment_variable(bare_aws_env: pytest.MonkeyPatch) -> None:
    bare_aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://localhost:8080")
    bare_aws_env.setenv("AWS_REGION", "us-east-1")
    runtime = make_runtime_client(session=dummy_session())
    assert runtime.meta.endpoint_url == "http://localhost:8080"
    fake = FakeSageMaker(runtime, FakeClock()).answer(synthetic_container())
    EmbeddingClient(ENDPOINT, runtime_client=fake.runtime_client).embed(["x"])
    assert fake.requests[0].url == f"http://localhost:8080/endpoints/{ENDPOINT}/invocations"


def test_no_region_is_a_configuration_error(bare_aws_env: Any) -> None:
    with pytest.raises(ConfigurationError, match="no AWS region"):
        EmbeddingClient(ENDPOINT)


def test_no_credentials_fails_at_once_with_a_clear_message(bare_aws_env: Any) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    runtime = make_runtime_client(session=session)
    fake = FakeSageMaker(runtime, FakeClock()).answer(synthetic_container())
    with pytest.raises(MissingCredentialsError, match="no usable AWS credentials") as caught:
        EmbeddingClient(ENDPOINT, runtime_client=runtime).embed(["x"])
    assert ENDPOINT in str(caught.value) and "aws configure" in str(caught.value)
    assert fake.requests == []  # signing failed before anything was sent


def test_request_is_what_the_container_expects(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(synthetic_container())
    make_client().embed(["Grüße", "東京"])
    request = sagemaker.requests[0]
    assert request.url == f"https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/{ENDPOINT}/invocations"
    assert request.headers["Content-Type"] == request.headers["Accept"] == b"application/json"
    assert sagemaker.request_bodies[0] == {
        "inputs": ["Grüße", "東京"],
        "parameters": {"tokenize_kwargs": {"truncation": True, "max_length": 256}},
    }


def test_empty_list_makes_no_request(sagemaker: FakeSageMaker, make_client: Any) -> None:
    assert make_client().embed([]) == []
    assert sagemaker.requests == []


def test_accepts_server_pooled_answers(sagemaker: FakeSageMaker, make_client: Any) -> None:
    vector = [3.0, 4.0] + [0.0] * (DIMENSION - 2)
    sagemaker.answer(ok_json([[vector], vector]))
    assert make_client().embed(["a", "b"]) == [[0.6, 0.8] + [0.0] * (DIMENSION - 2)] * 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": "nope"}', r"one entry per text \(2\), got dict"),
        (b"[[[[0.1, 0.2]]], [[[0.1, 0.2]]]]", "vectors have 2 dimensions, expected 384"),
        (b'[[["a", "b"]], [[1.0]]]', r"text 0: expected token vectors"),
        (b"[[[]], [[]]]", r"text 0: expected token vectors .* got list\[1\]\[0\]"),
        (b"[[1.0]]", r"one entry per text \(2\), got list\[1\]\[1\]"),
        (b"<html>502 Bad Gateway</html>", "did not answer JSON"),
    ],
)
def test_malformed_answers_name_the_endpoint_and_the_shape(
    sagemaker: FakeSageMaker, make_client: Any, body: bytes, expected: str
) -> None:
    sagemaker.answer(http_response(200, body, {"Content-Type": "application/json"}))
    with pytest.raises(ResponseShapeError, match=expected) as caught:
        make_client().embed(["a", "b"])
    assert ENDPOINT in str(caught.value)
    assert len(sagemaker.requests) == 1


@pytest.mark.process
def test_the_package_needs_only_boto3() -> None:
    """What a Lambda vendoring embeddings/ gets: no numpy, torch or transformers behind the import."""
    code = (
        "import sys, embeddings, embeddings.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'torch', 'transformers', 'requests'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
