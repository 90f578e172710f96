"""Fixtures for the client tests: a real boto3 client on a fake SageMaker, a fake clock, single-threaded torch."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from embeddings.client import EmbeddingClient, make_runtime_client
from tests.embeddings.embeddings_fakes import ENDPOINT, FakeClock, FakeSageMaker, dummy_session

_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


CLI_ENV = ("SAGEMAKER_ENDPOINT", "EMBEDDINGS_POOLING", "EMBEDDINGS_MAX_CONCURRENCY")


@pytest.fixture
def no_cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the CLI's own variables from the shell that runs the tests: each test sets what it means."""
    for name in CLI_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bare_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS configuration at all: no env credentials, no config files, no instance metadata."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real sagemaker-runtime client, configured exactly as EmbeddingClient configures its own."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return make_runtime_client(session=dummy_session())


@pytest.fixture
def sagemaker(runtime_client: Any, clock: FakeClock) -> FakeSageMaker:
    return FakeSageMaker(runtime_client, clock)


@pytest.fixture
def make_client(runtime_client: Any, clock: FakeClock) -> Callable[..., EmbeddingClient]:
    """EmbeddingClient factory on the fake: injected clock and sleep, seeded jitter."""

    def make(**kwargs: Any) -> EmbeddingClient:
        kwargs.setdefault("random_fraction", random.Random(7).random)
        return EmbeddingClient(ENDPOINT, runtime_client=runtime_client, sleep=clock.sleep, clock=clock, **kwargs)

    return make


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """The model is tiny; with several threads, torch's OpenMP workers spin against any other CPU load (a
    parallel test run, a benchmark) and a one-second test takes a minute. One thread keeps the run predictable."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def feature_extraction_pipeline(feature_extraction_pipeline: Any) -> Iterator[Any]:
    """The shared pipeline, run single-threaded while this folder's tests use it."""
    with _one_torch_thread():
        yield feature_extraction_pipeline


@pytest.fixture(scope="module")
def sentence_transformer(sentence_transformer: Any) -> Iterator[Any]:
    """The shared reference model, run single-threaded while this folder's tests use it."""
    with _one_torch_thread():
        yield sentence_transformer
