"""Errors as SageMaker gives them, so callers' error handling is exercised before it meets AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_endpoint import HuggingFaceContainer, TwinConfig, serve_in_thread
from tests.local_endpoint.twin_support import runtime_client


def error_of(runtime: Any, endpoint_name: str, body: bytes | str, **kwargs: Any) -> ClientError:
    kwargs.setdefault("ContentType", "application/json")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=endpoint_name, Body=body, **kwargs)
    return caught.value


def test_unknown_endpoint_is_a_validation_error_naming_it(runtime: Any) -> None:
    error = error_of(runtime, "no-such-endpoint", json.dumps({"inputs": ["x"]}))

    assert isinstance(error, runtime.exceptions.ValidationError)
    assert error.response["Error"]["Code"] == "ValidationError"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"] == "Endpoint no-such-endpoint of account 123456789012 not found."


def test_text_over_512_tokens_without_truncation_is_a_model_error(runtime: Any, endpoint_name: str) -> None:
    error = error_of(runtime, endpoint_name, json.dumps({"inputs": ["word " * 600]}))

    assert isinstance(error, runtime.exceptions.ModelError)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error.response["OriginalStatusCode"] == 400
    original = json.loads(error.response["OriginalMessage"])
    assert original["code"] == 400 and original["type"] == "InternalServerException"
    assert "size of tensor a (602) must match the size of tensor b (512)" in original["message"]
    message = error.response["Error"]["Message"]
    assert message.startswith('Received client error (400) from primary with message "{\n  "code": 400,')
    assert "region=eu-west-1" in message  # the region the caller signed for
    assert f"/aws/sagemaker/Endpoints/{endpoint_name} in account 123456789012" in message
    assert error.response["LogStreamArn"].endswith(f"log-group:/aws/sagemaker/Endpoints/{endpoint_name}")


def test_the_same_text_with_truncation_succeeds(runtime: Any, endpoint_name: str) -> None:
    body = {"inputs": ["word " * 600], "parameters": {"truncation": True}}
    response = runtime.invoke_endpoint(
        EndpointName=endpoint_name, Body=json.dumps(body), ContentType="application/json"
    )
    assert len(json.loads(response["Body"].read())[0][0]) == 512


def test_malformed_json_is_the_containers_400(runtime: Any, endpoint_name: str) -> None:
    error = error_of(runtime, endpoint_name, b'{"inputs": ["unterminated')

    assert error.response["Error"]["Code"] == "ModelError"
    assert error.response["OriginalStatusCode"] == 400
    assert "Unterminated string" in json.loads(error.response["OriginalMessage"])["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=utf-8"])
def test_content_types_the_toolkit_does_not_decode_are_model_errors(
    runtime: Any, endpoint_name: str, content_type: str
) -> None:
    error = error_of(runtime, endpoint_name, json.dumps({"inputs": ["x"]}), ContentType=content_type)

    message = json.loads(error.response["OriginalMessage"])["message"]
    assert message.startswith(f"Content type {content_type} is not supported by this framework.")


def test_unsupported_accept_is_a_model_error(runtime: Any, endpoint_name: str) -> None:
    error = error_of(runtime, endpoint_name, json.dumps({"inputs": ["x"]}), Accept="application/xml")

    assert "Content type application/xml is not supported" in error.response["OriginalMessage"]


def test_characters_gson_escapes_are_escaped_in_the_quoted_container_message(runtime: Any, endpoint_name: str) -> None:
    error = error_of(runtime, endpoint_name, json.dumps({"inputs": ["x"], "parameters": {"truncation": "<x>"}}))

    assert error.response["Error"]["Code"] == "ModelError"
    assert "\\u003cx\\u003e is not a valid TruncationStrategy" in error.response["OriginalMessage"]
    assert "\\u003cx\\u003e is not a valid TruncationStrategy" in error.response["Error"]["Message"]


def test_payload_over_the_serverless_limit_is_rejected(runtime: Any, endpoint_name: str) -> None:
    body = json.dumps({"inputs": ["x" * 4_000_000]})
    error = error_of(runtime, endpoint_name, body)

    assert isinstance(error, runtime.exceptions.ValidationError)
    request_id = error.response["ResponseMetadata"]["RequestId"]
    assert error.response["Error"]["Message"] == f"Request {request_id} has oversize body."


def test_payload_limit_is_configurable_and_the_connection_survives(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(max_payload_bytes=100)) as server:
        runtime = runtime_client(server.url)
        error = error_of(runtime, "alex-embedding-endpoint", json.dumps({"inputs": ["y" * 200]}))
        assert error.response["Error"]["Code"] == "ValidationError"
        # The oversize body was drained, so the next request on the kept-alive connection is answered.
        ok = runtime.invoke_endpoint(
            EndpointName="alex-embedding-endpoint", Body=b'{"inputs":"ok"}', ContentType="application/json"
        )
        assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_async_invocation_is_refused_with_a_validation_error(runtime: Any, endpoint_name: str) -> None:
    with pytest.raises(runtime.exceptions.ValidationError) as caught:
        runtime.invoke_endpoint_async(EndpointName=endpoint_name, InputLocation="s3://bucket/input.json")

    message = caught.value.response["Error"]["Message"]
    assert f"Endpoint {endpoint_name} of account 123456789012 is not configured for asynchronous inference" in message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_response_streaming_is_refused_with_a_validation_error(runtime: Any, endpoint_name: str) -> None:
    with pytest.raises(runtime.exceptions.ValidationError) as caught:
        runtime.invoke_endpoint_with_response_stream(
            EndpointName=endpoint_name, Body=b'{"inputs": "x"}', ContentType="application/json"
        )

    assert "does not support response streaming" in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("operation", ["invoke_endpoint_async", "invoke_endpoint_with_response_stream"])
def test_an_unknown_endpoint_is_reported_first_by_every_operation(runtime: Any, operation: str) -> None:
    arguments = {"InputLocation": "s3://bucket/input.json"} if operation == "invoke_endpoint_async" else {"Body": b"{}"}
    with pytest.raises(runtime.exceptions.ValidationError) as caught:
        getattr(runtime, operation)(EndpointName="no-such-endpoint", **arguments)

    assert caught.value.response["Error"]["Message"] == "Endpoint no-such-endpoint of account 123456789012 not found."
