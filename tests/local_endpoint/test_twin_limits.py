"""What one client can hold: deadlines for idle connections, headers and bodies, and a cap on open connections.

Every twin here has short timeouts (tenths of a second) and a container that answers at once, so no test waits
for a default; each waits with a socket timeout far longer than the deadline it checks, so a twin without the
deadline fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import parsers
from botocore.compat import HTTPHeaders

from local_endpoint import DEFAULT_ENDPOINT_NAME, ContainerResponse, TwinConfig, TwinServer, codec, serve_in_thread
from local_endpoint.server import FILE_HEADROOM, connection_limit
from tests.local_endpoint.twin_process import WAITS_UNTIL_RELEASED, twin_process, write_artifact
from tests.local_endpoint.twin_support import AnswersAtOnce, read_answer

INVOKE_PATH = f"/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations"
WAIT_S = 10.0  # far beyond every deadline configured here: reaching it means the twin held on
SHORT = TwinConfig(keep_alive_timeout_seconds=0.2, header_timeout_seconds=0.3, body_timeout_seconds=0.3)


@pytest.fixture
def short_twin() -> Iterator[TwinServer]:
    with serve_in_thread(AnswersAtOnce(), SHORT) as server:
        yield server


def connect(server: TwinServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)


def closed_by_twin(sock: socket.socket) -> bool:
    """True once the twin has closed the connection (EOF or reset), False if it is still open after WAIT_S."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def as_botocore_error(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What botocore makes of an InvokeEndpoint answer: the Error dict of the ClientError it raises."""
    operation = botocore.session.get_session().get_service_model("sagemaker-runtime").operation_model("InvokeEndpoint")
    response = {"status_code": status, "headers": HTTPHeaders.from_pairs(list(headers.items())), "body": body}
    parsed: dict[str, Any] = parsers.create_parser("rest-json").parse(response, operation.output_shape)
    return parsed["Error"]


def test_a_connection_that_never_sends_a_byte_is_closed_after_the_keep_alive_timeout(short_twin: TwinServer) -> None:
    with connect(short_twin) as sock:
        started = time.monotonic()
        assert closed_by_twin(sock)
        assert time.monotonic() - started < WAIT_S / 2


def test_headers_trickled_past_their_deadline_get_408_and_the_connection_closed(short_twin: TwinServer) -> None:
    """A slow-loris client: each byte comes before the idle timeout would fire, the headers never end."""
    with connect(short_twin) as sock:
        sock.sendall(f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: twin\r\n".encode())
        for _ in range(5):  # 0.5 s in all, past the 0.3 s deadline
            time.sleep(0.1)
            try:
                sock.sendall(b"X")
            except OSError:  # the twin has answered and closed: the deadline worked
                break
        status, headers, body = read_answer(sock)
        assert closed_by_twin(sock)

    assert status == 408
    error = as_botocore_error(status, headers, body)
    assert error["Code"] == "RequestTimeoutException"
    assert error["Message"] == (
        "Request headers not received within 0.3s (the local twin's header_timeout_seconds); the connection is closed."
    )


def send_headers_and_part_of_the_body(sock: socket.socket, path: str, length: int = 100) -> None:
    headers = f"POST {path} HTTP/1.1\r\nHost: twin\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    sock.sendall(headers.encode() + b'\r\n{"inputs": ')


def test_an_invocation_whose_body_stalls_gets_botocores_request_timeout(short_twin: TwinServer) -> None:
    with connect(short_twin) as sock:
        send_headers_and_part_of_the_body(sock, INVOKE_PATH)
        status, headers, body = read_answer(sock)
        assert closed_by_twin(sock)

    assert status == 408 and headers["connection"] == "close"
    error = as_botocore_error(status, headers, body)
    assert error["Code"] == "RequestTimeoutException"  # botocore's standard retry mode treats it as transient
    assert "Request body not received within 0.3s (the local twin's body_timeout_seconds)" in error["Message"]
    assert headers["x-amzn-requestid"]


def test_a_container_invocation_whose_body_stalls_gets_the_model_servers_408(short_twin: TwinServer) -> None:
    with connect(short_twin) as sock:
        send_headers_and_part_of_the_body(sock, "/invocations")
        status, headers, body = read_answer(sock)
        assert closed_by_twin(sock)

    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body) == {
        "code": 408,
        "type": "RequestTimeoutException",
        "message": "Request body not received within 0.3s",
    }


def test_a_body_still_trickling_in_after_the_answer_is_cut_at_its_deadline() -> None:
    """Over the payload limit, the answer goes out before the body is read and the rest is discarded, but not for
    ever: each byte comes before the idle timeout would fire, the body would take hours, and the body deadline
    closes the connection."""
    with serve_in_thread(AnswersAtOnce(), replace(SHORT, max_payload_bytes=5)) as server, connect(server) as sock:
        send_headers_and_part_of_the_body(sock, INVOKE_PATH, length=1_000_000)
        status, _, _ = read_answer(sock)
        sock.settimeout(0.1)
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < WAIT_S:
            try:
                sock.sendall(b" ")
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True

    assert status == 400  # the oversize answer, before the body was complete
    assert closed, "the twin kept reading a body it had already answered"


