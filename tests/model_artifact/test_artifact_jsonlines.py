"""application/jsonlines, as SageMaker Batch Transform sends it (MultiRecord, Line split): one record per line in,
one vector per line out, in order, the same digits as the JSON mode; a bad line fails the request by its number."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

from local_endpoint import codec
from local_endpoint.artifact import ArtifactContainer
from tests.model_artifact.artifact_support import EDGE_TEXTS, JSON, MIXED_TEXTS, cosine, error_message, invoke_json

JSONLINES = "application/jsonlines"
DIMENSIONS = 384


def jsonlines(records: list[Any], end: str = "\n") -> bytes:
    return (end.join(json.dumps(record, ensure_ascii=False) for record in records) + end).encode("utf-8")


def records_of(texts: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"doc-{index}", "inputs": text} for index, text in enumerate(texts)]


def answer_lines(container: ArtifactContainer, body: bytes, accept: str | None = JSONLINES) -> list[bytes]:
    response = container.invoke(body, JSONLINES, accept)
    assert response.status == 200, response.body[:500]
    assert not response.body.endswith(b"\n")  # Batch Transform's AssembleWith=Line adds the newline
    return response.body.split(b"\n")


def json_mode_lines(container: ArtifactContainer, texts: list[str]) -> list[bytes]:
    """Each text's vector as the JSON mode writes it: the same bytes a jsonlines answer line must have."""
    result = invoke_json(container, {"inputs": texts})
    return [json.dumps(item[0][0], separators=(",", ":")).encode() for item in result]


def test_each_line_answers_its_vector_in_order_with_the_json_modes_digits(
    artifact_container: ArtifactContainer, sentence_transformer: Any
) -> None:
    response = artifact_container.invoke(jsonlines(records_of(MIXED_TEXTS)), JSONLINES, JSONLINES)

    assert (response.status, response.content_type) == (200, JSONLINES)
    lines = response.body.split(b"\n")
    assert lines == json_mode_lines(artifact_container, MIXED_TEXTS)
    expected = sentence_transformer.encode(MIXED_TEXTS, normalize_embeddings=True).tolist()
    for text, line, reference in zip(MIXED_TEXTS, lines, expected, strict=True):
        vector = json.loads(line)
        assert len(vector) == DIMENSIONS and all(isinstance(value, float) for value in vector)
        assert cosine(vector, reference) >= 0.9999, text[:40]


def test_line_ends_other_keys_and_accept_variants_do_not_change_the_answer(
    artifact_container: ArtifactContainer,
) -> None:
    texts = ["alpha", EDGE_TEXTS["cjk"], "with\u2028a line separator inside the string", ""]
    plain = answer_lines(artifact_container, jsonlines([{"inputs": text} for text in texts]))
    variants = {
        "crlf": jsonlines(records_of(texts), end="\r\n"),
        "no final newline": jsonlines(records_of(texts))[:-1],
        "other keys": jsonlines([{"id": 7, "inputs": t, "parameters": {"x": 1}, "z": None} for t in texts]),
    }

    assert len(plain) == len(texts)
    for name, body in variants.items():
        assert answer_lines(artifact_container, body) == plain, name
    for accept in (None, "*/*", JSON, "application/jsonlines; charset=utf-8"):
        assert answer_lines(artifact_container, variants["crlf"], accept) == plain, accept


def test_a_missing_or_any_accept_answers_jsonlines_labelled_as_the_toolkit_labels_it(
    artifact_container: ArtifactContainer,
) -> None:
    """The toolkit turns a missing or */* Accept into application/json before output_fn, and labels the answer
    with it: the body is the same jsonlines."""
    body = jsonlines(records_of(["one", "two"]))

    for accept in (None, "*/*"):
        response = artifact_container.invoke(body, JSONLINES, accept)
        assert (response.status, response.content_type) == (200, JSON)
        assert response.body == artifact_container.invoke(body, JSONLINES, JSONLINES).body


