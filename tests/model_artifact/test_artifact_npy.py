"""Accept application/x-npy: the JSON answer's vectors as a float32 .npy, and the token-budget sub-batches that both
formats share, on the real model.

The .npy is read here exactly as the SageMaker Python SDK's NumpyDeserializer reads an application/x-npy answer
(sagemaker/base_deserializers.py: `np.load(io.BytesIO(stream.read()), allow_pickle=False)`), so a caller using the
SDK gets these arrays.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy
import pytest

from local_endpoint.artifact import ArtifactContainer
from tests.model_artifact import gate_corpus
from tests.model_artifact.artifact_support import EDGE_TEXTS, JSON, MIXED_TEXTS, error_message

NPY = "application/x-npy"
DIMENSIONS = 384


def numpy_deserializer(body: bytes, content_type: str) -> Any:
    """sagemaker.deserializers.NumpyDeserializer(allow_pickle=False).deserialize for application/x-npy."""
    assert content_type == NPY
    return numpy.load(io.BytesIO(body), allow_pickle=False)


def both_answers(container: ArtifactContainer, payload: Any) -> tuple[Any, Any]:
    body = json.dumps(payload).encode()
    as_json = container.invoke(body, JSON, JSON)
    as_npy = container.invoke(body, JSON, NPY)
    assert as_json.status == 200 and as_npy.status == 200, (as_json.body, as_npy.body)
    assert as_npy.content_type == NPY  # the toolkit labels the answer with the Accept it was given
    return json.loads(as_json.body), numpy_deserializer(as_npy.body, as_npy.content_type)


def test_a_list_answers_a_float32_matrix_equal_bit_for_bit_to_the_json_answer(
    artifact_container: ArtifactContainer,
) -> None:
    from_json, matrix = both_answers(artifact_container, {"inputs": MIXED_TEXTS})

    assert matrix.dtype == numpy.dtype("<f4") and matrix.shape == (len(MIXED_TEXTS), DIMENSIONS)
    assert matrix.flags["C_CONTIGUOUS"]
    expected = numpy.array([item[0][0] for item in from_json], dtype=numpy.float32)
    assert numpy.array_equal(expected.view(numpy.uint32), matrix.view(numpy.uint32))  # every bit of every element


@pytest.mark.parametrize("name", sorted(EDGE_TEXTS))
def test_a_string_answers_one_row(name: str, artifact_container: ArtifactContainer) -> None:
    from_json, matrix = both_answers(artifact_container, {"inputs": EDGE_TEXTS[name]})

    assert matrix.shape == (1, DIMENSIONS)
    assert numpy.array_equal(numpy.array(from_json[0], dtype=numpy.float32), matrix)


def test_npy_is_about_a_fifth_of_the_json_answer(artifact_container: ArtifactContainer) -> None:
    body = json.dumps({"inputs": MIXED_TEXTS}).encode()
    as_npy = artifact_container.invoke(body, JSON, NPY)

    assert len(as_npy.body) == 128 + 4 * DIMENSIONS * len(MIXED_TEXTS)  # numpy's 128-byte header, then the floats
    assert len(as_npy.body) * 4 < len(artifact_container.invoke(body, JSON, JSON).body)


def test_accept_parameters_are_ignored_and_other_types_named(artifact_container: ArtifactContainer) -> None:
    body = json.dumps({"inputs": "a"}).encode()

    assert artifact_container.invoke(body, JSON, "application/x-npy; q=1").status == 200
    message = error_message(artifact_container.invoke(body, JSON, "text/csv"))
    assert "Accept 'text/csv'" in message and "application/json or application/x-npy" in message


def test_jsonlines_still_refuses_npy(artifact_container: ArtifactContainer) -> None:
    response = artifact_container.invoke(b'{"inputs": "a"}\n', "application/jsonlines", NPY)

    assert "application/x-npy" in error_message(response)


def sub_batches(inference: Any, lengths: list[int], budget: int) -> list[list[int]]:
    batches: list[list[int]] = inference.sub_batches(lengths, budget)
    return batches


def test_sub_batches_fill_the_token_budget_shortest_first(artifact_container: ArtifactContainer) -> None:
    inference = artifact_container.module
    lengths = [10, 256, 9, 9, 40, 10, 300, 9]

    batches = sub_batches(inference, lengths, 40)

    assert batches == [[2, 3, 7, 0], [5], [4], [1], [6]]  # 4 x 10 = 40 fits, 5 x 10 does not; 256 and 300 alone
    assert sub_batches(inference, [8] * 300, 1024) == [list(range(128)), list(range(128, 256)), list(range(256, 300))]


def test_token_budget_vectors_match_sentence_transformers(
    artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    """Mixed lengths, uniform short texts and long ones: worst cosine >= 0.99999 (padding differs, vectors not)."""
    texts = gate_corpus.queries() + gate_corpus.passages(200) + [f"item {n} is ready now" for n in range(64)]
    texts += [EDGE_TEXTS["long"], EDGE_TEXTS["cjk"], EDGE_TEXTS["empty"]]
    _, matrix = both_answers(artifact_container, {"inputs": texts[:256]})
    _, rest = both_answers(artifact_container, {"inputs": texts[256:]})
    ours = numpy.concatenate([matrix, rest]).astype(numpy.float64)
    reference = sentence_transformer.encode(texts, normalize_embeddings=True, batch_size=32).astype(numpy.float64)

    cosines = (ours * reference).sum(axis=1) / (numpy.linalg.norm(ours, axis=1) * numpy.linalg.norm(reference, axis=1))
    print(f"worst cosine {cosines.min():.8f} over {len(texts)} texts")
    assert cosines.min() >= 0.99999
