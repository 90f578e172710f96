"""The smoke check run as CI runs it: a process of its own, talking to a local AWS API emulator for DescribeEndpoint
(moto's standalone server, `moto_server`) and to the local twin for InvokeEndpoint, through the standard
AWS_ENDPOINT_URL_* variables and dummy credentials, exactly as it would talk to AWS.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_endpoint import DEFAULT_ENDPOINT_NAME, HuggingFaceContainer, TwinConfig, TwinServer, serve_in_thread
from local_endpoint.artifact import ArtifactContainer
from tests.layers import starts_processes
from tests.moto_process import moto_server
from tests.paths import MODEL_ARTIFACT_DIR
from tests.smoke.smoke_support import local_client


@pytest.fixture(scope="module")
@starts_processes
def moto_url() -> Iterator[str]:
    """moto's standalone server on a free loopback port, holding an InService endpoint named as the stack names
    it, in REGION (created through its API, as any AWS client would)."""
    with moto_server() as url:
        _create_endpoint(url)
        yield url


def _create_endpoint(url: str) -> None:
    sagemaker = local_client("sagemaker", endpoint_url=url)
    sagemaker.create_model(
        ModelName="alex-embedding-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/alex-sagemaker-execution",
        PrimaryContainer={"Image": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:2"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="alex-embedding-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "alex-embedding-model",
                "ServerlessConfig": {"MemorySizeInMB": 3072, "MaxConcurrency": 2},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME, EndpointConfigName="alex-embedding-config")


@pytest.fixture(scope="module")
def artifact_twin(minilm_dir: Path) -> Iterator[TwinServer]:
    """The endpoint as the stack deploys it by default (`pooling: server`): model_artifact/code/inference.py with
    the packaged model as model_dir, the very files model.tar.gz carries (the packer checks them by SHA-256), served
    from where they are: unpacking the archive would cost 3.5 s, and tests/local_endpoint serves the archive itself."""
    container = ArtifactContainer(MODEL_ARTIFACT_DIR, model_dir=str(minilm_dir))
    with container, serve_in_thread(container, TwinConfig()) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline_twin(feature_extraction_pipeline: Any) -> Iterator[TwinServer]:
    """The container's plain feature-extraction pipeline (`pooling: client`): token vectors, [CLS] first."""
    container = HuggingFaceContainer(feature_extraction_pipeline, "feature-extraction")
    with serve_in_thread(container, TwinConfig()) as server:
        yield server


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound here, never listened on, so nothing else can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
