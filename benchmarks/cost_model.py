"""What an embedding costs on each way of running the model, from measured compute time and cited prices.

Pure arithmetic, so the tests can hold every figure on docs/cost.md to its inputs: bench_cost.py measures the
compute per request on the container's serving stack, benchmarks/prices.py holds the prices with their sources,
and this module turns the two into money. Nothing here is measured or priced; everything here is a choice about
how AWS bills, and each choice names its rule.

Months are 730 hours, as AWS's Pricing Calculator counts them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from benchmarks.prices import PriceList

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
# Office hours as docs/operations.md schedules provisioned concurrency: 08:00-19:00, Monday to Friday.
OFFICE_HOURS_PER_DAY = 11.0
OFFICE_HOURS_PER_MONTH = OFFICE_HOURS_PER_DAY * 5 * 52 / 12
MILLION = 1_000_000
GB = 1024**3  # data processed is billed per GB of payload; AWS's serverless sample divides by 1024**3


@dataclass(frozen=True)
class Workload:
    """What one request costs in compute on this machine, and what it carries, as measured by bench_cost.py."""

    tokens: int
    texts_per_request: int
    seconds_per_request: float
    request_bytes: int
    answer_bytes: int
    vcpus: int = 2
    """The CPUs the serving stack ran on: the machine's, or one, to show what fewer vCPUs cost."""

    @property
    def seconds_per_text(self) -> float:
        return self.seconds_per_request / self.texts_per_request

    @property
    def gb_per_request(self) -> float:
        return (self.request_bytes + self.answer_bytes) / GB


@dataclass(frozen=True)
class Assumptions:
    """How this machine's time carries over to AWS's hardware: not measurable here, so stated and printed.

    machine_vcpus: this machine's vCPUs. A serverless slot of any memory size is taken to run as fast as this
    machine (AWS publishes no vCPU count per memory size), and an instance at this machine's speed per vCPU.
    transform_startup_s: the minutes a transform job's instances run before the first record (image, archive,
    model load), billed on every instance; AWS's, not this machine's, and not measured here.
    """

    machine_vcpus: int = 2
    transform_startup_s: float = 300.0


def billed_seconds(seconds: float) -> float:
    """Serverless inference is billed by the millisecond (SageMaker Developer Guide, "Serverless Inference"); no
    source read says which way a part-millisecond goes, so it is rounded up, the larger bill."""
    return math.ceil(seconds * 1000 - 1e-9) / 1000


@dataclass(frozen=True)
class Option:
    """One way of running the model: what it costs idle for a month, and what one request adds."""

    name: str
    idle_usd_per_month: float
    usd_per_request: Callable[[Workload], float]
    requests_per_month_capacity: Callable[[Workload], float] | None = None
    """Requests one unit serves in a month at full use; None when AWS adds capacity as requests come."""
    step_usd_per_month: float = 0.0
    """What each further unit costs a month once the capacity is used (an instance endpoint's next instance)."""
    overflow_usd_per_request: Callable[[Workload], float] | None = None
    """What a request past the capacity costs, when it goes elsewhere instead of to a further unit (provisioned
    concurrency's spillover to on-demand capacity)."""
    real_time: bool = True

    def monthly_usd(self, requests_per_day: float, workload: Workload) -> float:
        """A month of `requests_per_day` every day."""
        return self.monthly_usd_for(requests_per_day * DAYS_PER_MONTH, workload)

    def monthly_usd_for(self, requests: float, workload: Workload) -> float:
        """A month holding `requests` requests (at the hours the option is there for)."""
        if self.requests_per_month_capacity is not None and self.overflow_usd_per_request is not None:
            within = min(requests, self.requests_per_month_capacity(workload))
            return (
                self.idle_usd_per_month
                + within * self.usd_per_request(workload)
                + (requests - within) * self.overflow_usd_per_request(workload)
            )
        units = 1
        if self.requests_per_month_capacity is not None:
            units = max(1, math.ceil(requests / self.requests_per_month_capacity(workload) - 1e-9))
        return (
            self.idle_usd_per_month + (units - 1) * self.step_usd_per_month + requests * self.usd_per_request(workload)
        )

    def usd_per_million_texts(self, workload: Workload) -> float:
        """A million texts sent in this workload's requests, on top of the idle cost (a fleet at full use for an
        instance, whose idle cost already buys its requests)."""
        return MILLION / workload.texts_per_request * self.usd_per_request(workload)


def serverless_on_demand(prices: PriceList, memory_mb: int) -> Option:
    per_second = prices.serverless_on_demand[memory_mb].usd
    data = prices.serverless_data.usd

    def per_request(workload: Workload) -> float:
        return billed_seconds(workload.seconds_per_request) * per_second + workload.gb_per_request * data

    return Option(f"serverless {memory_mb // 1024} GB, on demand", 0.0, per_request)


@dataclass(frozen=True)
class Provisioning:
    """How much provisioned concurrency, when: `busy` units for `busy_hours` a month, `quiet` units the rest.
    The stack's floor is 1 (docs/operations.md: SageMaker takes no 0), so a schedule's night is at least 1."""

    busy: int = 1
    busy_hours: float = HOURS_PER_MONTH
    quiet: int = 1
    label: str = "1, 24/7"

    @property
    def unit_hours(self) -> float:
        return self.busy * self.busy_hours + self.quiet * (HOURS_PER_MONTH - self.busy_hours)


ALWAYS_ONE = Provisioning()
OFFICE_HOURS = Provisioning(busy=2, busy_hours=OFFICE_HOURS_PER_MONTH, quiet=1, label="2 in office hours, 1 otherwise")
"""docs/operations.md's worked example, at its lower bounds: 2 from 08:00 to 19:00 on weekdays, 1 at night."""


