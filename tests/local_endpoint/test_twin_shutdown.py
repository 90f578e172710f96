"""Stopping the twin: the first stop is graceful but short for stalled uploads, a second signal is immediate.

The graceful part is the same whether `stop()` or a signal starts it, so it is tested in-process with a gated
container; what only a real process shows (exit statuses, the second signal while torch is mid-call, files left
behind) runs the CLI in a subprocess (tests/local_endpoint/twin_process.py).
"""

from __future__ import annotations

import json
import signal
import socket
import tarfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from local_endpoint import DEFAULT_ENDPOINT_NAME, ContainerResponse, TwinConfig, TwinServer, codec, serve_in_thread
from tests.local_endpoint.twin_process import (
    BUSY_IN_TORCH_UNTIL_RELEASED,
    WAITS_UNTIL_RELEASED,
    twin_env,
    twin_process,
    wait_for_file,
    write_artifact,
)
from tests.local_endpoint.twin_support import read_answer, runtime_client, start_stalled_upload

INVOKE_PATH = f"/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations"
WAIT_S = 10.0  # far beyond the grace configured here: reaching it means the twin waited for something else
GRACE = TwinConfig(shutdown_grace_seconds=0.3, body_timeout_seconds=60, max_concurrency=3)


class Gate:
    """A container whose calls wait until the gate opens; `arrived` is set by the first one."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.opened = threading.Event()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        self.arrived.set()
        self.opened.wait(WAIT_S)
        return ContainerResponse(200, b"[1.0]", codec.JSON)


def stop_and_wait_for_the_shutdown(server: TwinServer) -> None:
    """server.stop(), returning once the shutdown has begun: its first step is to stop accepting connections."""
    server.stop()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.01)
    raise AssertionError("the twin did not begin its shutdown")


@pytest.mark.parametrize("path", [INVOKE_PATH, "/invocations"], ids=["runtime", "container"])
def test_a_stop_cuts_a_stalled_upload_after_the_grace_while_a_model_call_finishes(path: str) -> None:
    gate = Gate()
    with serve_in_thread(gate, GRACE) as server:
        invocation: list[Any] = []
        caller = threading.Thread(
            target=lambda: invocation.append(
                runtime_client(server.url)
                .invoke_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME, Body=b"{}", ContentType="application/json")["Body"]
                .read()
            )
        )
        caller.start()
        assert gate.arrived.wait(WAIT_S)
        with start_stalled_upload(server.port, path) as stalled:
            stop_and_wait_for_the_shutdown(server)
            status, headers, body = read_answer(stalled)  # times out after WAIT_S if the twin waits for more
            assert not gate.opened.is_set()  # cut while the model call was still running, not after it

        gate.opened.set()
        caller.join(WAIT_S)

    assert status == 503 and headers["connection"] == "close"
    error = json.loads(body)
    if path == INVOKE_PATH:  # SageMaker Runtime's ServiceUnavailable, which botocore retries
        assert headers["x-amzn-errortype"] == "ServiceUnavailable"
        assert error["message"].startswith("The local twin is shutting down: this request's body was not complete")
    else:  # the model server's JSON error
        assert error["code"] == 503 and error["type"] == "ServiceUnavailableException"
        assert (
            error["message"]
            == "Model server is shutting down; request body not complete within the 0.3s shutdown grace"
        )
    assert invocation == [b"[1.0]"]  # the model call under way was answered


def test_an_upload_completed_within_the_grace_is_answered() -> None:
    gate = Gate()
    gate.opened.set()
    with (
        serve_in_thread(gate, replace(GRACE, shutdown_grace_seconds=5.0)) as server,
        start_stalled_upload(server.port, INVOKE_PATH) as upload,
    ):
        stop_and_wait_for_the_shutdown(server)
        upload.sendall(b'"inputs": "' + b"x" * 86 + b'"}')  # the other 99 of its 100 bytes
        status, _, body = read_answer(upload)
        closed = upload.recv(1) == b""  # the twin is stopping: no next request on this connection

    assert status == 200 and body == b"[1.0]"
    assert closed


# --- the second signal, in a real process ---------------------------------------------------------------------


def start_invocation(url: str, tmp_path: Path) -> tuple[threading.Thread, Path, list[BaseException]]:
    """An invocation the user module holds until `release` exists; its failure, if any, is recorded."""
    started, release = tmp_path / "started", tmp_path / "release"
    body = json.dumps({"started_file": str(started), "release_file": str(release)})
    failures: list[BaseException] = []

    def invoke() -> None:
        try:
            runtime_client(url).invoke_endpoint(
                EndpointName=DEFAULT_ENDPOINT_NAME, Body=body, ContentType="application/json"
            )
        except Exception as error:  # the twin is stopped under it
            failures.append(error)

    caller = threading.Thread(target=invoke)
    caller.start()
    wait_for_file(started, 30)
    return caller, release, failures


@pytest.mark.process
def test_a_second_ctrl_c_stops_at_once_while_torch_is_mid_call(tmp_path: Path) -> None:
    artifact = write_artifact(tmp_path / "artifact", BUSY_IN_TORCH_UNTIL_RELEASED)
    with twin_process("--model-artifact", str(artifact)) as twin:
        caller, release, failures = start_invocation(twin.url, tmp_path)
        twin.process.send_signal(signal.SIGINT)
        assert twin.wait_for("SIGINT: stopping; .* send Ctrl-C again to stop at once")
        twin.process.send_signal(signal.SIGINT)
        status = twin.process.wait(timeout=WAIT_S)  # the model call would go on for 60 s
        stderr = twin.rest_of_stderr()
        caller.join(WAIT_S)

    assert status == 130
    assert "second SIGINT: stopping at once, abandoning 1 model call(s) under way (exit status 130)" in stderr
    assert "terminate called" not in stderr and "Traceback" not in stderr
    assert not release.exists() and len(failures) == 1  # torch was mid-call, and the caller got no answer


@pytest.mark.process
def test_a_second_sigterm_stops_at_once_with_143_and_removes_the_unpacked_artifact(tmp_path: Path) -> None:
    folder = write_artifact(tmp_path / "artifact", WAITS_UNTIL_RELEASED)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "code", arcname="code")
    temp = tmp_path / "temp"
    temp.mkdir()

    with twin_process("--model-artifact", str(archive), env=twin_env(TMPDIR=str(temp))) as twin:
        assert [path.name.startswith("model-artifact-") for path in temp.iterdir()] == [True]
        caller, release, _ = start_invocation(twin.url, tmp_path)
        twin.process.send_signal(signal.SIGTERM)
        assert twin.wait_for("SIGTERM: stopping; .* send SIGTERM again to stop at once")
        twin.process.send_signal(signal.SIGTERM)
        status = twin.process.wait(timeout=WAIT_S)
        stderr = twin.rest_of_stderr()
        caller.join(WAIT_S)

    assert status == 143
    assert "second SIGTERM: stopping at once, abandoning 1 model call(s) under way (exit status 143)" in stderr
    assert list(temp.iterdir()) == []
    assert not release.exists()
