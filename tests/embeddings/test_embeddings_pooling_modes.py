"""`pooling="auto" | "client" | "server"`: what each mode costs in invocations, and what it does with a surprise."""

from __future__ import annotations

from typing import Any

import pytest

from embeddings import BatchLimits, EmbeddingClient, ResponseShapeError, plan_batches
from embeddings.batching import DEFAULT_BATCH_SIZE
from tests.embeddings.embeddings_fakes import (
    ENDPOINT,
    FakeSageMaker,
    cosine,
    pooled_container,
    synthetic_container,
    synthetic_row,
    typical_texts,
    unit,
)

# A token-level answer of 3 vectors per text: the plan does not depend on it, and it keeps the tests fast. (The
# real model's answers for these sentences, ~20 tokens, are measured in test_embeddings_client_container.py.)
TOKENS = 3


def _embed(sagemaker: FakeSageMaker, client: EmbeddingClient, texts: list[str]) -> tuple[list[int], int]:
    """Embed, check every vector belongs to its text, and return the batch sizes and response bytes used."""
    already = len(sagemaker.requests)
    vectors = client.embed(texts)
    assert min(cosine(v, unit(synthetic_row(t))) for v, t in zip(vectors, texts, strict=True)) > 0.999999
    sizes = [len(body["inputs"]) for body in sagemaker.request_bodies[already:]]
    return sizes, sum(sagemaker.response_sizes[already:])


@pytest.mark.parametrize("pooling", ["auto", "server"])
def test_one_hundred_sentences_take_at_most_two_invocations_from_a_pooling_endpoint(
    sagemaker: FakeSageMaker, make_client: Any, pooling: str
) -> None:
    sagemaker.answer(pooled_container())
    texts = typical_texts(100)

    sizes, response_bytes = _embed(sagemaker, make_client(pooling=pooling), texts)

    assert DEFAULT_BATCH_SIZE == 128 and sum(sizes) == 100
    assert len(sizes) == (1 if pooling == "server" else 2)
    print(f"\n{pooling} mode, pooling endpoint: {len(sizes)} invocations {sizes}, {response_bytes:,} response bytes")


def test_auto_plans_the_first_batch_token_level_and_then_remembers(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(pooled_container())
    client = make_client()
    texts = typical_texts(100)

    first, _ = _embed(sagemaker, client, texts)
    second, _ = _embed(sagemaker, client, texts)

    assert first == [plan_batches(texts, client.limits)[0].stop, 100 - first[0]]
    assert first[0] < 100 - 64  # why batch_size 64 would need three invocations here
    assert second == [100]  # a client created once per Lambda container pays the probe once


@pytest.mark.parametrize("pooling", ["auto", "client"])
def test_a_token_level_endpoint_is_planned_as_before(sagemaker: FakeSageMaker, make_client: Any, pooling: str) -> None:
    sagemaker.answer(synthetic_container(tokens=TOKENS))
    client = make_client(pooling=pooling)
    texts = typical_texts(100)

    sizes, _ = _embed(sagemaker, client, texts)

    assert sizes == [b.stop - b.start for b in plan_batches(texts, BatchLimits())]
    assert max(sagemaker.response_sizes) < client.limits.max_response_bytes
    print(f"\n{pooling} mode, token-level endpoint: {len(sizes)} invocations")


def test_client_mode_keeps_the_token_level_budget_even_for_pooled_answers(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    sagemaker.answer(pooled_container())
    texts = typical_texts(100)

    sizes, _ = _embed(sagemaker, make_client(pooling="client"), texts)

    assert sizes == [b.stop - b.start for b in plan_batches(texts, BatchLimits())]


def test_auto_goes_back_to_the_token_level_budget_when_the_endpoint_stops_pooling(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    client = make_client()
    texts = typical_texts(100)
    sagemaker.answer(pooled_container())
    _embed(sagemaker, client, texts[:5])
    sagemaker.answer(synthetic_container(tokens=TOKENS))

    sizes, _ = _embed(sagemaker, client, texts)

    assert sizes[0] == 100  # planned for pooled answers: accepted, and the answer is still pooled correctly
    assert _embed(sagemaker, client, texts)[0] == [b.stop - b.start for b in plan_batches(texts, BatchLimits())]


def test_server_mode_refuses_a_token_level_answer_naming_the_mode(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(synthetic_container(tokens=TOKENS))

    with pytest.raises(ResponseShapeError, match=r"answered 3 token vectors for text 0, but pooling='server'") as e:
        make_client(pooling="server").embed(typical_texts(100))

    assert ENDPOINT in str(e.value) and "pooling=client" in str(e.value)
    assert len(sagemaker.requests) == 1


def test_server_mode_names_the_callers_index_of_a_token_level_answer(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    texts = typical_texts(10)
    sagemaker.answer(pooled_container(), pooled_container(), synthetic_container(tokens=TOKENS))

    with pytest.raises(ResponseShapeError, match=r"answered 3 token vectors for text 8, but") as caught:
        make_client(pooling="server", batch_size=4).embed(texts)

    assert caught.value.index == 8


def test_auto_believes_the_latest_planned_batch_not_the_latest_answer(make_client: Any) -> None:
    """Concurrent answers arrive in any order: an answer to an earlier-planned batch is older news."""
    client = make_client()
    pooled = [[[0.6, 0.8]]]
    token_level = [[[0.6, 0.8], [0.8, 0.6]]]

    client._check_shape(token_level, 5, 0)  # planned fifth: the endpoint answers token vectors
    client._check_shape(pooled, 3, 0)  # planned third, answered later: says nothing newer
    assert client._token_level is True

    client._check_shape(pooled, 6, 0)
    assert client._token_level is False
