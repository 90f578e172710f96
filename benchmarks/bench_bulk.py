"""Bulk throughput against N simulated serverless slots: does the client use all N?

The local twin (`local_endpoint.serve_in_thread`, in this process) serves SlotContainer from the tests: every
invocation takes a fixed service time (50 ms by default) without a lock, so N invocations proceed at once, and
answers a deterministic unit vector per text. The twin's TwinConfig(max_concurrency=N) throttles the N+1st
invocation as SageMaker does. For N = 1, 2, 4 the client (told max_concurrency=N) embeds enough texts for
ROUNDS invocations per slot; one slot's throughput is the N = 1 row, and each row is compared with N times it.
The last row asks for more slots than the endpoint has, to show what throttling and the adaptive limit cost.
Every run checks that each vector is the one for its text, in its place. For scale, each row also shows what N
plain boto3 threads, each invoking in a loop with no client around it, get from the same twin: the ceiling this
machine and the in-process twin allow.

`run` is also the bulk stage of `make bench` (benchmarks/run_all.py). Not a test: the figures depend on the machine
and its load, which the output states. Run alone with
`.venv/bin/python -m benchmarks.bench_bulk [--service-ms 50] [--rounds 24] [--repeats 2]`; about 25 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from benchmarks.progress import Note, Progress, quiet
from embeddings import EmbeddingClient
from local_endpoint import DEFAULT_ENDPOINT_NAME, TwinConfig, serve_in_thread
from tests.embeddings.slot_container import SlotContainer, expected_vector

JSON = "application/json"
TEXTS_PER_INVOCATION = 4
SLOTS = (1, 2, 4)
OVERSUBSCRIBED = (4, 2)  # the client asks for 4, the endpoint has 2


@dataclass
class Result:
    client_n: int
    endpoint_n: int
    invocations: int
    texts: int
    seconds: float
    requests: int
    misplaced: int
    plain_per_s: float = 0.0

    @property
    def invocations_per_s(self) -> float:
        return self.invocations / self.seconds


def runtime_client(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=20)
    return session.client("sagemaker-runtime", endpoint_url=url, config=config)


def plain_boto3(runtime: Any, threads: int, rounds: int) -> float:
    """Invocations per second of `threads` threads each invoking `rounds` times in a loop, no client."""
    body = json.dumps({"inputs": [f"text {i}" for i in range(TEXTS_PER_INVOCATION)]}).encode()

    def loop() -> None:
        for _ in range(rounds):
            answer = runtime.invoke_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME, Body=body, ContentType=JSON)
            json.loads(answer["Body"].read())

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * rounds / (time.perf_counter() - started)


def measure(client_n: int, endpoint_n: int, service_s: float, rounds: int, repeats: int) -> Result:
    invocations = rounds * client_n
    texts = [f"text {i}: a sentence to embed" for i in range(invocations * TEXTS_PER_INVOCATION)]
    expected = [expected_vector(text) for text in texts]
    best: Result | None = None
    container = SlotContainer(service_s)
    with serve_in_thread(container, TwinConfig(max_concurrency=endpoint_n)) as server:
        runtime = runtime_client(server.url)
        for _ in range(repeats):
            client = EmbeddingClient(
                DEFAULT_ENDPOINT_NAME,
                runtime_client=runtime,
                batch_size=TEXTS_PER_INVOCATION,
                pooling="server",
                max_concurrency=client_n,
                backoff_base_s=service_s,
                backoff_cap_s=4 * service_s,
            )
            client.embed(texts[: TEXTS_PER_INVOCATION * client_n])  # connections open, code warm
            sent = client.requests_sent
            started = time.perf_counter()
            vectors = client.embed(texts)
            seconds = time.perf_counter() - started
            misplaced = sum(
                1
                for got, want in zip(vectors, expected, strict=True)
                if max(abs(a - b) for a, b in zip(got, want, strict=True)) > 1e-12
            ) + abs(len(vectors) - len(texts))
            result = Result(
                client_n, endpoint_n, invocations, len(texts), seconds, client.requests_sent - sent, misplaced
            )
            if best is None or result.seconds < best.seconds:
                best = result
        assert best is not None
        best.plain_per_s = plain_boto3(runtime, min(client_n, endpoint_n), rounds)
    return best


@dataclass(frozen=True)
class BulkResult:
    """The rows for SLOTS and the oversubscribed row, and what they were measured with."""

    rows: list[Result]
    service_ms: float
    rounds: int
    repeats: int

    @property
    def one_slot(self) -> float:
        return self.rows[0].invocations_per_s

    def ratio(self, row: Result) -> float:
        """The row's throughput against N times one slot, N the slots the endpoint really has."""
        return row.invocations_per_s / (min(row.client_n, row.endpoint_n) * self.one_slot)


def run(service_ms: float, rounds: int, repeats: int, note: Note = quiet) -> BulkResult:
    """Every row, N = 1 first: it is the one slot the others are compared with."""
    logging.getLogger("local_endpoint").setLevel(logging.ERROR)
    service_s = service_ms / 1000
    rows = []
    for client_n, endpoint_n in [*((n, n) for n in SLOTS), OVERSUBSCRIBED]:
        note(f"bulk: client N = {client_n} against {endpoint_n} slot(s), {rounds} invocations per slot")
        rows.append(measure(client_n, endpoint_n, service_s, rounds, repeats))
    return BulkResult(rows, service_ms, rounds, repeats)


def render(result: BulkResult) -> str:
    lines = [
        f"{TEXTS_PER_INVOCATION} texts per invocation, {result.service_ms:g} ms per invocation, {result.rounds} "
        f"invocations per slot, fastest of {result.repeats} runs; one slot = the N = 1 row "
        f"({result.one_slot:.1f} invocations/s).",
        "",
        "| client N | endpoint N | invocations | requests sent | seconds | invocations/s | vs N x one slot "
        "| plain boto3, N threads: invocations/s | lost or misplaced |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result.rows:
        slots = min(row.client_n, row.endpoint_n)
        lines.append(
            f"| {row.client_n} | {row.endpoint_n} | {row.invocations} | {row.requests} | {row.seconds:.2f} | "
            f"{row.invocations_per_s:.1f} | {result.ratio(row):.2f} | {row.plain_per_s:.1f} ({slots}) | "
            f"{row.misplaced} |"
        )
    lines += [
        "",
        "The last row's ratio compares with the endpoint's N (its real capacity): the client started at "
        f"{OVERSUBSCRIBED[0]} in flight and was throttled down.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-ms", type=float, default=50.0, help="service time per invocation (default 50)")
    parser.add_argument("--rounds", type=int, default=24, help="invocations per slot in one run (default 24)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per row; the fastest counts (default 2)")
    options = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()
    result = run(options.service_ms, options.rounds, options.repeats, Progress())
    print(f"## Bulk embedding against N simulated serverless slots ({options.service_ms:g} ms per invocation)\n")
    print(render(result))
    load_after = os.getloadavg()
    print(
        f"\nMachine: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.2f} before / {load_after[0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s in all."
    )


if __name__ == "__main__":
    main()
