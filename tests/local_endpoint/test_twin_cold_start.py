"""Cold-start mode: ModelNotReadyException until N seconds after start, for testing callers' retries.

The time is not measured against a wall clock: tests either keep the twin cold for far longer than they run, or
make it warm after a short delay and only check that retries eventually get through.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from embeddings import EmbeddingClient, EndpointNotReadyError
from local_endpoint import DEFAULT_ENDPOINT_NAME, HuggingFaceContainer, TwinConfig, serve_in_thread
from tests.local_endpoint.twin_support import runtime_client


def test_plain_boto3_sees_model_not_ready(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=600)) as server:
        runtime = runtime_client(server.url)
        with pytest.raises(ClientError) as caught:
            runtime.invoke_endpoint(
                EndpointName=DEFAULT_ENDPOINT_NAME, Body=b'{"inputs":["x"]}', ContentType="application/json"
            )

    error = caught.value
    assert isinstance(error, runtime.exceptions.ModelNotReadyException)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert DEFAULT_ENDPOINT_NAME in error.response["Error"]["Message"]


def test_unknown_endpoint_is_reported_even_while_cold(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=600)) as server:
        runtime = runtime_client(server.url)
        with pytest.raises(runtime.exceptions.ValidationError):
            runtime.invoke_endpoint(EndpointName="other", Body=b'{"inputs":["x"]}', ContentType="application/json")


def test_client_retries_until_the_cold_start_is_over(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=600)) as server:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            """The client's back-off; the twin warms up during the first one."""
            sleeps.append(seconds)
            server.end_cold_start()

        client = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(server.url), sleep=sleep)
        vectors = client.embed(["vectorize me"])

    assert len(vectors) == 1 and len(vectors[0]) == 384
    assert client.requests_sent == 2 and len(sleeps) == 1


def test_cold_start_ends_by_itself(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=0.2)) as server:
        client = EmbeddingClient(
            DEFAULT_ENDPOINT_NAME,
            runtime_client=runtime_client(server.url),
            max_wait_s=60.0,
            backoff_base_s=0.05,
            backoff_cap_s=0.1,
        )
        vectors = client.embed(["vectorize me"])

    assert len(vectors) == 1 and len(vectors[0]) == 384


def test_client_gives_up_after_max_wait(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=600)) as server:
        client = EmbeddingClient(
            DEFAULT_ENDPOINT_NAME,
            runtime_client=runtime_client(server.url),
            max_wait_s=0.2,
            backoff_base_s=0.05,
            backoff_cap_s=0.1,
        )
        with pytest.raises(EndpointNotReadyError) as caught:
            client.embed(["vectorize me"])

    assert DEFAULT_ENDPOINT_NAME in str(caught.value)
    assert caught.value.attempts == client.requests_sent