def serverless_provisioned(prices: PriceList, memory_mb: int, provisioning: Provisioning = ALWAYS_ONE) -> Option:
    """Provisioned concurrency as `provisioning` schedules it; requests are taken to arrive in its busy hours. What
    its busy units cannot serve spills over to on-demand capacity, at the on-demand rate (and cold)."""
    warm, running = prices.provisioned_concurrency[memory_mb], prices.provisioned_inference[memory_mb]
    if warm is None or running is None:
        raise ValueError(f"serverless {memory_mb} MB: no provisioned-concurrency price in {prices.origin}")
    idle = warm.usd * provisioning.unit_hours * 3600
    per_second = running.usd
    data = prices.serverless_data.usd

    def per_request(workload: Workload) -> float:
        return billed_seconds(workload.seconds_per_request) * per_second + workload.gb_per_request * data

    def capacity(workload: Workload) -> float:
        return provisioning.busy * provisioning.busy_hours * 3600 / workload.seconds_per_request

    return Option(
        f"serverless {memory_mb // 1024} GB, provisioned concurrency {provisioning.label}",
        idle,
        per_request,
        capacity,
        overflow_usd_per_request=serverless_on_demand(prices, memory_mb).usd_per_request,
    )


def instance_endpoint(prices: PriceList, assumptions: Assumptions) -> Option:
    """One always-on instance (instance endpoints cannot scale to zero); a second is added when one is full."""
    price = prices.hosting_instance
    monthly = price.usd * HOURS_PER_MONTH
    speedup = prices.hosting_instance_vcpus / assumptions.machine_vcpus

    def capacity(workload: Workload) -> float:
        return SECONDS_PER_MONTH * speedup / workload.seconds_per_request

    return Option(
        f"{prices.hosting_instance_type}, 1 instance",
        monthly,
        lambda workload: 0.0,
        capacity,
        step_usd_per_month=monthly,
    )


def batch_transform(prices: PriceList, assumptions: Assumptions, seconds_per_text: Mapping[int, float]) -> Option:
    """One transform job a day on one instance over the day's requests, each a line of the job's input: a job
    packs lines into large requests, so a text costs what it costs in a request of many (`seconds_per_text`, by
    tokens), not what a lone request would. Its start-up is billed once per job, so it counts as idle cost."""
    price = prices.transform_instance
    speedup = prices.transform_instance_vcpus / assumptions.machine_vcpus
    per_second = price.usd / 3600

    def per_request(workload: Workload) -> float:
        return workload.texts_per_request * seconds_per_text[workload.tokens] / speedup * per_second

    return Option(
        f"Batch Transform, 1 x {prices.transform_instance_type}, a job a day",
        assumptions.transform_startup_s * per_second * DAYS_PER_MONTH,
        per_request,
        real_time=False,
    )


def transform_job_usd(prices: PriceList, assumptions: Assumptions, texts: int, workload: Workload) -> float:
    """One job over `texts` on one instance, its start-up included."""
    speedup = prices.transform_instance_vcpus / assumptions.machine_vcpus
    seconds = assumptions.transform_startup_s + texts * workload.seconds_per_text / speedup
    return seconds * prices.transform_instance.usd / 3600


@dataclass(frozen=True)
class BreakEven:
    """Where an option with an idle cost (`cheaper_above`) starts to cost less than one without (`cheaper_below`)."""

    requests_per_day: float
    usd_per_month: float
    cheaper_below: str
    cheaper_above: str


def cheapest(options: Sequence[Option], requests_per_day: float, workload: Workload) -> Option:
    """The cheapest real-time option (a transform job answers tomorrow, so it competes only for corpora)."""
    live = [option for option in options if option.real_time]
    return min(live, key=lambda option: option.monthly_usd(requests_per_day, workload))


def first_cheaper(
    pay_per_use: Option, always_on: Option, workload: Workload, low: float, high: float, points: int = 400
) -> float | None:
    """The requests per day at which `always_on` first costs less than `pay_per_use`, or None within [low, high]:
    found on a log grid and refined by bisection (an instance's cost steps as instances are added, so a closed form
    would miss the steps)."""

    def cheaper(x: float) -> bool:
        return always_on.monthly_usd(x, workload) < pay_per_use.monthly_usd(x, workload)

    grid: list[float] = [low * (high / low) ** (index / (points - 1)) for index in range(points)]
    for left, right in itertools.pairwise(grid):
        if cheaper(left) or not cheaper(right):
            continue
        for _ in range(60):
            middle = math.sqrt(left * right)
            left, right = (middle, right) if not cheaper(middle) else (left, middle)
        return right
    return None


def break_evens(options: Sequence[Option], workload: Workload, low: float = 1.0, high: float = 1e7) -> list[BreakEven]:
    """Where each real-time option with an idle cost (an instance, provisioned concurrency) starts to pay against
    each without one (serverless on demand): the traffic a reader weighs an always-on option by. Past an instance's
    capacity the two can alternate as instances are added; only the first crossing is a break-even."""
    live = [option for option in options if option.real_time]
    found = []
    for pay_per_use in (option for option in live if option.idle_usd_per_month == 0):
        for always_on in (option for option in live if option.idle_usd_per_month > 0):
            at = first_cheaper(pay_per_use, always_on, workload, low, high)
            if at is not None:
                found.append(BreakEven(at, always_on.monthly_usd(at, workload), pay_per_use.name, always_on.name))
    return found


def full_at(option: Option, workload: Workload) -> float | None:
    """Requests a day at which one unit of `option` is fully used, every second of its month."""
    if option.requests_per_month_capacity is None:
        return None
    return option.requests_per_month_capacity(workload) / DAYS_PER_MONTH
