"""inference.py's answers on the real model: sentence-transformers' vectors, in the token-level nesting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_endpoint.artifact import ArtifactContainer
from tests.model_artifact.artifact_support import EDGE_TEXTS, JSON, MIXED_TEXTS, cosine, invoke_json

DIMENSIONS = 384
MAX_BYTES_PER_TEXT = 10_240
CLIENT_PARAMETERS = {"tokenize_kwargs": {"truncation": True, "max_length": 256}}


def reference(sentence_transformer: Any, texts: list[str]) -> list[list[float]]:
    return sentence_transformer.encode(texts, normalize_embeddings=True).tolist()


def test_a_list_answers_one_sentence_vector_per_text_in_request_order(
    artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    result = invoke_json(artifact_container, {"inputs": MIXED_TEXTS, "parameters": CLIENT_PARAMETERS})

    assert len(result) == len(MIXED_TEXTS)
    assert all(len(text) == 1 and len(text[0]) == 1 and len(text[0][0]) == DIMENSIONS for text in result)
    for text, answer, expected in zip(MIXED_TEXTS, result, reference(sentence_transformer, MIXED_TEXTS), strict=True):
        assert cosine(answer[0][0], expected) >= 0.9999, text[:40]


@pytest.mark.parametrize("name", sorted(EDGE_TEXTS))
def test_a_string_answers_its_sentence_vector_at_0_0(
    name: str, artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    text = EDGE_TEXTS[name]
    result = invoke_json(artifact_container, {"inputs": text})

    assert len(result) == 1 and len(result[0]) == 1 and len(result[0][0]) == DIMENSIONS
    vector = result[0][0]
    assert cosine(vector, reference(sentence_transformer, [text])[0]) >= 0.9999
    assert sum(value * value for value in vector) == pytest.approx(1.0, abs=1e-6)


def test_a_long_text_is_cut_at_256_tokens_and_its_answer_stays_under_10_kb(
    artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    response = artifact_container.invoke(json.dumps({"inputs": EDGE_TEXTS["long"]}).encode(), JSON, None)

    assert response.status == 200 and response.content_type == JSON
    assert len(response.body) <= MAX_BYTES_PER_TEXT
    assert b" " not in response.body  # compact separators, as the toolkit writes JSON
    assert sentence_transformer.max_seq_length == 256  # the reference truncates at 256 too
    assert cosine(json.loads(response.body)[0][0], reference(sentence_transformer, [EDGE_TEXTS["long"]])[0]) >= 0.9999


def test_a_list_answer_stays_under_10_kb_per_text(artifact_container: ArtifactContainer) -> None:
    response = artifact_container.invoke(json.dumps({"inputs": MIXED_TEXTS}).encode(), JSON, "*/*")

    assert response.status == 200 and response.content_type == JSON
    assert len(response.body) <= MAX_BYTES_PER_TEXT * len(MIXED_TEXTS)


def test_a_smaller_max_length_cuts_the_text_there(
    artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    parameters = {"tokenize_kwargs": {"truncation": True, "max_length": 16}}
    short = invoke_json(artifact_container, {"inputs": [EDGE_TEXTS["long"]], "parameters": parameters})[0][0][0]

    sentence_transformer.max_seq_length = 16
    try:
        expected = reference(sentence_transformer, [EDGE_TEXTS["long"]])[0]
    finally:
        sentence_transformer.max_seq_length = 256
    assert cosine(short, expected) >= 0.9999
    assert cosine(short, reference(sentence_transformer, [EDGE_TEXTS["long"]])[0]) < 0.99


def test_charset_and_accept_variants_of_json_are_served(artifact_container: ArtifactContainer) -> None:
    body = json.dumps({"inputs": "vectorize me"}).encode()
    plain = artifact_container.invoke(body, JSON, None)

    for content_type, accept in [("application/json; charset=utf-8", JSON), (JSON, "*/*"), (JSON, JSON)]:
        response = artifact_container.invoke(body, content_type, accept)
        assert (response.status, response.content_type, response.body) == (200, JSON, plain.body)
