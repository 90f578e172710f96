"""A SageMaker Batch Transform job's requests, on the container's own serving stack as the program deploys it.

The stack runs the default case's model.tar.gz and model environment (artifact source, server pooling), plus the
variables a transform job sets for MaxPayloadInMB=1, MultiRecord and MaxConcurrentTransforms=1. The job then sends
what SplitType=Line with MultiRecord packs: as many JSON Lines records as fit in 1 MB, Content-Type and Accept
application/jsonlines (TransformInput.ContentType, TransformOutput.Accept). Its answer, ~80 MB, is over
multi-model-server's default response limit; the program's MMS_MAX_RESPONSE_SIZE is what lets it through.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from local_endpoint.container import ContainerResponse
from local_endpoint.serving_stack import ServingStack
from serving_stack_tests.cases import (
    BATCH_ENVIRONMENT,
    BATCH_PAYLOAD_BYTES,
    RenderedCases,
    batch_record,
    multi_record_count,
)

JSONLINES = "application/jsonlines"
DIMENSIONS = 384
MIN_COSINE = 0.9999
MMS_DEFAULT_MAX_RESPONSE = 6_553_500
REQUEST_TIMEOUT_S = 900.0  # a transform job waits up to ModelClientConfig.InvocationsTimeoutInSeconds (600 s default)


@pytest.fixture(scope="module")
def batch_stack(rendered: RenderedCases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingStack]:
    case = rendered.case("artifact-server")
    log = tmp_path_factory.mktemp("batch-transform") / "serving-stack.log"
    stack = ServingStack(case.artifact, {**case.environment, **BATCH_ENVIRONMENT}, log_path=log)
    try:
        stack.start()
        stack.wait_until_answering()
        yield stack
    finally:
        stack.stop()
    assert stack.processes() == []


def post(stack: ServingStack, body: bytes, accept: str | None = JSONLINES) -> ContainerResponse:
    """POST /invocations as the transform job's agent does, on a connection of its own that waits long enough."""
    headers = {"Content-Type": JSONLINES, "Content-Length": str(len(body))}
    if accept is not None:
        headers["Accept"] = accept
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return ContainerResponse(response.status, response.read(), response.getheader("Content-Type") or "")
    finally:
        connection.close()


def one_megabyte_of_records() -> list[bytes]:
    records = [batch_record(index) for index in range(multi_record_count())]
    size = sum(map(len, records))
    assert len(records) > 10_000 and BATCH_PAYLOAD_BYTES - 200 < size <= BATCH_PAYLOAD_BYTES
    return records


def test_the_model_server_runs_with_the_jobs_request_limit_and_the_programs_response_limit(
    batch_stack: ServingStack, rendered: RenderedCases
) -> None:
    """sagemaker-inference maps SAGEMAKER_MAX_PAYLOAD_IN_MB onto max_request_size; MMS_MAX_RESPONSE_SIZE comes from
    the program's model environment, not from the job. MMS prints both at start-up."""
    response_limit = rendered.case("artifact-server").environment["MMS_MAX_RESPONSE_SIZE"]
    log = batch_stack.log_text()

    assert f"Maximum Request Size: {BATCH_PAYLOAD_BYTES}" in log
    assert f"Maximum Response Size: {response_limit}" in log


def test_a_1_mb_multirecord_request_answers_one_line_per_record_in_order(
    batch_stack: ServingStack, batch_references: Any
) -> None:
    records = one_megabyte_of_records()

    started = time.monotonic()
    response = post(batch_stack, b"".join(records))
    seconds = time.monotonic() - started

    assert response.status == 200, response.body[:500]
    assert response.content_type == JSONLINES
    print(
        f"\n{len(records)} records, {sum(map(len, records))} bytes in, {len(response.body)} bytes out: {seconds:.1f} s"
    )
    assert len(response.body) > MMS_DEFAULT_MAX_RESPONSE
    lines = response.body.split(b"\n")
    assert len(lines) == len(records)  # no empty line after the last: AssembleWith=Line adds the newline
    vectors = np.array([json.loads(line) for line in lines], dtype=np.float64)
    assert vectors.shape == (len(records), DIMENSIONS)
    expected = batch_references.astype(np.float64)
    cosines = (vectors * expected).sum(axis=1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(expected, axis=1))
    worst = int(cosines.argmin())
    assert cosines[worst] >= MIN_COSINE, (worst, records[worst][:100], float(cosines[worst]))


@pytest.mark.parametrize(
    ("bad_record", "server_says"),
    [
        (b'{"id": "r07777", "inputs": 42}\n', 'line 7778: "inputs" is a JSON number (42)'),
        (b"\n", "line 7778 is blank"),
        (b'{"id": "r07777", "inputs": "unterminated}\n', "line 7778 is not valid JSON"),
    ],
    ids=["number", "blank", "not-json"],
)
def test_a_bad_record_in_a_1_mb_request_is_a_400_naming_its_line(
    batch_stack: ServingStack, bad_record: bytes, server_says: str
) -> None:
    records = one_megabyte_of_records()
    records[7777] = bad_record

    response = post(batch_stack, b"".join(records))

    assert response.status == 400, response.body[:300]
    error = json.loads(response.body)
    assert error["code"] == 400 and server_says in error["message"]


def test_a_request_over_the_jobs_payload_limit_is_refused_by_the_model_server(batch_stack: ServingStack) -> None:
    records = one_megabyte_of_records()
    body = b"".join(records) + batch_record(len(records))
    assert len(body) > BATCH_PAYLOAD_BYTES

    response = post(batch_stack, body)

    assert response.status == 413, response.body[:300]
