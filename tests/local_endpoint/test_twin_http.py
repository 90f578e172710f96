"""HTTP as callers and the network really use it: bursts of connections, chunked bodies, kept-alive connections,
requests the parser must refuse, methods and routes the twin does not serve, idle and stalled connections.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local_endpoint import DEFAULT_ENDPOINT_NAME, HuggingFaceContainer, TwinConfig, TwinServer, serve_in_thread
from local_endpoint.server import bind_socket

INVOKE_PATH = f"/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations"
BURSTS = 3
CONNECTIONS_PER_BURST = 64
STALLED_CONNECTIONS = 200


def connect(server: TwinServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def answer(connection: http.client.HTTPConnection) -> tuple[int, dict[str, str], bytes]:
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def assert_sagemaker_validation_error(headers: dict[str, str], body: bytes, *words: str) -> None:
    """SageMaker's error form, as botocore's rest-json parser reads it: code in the header, message in the body."""
    assert headers["x-amzn-errortype"] == "ValidationError"
    assert headers["content-type"] == "application/json"
    message = json.loads(body)["message"]
    for word in words:
        assert word in message


def ping_on_a_fresh_connection(port: int, start: threading.Barrier, results: list[str]) -> None:
    """Connect when every thread of the burst is ready, and record the status line or the error."""
    start.wait(timeout=30)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: twin\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        results.append(reply.split(b"\r\n", 1)[0].decode())
    except OSError as error:
        results.append(type(error).__name__)


def test_connections_accepted_on_the_twins_socket_send_small_answers_at_once() -> None:
    """Nagle's algorithm is off on every accepted connection (TCP_NODELAY), as asyncio sets it for TCP sockets.

    With it on, an answer under one loopback segment (server pooling's 8 kB per text) waited ~40 ms for the
    caller's delayed ACK after the headers: four times the model's own time for one text.
    """
    accepted: list[int] = []

    async def accept_one() -> None:
        got_connection = asyncio.Event()

        class Record(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                connection = transport.get_extra_info("socket")
                accepted.append(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                got_connection.set()

        server = await asyncio.get_running_loop().create_server(Record, sock=bind_socket("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.wait_for(got_connection.wait(), timeout=10)
            writer.close()

    asyncio.run(accept_one())

    assert accepted and accepted[0] != 0


def test_bursts_of_64_simultaneous_connections_are_all_answered(twin: TwinServer) -> None:
    outcomes: list[str] = []
    for _ in range(BURSTS):
        start = threading.Barrier(CONNECTIONS_PER_BURST)
        results: list[str] = []
        threads = [
            threading.Thread(target=ping_on_a_fresh_connection, args=(twin.port, start, results))
            for _ in range(CONNECTIONS_PER_BURST)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        outcomes += results

    failures = [outcome for outcome in outcomes if outcome != "HTTP/1.1 200 OK"]
    assert len(outcomes) == BURSTS * CONNECTIONS_PER_BURST
    assert failures == []


def test_a_chunked_request_body_is_read(twin: TwinServer, feature_extraction_pipeline: Any) -> None:
    connection = connect(twin)
    body = iter([b'{"inputs": ', b'"vectorize me"}'])
    connection.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
    status, _, payload = answer(connection)

    assert status == 200
    assert json.loads(payload) == feature_extraction_pipeline("vectorize me")


def test_ping_reads_its_body_so_the_next_request_on_the_connection_is_understood(twin: TwinServer) -> None:
    connection = connect(twin)
    connection.request("GET", "/ping", body=b'{"not": "expected"}')
    first = answer(connection)
    connection.request("GET", "/ping")
    second = answer(connection)

    assert first[0] == second[0] == 200
    assert json.loads(second[2]) == {"status": "Healthy"}


def send_with_content_lengths(server: TwinServer, body: bytes, *lengths: str) -> tuple[int, dict[str, str], bytes]:
    connection = connect(server)
    connection.putrequest("POST", INVOKE_PATH)
    connection.putheader("Content-Type", "application/json")
    for length in lengths:
        connection.putheader("Content-Length", length)
    connection.endheaders(body)
    return answer(connection)


def test_conflicting_content_lengths_are_rejected(twin: TwinServer) -> None:
    body = b'{"inputs": "ok"}'
    status, headers, payload = send_with_content_lengths(twin, body, str(len(body)), str(len(body) + 1))

    assert status == 400
    assert_sagemaker_validation_error(headers, payload, "conflicting Content-Length")


@pytest.mark.parametrize("length", ["abc", "-1", "1.5"])
def test_a_malformed_content_length_is_reported_as_such(twin: TwinServer, length: str) -> None:
    status, headers, payload = send_with_content_lengths(twin, b'{"inputs": "ok"}', length)

    assert status == 400
    assert_sagemaker_validation_error(headers, payload, "bad Content-Length")
    assert "oversize" not in payload.decode()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", [INVOKE_PATH, "/ping", "/invocations"])
def test_other_methods_get_a_validation_error_naming_the_allowed_one(twin: TwinServer, method: str, path: str) -> None:
    connection = connect(twin)
    connection.request(method, path, body=b"{}")
    status, headers, payload = answer(connection)

    assert status == 400
    assert_sagemaker_validation_error(headers, payload, method, "GET" if path == "/ping" else "POST")


def test_head_gets_the_error_header_without_a_body(twin: TwinServer) -> None:
    connection = connect(twin)
    connection.request("HEAD", INVOKE_PATH)
    status, headers, payload = answer(connection)

    assert status == 400
    assert headers["x-amzn-errortype"] == "ValidationError"
    assert payload == b""


@pytest.mark.parametrize(("method", "path"), [("GET", "/endpoints"), ("POST", "/endpoints/x/other"), ("GET", "/")])
def test_unknown_routes_get_a_validation_error(twin: TwinServer, method: str, path: str) -> None:
    connection = connect(twin)
    connection.request(method, path)
    status, headers, payload = answer(connection)

    assert status == 400
    assert_sagemaker_validation_error(headers, payload, "No operation matches", path)


def test_a_query_string_does_not_change_the_route(twin: TwinServer) -> None:
    connection = connect(twin)
    connection.request("GET", "/ping?x=1")
    status, _, payload = answer(connection)

    assert status == 200
    assert json.loads(payload) == {"status": "Healthy"}


@pytest.fixture
def quickly_idle_twin(twin_container: HuggingFaceContainer) -> Iterator[TwinServer]:
    with serve_in_thread(twin_container, TwinConfig(keep_alive_timeout_seconds=0.2)) as server:
        yield server


def test_an_idle_kept_alive_connection_is_closed_by_the_twin(quickly_idle_twin: TwinServer) -> None:
    connection = connect(quickly_idle_twin)
    connection.request("GET", "/ping")
    status, headers, _ = answer(connection)
    assert status == 200 and headers.get("connection") != "close"

    # Nothing more is sent: the twin closes the connection after its keep-alive timeout (recv returns b"").
    assert connection.sock is not None
    assert connection.sock.recv(65536) == b""


def test_stalled_connections_hold_no_threads_and_block_no_one(twin: TwinServer) -> None:
    threads_before = threading.active_count()
    stalled = [socket.create_connection(("127.0.0.1", twin.port), timeout=30) for _ in range(STALLED_CONNECTIONS)]
    try:
        for sock in stalled:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: twin\r\nContent-Length: 100\r\n\r\n{")
        connection = connect(twin)
        connection.request("GET", "/ping")
        status, _, _ = answer(connection)
        threads_during = threading.active_count()
    finally:
        for sock in stalled:
            sock.close()

    assert status == 200
    assert threads_during - threads_before < 5