@pytest.fixture
def twin_of_three() -> Iterator[TwinServer]:
    """Room for three connections, and deadlines long enough not to interfere."""
    config = TwinConfig(max_connections=3, keep_alive_timeout_seconds=60, header_timeout_seconds=60)
    with serve_in_thread(AnswersAtOnce(), config) as server:
        yield server


def ping(sock: socket.socket) -> int:
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: twin\r\n\r\n")
    status, _, _ = read_answer(sock)
    return status


def test_when_full_the_longest_idle_connection_makes_room_for_a_new_caller(twin_of_three: TwinServer) -> None:
    idle = [connect(twin_of_three) for _ in range(3)]
    try:
        time.sleep(0.1)  # accepted in this order, so idle[0] has been idle longest
        with connect(twin_of_three) as caller:
            assert ping(caller) == 200

        assert closed_by_twin(idle[0])
        for sock in idle[1:]:  # the others are still open and usable
            assert ping(sock) == 200
    finally:
        for sock in idle:
            sock.close()


class Gate:
    """A container whose calls wait until the gate opens, counting the ones that arrived."""

    def __init__(self) -> None:
        self.arrived = threading.Semaphore(0)
        self.opened = threading.Event()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        self.arrived.release()
        self.opened.wait(WAIT_S)
        return ContainerResponse(200, b"[1.0]", codec.JSON)


def test_when_full_of_requests_under_way_a_new_caller_is_turned_away_at_once() -> None:
    """None of the three is idle (each waits for its answer), so none may be closed for the newcomer: it is closed
    at once, instead of waiting for a file descriptor, and the requests under way are answered."""
    gate = Gate()
    config = TwinConfig(max_connections=3, keep_alive_timeout_seconds=60, max_concurrency=3)
    with serve_in_thread(gate, config) as server:
        busy = [connect(server) for _ in range(3)]
        try:
            for sock in busy:
                sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: twin\r\nContent-Length: 2\r\n\r\n{}")
            for _ in busy:
                assert gate.arrived.acquire(timeout=WAIT_S)
            with connect(server) as caller:
                started = time.monotonic()
                assert closed_by_twin(caller)
                assert time.monotonic() - started < WAIT_S / 2
            gate.opened.set()
            assert [read_answer(sock)[0] for sock in busy] == [200, 200, 200]
        finally:
            gate.opened.set()
            for sock in busy:
                sock.close()


FEW_FILES = 128


def allow_few_files() -> None:
    """In the twin's process, before it starts: the open-file limit of a small container or an old macOS shell."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FEW_FILES, FEW_FILES))


@pytest.mark.process
def test_with_few_files_a_flood_of_silent_connections_does_not_shut_out_a_caller(tmp_path: Path) -> None:
    """More silent connections than the twin may open files: the twin never runs out (accept() would fail and
    every caller wait in the listen queue), and a caller after the flood is answered at once."""
    artifact = write_artifact(tmp_path / "artifact", WAITS_UNTIL_RELEASED)
    with twin_process(
        "--model-artifact", str(artifact), "--keep-alive-timeout-seconds", "60", preexec_fn=allow_few_files
    ) as twin:
        cap = re.search(r"connections: at most (\d+)", twin.startup_log)
        assert cap and int(cap.group(1)) < FEW_FILES
        flood = [socket.create_connection(("127.0.0.1", twin.port), timeout=WAIT_S) for _ in range(2 * FEW_FILES)]
        try:
            with socket.create_connection(("127.0.0.1", twin.port), timeout=WAIT_S) as caller:
                assert ping(caller) == 200
        finally:
            for sock in flood:
                sock.close()
        twin.process.send_signal(signal.SIGTERM)
        assert twin.process.wait(timeout=WAIT_S) == 0
        log = twin.rest_of_stderr()

    # accept() never failed with EMFILE: asyncio would have logged it and stopped accepting for a second
    assert "out of system resource" not in log


def test_the_connection_cap_fits_under_the_open_file_limit() -> None:
    assert connection_limit(512, file_limit=20_000, open_files=200) == 512
    assert connection_limit(512, file_limit=256, open_files=100) == 256 - 100 - FILE_HEADROOM
    assert connection_limit(512, file_limit=100, open_files=90) == 1


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("keep_alive_timeout_seconds", 0, "> 0"),
        ("header_timeout_seconds", float("inf"), "> 0"),
        ("body_timeout_seconds", -1.0, "> 0"),
        ("body_timeout_seconds", "30", "> 0"),
        ("shutdown_grace_seconds", float("nan"), ">= 0"),
        ("max_connections", 0, ">= 1"),
        ("max_connections", 2.5, ">= 1"),
    ],
)
def test_a_bad_limit_is_refused_naming_it(field: str, value: Any, allowed: str) -> None:
    with pytest.raises(ValueError) as refused:
        TwinConfig(**{field: value})

    assert f"{field} must be" in str(refused.value) and allowed in str(refused.value)
    assert f"got {value!r}" in str(refused.value)
