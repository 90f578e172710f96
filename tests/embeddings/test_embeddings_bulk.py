"""Bulk embedding at the endpoint's capacity: up to N invocations at once, every vector in its text's place.

Against the twin serving SlotContainer (a fixed service time per invocation, deterministic unit vectors, no lock)
with a small MaxConcurrency, so that a client asking for more is throttled, and against fakes for what the twin
does not serve (DescribeEndpoint). Nothing here is timed: throughput is benchmarks/bench_bulk.py's job.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from embeddings import EmbeddingClient, PermanentEndpointError, TextTooLargeError
from embeddings.bulk import AdaptiveLimit, CancelledError, Run
from embeddings.capacity import serverless_max_concurrency
from local_endpoint import DEFAULT_ENDPOINT_NAME, ContainerResponse, TwinConfig, TwinServer, serve_in_thread
from tests.embeddings.embeddings_fakes import (
    ENDPOINT,
    REGION,
    FakeSageMaker,
    aws_error,
    dummy_session,
    float32_unit_row,
    http_response,
    pooled_container,
    request_json,
    typical_texts,
)
from tests.embeddings.slot_container import SlotContainer, expected_vector
from tests.local_endpoint.twin_support import runtime_client

BARRIER_TIMEOUT_S = 30


def twin_client(server: TwinServer, **options: Any) -> EmbeddingClient:
    options.setdefault("backoff_base_s", 0.01)
    options.setdefault("backoff_cap_s", 0.05)
    options.setdefault("max_wait_s", 60)
    return EmbeddingClient(DEFAULT_ENDPOINT_NAME, runtime_client=runtime_client(server.url), **options)


def assert_in_place(vectors: list[list[float]], texts: list[str]) -> None:
    assert len(vectors) == len(texts)
    misplaced = [
        i for i, (v, t) in enumerate(zip(vectors, texts, strict=True)) if v != pytest.approx(expected_vector(t))
    ]
    assert misplaced == []


# --- the adaptive limit ---------------------------------------------------------------------------------------


def test_the_limit_halves_once_per_window_and_regrows_by_one_per_window() -> None:
    limit = AdaptiveLimit(8)
    tickets = [limit.acquire() for _ in range(8)]
    for ticket in tickets:  # all eight throttled together: one halving, not eight
        limit.release(ticket, pushed_back=True)
    assert limit.limit == 4

    limit.release(limit.acquire(), pushed_back=True)  # admitted after the halving: news, halve again
    assert limit.limit == 2

    for _ in range(2):  # +1/limit per success: about one more slot per window of successes
        limit.release(limit.acquire(), pushed_back=False)
    assert limit.limit == 2
    for _ in range(4):
        limit.release(limit.acquire(), pushed_back=False)
    assert limit.limit == 4
    for _ in range(100):
        limit.release(limit.acquire(), pushed_back=False)
    assert limit.limit == 8  # never above the endpoint's maximum


def test_the_limit_never_goes_below_one() -> None:
    limit = AdaptiveLimit(2)
    for _ in range(5):
        limit.release(limit.acquire(), pushed_back=True)
    assert limit.limit == 1


def test_a_full_limit_makes_the_next_attempt_wait_until_a_permit_is_free() -> None:
    limit = AdaptiveLimit(1)
    first = limit.acquire()
    admitted = threading.Event()

    def second() -> None:
        limit.release(limit.acquire(), pushed_back=False)
        admitted.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not admitted.wait(0.2)
    limit.release(first, pushed_back=False)
    assert admitted.wait(BARRIER_TIMEOUT_S)
    thread.join()


def test_a_stopped_run_wakes_a_waiting_attempt() -> None:
    run = Run()
    limit = AdaptiveLimit(1, run)
    limit.acquire()
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            limit.acquire()
        except CancelledError as error:
            outcome.append(error)

    thread = threading.Thread(target=waiter)
    thread.start()
    run.stop()
    thread.join(BARRIER_TIMEOUT_S)
    assert not thread.is_alive() and len(outcome) == 1


# --- against the twin ----------------------------------------------------------------------------------------


class BarrierContainer(SlotContainer):
    """Answers only once `parties` invocations are in the container together: proof of concurrency, not timing."""

    def __init__(self, parties: int) -> None:
        super().__init__(service_s=0)
        self.barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT_S)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        self.barrier.wait()
        return super().invoke(body, content_type, accept)


def test_n_invocations_run_at_once() -> None:
    container = BarrierContainer(3)
    texts = typical_texts(9)
    with serve_in_thread(container, TwinConfig(max_concurrency=3)) as server:
        vectors = twin_client(server, max_concurrency=3, batch_size=1, pooling="server").embed(texts)

    assert_in_place(vectors, texts)
    assert container.invocations == 9 and container.most_in_flight == 3


def test_throttled_by_a_smaller_endpoint_nothing_is_lost_or_misplaced() -> None:
    """The client asks for 6 slots, the endpoint has 2: throttles, halving, retries; every vector in place."""
    container = SlotContainer(service_s=0.005)
    texts = [f"text {i}: {sentence}" for i, sentence in enumerate(typical_texts(150))]
    with serve_in_thread(container, TwinConfig(max_concurrency=2)) as server:
        client = twin_client(server, max_concurrency=6, batch_size=3, pooling="server")
        vectors = client.embed(texts)

    assert_in_place(vectors, texts)
    assert client.requests_sent > 50  # 50 batches, and the throttled attempts on top
    assert container.invocations == 50 and container.most_in_flight <= 2


def test_random_failures_are_retried_without_loss_or_misplacement() -> None:
    container = SlotContainer(service_s=0.002, throttle_probability=0.3, seed=7)
    texts = [f"line {i}" for i in range(120)]
    with serve_in_thread(container, TwinConfig(max_concurrency=4)) as server:
        client = twin_client(server, max_concurrency=4, batch_size=4)
        vectors = client.embed(texts)

    assert_in_place(vectors, texts)
    assert container.refused > 0 and container.invocations == 30 + container.refused


def test_auto_mode_probes_with_one_batch_then_fills_the_slots() -> None:
    container = SlotContainer(service_s=0.005)
    texts = typical_texts(400)
    with serve_in_thread(container, TwinConfig(max_concurrency=4)) as server:
        client = twin_client(server, max_concurrency=4, batch_size=16)
        bodies: list[list[str]] = []
        client._runtime.meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint",
            lambda request, **_: bodies.append(request_json(request)["inputs"]),
        )
        vectors = client.embed(texts)

    assert_in_place(vectors, texts)
    assert len(bodies[0]) < 16  # planned for token-level answers: the probe
    assert [len(body) for body in bodies[1:]].count(16) >= len(bodies) - 2  # then full pooled batches


# --- what a failure leaves ---------------------------------------------------------------------------------


def test_a_failing_batch_keeps_every_vector_before_it_and_stops_the_rest(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    def fail_at_text_57(request: Any) -> Any:
        inputs = request_json(request)["inputs"]
        if "text 57" in inputs:
            return aws_error(400, "ValidationError", {"message": "1 validation error detected"})(request)
        return pooled_container()(request)

    sagemaker.answer(fail_at_text_57)
    texts = [f"text {i}" for i in range(200)]
    got: list[list[float]] = []

    with pytest.raises(PermanentEndpointError, match="validation error"):
        for vector in make_client(max_concurrency=4, batch_size=5, pooling="server").iter_embed(texts):
            got.append(vector)

    assert len(got) == 55  # the batches before text 57's, all of them
    assert len(sagemaker.requests) <= 12 + 4 * 4  # no new batch once the failure was seen


def test_closing_the_iterator_stops_the_workers(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(pooled_container())
    vectors = make_client(max_concurrency=4, batch_size=2, pooling="server").iter_embed(typical_texts(100))

    assert len(next(vectors)) == 384
    vectors.close()

    assert [thread for thread in threading.enumerate() if thread.name.startswith("embeddings_")] == []


# --- MaxConcurrency from the endpoint ------------------------------------------------------------------------


@pytest.fixture
def moto_sagemaker() -> Iterator[Any]:
    with mock_aws():
        # A session made inside the mock: moto's hook is in the handlers a session copies when it is made.
        session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name=REGION)
        client = session.client("sagemaker")
        client.create_model(
            ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "x"}
        )
        yield client


def _endpoint(client: Any, name: str, variant: dict[str, Any]) -> None:
    client.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m", **variant}],
    )
    client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def test_max_concurrency_is_read_from_a_serverless_endpoint(
    moto_sagemaker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _endpoint(moto_sagemaker, ENDPOINT, {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}})
    _endpoint(moto_sagemaker, "on-instances", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1})

    assert serverless_max_concurrency(moto_sagemaker, ENDPOINT) == 5
    assert serverless_max_concurrency(moto_sagemaker, "on-instances") is None

    caplog.set_level(logging.INFO, logger="embeddings")
    client = EmbeddingClient(ENDPOINT, runtime_client=object(), sagemaker_client=moto_sagemaker)
    assert client.endpoint_concurrency() == 5
    assert client.endpoint_concurrency() == 5
    assert [r.getMessage() for r in caplog.records] == [
        f"endpoint {ENDPOINT}: serverless MaxConcurrency 5, so up to 5 invocations at once"
    ]


def test_an_endpoint_on_instances_takes_the_setting_or_one(moto_sagemaker: Any) -> None:
    _endpoint(moto_sagemaker, ENDPOINT, {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1})

    assert (
        EmbeddingClient(ENDPOINT, runtime_client=object(), sagemaker_client=moto_sagemaker).endpoint_concurrency() == 1
    )
    assert EmbeddingClient(ENDPOINT, runtime_client=object(), max_concurrency=3).endpoint_concurrency() == 3


def test_without_describe_permission_it_is_one_and_one_note_says_how_to_set_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stack's invoke policy allows sagemaker:InvokeEndpoint only."""
    sagemaker = dummy_session().client("sagemaker")
    denied = http_response(
        400,
        json.dumps(
            {
                "__type": "AccessDeniedException",
                "Message": "User: arn:aws:sts::123456789012:assumed-role/ingest/fn is not authorized to perform: "
                f"sagemaker:DescribeEndpoint on resource: arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
            }
        ),
        {"Content-Type": "application/x-amz-json-1.1"},
    )
    calls: list[Any] = []
    sagemaker.meta.events.register(
        "before-send.sagemaker", lambda request, **_: calls.append(request) or denied(request)
    )
    caplog.set_level(logging.INFO, logger="embeddings")

    client = EmbeddingClient(ENDPOINT, runtime_client=object(), sagemaker_client=sagemaker)

    assert client.endpoint_concurrency() == 1 and client.endpoint_concurrency() == 1
    assert len(calls) == 1  # asked once per client, not per call
    (note,) = [r for r in caplog.records if r.name.startswith("embeddings")]
    assert note.levelno == logging.INFO
    assert "may not call sagemaker:DescribeEndpoint" in note.getMessage()
    assert "--max-concurrency" in note.getMessage() and "EMBEDDINGS_MAX_CONCURRENCY" in note.getMessage()