def test_more_lines_than_a_json_request_may_hold_are_embedded_in_chunks_in_order(
    artifact_container: ArtifactContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is embedded as the JSON mode embeds a list of the same texts, so the digits match chunk by chunk
    (a vector's last digits depend on which texts share its sub-batch, in either mode)."""
    texts = [f"record {index} " + "word " * (index % 17) for index in range(300)]  # over MAX_TEXTS (256)
    assert len(texts) > artifact_container.module.MAX_TEXTS
    chunk = 64
    monkeypatch.setattr(artifact_container.module, "LINES_CHUNK", chunk)  # 5 chunks, the last one short

    lines = answer_lines(artifact_container, jsonlines(records_of(texts)))

    expected = [
        line
        for start in range(0, len(texts), chunk)
        for line in json_mode_lines(artifact_container, texts[start:][:chunk])
    ]
    assert lines == expected


def test_the_handler_reads_the_bytearray_the_model_server_hands_it(artifact_container: ArtifactContainer) -> None:
    """multi-model-server's worker reads a body it does not decode into a bytearray, which is not bytes."""
    module = artifact_container.module
    body = jsonlines([{"id": 1, "inputs": "é"}, {"inputs": "b"}], end="\r\n")

    assert module.input_fn(bytearray(body), JSONLINES) == module.LinesRequest(["é", "b"])
    assert module.input_fn(body, JSONLINES) == module.input_fn(body.decode(), JSONLINES)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"inputs": "a"}\n\n{"inputs": "b"}\n', ["line 2 is blank", '{"inputs": "a text"}']),
        (b'{"inputs": "a"}\n \t\r\n', ["line 2 is blank"]),
        (b'{"inputs": "a"}\n\n', ["line 2 is blank"]),  # one newline after the last record, not two
        (b'{"inputs": "a"}\n{"inputs": "b"}\n{"inputs": "c",}\n', ["line 3 is not valid JSON", '{"inputs": "c",}']),
        (b'{"inputs": "a"}\nvectorize me\n', ["line 2 is not valid JSON", "column 1", "vectorize me"]),
        (b'{"inputs": "a"}\n{"inputs": "b"} {"inputs": "c"}\n', ["line 2 is not valid JSON", "Extra data"]),
        (b'["a", "b"]\n', ["line 1 is a JSON array", "not an object"]),
        (b'"a"\n', ['line 1 is a JSON string ("a")']),
        (b'{"inputs": "a"}\n{"text": "b", "id": 2}\n', ['line 2 has no "inputs"', '{"text": "b", "id": 2}']),
        (b'{"inputs": 42}\n', ['line 1: "inputs" is a JSON number (42)', "one string per line"]),
        (b'{"inputs": "a"}\n{"inputs": null}\n', ['line 2: "inputs" is a JSON null']),
        (b'{"inputs": ["a", "b"]}\n', ['line 1: "inputs" is a JSON array (["a", "b"])', "one string per line"]),
        (b'{"inputs": "a"}\n{"inputs": "\xff"}\n', ["line 2 is not UTF-8", "invalid start byte"]),
        (b"", ["no lines"]),
        (b"\n", ["line 1 is blank"]),
    ],
    ids=[
        "blank-line",
        "whitespace-line",
        "two-final-newlines",
        "trailing-comma",
        "plain-text",
        "two-records-on-a-line",
        "array",
        "string",
        "no-inputs",
        "number",
        "null",
        "list",
        "not-utf8",
        "empty-body",
        "only-a-newline",
    ],
)
def test_a_bad_line_fails_the_request_naming_its_line_number(
    artifact_container: ArtifactContainer, body: bytes, expected: list[str]
) -> None:
    response = artifact_container.invoke(body, JSONLINES, JSONLINES)

    message = error_message(response)
    for fragment in expected:
        assert fragment in message
    assert response.body == codec.mms_error_body(400, message)


@pytest.mark.parametrize(
    ("content_type", "accept", "expected"),
    [
        (JSONLINES, "text/csv", ["Accept 'text/csv'", "application/jsonlines"]),
        (JSON, JSONLINES, ["Accept 'application/jsonlines'", "answers application/json"]),
        ("application/x-ndjson", None, ["'application/x-ndjson'", "application/json", "application/jsonlines"]),
    ],
)
def test_a_type_the_handler_does_not_speak_is_refused(
    artifact_container: ArtifactContainer, content_type: str, accept: str | None, expected: list[str]
) -> None:
    body = jsonlines([{"inputs": "a"}]) if content_type != JSON else b'{"inputs": "a"}'

    message = error_message(artifact_container.invoke(body, content_type, accept))

    for fragment in expected:
        assert fragment in message


def test_in_a_model_server_worker_an_answer_over_its_response_limit_is_a_400_with_the_reason(
    artifact_container: ArtifactContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """multi-model-server would kill the worker for it ("Worker died.", 500); the handler says why instead."""
    body = jsonlines(records_of(["one", "two", "three"]))
    line_bytes = len(answer_lines(artifact_container, body)[0])
    monkeypatch.setitem(sys.modules, "mms", types.ModuleType("mms"))  # what makes a process a model-server worker
    monkeypatch.setenv("MMS_MAX_RESPONSE_SIZE", str(2 * line_bytes))

    message = error_message(artifact_container.invoke(body, JSONLINES, JSONLINES))

    assert "these 3 lines" in message and f"limit of {2 * line_bytes} bytes (MMS_MAX_RESPONSE_SIZE)" in message
    assert "MaxPayloadInMB" in message
    monkeypatch.setenv("MMS_MAX_RESPONSE_SIZE", str(10 * line_bytes))
    assert len(answer_lines(artifact_container, body)) == 3


def test_the_response_limit_is_the_model_servers_and_applies_only_in_its_workers(
    artifact_container: ArtifactContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = artifact_container.module

    assert module.max_response_bytes({}) is None  # the twin, a test: no model server, no limit
    monkeypatch.setitem(sys.modules, "mms", types.ModuleType("mms"))
    assert module.max_response_bytes({}) == 6_553_500  # ConfigManager.getMaxResponseSize's default
    assert module.max_response_bytes({"MMS_MAX_RESPONSE_SIZE": "268435456"}) == 268_435_456
