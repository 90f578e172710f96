"""Bad requests get the toolkit's 400 with a message naming the bad value and what is allowed; never a vector."""

from __future__ import annotations

import json

import pytest

from local_endpoint import codec
from local_endpoint.artifact import ArtifactContainer
from tests.model_artifact.artifact_support import JSON, error_message

TOO_MANY = json.dumps({"inputs": ["a"] * 257}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "expected"),
    [
        (b"vectorize me", JSON, None, ["not valid JSON", '{"inputs": "a text"}']),
        (b'["a", "b"]', JSON, None, ["JSON array, not an object"]),
        (b"{}", JSON, None, ['no "inputs"']),
        (b'{"text": "a"}', JSON, None, ["'text'", "inputs, parameters"]),
        (b'{"inputs": "a", "max_length": 256}', JSON, None, ["'max_length'", "tokenize_kwargs"]),
        (b'{"inputs": 42}', JSON, None, ["JSON number (42)", "string or list of strings"]),
        (b'{"inputs": {"text": "a"}}', JSON, None, ['JSON object ({"text": "a"})']),
        (b'{"inputs": ["a", null]}', JSON, None, ['"inputs"[1]', "null", "must be a string"]),
        (b'{"inputs": ["a", ["b"]]}', JSON, None, ['"inputs"[1]', 'JSON array (["b"])']),
        (b'{"inputs": []}', JSON, None, ["empty list", "at least one string"]),
        (TOO_MANY, JSON, None, ["257 texts", "at most 256"]),
        (b'{"inputs": "a"}', "text/csv", None, ["'text/csv'", "application/json"]),
        (b'{"inputs": "a"}', "application/x-npy", None, ["'application/x-npy'", "application/json"]),
        (b'{"inputs": "a"}', None, None, ["Content-Type None", "application/json"]),
        (b'{"inputs": "a"}', JSON, "text/csv", ["Accept 'text/csv'", "application/json"]),
        (b'{"inputs": "a", "parameters": [1]}', JSON, None, ['"parameters" is a JSON array']),
        (b'{"inputs": "a", "parameters": {"top_k": 3}}', JSON, None, ["'top_k'", "tokenize_kwargs"]),
        (b'{"inputs": "a", "parameters": {"tokenize_kwargs": 256}}', JSON, None, ['"tokenize_kwargs" is a JSON']),
        (
            b'{"inputs": "a", "parameters": {"tokenize_kwargs": {"padding": true}}}',
            JSON,
            None,
            ["'padding'", "truncation and max_length"],
        ),
        (
            b'{"inputs": "a", "parameters": {"tokenize_kwargs": {"truncation": false}}}',
            JSON,
            None,
            ["truncation false", "always truncated at 256"],
        ),
        (
            b'{"inputs": "a", "parameters": {"tokenize_kwargs": {"max_length": 512}}}',
            JSON,
            None,
            ["max_length 512", "from 2 to 256"],
        ),
        (
            b'{"inputs": "a", "parameters": {"tokenize_kwargs": {"max_length": "256"}}}',
            JSON,
            None,
            ['max_length "256"', "integer"],
        ),
        (
            b'{"inputs": "a", "parameters": {"tokenize_kwargs": {"max_length": 1}}}',
            JSON,
            None,
            ["max_length 1 ", "from 2 to 256"],
        ),
        (b'{"inputs": "\xff"}', "application/json; charset=utf-8", None, ["not UTF-8"]),
        (b'{"inputs": "\xff"}', JSON, None, ["can't decode byte 0xff"]),  # the handler's own decode, as deployed
    ],
)
def test_bad_request_is_a_400_naming_the_problem(
    artifact_container: ArtifactContainer, body: bytes, content_type: str | None, accept: str | None, expected: list
) -> None:
    response = artifact_container.invoke(body, content_type, accept)

    message = error_message(response)
    for fragment in expected:
        assert fragment in message
    assert response.body == codec.mms_error_body(400, message)  # the model server's error body, verbatim
