"""The toolkit behaviours mirrored in local_endpoint.codec, checked without a model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from local_endpoint import ContainerResponse, codec, runtime_api


def test_encode_json_is_compact_keeps_unicode_and_converts_numpy() -> None:
    content = [{"label": "café", "score": np.float32(0.5), "count": np.int64(3), "values": np.array([1, 2])}]

    assert codec.encode_json(content) == '[{"label":"café","score":0.5,"count":3,"values":[1,2]}]'


def test_encode_json_refuses_nan_like_the_toolkit() -> None:
    with pytest.raises(ValueError):
        codec.encode_json([float("nan")])


def test_decode_requires_the_exact_content_type() -> None:
    assert codec.decode('{"inputs": "x"}', "application/json") == {"inputs": "x"}
    with pytest.raises(codec.UnsupportedFormatError, match="Content type application/octet-stream is not"):
        codec.decode(b"x", "application/octet-stream")


def test_csv_without_a_known_header_is_refused() -> None:
    with pytest.raises(codec.PredictionError, match="correct CSV with Header columns"):
        codec.decode("text\nhello\n", "text/csv")


def test_mms_error_body_is_gson_pretty_printed_and_html_escaped() -> None:
    body = codec.mms_error_body(400, "'x' <y> & z=1")

    assert body == (
        b'{\n  "code": 400,\n  "type": "InternalServerException",\n'
        b'  "message": "\\u0027x\\u0027 \\u003cy\\u003e \\u0026 z\\u003d1"\n}\n'
    )
    assert json.loads(body)["message"] == "'x' <y> & z=1"


def test_model_error_wraps_a_5xx_as_a_server_error() -> None:
    response = ContainerResponse(503, codec.mms_error_body(503, "busy", "ServiceUnavailableException"), codec.JSON)
    error = runtime_api.model_error(response, endpoint_name="ep", region="eu-west-1", account_id="111122223333")

    assert error.status == 424 and error.code == "ModelError"
    assert error.message.startswith("Received server error (503) from primary")
    assert error.fields["OriginalStatusCode"] == 503


@pytest.mark.parametrize(
    ("authorization", "region"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=local/20250101/ap-south-2/sagemaker/aws4_request, SignedHeaders=host",
            "ap-south-2",
        ),
        (None, "us-east-1"),
        ("Bearer token", "us-east-1"),
    ],
)
def test_caller_region_comes_from_the_signature(authorization: str | None, region: str) -> None:
    assert runtime_api.caller_region(authorization, "us-east-1") == region
