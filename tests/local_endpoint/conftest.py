"""Twin fixtures: one container around the session's pipeline, served on a free loopback port.

The model is loaded once (tests/conftest.py's `feature_extraction_pipeline`); servers are cheap, so tests that
need another configuration (cold start, small payload limit) start their own around the same container.
`artifact_twin` is the other pooling mode: the deployed model.tar.gz's code/inference.py behind the same API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_endpoint import DEFAULT_ENDPOINT_NAME, HuggingFaceContainer, TwinConfig, TwinServer, serve_in_thread
from local_endpoint.artifact import ArtifactContainer
from tests.local_endpoint.twin_support import DUMMY_CREDENTIALS, REGION, runtime_client


@pytest.fixture(scope="session")
def twin_container(feature_extraction_pipeline: Any) -> HuggingFaceContainer:
    return HuggingFaceContainer(feature_extraction_pipeline, "feature-extraction")


@pytest.fixture(scope="session")
def twin(twin_container: HuggingFaceContainer) -> Iterator[TwinServer]:
    """A warm twin answering to the default endpoint name."""
    with serve_in_thread(twin_container, TwinConfig()) as server:
        yield server


@pytest.fixture(scope="session")
def artifact_twin(deployed_artifact: Path) -> Iterator[TwinServer]:
    """The twin as `python -m local_endpoint --model-artifact model.tar.gz` runs it: the archive's own model."""
    with (
        ArtifactContainer(deployed_artifact) as container,
        serve_in_thread(container, TwinConfig()) as server,
    ):
        yield server


@pytest.fixture(scope="session")
def runtime(twin: TwinServer) -> Any:
    return runtime_client(twin.url)


@pytest.fixture
def endpoint_name() -> str:
    return DEFAULT_ENDPOINT_NAME


@pytest.fixture
def environment_pointing_at_twin(twin: TwinServer, monkeypatch: pytest.MonkeyPatch) -> TwinServer:
    """The only set-up callers need: the endpoint URL variable plus dummy credentials, nothing in code."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", twin.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return twin
