"""Serverless MaxConcurrency: invocations beyond it get ThrottlingException (HTTP 400), and the client retries.

A gated container holds one invocation in flight for as long as a test needs, so nothing here depends on timing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from embeddings import EmbeddingClient
from local_endpoint import (
    DEFAULT_ENDPOINT_NAME,
    ContainerResponse,
    HuggingFaceContainer,
    TwinConfig,
    TwinServer,
    serve_in_thread,
)
from tests.local_endpoint.twin_support import runtime_client

GATE_TIMEOUT_S = 60


class GatedContainer:
    """Any object with `invoke` is a container; this one holds its first call until the gate opens."""

    def __init__(self, inner: HuggingFaceContainer) -> None:
        self.inner = inner
        self.holding = threading.Event()
        self.gate = threading.Event()
        self._first = True

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        if self._first:
            self._first = False
            self.holding.set()
            self.gate.wait(GATE_TIMEOUT_S)
        return self.inner.invoke(body, content_type, accept)


def invoke(url: str, runtime: Any = None) -> dict[str, Any]:
    return (runtime or runtime_client(url)).invoke_endpoint(
        EndpointName=DEFAULT_ENDPOINT_NAME, Body=json.dumps({"inputs": ["x"]}), ContentType="application/json"
    )


@pytest.fixture
def busy_twin(twin_container: HuggingFaceContainer) -> Iterator[tuple[TwinServer, GatedContainer, threading.Thread]]:
    """A MaxConcurrency=1 twin whose one slot is taken by an invocation held in the container."""
    container = GatedContainer(twin_container)
    with serve_in_thread(container, TwinConfig(max_concurrency=1)) as server:
        holder = threading.Thread(target=invoke, args=(server.url,))
        holder.start()
        assert container.holding.wait(GATE_TIMEOUT_S)
        try:
            yield server, container, holder
        finally:
            container.gate.set()
            holder.join(GATE_TIMEOUT_S)


def test_an_invocation_beyond_max_concurrency_is_throttled(
    busy_twin: tuple[TwinServer, GatedContainer, threading.Thread],
) -> None:
    server, _, _ = busy_twin
    with pytest.raises(ClientError) as caught:
        invoke(server.url)

    error = caught.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "MaxConcurrency" in error["Error"]["Message"]


def test_the_client_retries_a_throttled_invocation_and_succeeds(
    busy_twin: tuple[TwinServer, GatedContainer, threading.Thread],
) -> None:
    server, container, holder = busy_twin
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        """The client's back-off: the held invocation finishes meanwhile, which frees the slot."""
        sleeps.append(seconds)
        container.gate.set()
        holder.join(GATE_TIMEOUT_S)

    client = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(server.url), sleep=sleep)
    vectors = client.embed(["vectorize me"])

    assert len(vectors) == 1 and len(vectors[0]) == 384
    assert client.requests_sent == 2 and len(sleeps) == 1


def test_the_slot_is_free_again_after_an_invocation(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(max_concurrency=1)) as server:
        runtime = runtime_client(server.url)
        for _ in range(3):
            assert invoke(server.url, runtime)["ResponseMetadata"]["HTTPStatusCode"] == 200
