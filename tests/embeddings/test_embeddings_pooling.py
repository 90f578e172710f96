"""Pooling the container's real token-level answer gives sentence-transformers' vectors; [CLS] alone does not.

The token-level answers come from the real all-MiniLM-L6-v2 weights through the same transformers pipeline the
Hugging Face container builds for HF_TASK=feature-extraction, called the way its handler calls it
(`pipeline(inputs, **parameters)`) and sent through a JSON round trip, as over HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from embeddings.batching import (
    MAX_TOKENS,
    PIPELINE_PARAMETERS,
    SERVERLESS_PAYLOAD_LIMIT_BYTES,
    response_bytes_bound,
    vector_json_bound,
)
from embeddings.errors import InvalidVectorError
from embeddings.pooling import l2_normalize, sentence_vector, sentence_vectors
from tests.embeddings.embeddings_fakes import DIMENSION, cosine

LONG_DOCUMENT = " ".join(
    f"Paragraph {i}: the embedding endpoint turns each sentence into a vector, and long documents are "
    "truncated after 256 tokens by the tokenizer."
    for i in range(40)
)

TEXTS = {
    "short": "Vectorize me.",
    "empty": "",
    "whitespace": "   ",
    "sentence": "SageMaker Serverless Inference scales to zero when nobody calls the endpoint.",
    "german": "Grüße aus Köln: Äpfel, Öl und Übermut schmecken süß.",
    "cjk": "東京は日本の首都です。北京是中国的首都。",
    "korean": "안녕하세요, 세계!",
    "emoji": "Deploy finished 🚀🎉 — all green ✅",
    "punctuation": "naïve café résumé — “quotes” & <tags> 100% ½",
    "long": LONG_DOCUMENT,
}


def _over_http(value: Any) -> Any:
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def token_level(feature_extraction_pipeline: Any) -> list[Any]:
    """The container's answer for all TEXTS in one request, as the client receives it."""
    return _over_http(feature_extraction_pipeline(list(TEXTS.values()), **PIPELINE_PARAMETERS))


@pytest.fixture(scope="module")
def reference(sentence_transformer: Any) -> list[list[float]]:
    return sentence_transformer.encode(list(TEXTS.values()), normalize_embeddings=True).tolist()


def test_long_document_is_longer_than_the_model_can_read(feature_extraction_pipeline: Any) -> None:
    assert len(feature_extraction_pipeline.tokenizer(LONG_DOCUMENT)["input_ids"]) > 512


def test_mean_pooling_matches_sentence_transformers(token_level: list[Any], reference: list[list[float]]) -> None:
    vectors = sentence_vectors(token_level, len(TEXTS), DIMENSION)
    cosines = {name: cosine(v, r) for name, v, r in zip(TEXTS, vectors, reference, strict=True)}
    low, high = min(cosines.values()), max(cosines.values())
    print(f"\ncosine to sentence-transformers: min {low:.12f} (1 - {1 - low:.1e}), max {high:.12f}")
    assert all(len(v) == DIMENSION for v in vectors)
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-9 for v in vectors)
    assert min(cosines.values()) >= 0.9999, cosines


def test_the_cls_token_is_not_a_sentence_vector(token_level: list[Any], reference: list[list[float]]) -> None:
    """What callers taking `result[0][0]` got: the first token's vector, far from the sentence embedding."""
    cls_cosines = {
        name: cosine(answer[0][0], ref) for name, answer, ref in zip(TEXTS, token_level, reference, strict=True)
    }
    print(
        f"\n[CLS] cosine to sentence-transformers: min {min(cls_cosines.values()):.3f}, "
        f"max {max(cls_cosines.values()):.3f}"
    )
    assert max(cls_cosines.values()) < 0.8, cls_cosines


def test_each_text_is_tokenised_alone_so_there_is_no_padding(
    token_level: list[Any], feature_extraction_pipeline: Any
) -> None:
    tokenizer = feature_extraction_pipeline.tokenizer
    for text, answer in zip(TEXTS.values(), token_level, strict=True):
        expected = min(len(tokenizer(text)["input_ids"]), MAX_TOKENS)
        assert len(answer) == 1 and len(answer[0]) == expected
        assert all(len(token) == DIMENSION for token in answer[0])


def test_token_level_response_size_stays_under_the_bound(token_level: list[Any]) -> None:
    long_answer = token_level[list(TEXTS).index("long")]
    size = len(json.dumps(long_answer))
    widest_token = max(len(json.dumps(token)) for token in long_answer[0]) + 2
    print(
        f"\none {MAX_TOKENS}-token answer: {size:,} bytes of JSON ({size / MAX_TOKENS:,.0f} per token), "
        f"widest token vector {widest_token:,} bytes, bound {vector_json_bound(DIMENSION):,}"
    )
    assert len(long_answer[0]) == MAX_TOKENS
    assert 1_900_000 < size <= response_bytes_bound(LONG_DOCUMENT, token_level=True)
    assert widest_token <= vector_json_bound(DIMENSION)


def test_top_level_max_length_is_silently_ignored_by_the_pipeline(
    feature_extraction_pipeline: Any, reference: list[list[float]]
) -> None:
    """`{"truncation": true, "max_length": 256}` cuts at 512 tokens: wrong vectors and a >4 MB answer."""
    answer = _over_http(feature_extraction_pipeline([LONG_DOCUMENT], truncation=True, max_length=256))[0]
    assert len(answer[0]) == 512
    assert cosine(sentence_vector(answer), reference[list(TEXTS).index("long")]) < 0.99
    assert len(json.dumps([answer])) > SERVERLESS_PAYLOAD_LIMIT_BYTES


def test_without_truncation_a_long_text_makes_the_container_fail(feature_extraction_pipeline: Any) -> None:
    with pytest.raises(RuntimeError, match="size of tensor"):
        feature_extraction_pipeline([LONG_DOCUMENT])


def test_server_pooled_answers_give_the_same_vectors(sentence_transformer: Any, reference: list[list[float]]) -> None:
    texts = list(TEXTS.values())
    pooled = sentence_transformer.encode(texts).tolist()  # not normalised, as a pooling endpoint may answer
    for answer in (_over_http(pooled), _over_http([[vector] for vector in pooled])):
        vectors = sentence_vectors(answer, len(texts), DIMENSION)
        assert min(cosine(v, r) for v, r in zip(vectors, reference, strict=True)) >= 0.9999


def test_mean_pooling_arithmetic() -> None:
    assert sentence_vector([[[1.0, 0.0], [0.0, 1.0]]]) == pytest.approx([2**-0.5, 2**-0.5])
    assert sentence_vector([[1.0, 2.0], [3.0, 2.0]]) == pytest.approx(l2_normalize([2.0, 2.0]))
    with pytest.raises(InvalidVectorError, match="all zeros"):
        sentence_vector([[0.0, 0.0]])
