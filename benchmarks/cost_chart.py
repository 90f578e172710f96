"""The picture on docs/cost.md: a month's cost against requests a day for each option, log axes, break-even points
marked and labelled, one panel per text length. People choose between these options by looking; the page's
tables hold the same figures for those who read.

matplotlib (a dev dependency, pinned) with its Agg backend: no display, and the same bytes for the same inputs
on the same matplotlib, so a redrawn picture differs only when its figures do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.cost_model import Assumptions, BreakEven, break_evens
from benchmarks.cost_report import CHUNK_TOKENS, QUERY_TOKENS, assumptions_for, chart_options, money
from benchmarks.prices import PriceList

if TYPE_CHECKING:
    from benchmarks.bench_cost import Inputs

LOW, HIGH, POINTS = 10.0, 1e7, 300


@dataclass(frozen=True)
class Panel:
    """What one panel shows: a line per option, and the labelled break-even points."""

    tokens: int
    lines: dict[str, list[tuple[float, float]]]
    real_time: dict[str, bool]
    points: list[BreakEven]


def short(name: str) -> str:
    """An option's name as a label beside a point: "serverless 6 GB, on demand" -> "6 GB on demand"."""
    return name.removeprefix("serverless ").replace(", ", " ").removesuffix(" 1 instance")


def per_day(requests: float) -> str:
    if requests >= 1e6:
        return f"{requests / 1e6:.2f} M"
    if requests >= 1e4:
        return f"{requests / 1e3:.0f} k"
    return f"{requests:,.0f}"


def panels(inputs: Inputs, prices: PriceList, assumptions: Assumptions) -> list[Panel]:
    options = chart_options(prices, assumptions, inputs)
    grid = [LOW * (HIGH / LOW) ** (index / (POINTS - 1)) for index in range(POINTS)]
    result = []
    for tokens in (QUERY_TOKENS, CHUNK_TOKENS):
        workload = inputs.workload(tokens, 1)
        result.append(
            Panel(
                tokens,
                {option.name: [(x, option.monthly_usd(x, workload)) for x in grid] for option in options},
                {option.name: option.real_time for option in options},
                break_evens(options, workload, LOW, HIGH),
            )
        )
    return result


def draw(inputs: Inputs, path: Path, prices: PriceList | None = None, assumptions: Assumptions | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks import prices as price_module

    prices = prices or price_module.current()
    assumptions = assumptions or assumptions_for(inputs)
    matplotlib.rcParams["svg.hashsalt"] = "alex-sagemaker"  # deterministic ids, should an SVG ever be asked for
    shown = panels(inputs, prices, assumptions)
    figure, axes = plt.subplots(1, len(shown), figsize=(13, 6.2), sharey=True, layout="constrained")
    for axis, panel in zip(axes, shown, strict=True):
        for name, points in panel.lines.items():
            xs, ys = zip(*points, strict=True)
            visible = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
            axis.plot(
                [x for x, _ in visible],
                [y for _, y in visible],
                linestyle="-" if panel.real_time[name] else "--",
                linewidth=1.8,
                label=name,
            )
        for index, point in enumerate(sorted(panel.points, key=lambda point: point.requests_per_day)):
            axis.plot(point.requests_per_day, point.usd_per_month, "o", color="black", markersize=5, zorder=5)
            axis.annotate(
                f"{short(point.cheaper_above)} pays against {short(point.cheaper_below)}\n"
                f"from {per_day(point.requests_per_day)} requests a day ({money(point.usd_per_month)} a month)",
                (point.requests_per_day, point.usd_per_month),
                xytext=(-14, 34 + 30 * index),
                textcoords="offset points",
                ha="right",
                fontsize=7.5,
                arrowprops={"arrowstyle": "-", "color": "0.4", "linewidth": 0.8},
            )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(LOW, HIGH)
        axis.set_ylim(1e-3, 1e5)
        axis.grid(True, which="major", linewidth=0.5, alpha=0.5)
        axis.set_title(f"one text of {panel.tokens} tokens a request")
        axis.set_xlabel("requests a day, every day")
    axes[0].set_ylabel(f"USD a month, {prices.region}")
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle(
        f"all-MiniLM-L6-v2 embeddings: a month's bill by option (compute measured {inputs.measured_at}; "
        "dashed: not real-time)",
        fontsize=11,
    )
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
