"""Unchanged boto3 code against the twin: same model output, same JSON shape as the container."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local_endpoint import TwinServer

TEXTS = ["vectorize me", "", "Größe, naïve café — 東京の天気は晴れ", "a somewhat longer sentence " * 20]


def invoke(runtime: Any, endpoint_name: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
    return runtime.invoke_endpoint(
        EndpointName=endpoint_name, Body=json.dumps(payload), ContentType="application/json", **kwargs
    )


def test_list_input_gives_the_pipelines_token_level_output(
    runtime: Any, endpoint_name: str, feature_extraction_pipeline: Any
) -> None:
    response = invoke(runtime, endpoint_name, {"inputs": TEXTS})
    body = json.loads(response["Body"].read())

    assert len(body) == len(TEXTS)
    for text, item in zip(TEXTS, body, strict=True):
        assert len(item) == 1 and all(len(token) == 384 for token in item[0])
        assert item == feature_extraction_pipeline(text)


def test_response_metadata_is_what_sagemaker_returns(runtime: Any, endpoint_name: str) -> None:
    response = invoke(runtime, endpoint_name, {"inputs": ["vectorize me"]})

    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ResponseMetadata"]["RequestId"]
    assert response["Body"].read().startswith(b"[[[[")


def test_single_string_input_keeps_the_pipelines_batch_axis(
    runtime: Any, endpoint_name: str, feature_extraction_pipeline: Any
) -> None:
    body = json.loads(invoke(runtime, endpoint_name, {"inputs": "vectorize me"})["Body"].read())

    assert body == feature_extraction_pipeline("vectorize me")
    assert len(body) == 1 and len(body[0]) == 5 and len(body[0][0]) == 384


def test_parameters_reach_the_pipeline(runtime: Any, endpoint_name: str) -> None:
    payload = {"inputs": ["word " * 300], "parameters": {"tokenize_kwargs": {"truncation": True, "max_length": 256}}}
    body = json.loads(invoke(runtime, endpoint_name, payload)["Body"].read())

    assert len(body[0][0]) == 256


def test_body_without_inputs_key_is_passed_whole_like_the_toolkit(runtime: Any, endpoint_name: str) -> None:
    # handler_service.predict: `inputs = data.pop("inputs", data)`; a dict is then handed to the pipeline.
    with pytest.raises(runtime.exceptions.ModelError):
        invoke(runtime, endpoint_name, {"text": "no inputs key"})


def test_unchanged_code_finds_the_twin_through_the_environment(
    environment_pointing_at_twin: TwinServer, endpoint_name: str
) -> None:
    runtime = boto3.client("sagemaker-runtime")  # what callers write; no endpoint_url
    body = json.loads(invoke(runtime, endpoint_name, {"inputs": ["vectorize me"]})["Body"].read())

    assert runtime.meta.endpoint_url == environment_pointing_at_twin.url
    assert len(body[0][0][0]) == 384
