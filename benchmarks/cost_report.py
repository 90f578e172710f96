"""docs/cost.md's tables and sentences, computed from bench_cost.py's measured inputs and the current prices.

Every figure on the page comes out of `render`, and the tests call it on the inputs the page holds: a price
changed in benchmarks/prices.py, or a sentence typed by hand, shows up as a page that no longer matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.cost_model import (
    ALWAYS_ONE,
    DAYS_PER_MONTH,
    MILLION,
    OFFICE_HOURS,
    OFFICE_HOURS_PER_MONTH,
    Assumptions,
    Option,
    batch_transform,
    break_evens,
    full_at,
    instance_endpoint,
    serverless_on_demand,
    serverless_provisioned,
    transform_job_usd,
)
from benchmarks.prices import MEMORY_SIZES_MB, PriceList

if TYPE_CHECKING:
    from benchmarks.bench_cost import Inputs

DEFAULT_MEMORY_MB = 3072  # the stack's default memorySizeMb
TRICKLE_PER_DAY = 1_000
OFFICE_PER_SECOND = 2.0
CORPUS_TEXTS = 1_000_000
QUERY_TOKENS = 32
CHUNK_TOKENS = 256
REQUEST_TEXTS = 32  # the client's batch: what a million texts are sent in


def money(usd: float) -> str:
    if usd >= 100:
        return f"${usd:,.0f}"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.3f}"
    return f"${usd:.2g}"


def maybe_money(usd: float | None) -> str:
    return "-" if usd is None else money(usd)


def count(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def chart_options(prices: PriceList, assumptions: Assumptions, inputs: Inputs) -> list[Option]:
    """What the picture draws, per request of one text: serverless at each size on demand, the stack's default size
    with provisioned concurrency around the clock (when priced), one instance, and a transform job a day."""
    options = [serverless_on_demand(prices, memory_mb) for memory_mb in MEMORY_SIZES_MB]
    if prices.provisioned(DEFAULT_MEMORY_MB):
        options.append(serverless_provisioned(prices, DEFAULT_MEMORY_MB))
    options.append(instance_endpoint(prices, assumptions))
    per_text = {
        tokens: inputs.workload(tokens, REQUEST_TEXTS).seconds_per_text for tokens in (QUERY_TOKENS, CHUNK_TOKENS)
    }
    options.append(batch_transform(prices, assumptions, per_text))
    return options


@dataclass(frozen=True)
class Row:
    """One line of the cost table; None where a price is missing."""

    option: str
    per_million: dict[int, float | None]
    idle: float | None
    note: str = ""


def table_rows(prices: PriceList, assumptions: Assumptions, inputs: Inputs) -> list[Row]:
    """A million texts of each length, sent in requests of 32, and what each option costs a month idle."""
    batched = {tokens: inputs.workload(tokens, REQUEST_TEXTS) for tokens in (QUERY_TOKENS, CHUNK_TOKENS)}
    rows = []
    for memory_mb in MEMORY_SIZES_MB:
        option = serverless_on_demand(prices, memory_mb)
        rows.append(Row(option.name, {t: option.usd_per_million_texts(w) for t, w in batched.items()}, 0.0))
    for memory_mb, provisioning in [
        *[(mb, ALWAYS_ONE) for mb in MEMORY_SIZES_MB],
        (DEFAULT_MEMORY_MB, OFFICE_HOURS),
    ]:
        name = f"serverless {memory_mb // 1024} GB, provisioned concurrency {provisioning.label}"
        note = "office hours: 08:00-19:00 on weekdays; " if provisioning is OFFICE_HOURS else ""
        if not prices.provisioned(memory_mb):
            rows.append(Row(name, dict.fromkeys(batched), None, note + "no price: see the sources below"))
            continue
        option = serverless_provisioned(prices, memory_mb, provisioning)
        rows.append(
            Row(
                option.name,
                {t: option.usd_per_million_texts(w) for t, w in batched.items()},
                option.idle_usd_per_month,
                note.removesuffix("; "),
            )
        )
    instance = instance_endpoint(prices, assumptions)
    speedup = prices.hosting_instance_vcpus / assumptions.machine_vcpus
    rows.append(
        Row(
            instance.name,
            {
                t: MILLION * w.seconds_per_text / speedup / 3600 * prices.hosting_instance.usd
                for t, w in batched.items()
            },
            instance.idle_usd_per_month,
            "per million: the instance-hours a million takes at full use; idle: a month of one instance",
        )
    )
    rows.append(
        Row(
            f"Batch Transform, 1 x {prices.transform_instance_type}",
            {t: transform_job_usd(prices, assumptions, MILLION, w) for t, w in batched.items()},
            0.0,
            f"one job of a million, its start-up ({assumptions.transform_startup_s / 60:.0f} min) included",
        )
    )
    return rows


@dataclass(frozen=True)
class Choice:
    name: str
    usd: float


def ranking(choices: Sequence[Choice]) -> str:
    ordered = sorted(choices, key=lambda choice: choice.usd)
    best, second = ordered[0], ordered[1]
    factor = second.usd / best.usd if best.usd else float("inf")
    others = "; ".join(f"{choice.name} {money(choice.usd)}" for choice in ordered[2:])
    return (
        f"**{best.name} wins at {money(best.usd)}**, {factor:,.1f}x cheaper than the next, {second.name} "
        f"({money(second.usd)})." + (f" The others: {others}." if others else "")
    )


def scenarios(prices: PriceList, assumptions: Assumptions, inputs: Inputs) -> list[str]:
    query = inputs.workload(QUERY_TOKENS, 1)
    chunks = inputs.workload(CHUNK_TOKENS, REQUEST_TEXTS)
    on_demand = [serverless_on_demand(prices, memory_mb) for memory_mb in MEMORY_SIZES_MB]
    instance = instance_endpoint(prices, assumptions)
    warm_always = [serverless_provisioned(prices, mb) for mb in MEMORY_SIZES_MB if prices.provisioned(mb)]
    unpriced = (
        ""
        if all(prices.provisioned(mb) for mb in MEMORY_SIZES_MB)
        else " Provisioned concurrency is left out: it has no price here (see the sources below)."
    )

    trickle_requests = TRICKLE_PER_DAY * DAYS_PER_MONTH
    trickle = [
        Choice(option.name, option.monthly_usd_for(trickle_requests, query))
        for option in [*on_demand, *warm_always, instance]
    ]
    office_requests = OFFICE_PER_SECOND * 3600 * OFFICE_HOURS_PER_MONTH
    office_options = [*on_demand, instance, *warm_always]
    office_options += [
        serverless_provisioned(prices, mb, OFFICE_HOURS) for mb in MEMORY_SIZES_MB if prices.provisioned(mb)
    ]
    office = [Choice(option.name, option.monthly_usd_for(office_requests, query)) for option in office_options]
    warm = [choice for choice in office if "on demand" not in choice.name]
    speedup = prices.hosting_instance_vcpus / assumptions.machine_vcpus
    corpus = [
        Choice(
            f"Batch Transform, 1 x {prices.transform_instance_type}",
            transform_job_usd(prices, assumptions, CORPUS_TEXTS, chunks),
        ),
        *[
            Choice(f"{option.name}, the bulk client", CORPUS_TEXTS / REQUEST_TEXTS * option.usd_per_request(chunks))
            for option in on_demand
        ],
        Choice(
            f"{prices.hosting_instance_type} for the hours it takes, its deployment not counted",
            CORPUS_TEXTS * chunks.seconds_per_text / speedup / 3600 * prices.hosting_instance.usd,
        ),
    ]
    transform_speedup = prices.transform_instance_vcpus / assumptions.machine_vcpus
    transform_hours = (
        assumptions.transform_startup_s + CORPUS_TEXTS * chunks.seconds_per_text / transform_speedup
    ) / 3600
    return [
        f"- **A trickle**: {TRICKLE_PER_DAY:,} requests a day, one {QUERY_TOKENS}-token text each (an agent's "
        f"questions), every day: {count(trickle_requests)} requests a month. {ranking(trickle)}{unpriced}",
        f"- **Office hours**: {OFFICE_PER_SECOND:g} requests a second from 08:00 to 19:00 on weekdays, one "
        f"{QUERY_TOKENS}-token text each: {count(office_requests)} requests a month. {ranking(office)} On demand "
        "means cold starts whenever traffic resumes after an idle spell; of the options that stay warm, "
        + (ranking(warm) if len(warm) > 1 else f"only {warm[0].name} is priced here, at {money(warm[0].usd)}.")
        + unpriced,
        f"- **A one-off corpus**: {CORPUS_TEXTS:,} chunks of {CHUNK_TOKENS} tokens, embedded once. "
        f"{ranking(corpus)} The transform job takes {transform_hours:.1f} h on one instance (more instances: the "
        "same compute, sooner, each billed for its own start-up); the bulk client's time depends on MaxConcurrency "
        "(docs/batch.md).",
    ]


def assumptions_for(inputs: Inputs) -> Assumptions:
    return Assumptions(machine_vcpus=inputs.machine_vcpus)


def sources(prices: PriceList) -> list[str]:
    """Each distinct source once, in the order the prices cite them: the price table numbers them."""
    found: list[str] = []
    for _, price in prices.all_prices():
        if price is not None and price.source not in found:
            found.append(price.source)
    return found


def usd(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".")


def slowdown(inputs: Inputs) -> str:
    factors = []
    for workload in inputs.workloads:
        if workload.vcpus == 1 and inputs.machine_vcpus > 1:
            base = inputs.workload(workload.tokens, workload.texts_per_request)
            factors.append(workload.seconds_per_request / base.seconds_per_request)
    if not factors:
        return "(not measured: the machine has one vCPU)"
    return f"{min(factors):.2f}x to {max(factors):.2f}x"


def render_inputs(inputs: Inputs) -> list[str]:
    """The measured table: also what make bench's cost stage shows on docs/performance.md."""
    lines = [
        f"Measured {inputs.measured_at} on {inputs.machine}; {inputs.serving}.",
        "",
        "The program's default deployment on the container's serving stack, answering as the client asks (JSON in, "
        "`application/x-npy` out); median over the run. Texts of exactly 32 and 256 tokens, [CLS] and [SEP] included.",
        "",
        "| vCPUs | texts a request | tokens a text | seconds a request | ms a text | bytes in | bytes out |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in inputs.workloads:
        lines.append(
            f"| {workload.vcpus} | {workload.texts_per_request} | {workload.tokens} | "
            f"{workload.seconds_per_request:.4f} | {workload.seconds_per_text * 1000:.2f} | "
            f"{workload.request_bytes:,} | {workload.answer_bytes:,} |"
        )
    return lines


def render(inputs: Inputs, prices: PriceList | None = None, assumptions: Assumptions | None = None) -> str:
    from benchmarks import prices as price_module

    prices = prices or price_module.current()
    assumptions = assumptions or assumptions_for(inputs)
    lines = [
        f"Prices: {prices.origin}, {prices.region}.",
        "",
        "#### What a request costs in compute here",
        "",
        *render_inputs(inputs),
        "",
        f"The figures below use the {inputs.machine_vcpus}-vCPU rows; the 1-vCPU rows, the stack pinned to one "
        "vCPU, show what a smaller share of a CPU costs (see the last section).",
        "",
        "#### Cost per million embeddings",
        "",
        f"A million texts sent in requests of {REQUEST_TEXTS} (the client's batch), and the cost of a month with no "
        "requests at all.",
        "",
        f"| option | per million, {QUERY_TOKENS}-token texts | per million, {CHUNK_TOKENS}-token texts | "
        "idle, a month | |",
        "|---|---:|---:|---:|---|",
    ]
    for row in table_rows(prices, assumptions, inputs):
        cells = [maybe_money(row.per_million[tokens]) for tokens in (QUERY_TOKENS, CHUNK_TOKENS)]
        idle = maybe_money(row.idle)
        lines.append(f"| {row.option} | {cells[0]} | {cells[1]} | {idle} | {row.note} |")
    lines += ["", "#### Which wins", "", *scenarios(prices, assumptions, inputs), "", "#### Break-even points", ""]
    lines += [
        "Where an option that costs money idle starts to pay against serverless on demand, for requests of one text "
        "every day of the month (the picture's dots):",
        "",
        "| tokens a text | requests a day | a month | cheaper below | cheaper above |",
        "|---:|---:|---:|---|---|",
    ]
    options = chart_options(prices, assumptions, inputs)
    full = []
    for tokens in (QUERY_TOKENS, CHUNK_TOKENS):
        workload = inputs.workload(tokens, 1)
        for point in break_evens(options, workload):
            lines.append(
                f"| {tokens} | {count(point.requests_per_day)} | {money(point.usd_per_month)} | "
                f"{point.cheaper_below} | {point.cheaper_above} |"
            )
        for option in options:
            limit = full_at(option, workload)
            if limit is not None:
                full.append(f"{option.name} is full at {count(limit)} requests a day of {tokens}-token texts")
    lines += [
        "",
        "Capacity, at full use every second of the month (real traffic has peaks, so plan on less): "
        + "; ".join(full)
        + ". Past that, each further instance costs another month of one; provisioned concurrency spills over to "
        "on-demand capacity, billed on demand.",
    ]
    lines += [
        "",
        "![Monthly cost against requests a day, each option, log axes, break-even points marked](cost-per-month.png)",
        "",
        "#### Prices",
        "",
        "| price | USD | per | source | as of | AWS's own |",
        "|---|---:|---|---|---|---|",
    ]
    cited = sources(prices)
    for what, price in prices.all_prices():
        if price is None:
            lines.append(f"| {what} | - | - | none that could be read | - | - |")
        else:
            note = f" ({price.note})" if price.note else ""
            lines.append(
                f"| {what}{note} | {usd(price.usd)} | {price.unit} | [{cited.index(price.source) + 1}] | "
                f"{price.as_of} | {'yes' if price.aws_owned else 'no'} |"
            )
    lines += ["", *[f"{number}. {source}" for number, source in enumerate(cited, start=1)]]
    lines += [
        "",
        "#### What depends on AWS's hardware, not this machine",
        "",
        f"- A serverless endpoint of any memory size is taken to compute as fast as this {assumptions.machine_vcpus}-"
        "vCPU machine. AWS gives larger sizes more vCPUs but publishes no count, so the bigger sizes may finish "
        "sooner than shown, and cost less than shown per request by the same factor.",
        f"- On one vCPU the same requests took {slowdown(inputs)} as long as on {inputs.machine_vcpus}: if AWS "
        "gives a memory size one vCPU, multiply its compute cost by that.",
        f"- {prices.hosting_instance_type} ({prices.hosting_instance_vcpus} vCPUs) and "
        f"{prices.transform_instance_type} ({prices.transform_instance_vcpus} vCPUs) are taken to compute at this "
        "machine's speed per vCPU.",
        f"- A transform job's start-up is taken as {assumptions.transform_startup_s / 60:.0f} minutes. AWS bills a "
        "job from TransformStartTime, when it starts on the instances, to TransformEndTime (DescribeTransformJob), "
        "so the container's start and the archive's download are billed; how long they take on AWS is not measured "
        "here.",
        "- A serverless request is billed by the millisecond for the time it computes, measured here on a warm "
        "container over loopback. Cold starts are not in these figures: what they add to a bill is AWS's to say, "
        "and what they add to a wait is in docs/performance.md.",
    ]
    return "\n".join(lines)


def headline(inputs: Inputs) -> str:
    """One line for make bench's summary: the stack's default size against one instance, per million 256-token
    texts."""
    from benchmarks import prices as price_module

    prices = price_module.current()
    rows = {row.option: row for row in table_rows(prices, assumptions_for(inputs), inputs)}
    default = rows[serverless_on_demand(prices, DEFAULT_MEMORY_MB).name].per_million[CHUNK_TOKENS]
    instance = rows[instance_endpoint(prices, assumptions_for(inputs)).name].per_million[CHUNK_TOKENS]
    assert default is not None and instance is not None
    return (
        f"per million {CHUNK_TOKENS}-token texts: serverless {DEFAULT_MEMORY_MB // 1024} GB {money(default)}, "
        f"{prices.hosting_instance_type} at full use {money(instance)}"
    )
