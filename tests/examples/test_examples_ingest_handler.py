"""The ingest Lambda as deployed: the package the example program builds, with the environment it sets, run
against the local twin of the endpoint.

The package is unpacked from the mocked Function's `code` archive (as Lambda unpacks it into /var/task) and its
handler is imported from there, with the vendored `embeddings/` ahead of the repository's, so these tests
prove the packaging, the wiring of the environment and the handler together.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.examples.consumer_harness import (
    EXAMPLE_DIR,
    LAMBDA_FUNCTION,
    ConsumerRun,
    archive_members,
    write_package,
)

TEXTS = [
    "The ingest Lambda embeds each chunk before it is stored.",
    "Größe, naïve café — 東京の天気は晴れ 🙂",
]

LoadHandler = Callable[..., ModuleType]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def _is_packaged_module(name: str) -> bool:
    return name in ("handler", "embeddings") or name.startswith("embeddings.")


@contextmanager
def imported_from(task_dir: Path) -> Iterator[ModuleType]:
    """`import handler` with only `task_dir` providing handler and embeddings; sys.modules restored after."""
    saved = {name: module for name, module in sys.modules.items() if _is_packaged_module(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(task_dir))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module("handler")
    finally:
        sys.path.remove(str(task_dir))
        for name in [name for name in sys.modules if _is_packaged_module(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def packaged_function(consumer: ConsumerRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The function's unpacked code and its environment, from the example program run against this stack."""
    function = consumer.deployment.one(LAMBDA_FUNCTION)
    task_dir = write_package(archive_members(function.inputs["code"], EXAMPLE_DIR), tmp_path_factory.mktemp("task"))
    return task_dir, dict(function.inputs["environment"]["variables"])


def set_function_environment(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], twin_url: str, **env: str | None
) -> None:
    """The function's environment, changed by `env` (None unsets), and the twin in place of SageMaker."""
    # A short retry budget: a test must fail, not wait, if the twin misbehaves.
    for key, value in {**variables, "EMBEDDINGS_MAX_WAIT_S": "10", **env}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", twin_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def handler(packaged_function: tuple[Path, dict[str, str]], ingest_twin: Any) -> Iterator[ModuleType]:
    """The packaged handler with the function's own environment, imported once for the tests that keep it."""
    task_dir, variables = packaged_function
    with pytest.MonkeyPatch.context() as monkeypatch:
        set_function_environment(monkeypatch, variables, ingest_twin.url)
        with imported_from(task_dir) as module:
            yield module


@pytest.fixture
def load_handler(
    packaged_function: tuple[Path, dict[str, str]], ingest_twin: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LoadHandler]:
    """Imports the packaged handler fresh, in the function's environment changed by `env` (None unsets)."""
    task_dir, variables = packaged_function
    with ExitStack() as imports:

        def load(**env: str | None) -> ModuleType:
            set_function_environment(monkeypatch, variables, ingest_twin.url, **env)
            return imports.enter_context(imported_from(task_dir))

        yield load


def test_the_handler_runs_from_the_package_with_the_vendored_client(
    handler: ModuleType, packaged_function: tuple[Path, dict[str, str]]
) -> None:
    task_dir, variables = packaged_function

    assert Path(handler.__file__).parent == task_dir
    assert Path(sys.modules["embeddings"].__file__).parent == task_dir / "embeddings"
    assert handler.client.endpoint_name == variables["SAGEMAKER_ENDPOINT"]


def test_the_handler_returns_sentence_transformers_vectors(handler: ModuleType, sentence_transformer: Any) -> None:
    answer = handler.handle({"texts": TEXTS}, None)

    reference = sentence_transformer.encode(TEXTS, normalize_embeddings=True)
    assert {key: answer[key] for key in ("endpoint", "count", "dimension")} == {
        "endpoint": "alex-embedding-endpoint",
        "count": len(TEXTS),
        "dimension": 384,
    }
    assert len(answer["vectors"]) == len(TEXTS)
    for text, vector, expected in zip(TEXTS, answer["vectors"], reference, strict=True):
        assert len(vector) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-6)
        assert cosine(vector, expected.tolist()) >= 0.9999, text[:30]


