"""The container contract (GET /ping, POST /invocations): what SageMaker itself sends to the model container."""

from __future__ import annotations

import http.client
import json
from typing import Any

from local_endpoint import HuggingFaceContainer, TwinConfig, TwinServer, serve_in_thread
from local_endpoint.container import handle


def request(
    server: TwinServer, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_ping_is_healthy_once_loaded(twin: TwinServer) -> None:
    status, _, body = request(twin, "GET", "/ping")

    assert status == 200
    assert json.loads(body) == {"status": "Healthy"}


def test_invocations_answers_the_pipeline_output(twin: TwinServer, feature_extraction_pipeline: Any) -> None:
    payload = json.dumps({"inputs": "vectorize me"}).encode()
    status, headers, body = request(twin, "POST", "/invocations", payload, {"Content-Type": "application/json"})

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == feature_extraction_pipeline("vectorize me")
    assert b", " not in body  # the toolkit's compact separators


def test_invocations_reports_a_pipeline_failure_as_the_toolkits_400(twin: TwinServer) -> None:
    payload = json.dumps(["a bare list"]).encode()  # list.pop("inputs", data) raises TypeError in the toolkit
    status, _, body = request(twin, "POST", "/invocations", payload, {"Content-Type": "application/json"})

    assert status == 400
    assert body.startswith(b'{\n  "code": 400,\n  "type": "InternalServerException",\n  "message": ')
    assert json.loads(body)["message"] == "pop expected at most 1 argument, got 2"


def test_npy_accept_is_served_for_a_single_text(twin: TwinServer) -> None:
    payload = json.dumps({"inputs": "vectorize me"}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/x-npy"}
    status, response_headers, body = request(twin, "POST", "/invocations", payload, headers)

    assert status == 200
    assert response_headers["Content-Type"] == "application/x-npy"
    assert body.startswith(b"\x93NUMPY")


def test_npy_accept_is_refused_for_texts_of_different_token_counts_as_the_container_refuses_it(
    twin: TwinServer,
) -> None:
    """The toolkit np.save()s the token-level answer, which is ragged for texts of different lengths: numpy
    refuses it, and the handler answers 400 (serving_stack_tests check the real stack answers the same)."""
    payload = json.dumps({"inputs": ["short", "a somewhat longer text"]}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/x-npy"}
    status, _, body = request(twin, "POST", "/invocations", payload, headers)

    assert status == 400
    assert "inhomogeneous" in json.loads(body)["message"]


def test_csv_input_with_an_inputs_header_is_decoded(twin: TwinServer) -> None:
    payload = b"inputs\nfirst text\nsecond text\n"
    status, _, body = request(twin, "POST", "/invocations", payload, {"Content-Type": "text/csv"})

    assert status == 200
    assert len(json.loads(body)) == 2


def test_cold_start_makes_ping_and_invocations_unavailable(twin_container: HuggingFaceContainer) -> None:
    with serve_in_thread(twin_container, TwinConfig(cold_start_seconds=60)) as server:
        ping_status, _, _ = request(server, "GET", "/ping")
        status, _, body = request(
            server, "POST", "/invocations", b'{"inputs":"x"}', {"Content-Type": "application/json"}
        )

    assert ping_status == 503
    assert status == 503
    assert json.loads(body)["type"] == "ServiceUnavailableException"


def test_the_handler_gets_str_for_json_and_csv_and_the_model_servers_bytearray_for_any_other_body() -> None:
    """handler_service.handle decodes application/json and text/csv exactly; any other body stays what
    multi-model-server's worker read it into, a bytearray, which `isinstance(x, bytes)` does not match."""
    seen: list[tuple[type, str | None]] = []

    def transform(data: Any, content_type: str | None, accept: str) -> str:
        seen.append((type(data), content_type))
        return "ok"

    types = ["application/json", "text/csv", "application/jsonlines", "application/json; charset=utf-8", None]
    for content_type in types:
        assert handle(b'{"inputs": "a"}', content_type, None, transform).status == 200

    assert seen == [(str, types[0]), (str, types[1]), (bytearray, types[2]), (bytearray, types[3]), (bytearray, None)]
