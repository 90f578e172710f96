"""The twin serving the deployed model.tar.gz (`pooling: server`): every kind of caller gets the sentence vector.

The archive is packed by components.model_artifact, the Pulumi program's packer, so these are the bytes that
`pooling: server` uploads; the packaged all-MiniLM-L6-v2 weights stand in for the container's Hub download.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_local_endpoint import make_corpus
from embeddings import EmbeddingClient
from local_endpoint import DEFAULT_ENDPOINT_NAME, TwinServer
from tests.local_endpoint.twin_support import runtime_client
from tests.model_artifact.artifact_support import EDGE_TEXTS, cosine
from tests.paths import PROJECT_DIR

DIMENSIONS = 384
TYPICAL_TEXTS = 100


def reference(sentence_transformer: Any, texts: list[str]) -> list[list[float]]:
    return sentence_transformer.encode(texts, normalize_embeddings=True).tolist()


def test_boto3_gets_the_sentence_vector_at_0_0_for_a_string(
    artifact_twin: TwinServer, sentence_transformer: Any
) -> None:
    response = runtime_client(artifact_twin.url).invoke_endpoint(
        EndpointName=DEFAULT_ENDPOINT_NAME, ContentType="application/json", Body=json.dumps({"inputs": "vectorize me"})
    )

    result = json.loads(response["Body"].read())
    assert len(result) == 1 and len(result[0]) == 1 and len(result[0][0]) == DIMENSIONS  # [[v]]
    assert cosine(result[0][0], reference(sentence_transformer, ["vectorize me"])[0]) >= 0.9999


def numpy_deserializer(stream: Any, content_type: str) -> Any:
    """What the SageMaker Python SDK's NumpyDeserializer (sagemaker/base_deserializers.py) does with an answer,
    line for line: the `sagemaker` package itself brings 49 packages (pandas, scipy, paramiko...) for these."""
    import numpy as np

    try:
        if content_type == "application/x-npy":
            return np.load(io.BytesIO(stream.read()), allow_pickle=True)
    finally:
        stream.close()
    raise ValueError(f"NumpyDeserializer cannot read content type {content_type}.")


def test_the_sdks_numpy_deserializer_reads_the_npy_answer_as_the_json_answers_vectors(
    artifact_twin: TwinServer, sentence_transformer: Any
) -> None:
    runtime = runtime_client(artifact_twin.url)
    texts = [EDGE_TEXTS["cjk"], "vectorize me", EDGE_TEXTS["long"]]
    body = json.dumps({"inputs": texts})

    answer = runtime.invoke_endpoint(
        EndpointName=DEFAULT_ENDPOINT_NAME, ContentType="application/json", Accept="application/x-npy", Body=body
    )
    as_json = runtime.invoke_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME, ContentType="application/json", Body=body)

    assert answer["ContentType"] == "application/x-npy"
    matrix = numpy_deserializer(answer["Body"], answer["ContentType"])
    assert matrix.dtype.str == "<f4" and matrix.shape == (3, DIMENSIONS)
    expected = [item[0][0] for item in json.loads(as_json["Body"].read())]
    assert matrix.tolist() == expected  # float32 widened to Python floats: the JSON answer's numbers exactly
    for vector, reference_vector in zip(matrix.tolist(), reference(sentence_transformer, texts), strict=True):
        assert cosine(vector, reference_vector) >= 0.9999


def test_the_server_pooling_client_reads_npy_from_the_twin(artifact_twin: TwinServer) -> None:
    runtime = runtime_client(artifact_twin.url)
    types: list[str] = []
    runtime.meta.events.register(
        "after-call.sagemaker-runtime.InvokeEndpoint", lambda parsed, **_: types.append(parsed["ContentType"])
    )
    texts = list(EDGE_TEXTS.values())

    from_npy = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime, pooling="server").embed(texts)
    from_json = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime, pooling="auto").embed(texts)

    assert types == ["application/x-npy", "application/json"]
    assert from_npy == from_json


def test_the_client_gets_sentence_transformers_vectors_for_edge_texts(
    artifact_twin: TwinServer, sentence_transformer: Any
) -> None:
    texts = list(EDGE_TEXTS.values())
    client = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(artifact_twin.url), max_wait_s=10.0)

    vectors = client.embed(texts)

    for name, vector, expected in zip(EDGE_TEXTS, vectors, reference(sentence_transformer, texts), strict=True):
        assert cosine(vector, expected) >= 0.9999, name


def test_100_typical_sentences_take_at_most_2_invocations_at_the_default_batch_size(
    artifact_twin: TwinServer, sentence_transformer: Any
) -> None:
    texts = make_corpus(TYPICAL_TEXTS)
    learning = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(artifact_twin.url))
    told = EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(artifact_twin.url), pooling="server")

    vectors = learning.embed(texts)

    # Token-level answers took 22 invocations. A client that learns the mode plans only its first batch for them.
    assert learning.requests_sent <= 2
    # Every tenth text against the reference (neighbours differ: cosine < 0.8), so each vector is its own text's.
    assert min(map(cosine, vectors[::10], reference(sentence_transformer, texts[::10]))) >= 0.9999
    assert min(map(cosine, told.embed(texts), vectors)) >= 0.9999  # not bit-equal: other batches, other padding
    assert told.requests_sent == 1


@pytest.mark.process
def test_the_docs_aws_cli_example_runs_as_it_stands_and_gets_the_sentence_vector_at_0_0(
    artifact_twin: TwinServer, sentence_transformer: Any, tmp_path: Path
) -> None:
    """docs/local-twin.md's AWS CLI block, run by bash in an empty home with no AWS_ variables: only the port is
    changed, to the test twin's."""
    aws = Path(sys.executable).with_name("aws")
    assert aws.is_file(), f"{aws} is missing: the AWS CLI (awscli) is in requirements-dev.txt"
    blocks = re.findall(r"```bash[^\n]*\n(.*?)```", (PROJECT_DIR / "docs" / "local-twin.md").read_text(), flags=re.S)
    [example] = [block for block in blocks if "aws sagemaker-runtime invoke-endpoint" in block]
    assert "http://127.0.0.1:8080" in example
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(HOME=str(tmp_path), PATH=f"{aws.parent}{os.pathsep}{os.defpath}")

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example.replace("http://127.0.0.1:8080", artifact_twin.url)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    vector = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))[0][0]
    assert len(vector) == DIMENSIONS
    assert cosine(vector, reference(sentence_transformer, ["vectorize me"])[0]) >= 0.9999
    assert json.loads(result.stdout.splitlines()[-1]) == vector[:3]  # what the block's last line prints
