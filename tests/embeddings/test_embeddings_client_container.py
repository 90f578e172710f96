"""End to end: EmbeddingClient -> real boto3 client -> HTTP -> the container's handler around the real model."""

from __future__ import annotations

from typing import Any

from embeddings import EmbeddingClient, PermanentEndpointError, plan_batches
from embeddings.batching import SERVERLESS_PAYLOAD_LIMIT_BYTES
from tests.embeddings.embeddings_fakes import (
    TRICKY_TEXTS,
    FakeSageMaker,
    cosine,
    huggingface_container,
    ok_json,
    request_json,
    synthetic_container,
    synthetic_row,
    typical_texts,
    unit,
)


def _assert_matches_reference(vectors: list[list[float]], texts: list[str], sentence_transformer: Any) -> None:
    reference = sentence_transformer.encode(texts, normalize_embeddings=True).tolist()
    assert len(vectors) == len(texts)
    assert min(cosine(v, r) for v, r in zip(vectors, reference, strict=True)) >= 0.9999


def test_one_hundred_texts_in_few_invocations_inside_the_payload_limit(
    sagemaker: FakeSageMaker,
    make_client: Any,
    feature_extraction_pipeline: Any,
    sentence_transformer: Any,
) -> None:
    texts = typical_texts(100)
    sagemaker.answer(huggingface_container(feature_extraction_pipeline))
    client: EmbeddingClient = make_client()

    vectors = client.embed(texts)

    # Every tenth text, across the batches, against the reference (neighbours' cosine < 0.98): each is its own.
    assert len(vectors) == len(texts)
    _assert_matches_reference(vectors[::10], texts[::10], sentence_transformer)
    planned = plan_batches(texts, client.limits)
    assert len(sagemaker.requests) == len(planned)
    assert [len(body["inputs"]) for body in sagemaker.request_bodies] == [b.stop - b.start for b in planned]
    assert [t for body in sagemaker.request_bodies for t in body["inputs"]] == texts
    request_sizes = [len(r.body) for r in sagemaker.requests]
    assert max(request_sizes) < SERVERLESS_PAYLOAD_LIMIT_BYTES
    assert all(
        actual <= batch.response_bytes_bound for actual, batch in zip(sagemaker.response_sizes, planned, strict=True)
    )
    print(
        f"\n100 texts: {len(sagemaker.requests)} invocations, requests up to {max(request_sizes):,} bytes, "
        f"responses {min(sagemaker.response_sizes):,}-{max(sagemaker.response_sizes):,} bytes "
        f"(bounds up to {max(b.response_bytes_bound for b in planned):,})"
    )


def test_long_and_non_ascii_texts_end_to_end(
    sagemaker: FakeSageMaker,
    make_client: Any,
    feature_extraction_pipeline: Any,
    sentence_transformer: Any,
) -> None:
    texts = [*TRICKY_TEXTS, TRICKY_TEXTS[-1] + " and more", "last"]
    sagemaker.answer(huggingface_container(feature_extraction_pipeline))

    vectors = make_client().embed(texts)

    _assert_matches_reference(vectors, texts, sentence_transformer)
    assert max(sagemaker.response_sizes) < SERVERLESS_PAYLOAD_LIMIT_BYTES
    long_batches = [b["inputs"] for b in sagemaker.request_bodies if any(len(t) > 2000 for t in b["inputs"])]
    assert all(sum(len(t) > 2000 for t in inputs) == 1 for inputs in long_batches)
    print(f"\nlong documents: responses {sorted(sagemaker.response_sizes, reverse=True)[:2]} bytes")


def test_container_failure_surfaces_as_permanent_error(
    sagemaker: FakeSageMaker, make_client: Any, feature_extraction_pipeline: Any
) -> None:
    """Without the truncation parameters the container fails on a long text; the client reports its message."""

    def untruncated(inputs: Any, **parameters: Any) -> Any:
        return feature_extraction_pipeline(inputs)

    sagemaker.answer(huggingface_container(untruncated))
    try:
        make_client().embed([TRICKY_TEXTS[-1]])
    except PermanentEndpointError as error:
        assert "size of tensor" in str(error) and error.code == "ModelError"
    else:
        raise AssertionError("expected a PermanentEndpointError")
    assert len(sagemaker.requests) == 1


def test_order_is_kept_across_many_invocations(sagemaker: FakeSageMaker, make_client: Any) -> None:
    texts = [f"text number {i}" for i in range(50)]
    sagemaker.answer(synthetic_container(tokens=3))

    vectors = make_client(batch_size=7).embed(texts)

    assert len(sagemaker.requests) == 8
    expected = [unit(synthetic_row(t)) for t in texts]
    assert all(cosine(v, e) > 0.999999 for v, e in zip(vectors, expected, strict=True))


def test_a_pooling_server_lets_later_batches_grow(sagemaker: FakeSageMaker, make_client: Any) -> None:
    def pooled(request: Any) -> Any:
        return ok_json([[synthetic_row(t)] for t in request_json(request)["inputs"]])(request)

    sagemaker.answer(pooled)
    texts = typical_texts(100)

    vectors = make_client().embed(texts)

    sizes = [len(body["inputs"]) for body in sagemaker.request_bodies]
    assert sizes[0] == plan_batches(texts, make_client().limits)[0].stop  # first batch budgeted token-level
    assert sizes[1:] == [100 - sizes[0]]
    assert all(cosine(v, unit(synthetic_row(t))) > 0.999999 for v, t in zip(vectors, texts, strict=True))
