"""Each invocation attempt has a wall-clock deadline that an endpoint trickling its answer cannot extend.

Against a real socket on loopback: the read timeout botocore applies restarts with every byte, so only a server
that really sends one byte at a time shows the difference. The server stops trickling after 20 s and sends the
rest, so without a deadline a call would end too, but later, with an answer; the tests tell the two apart by the
error and by whether the client hung up before the trickle ended.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from typing import Any

import pytest

from embeddings import EmbeddingClient, InvalidSettingError, InvocationTimeoutError, TransientEndpointError
from embeddings.__main__ import main
from embeddings.client import DEFAULT_INVOCATION_TIMEOUT_S, READ_TIMEOUT_S, make_runtime_client
from embeddings.deadline import watchdog_running
from tests.embeddings.embeddings_fakes import ENDPOINT, dummy_session
from tests.embeddings.loopback_servers import TrickleServer, trickle_server

DEADLINE_S = 0.5


@pytest.fixture
def runtime_for(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(server: TrickleServer) -> Any:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        return make_runtime_client(session=dummy_session())

    return make


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the descriptor listdir itself used
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def _wait_for(condition: Any, limit_s: float = 10.0) -> bool:
    ends = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > ends:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("trickle", ["headers", "body"])
def test_a_trickling_answer_ends_at_the_deadline_naming_the_endpoint_and_url(runtime_for: Any, trickle: str) -> None:
    with trickle_server(trickle=trickle) as server:
        client = EmbeddingClient(
            ENDPOINT, runtime_client=runtime_for(server), max_wait_s=0, invocation_timeout_s=DEADLINE_S
        )
        with pytest.raises(InvocationTimeoutError) as caught:
            client.embed(["vectorize me"])

        assert _wait_for(lambda: len(server.disconnected_early) == 1)
        assert server.disconnected_early == [True]  # the client hung up; the trickle did not run out

    error = caught.value
    url = f"{server.url}/endpoints/{ENDPOINT}/invocations"
    assert isinstance(error, TransientEndpointError)
    assert (error.url, error.timeout_s, error.attempts, error.endpoint_name) == (url, DEADLINE_S, 1, ENDPOINT)
    message = str(error)
    assert f"endpoint {ENDPOINT!r}" in message and url in message and "0.5s invocation deadline" in message
    assert '"None"' not in message


@pytest.mark.parametrize("trickle", ["headers", "body"])
def test_nothing_is_left_behind_after_a_deadline(runtime_for: Any, trickle: str) -> None:
    with trickle_server(trickle=trickle) as server:
        runtime = runtime_for(server)
        before = _open_sockets()
        client = EmbeddingClient(ENDPOINT, runtime_client=runtime, max_wait_s=0, invocation_timeout_s=DEADLINE_S)
        with pytest.raises(InvocationTimeoutError):
            client.embed(["vectorize me"])
        # The shut-down connection was closed, not returned to the pool: the client holds no socket more.
        assert _wait_for(lambda: _open_sockets() <= before)
    assert _wait_for(lambda: not watchdog_running())


def test_a_retry_after_a_deadline_gets_the_answer(runtime_for: Any) -> None:
    with trickle_server(trickle="headers", then=["none"]) as server:
        sleeps: list[float] = []
        client = EmbeddingClient(
            ENDPOINT,
            runtime_client=runtime_for(server),
            invocation_timeout_s=DEADLINE_S,
            sleep=sleeps.append,
            random_fraction=random.Random(1).random,
        )
        vectors = client.embed(["vectorize me"])

    assert vectors[0][:2] == pytest.approx([0.6, 0.8])
    assert client.requests_sent == 2 and len(sleeps) == 1


def test_a_prompt_answer_is_not_cut(runtime_for: Any) -> None:
    with trickle_server(trickle="none") as server:
        client = EmbeddingClient(ENDPOINT, runtime_client=runtime_for(server), max_wait_s=0, invocation_timeout_s=5)
        assert len(client.embed(["a"])[0]) == 384
        assert len(client.embed(["b"])[0]) == 384
    assert server.requests == 2


def test_the_cli_reports_the_deadline(runtime_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with trickle_server(trickle="body") as server:
        code = main(
            ["vectorize me", "--quiet", "--max-wait", "0", "--invocation-timeout", "0.5"],
            runtime_client=runtime_for(server),
        )
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"error: endpoint {ENDPOINT!r}") and f"{server.url}/endpoints/{ENDPOINT}/invocations" in err


def test_the_default_deadline_is_sagemakers_limit_plus_awss_margin() -> None:
    client = EmbeddingClient(ENDPOINT, runtime_client=object())
    assert client.invocation_timeout_s == DEFAULT_INVOCATION_TIMEOUT_S == READ_TIMEOUT_S == 70


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "70", True])
def test_the_deadline_setting_is_checked(value: Any) -> None:
    with pytest.raises(InvalidSettingError, match=rf"invocation_timeout_s must be .* above 0, got {value!r}"):
        EmbeddingClient(ENDPOINT, runtime_client=object(), invocation_timeout_s=value)


def test_the_cli_deadline_option_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["x", "--invocation-timeout", "0"])
    assert caught.value.code == 2
    assert "argument --invocation-timeout: must be a finite number of seconds above 0, got '0'" in (
        capsys.readouterr().err
    )
