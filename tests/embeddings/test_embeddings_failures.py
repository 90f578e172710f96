"""Failures that retrying cannot fix soon fail fast and say what to do: nothing listening at the URL, a local
twin without its variables, a wrong endpoint name. Cold starts keep their patient retries (test_embeddings_retries).
"""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from embeddings import (
    ConfigurationError,
    EmbeddingClient,
    EndpointUnreachableError,
    MissingCredentialsError,
    PermanentEndpointError,
    TransientEndpointError,
    make_runtime_client,
)
from embeddings.__main__ import main
from embeddings.client import CONNECTION_ATTEMPTS
from tests.embeddings.embeddings_fakes import (
    ENDPOINT,
    REGION,
    FakeClock,
    FakeSageMaker,
    dummy_session,
    endpoint_not_found,
    model_not_ready,
    raising,
    synthetic_container,
)

TWIN_VARIABLES = "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1"
AWS_URL = f"https://runtime.sagemaker.{REGION}.amazonaws.com"


@pytest.fixture
def refused_url() -> str:
    """A loopback URL with nothing listening: a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_nothing_listening_on_a_local_url_fails_after_a_few_quick_attempts(
    monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", refused_url)
    sleeps: list[float] = []
    client = EmbeddingClient(ENDPOINT, runtime_client=make_runtime_client(session=dummy_session()), sleep=sleeps.append)

    with pytest.raises(EndpointUnreachableError) as caught:
        client.embed(["vectorize me"])

    error = caught.value
    assert isinstance(error, TransientEndpointError)
    assert error.attempts == client.requests_sent == CONNECTION_ATTEMPTS == 3
    assert len(sleeps) == 2 and sum(sleeps) <= 0.75  # jittered below 0.25 s, then 0.5 s
    assert error.url == f"{refused_url}/endpoints/{ENDPOINT}/invocations"
    message = str(error)
    assert error.url in message and "Connection refused" in message and "3 attempts" in message
    assert "start the local twin with `make twin`" in message


def test_make_embed_without_a_twin_is_one_line_naming_make_twin(
    monkeypatch: pytest.MonkeyPatch,
    refused_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`make embed`'s environment, with the twin not running."""
    for name, value in [item.split("=") for item in TWIN_VARIABLES.split()]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", refused_url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("SAGEMAKER_ENDPOINT", raising=False)

    code = main(["vectorize me"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    last = err.splitlines()[-1]
    assert last.startswith(f"error: endpoint {ENDPOINT!r}: could not connect to {refused_url}/endpoints/")
    assert "`make twin`" in last
    # The progress notes: two retries, not twenty.
    retries = [r.getMessage() for r in caplog.records if "failed with EndpointConnectionError" in r.getMessage()]
    assert len(retries) == 2


def test_an_unreachable_aws_url_names_the_network_not_the_twin(
    sagemaker: FakeSageMaker, make_client: Any, clock: FakeClock
) -> None:
    sagemaker.answer(raising(EndpointConnectionError(endpoint_url=AWS_URL)))

    with pytest.raises(EndpointUnreachableError) as caught:
        make_client().embed(["x"])

    message = str(caught.value)
    assert len(sagemaker.requests) == 3 and sum(clock.sleeps) < 1
    assert f"could not connect to {AWS_URL}/endpoints/{ENDPOINT}/invocations" in message
    assert f"network path to SageMaker Runtime in {REGION}" in message and "make twin" not in message


def test_a_connect_timeout_is_not_retried_for_minutes(
    sagemaker: FakeSageMaker, make_client: Any, clock: FakeClock
) -> None:
    """A blackholed address costs the 10 s connect timeout per attempt; the retry window (5 s) allows one."""

    def times_out(request: Any) -> Any:
        clock.now += 10
        raise ConnectTimeoutError(endpoint_url=AWS_URL)

    sagemaker.answer(times_out)

    with pytest.raises(EndpointUnreachableError, match="connect timeout on https://"):
        make_client().embed(["x"])

    assert len(sagemaker.requests) == 1


def test_a_blip_then_a_cold_start_then_the_answer(sagemaker: FakeSageMaker, make_client: Any) -> None:
    """Quick retries for the connection, patient ones for the cold start, in one invocation."""
    refused = raising(EndpointConnectionError(endpoint_url=AWS_URL))
    sagemaker.answer(refused, refused, *[model_not_ready()] * 6, refused, synthetic_container())

    assert len(make_client().embed(["x"])) == 1
    assert len(sagemaker.requests) == 10


def test_missing_credentials_for_a_local_url_name_the_twins_variables(
    bare_aws_env: pytest.MonkeyPatch, refused_url: str
) -> None:
    bare_aws_env.setenv("AWS_ENDPOINT_URL", refused_url)
    runtime = make_runtime_client(session=boto3.session.Session(region_name="us-east-1"))

    with pytest.raises(MissingCredentialsError) as caught:
        EmbeddingClient(ENDPOINT, runtime_client=runtime).embed(["x"])

    message = str(caught.value)
    assert TWIN_VARIABLES in message and refused_url in message and "aws configure" not in message


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL"])
def test_a_missing_region_for_a_local_url_names_the_twins_variables(
    bare_aws_env: pytest.MonkeyPatch, variable: str
) -> None:
    bare_aws_env.setenv(variable, "http://localhost:8080")

    with pytest.raises(ConfigurationError) as caught:
        EmbeddingClient(ENDPOINT)

    assert "no AWS region" in str(caught.value) and TWIN_VARIABLES in str(caught.value)


def test_a_missing_region_for_aws_still_says_how_to_set_one(bare_aws_env: pytest.MonkeyPatch) -> None:
    bare_aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "https://proxy.example.com")
    with pytest.raises(ConfigurationError, match="set AWS_DEFAULT_REGION") as caught:
        EmbeddingClient(ENDPOINT)
    assert TWIN_VARIABLES not in str(caught.value)


def test_a_wrong_endpoint_name_says_how_to_list_endpoints(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(endpoint_not_found())

    with pytest.raises(PermanentEndpointError) as caught:
        make_client().embed(["x"])

    message = str(caught.value)
    assert f"aws sagemaker list-endpoints --region {REGION}" in message
    assert "stack output `endpoint_name`" in message


def test_a_wrong_endpoint_name_on_the_twin_says_what_the_twin_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:8080")
    runtime = make_runtime_client(session=dummy_session())
    FakeSageMaker(runtime, FakeClock()).answer(endpoint_not_found("typo-endpoint"))

    with pytest.raises(PermanentEndpointError) as caught:
        EmbeddingClient("typo-endpoint", runtime_client=runtime).embed(["x"])

    message = str(caught.value)
    assert "local twin at http://127.0.0.1:8080 serves only the names it was started with" in message
    assert "list-endpoints" not in message