def test_a_local_endpoint_is_not_described(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:8080")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    caplog.set_level(logging.INFO, logger="embeddings")

    assert EmbeddingClient(ENDPOINT).endpoint_concurrency() == 1
    assert "the twin serves no DescribeEndpoint" in caplog.text


@pytest.mark.parametrize("value", [0, -2, 2.5, "4", True])
def test_the_setting_is_checked(value: Any) -> None:
    with pytest.raises(ValueError, match=rf"max_concurrency must be a whole number of at least 1, got {value!r}"):
        EmbeddingClient(ENDPOINT, runtime_client=object(), max_concurrency=value)


def test_one_batch_needs_no_threads_and_no_describe(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(pooled_container())
    client = make_client(pooling="server")
    seen: list[str] = []
    original = client.endpoint_concurrency
    client.endpoint_concurrency = lambda: seen.append("asked") or original()  # type: ignore[method-assign]

    assert len(client.embed(typical_texts(100))) == 100

    assert seen == [] and len(sagemaker.requests) == 1


def test_a_shared_client_from_many_threads(sagemaker: FakeSageMaker, make_client: Any) -> None:
    """One client per Lambda container, or per web server: concurrent calls do not mix up their answers."""
    sagemaker.answer(pooled_container())
    client = make_client(max_concurrency=3, batch_size=4, pooling="server")
    results: dict[int, list[list[float]]] = {}

    def call(worker: int) -> None:
        results[worker] = client.embed([f"worker {worker} text {i}" for i in range(30)])

    threads = [threading.Thread(target=call, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT_S)

    for worker, vectors in results.items():
        assert vectors == [pytest.approx(float32_unit_row(f"worker {worker} text {i}")) for i in range(30)]
    assert len(results) == 4


@pytest.mark.parametrize("start", [0, 1, 5, 6, 11, 12, 29])
def test_a_call_from_start_sends_the_batches_a_call_from_zero_sends(
    sagemaker: FakeSageMaker, make_client: Any, start: int
) -> None:
    """Batches never cross a multiple of batch_size, so a resumed call's batches are the uninterrupted call's."""
    sagemaker.answer(pooled_container())
    texts = typical_texts(30)
    client = make_client(max_concurrency=2, batch_size=6, pooling="server")
    everything = list(client.iter_embed(texts))
    whole = sorted((body["inputs"] for body in sagemaker.request_bodies), key=lambda batch: texts.index(batch[0]))

    sent = len(sagemaker.requests)
    vectors = list(client.iter_embed(texts, start=start))
    resumed = sorted(
        (body["inputs"] for body in sagemaker.request_bodies[sent:]), key=lambda batch: texts.index(batch[0])
    )

    assert vectors == everything[start:]
    assert resumed == [batch for batch in whole if texts.index(batch[-1]) >= start]
    assert [len(batch) for batch in whole] == [6] * 5


def test_auto_mode_plans_by_what_a_resumed_run_learned(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(pooled_container())
    client = make_client(batch_size=100)
    assert client.known_pooling is None
    client.assume_pooling("server")
    assert client.known_pooling == "server"
    client.embed(typical_texts(100))
    assert [len(body["inputs"]) for body in sagemaker.request_bodies] == [100]  # no token-level probe batch


def test_raw_refuses_more_texts_than_the_endpoint_takes(sagemaker: FakeSageMaker, make_client: Any) -> None:
    with pytest.raises(TextTooLargeError, match="the endpoint takes at most 256 per request"):
        make_client().invoke_raw(["x"] * 257)
    assert sagemaker.requests == []
