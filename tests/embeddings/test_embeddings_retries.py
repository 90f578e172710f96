"""Retries and fail-fast, against a real boto3 client whose HTTP answers are SageMaker Runtime's."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from embeddings import (
    EmbeddingClient,
    EndpointNotReadyError,
    PermanentEndpointError,
    TransientEndpointError,
)
from tests.embeddings.embeddings_fakes import (
    ENDPOINT,
    FakeClock,
    FakeSageMaker,
    access_denied,
    aws_error,
    endpoint_not_found,
    model_error,
    model_not_ready,
    raising,
    synthetic_container,
)


def test_cold_start_is_retried_with_growing_jittered_backoff(
    sagemaker: FakeSageMaker, clock: FakeClock, make_client: Any
) -> None:
    fractions = [0.5, 0.25, 0.9, 0.6]
    client = make_client(random_fraction=iter(fractions).__next__, backoff_base_s=1.0, backoff_cap_s=20.0)
    sagemaker.answer(model_not_ready(), model_not_ready(), model_not_ready(), model_not_ready(), synthetic_container())

    vectors = client.embed(["first text", "second text"])

    assert len(vectors) == 2
    assert len(sagemaker.requests) == client.requests_sent == 5
    ceilings = [1.0, 2.0, 4.0, 8.0]
    assert clock.sleeps == pytest.approx([f * c for f, c in zip(fractions, ceilings, strict=True)])
    assert sum(clock.sleeps) < client.max_wait_s


def test_backoff_ceiling_doubles_up_to_the_cap_and_jitter_stays_below_it(
    sagemaker: FakeSageMaker, clock: FakeClock, make_client: Any
) -> None:
    at_ceiling = make_client(random_fraction=lambda: 1.0, max_wait_s=10_000)
    sagemaker.answer(*[model_not_ready()] * 8, synthetic_container())
    at_ceiling.embed(["x"])
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]

    clock.sleeps.clear()
    jittered = make_client(random_fraction=random.Random(3).random, max_wait_s=10_000)
    sagemaker.answer(*[model_not_ready()] * 8, synthetic_container())
    jittered.embed(["x"])
    ceilings = [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]
    assert len(clock.sleeps) == 8
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))
    assert len(set(clock.sleeps)) == 8 and clock.sleeps != ceilings


def test_gives_up_after_max_wait_naming_the_endpoint(
    sagemaker: FakeSageMaker, clock: FakeClock, make_client: Any
) -> None:
    client = make_client(max_wait_s=60.0, random_fraction=lambda: 1.0)
    sagemaker.answer(model_not_ready())
    started = clock.now

    with pytest.raises(EndpointNotReadyError) as caught:
        client.embed(["hello"])

    error = caught.value
    assert error.endpoint_name == ENDPOINT
    assert error.attempts == len(sagemaker.requests) > 3
    assert sum(clock.sleeps) <= 60.0
    # No attempt starts after max_wait_s: the last one began at most 60 s after the first.
    assert clock.now - started <= 60.0 + sagemaker.latency_s
    assert error.elapsed_s >= 60.0
    message = str(error)
    assert ENDPOINT in message and "not ready" in message and "ModelNotReadyException" in message
    assert f"{error.attempts} attempts" in message


def test_max_wait_zero_means_a_single_attempt(sagemaker: FakeSageMaker, clock: FakeClock, make_client: Any) -> None:
    client = make_client(max_wait_s=0)
    sagemaker.answer(aws_error(503, "ServiceUnavailable", {"message": "Service Unavailable"}))
    with pytest.raises(TransientEndpointError, match="ServiceUnavailable"):
        client.embed(["hello"])
    assert len(sagemaker.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "transient",
    [
        aws_error(503, "ServiceUnavailable", {"message": "Service Unavailable"}),
        aws_error(500, "InternalFailure", {"message": "An internal failure occurred."}),
        aws_error(400, "ThrottlingException", {"message": "Rate exceeded"}),
        aws_error(530, "InternalDependencyException", {"message": "Internal dependency failed."}),
        aws_error(502, "BadGateway", {"message": "Bad Gateway"}),
        model_error(503, "Worker not ready"),
        raising(ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")),
        raising(ConnectTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")),
        raising(EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")),
    ],
    ids=[
        "ServiceUnavailable",
        "InternalFailure",
        "Throttling",
        "InternalDependency",
        "other-5xx",
        "ModelError-503",
        "read-timeout",
        "connect-timeout",
        "connection-refused",
    ],
)
def test_transient_faults_are_retried(sagemaker: FakeSageMaker, make_client: Any, transient: Any) -> None:
    sagemaker.answer(transient, transient, synthetic_container())
    assert len(make_client().embed(["hello"])) == 1
    assert len(sagemaker.requests) == 3


def test_unknown_endpoint_fails_at_once(sagemaker: FakeSageMaker, clock: FakeClock, make_client: Any) -> None:
    sagemaker.answer(endpoint_not_found())
    with pytest.raises(PermanentEndpointError) as caught:
        make_client().embed(["hello"])
    assert len(sagemaker.requests) == 1 and clock.sleeps == []
    error = caught.value
    assert (error.code, error.http_status, error.endpoint_name) == ("ValidationError", 400, ENDPOINT)
    assert f"Endpoint {ENDPOINT} of account 123456789012 not found." in str(error)
    assert "us-east-1" in str(error)


def test_access_denied_fails_at_once(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(access_denied())
    with pytest.raises(PermanentEndpointError, match=r"AccessDeniedException.*sagemaker:InvokeEndpoint") as caught:
        make_client().embed(["hello"])
    assert len(sagemaker.requests) == 1
    assert caught.value.http_status == 403 and ENDPOINT in str(caught.value)


def test_model_error_from_bad_input_fails_at_once_with_the_containers_message(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    container_message = (
        '{"code": 400, "type": "InternalServerException", '
        '"message": "The size of tensor a (2030) must match the size of tensor b (512) at non-singleton dimension 1"}'
    )
    sagemaker.answer(model_error(400, container_message))
    with pytest.raises(PermanentEndpointError) as caught:
        make_client().embed(["hello"])
    assert len(sagemaker.requests) == 1
    message = str(caught.value)
    assert ENDPOINT in message and "ModelError" in message and "HTTP 400" in message
    assert "The size of tensor a (2030)" in message
    assert "log-group:/aws/sagemaker/Endpoints/" in message


def test_botocore_itself_makes_one_attempt_per_call(runtime_client: Any, sagemaker: FakeSageMaker) -> None:
    """Our client turns botocore retries off, so max_wait_s alone bounds the waiting."""
    config = runtime_client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.read_timeout == 70
    sagemaker.answer(aws_error(503, "ServiceUnavailable", {"message": "Service Unavailable"}))
    with pytest.raises(Exception, match="ServiceUnavailable"):
        runtime_client.invoke_endpoint(EndpointName=ENDPOINT, Body=b"{}")
    assert len(sagemaker.requests) == 1


def test_supplied_runtime_client_is_used_as_is(runtime_client: Any) -> None:
    client = EmbeddingClient(ENDPOINT, runtime_client=runtime_client)
    assert client._runtime is runtime_client