def test_no_texts_is_no_vectors_and_no_invocation(handler: ModuleType) -> None:
    requests_before = handler.client.requests_sent

    assert handler.handle({"texts": []}, None) == {
        "endpoint": "alex-embedding-endpoint",
        "count": 0,
        "dimension": 384,
        "vectors": [],
    }
    assert handler.client.requests_sent == requests_before


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["a text"], 'the event must be a JSON object like {"texts": ["a text", "another text"]}, got list'),
        ({"text": "a text"}, """the event has no "texts" (keys: ['text']): send {"texts": ["""),
        ({"texts": ["a"], "source": "s3"}, """unexpected keys ['source'] in the event"""),
        ({"texts": "a text"}, '"texts" must be a list of strings, not a single string'),
        ({"texts": {"a": 1}}, '"texts" must be a list of strings, got dict'),
        ({"texts": ["a", 5]}, '"texts"[1] is int 5, expected a string'),
        ({"texts": ["a"] * 101}, '"texts" has 101 items; at most 100 per event'),
    ],
)
def test_a_bad_event_gets_an_error_naming_the_problem(handler: ModuleType, event: Any, message: str) -> None:
    requests_before = handler.client.requests_sent

    answer = handler.handle(event, None)

    assert list(answer) == ["error"]
    assert message in answer["error"]
    assert handler.client.requests_sent == requests_before


def test_an_unknown_endpoint_fails_the_invocation(load_handler: LoadHandler) -> None:
    handler = load_handler(SAGEMAKER_ENDPOINT="not-deployed")
    errors = sys.modules["embeddings"]

    with pytest.raises(errors.PermanentEndpointError) as failed:
        handler.handle({"texts": ["a text"]}, None)

    assert failed.value.code == "ValidationError"
    assert "not-deployed" in str(failed.value)


def test_a_pooling_setting_works_with_this_client(load_handler: LoadHandler) -> None:
    handler = load_handler(EMBEDDINGS_POOLING="client")

    answer = handler.handle({"texts": ["a text"]}, None)

    assert answer["count"] == 1 and len(answer["vectors"][0]) == 384


def test_max_concurrency_from_the_environment_runs_batches_at_once(
    load_handler: LoadHandler, sentence_transformer: Any
) -> None:
    """The stack's max_concurrency output, as the function gets it; the twin serves 2 at once, like the stack."""
    handler = load_handler(EMBEDDINGS_MAX_CONCURRENCY="2", EMBEDDINGS_POOLING="client")
    texts = [f"{TEXTS[0]} Chunk {i} of the document." for i in range(24)]

    answer = handler.handle({"texts": texts}, None)

    assert handler.client.max_concurrency == 2 and handler.client.requests_sent >= 3  # several batches
    reference = sentence_transformer.encode(texts[::8], normalize_embeddings=True)
    for vector, expected in zip(answer["vectors"][::8], reference, strict=True):
        assert cosine(vector, expected.tolist()) >= 0.9999


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SAGEMAKER_ENDPOINT": None}, "SAGEMAKER_ENDPOINT is not set"),
        ({"SAGEMAKER_ENDPOINT": "my_endpoint"}, "SAGEMAKER_ENDPOINT is 'my_endpoint'; it must be an endpoint name"),
        (
            {"EMBEDDINGS_MAX_WAIT_S": "3 minutes"},
            "EMBEDDINGS_MAX_WAIT_S is '3 minutes'; it must be a finite number of seconds, 0 or more",
        ),
        ({"EMBEDDINGS_MAX_WAIT_S": "1e400"}, "EMBEDDINGS_MAX_WAIT_S is '1e400'; it must be a finite number"),
        ({"EMBEDDINGS_MAX_WAIT_S": "-1"}, "EMBEDDINGS_MAX_WAIT_S is '-1'; it must be a finite number"),
        ({"EMBEDDINGS_POOLING": "both"}, "EMBEDDINGS_POOLING is 'both'; it must be one of auto, client, server"),
        ({"EMBEDDINGS_MAX_CONCURRENCY": "0"}, "EMBEDDINGS_MAX_CONCURRENCY is '0'; it must be a whole number"),
        ({"EMBEDDINGS_MAX_CONCURRENCY": "2.5"}, "EMBEDDINGS_MAX_CONCURRENCY is '2.5'; it must be a whole number"),
        ({"SAGEMAKER_REGION": "eu west 1"}, "SAGEMAKER_REGION is 'eu west 1'; it must be an AWS region"),
    ],
)
def test_a_bad_environment_fails_at_start_naming_the_variable_and_its_value(
    load_handler: LoadHandler, env: dict[str, str | None], message: str
) -> None:
    with pytest.raises(RuntimeError) as caught:
        load_handler(**env)

    text = str(caught.value)
    assert text.startswith(message), text
    # The client's own names for its settings, and the values as Python read them, would mislead here.
    assert not any(name in text for name in ("max_wait_s", "max_concurrency=", "got inf", "got -1.0"))
