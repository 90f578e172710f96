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
from local_endpoint.server import MAX_HEAD_BYTES, bind_socket
from tests.local_endpoint.twin_support import AnswersAtOnce

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


# --- the front door's refusals: AWS-shaped, before any route ----------------------------------------------------


@pytest.fixture
def modelless_twin() -> Iterator[TwinServer]:
    """Refusals happen before the container is asked, so none of these tests needs the model."""
    with serve_in_thread(AnswersAtOnce(), TwinConfig()) as server:
        yield server


def send_raw(server: TwinServer, request: bytes) -> tuple[http.client.HTTPResponse, bytes, bytes]:
    """Send bytes as they are; the twin's first answer (its body read), then whatever else it sent before closing."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    return response, body, rest


def assert_refused_as_aws_would(response: http.client.HTTPResponse, body: bytes, rest: bytes, *words: str) -> str:
    """400 Bad Request with SageMaker's error form and a request id, the connection closed after it."""
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert (response.status, response.reason) == (400, "Bad Request")
    assert headers["x-amzn-requestid"]
    assert headers["connection"] == "close"
    assert_sagemaker_validation_error(headers, body, *words)
    assert rest == b"", "the twin answered more on a connection it refused"
    return str(json.loads(body)["message"])


@pytest.mark.parametrize("order", ["Content-Length first", "Transfer-Encoding first"])
def test_content_length_with_transfer_encoding_is_refused_and_the_smuggled_request_never_answered(
    modelless_twin: TwinServer, order: str
) -> None:
    """A front end reading Content-Length sees one request; h11 alone read the chunked body and then answered the
    request hidden after it. AWS's desync rules (BothTeClPresent) refuse the first with 400 and close."""
    framing = [b"Content-Length: 4\r\n", b"Transfer-Encoding: chunked\r\n"]
    if order != "Content-Length first":
        framing.reverse()
    request = (
        f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: twin\r\nContent-Type: application/json\r\n".encode()
        + b"".join(framing)
        + b"\r\n0\r\n\r\nGET /ping HTTP/1.1\r\nHost: twin\r\n\r\n"
    )

    response, body, rest = send_raw(modelless_twin, request)

    assert_refused_as_aws_would(response, body, rest, "Content-Length and Transfer-Encoding")


@pytest.mark.parametrize(
    ("request_bytes", "quoted"),
    [
        (b"HELLO WORLD\r\n\r\n", 'illegal request line "HELLO WORLD"'),
        (b"GET /ping HTTP/1.1\r\nHost: twin\r\nno colon here\r\n\r\n", 'illegal header line "no colon here"'),
        (
            f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: twin\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode(),
            'illegal chunk header "zz"',
        ),
    ],
    ids=["request line", "header line", "chunk header"],
)
def test_a_request_the_parser_refuses_gets_an_aws_shaped_error_quoting_what_was_sent(
    modelless_twin: TwinServer, request_bytes: bytes, quoted: str
) -> None:
    response, body, rest = send_raw(modelless_twin, request_bytes)

    message = assert_refused_as_aws_would(response, body, rest, quoted)
    assert "bytearray" not in message and "b'" not in message


def request_with_head_of(size: int) -> bytes:
    """A ping whose request line and headers, line ends included, are exactly `size` bytes."""
    start, end = b"GET /ping HTTP/1.1\r\nHost: twin\r\nX-Padding: ", b"\r\n\r\n"
    return start + b"p" * (size - len(start) - len(end)) + end


def test_a_head_of_16_kb_is_served(modelless_twin: TwinServer) -> None:
    response, body, _ = send_raw(modelless_twin, request_with_head_of(MAX_HEAD_BYTES))

    assert MAX_HEAD_BYTES == 16 * 1024  # docs/local-twin.md's "headers of at most 16 kB"
    assert response.status == 200 and json.loads(body) == {"status": "Healthy"}


@pytest.mark.parametrize("size", [MAX_HEAD_BYTES + 1, 20_000, 70_000])
def test_a_head_over_16_kb_is_refused_however_it_arrives(modelless_twin: TwinServer, size: int) -> None:
    """All at once (h11 alone read it: its bound is on a head still incomplete) or in pieces (h11's own bound)."""
    response, body, rest = send_raw(modelless_twin, request_with_head_of(size))

    assert_refused_as_aws_would(response, body, rest, f"over the {MAX_HEAD_BYTES}-byte limit")


def test_an_unknown_endpoint_with_an_oversized_body_is_reported_as_unknown() -> None:
    """docs/local-twin.md: an unknown endpoint name is reported first, whatever the request."""
    with serve_in_thread(AnswersAtOnce(), TwinConfig(max_payload_bytes=5)) as server:
        connection = connect(server)
        connection.request("POST", "/endpoints/no-such-endpoint/invocations", body=b'{"inputs": "too long"}')
        status, headers, payload = answer(connection)
        connection.request("GET", "/ping")  # the unread body was drained: the connection is still usable
        ping_status, _, _ = answer(connection)

    assert status == 400
    assert_sagemaker_validation_error(headers, payload, "Endpoint no-such-endpoint of account 123456789012 not found.")
    assert "oversize" not in payload.decode()
    assert ping_status == 200
