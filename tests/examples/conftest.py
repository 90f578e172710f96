"""Fixtures for the examples: this stack's real exports, and a twin of the endpoint the example calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_endpoint import serve_in_thread
from local_endpoint.artifact import ArtifactContainer
from tests.examples.consumer_harness import DEV_STACK, ConsumerRun, deploy_consumer, deploy_producer
from tests.infra.pulumi_harness import Deployment


@pytest.fixture(scope="session")
def producer() -> Deployment:
    """The root program's dev stack under the mocks: the exports a consumer's StackReference reads."""
    return deploy_producer("dev")


@pytest.fixture(scope="session")
def consumer(producer: Deployment) -> ConsumerRun:
    """The example ingest_lambda program's dev stack, its StackReference answered with `producer`'s exports."""
    return deploy_consumer({DEV_STACK: producer})


@pytest.fixture(scope="session")
def ingest_twin(deployed_artifact: Path) -> Iterator[Any]:
    """The endpoint's local twin on a free loopback port, serving the stack's default model.tar.gz (pooling server,
    as the producer's `pooling` output says), answering to the default endpoint name (`.url`)."""
    with ArtifactContainer(deployed_artifact) as container, serve_in_thread(container) as server:
        yield server
