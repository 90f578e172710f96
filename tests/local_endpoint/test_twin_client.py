"""The project's client against the twin: the vectors sentence-transformers gives for the same model."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from embeddings import EmbeddingClient, PermanentEndpointError
from embeddings.__main__ import main as embeddings_cli
from local_endpoint import DEFAULT_ENDPOINT_NAME, TwinServer
from tests.local_endpoint.twin_support import runtime_client

TEXTS = {
    "short": "vectorize me",
    "empty": "",
    "non-ascii": "Größe, naïve café — 東京の天気は晴れ 🙂",
    "long": " ".join(f"word{i} carries meaning number {i}." for i in range(120)),  # far over 256 tokens
    "prose": "The local twin serves the same model, so vectors computed offline match the deployed endpoint.",
}


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture(scope="module")
def client(twin: TwinServer) -> EmbeddingClient:
    return EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(twin.url), max_wait_s=10.0)


def test_client_vectors_equal_sentence_transformers(client: EmbeddingClient, sentence_transformer: Any) -> None:
    texts = list(TEXTS.values())
    vectors = client.embed(texts)
    reference = sentence_transformer.encode(texts, normalize_embeddings=True)

    for name, vector, expected in zip(TEXTS, vectors, reference, strict=True):
        assert len(vector) == 384
        assert cosine(vector, expected.tolist()) >= 0.9999, name


def test_client_batches_give_the_same_vectors(twin: TwinServer, client: EmbeddingClient) -> None:
    one_by_one = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(twin.url), batch_size=1)
    texts = list(TEXTS.values())

    for a, b in zip(one_by_one.embed(texts), client.embed(texts), strict=True):
        assert cosine(a, b) >= 0.99999
    assert one_by_one.requests_sent == len(texts)


def test_client_fails_fast_on_an_unknown_endpoint(twin: TwinServer) -> None:
    client = EmbeddingClient("not-deployed", runtime_client=runtime_client(twin.url), max_wait_s=10.0)
    with pytest.raises(PermanentEndpointError) as caught:
        client.embed(["x"])

    assert caught.value.code == "ValidationError"
    assert "not-deployed" in str(caught.value)
    assert client.requests_sent == 1


def test_quick_start_cli_prints_384_numbers(
    environment_pointing_at_twin: TwinServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SAGEMAKER_ENDPOINT", raising=False)

    assert embeddings_cli(["vectorize me", "--max-wait", "10"]) == 0

    vector = json.loads(capsys.readouterr().out)
    assert len(vector) == 384 and all(isinstance(x, float) for x in vector)
