"""The cost model's billing rules: each one a figure on docs/cost.md depends on."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks import cost_model
from benchmarks.cost_model import (
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    Assumptions,
    Workload,
    batch_transform,
    billed_seconds,
    break_evens,
    cheapest,
    full_at,
    instance_endpoint,
    serverless_on_demand,
    serverless_provisioned,
    transform_job_usd,
)
from benchmarks.prices import CITED, Price, PriceList

QUERY = Workload(tokens=32, texts_per_request=1, seconds_per_request=0.0123, request_bytes=150, answer_bytes=1664)
BATCH = Workload(tokens=32, texts_per_request=32, seconds_per_request=0.1, request_bytes=4300, answer_bytes=49280)


def with_provisioned(prices: PriceList, warm: float = 0.0000084, running: float = 0.000035) -> PriceList:
    """CITED plus made-up provisioned-concurrency rates per 3 GB-second (no source gives them; the tests need some)."""

    def price(usd: float) -> Price:
        return Price(usd, "second", "test", "2026-12-06", aws_owned=False)

    sizes = {mb: mb / 3072 for mb in prices.serverless_on_demand}
    return dataclasses.replace(
        prices,
        provisioned_concurrency={mb: price(warm * scale) for mb, scale in sizes.items()},
        provisioned_inference={mb: price(running * scale) for mb, scale in sizes.items()},
    )


def test_serverless_compute_is_billed_by_the_millisecond_rounded_up() -> None:
    assert billed_seconds(0.0121) == pytest.approx(0.013)
    assert billed_seconds(0.012) == pytest.approx(0.012)
    assert billed_seconds(0.0120000001) == pytest.approx(0.013)


def test_an_on_demand_request_costs_its_billed_seconds_at_its_size_plus_the_data_it_carries() -> None:
    option = serverless_on_demand(CITED, 3072)
    expected = 0.013 * 0.00006 + (150 + 1664) / 1024**3 * 0.016
    assert option.usd_per_request(QUERY) == pytest.approx(expected)
    assert option.idle_usd_per_month == 0
    assert option.monthly_usd(1000, QUERY) == pytest.approx(1000 * DAYS_PER_MONTH * expected)
    assert option.usd_per_million_texts(BATCH) == pytest.approx(
        1_000_000 / 32 * (0.1 * 0.00006 + (4300 + 49280) / 1024**3 * 0.016)
    )


def test_a_bigger_serverless_size_costs_more_for_the_same_measured_seconds() -> None:
    costs = [serverless_on_demand(CITED, mb).usd_per_request(QUERY) for mb in (2048, 3072, 6144)]
    assert costs == sorted(costs) and costs[0] < costs[2]


def test_provisioned_concurrency_is_billed_idle_and_spills_over_to_on_demand_past_one_unit() -> None:
    prices = with_provisioned(CITED)
    always = serverless_provisioned(prices, 3072)
    assert always.idle_usd_per_month == pytest.approx(0.0000084 * HOURS_PER_MONTH * 3600)
    on_demand = serverless_on_demand(prices, 3072)
    capacity = HOURS_PER_MONTH * 3600 / QUERY.seconds_per_request
    assert always.requests_per_month_capacity is not None
    assert always.requests_per_month_capacity(QUERY) == pytest.approx(capacity)
    within = always.monthly_usd_for(capacity, QUERY)
    assert within == pytest.approx(always.idle_usd_per_month + capacity * always.usd_per_request(QUERY))
    beyond = always.monthly_usd_for(capacity + 1000, QUERY)
    assert beyond - within == pytest.approx(1000 * on_demand.usd_per_request(QUERY))
    office = serverless_provisioned(prices, 3072, cost_model.OFFICE_HOURS)
    office_hours = 11 * 5 * 52 / 12
    # 2 units in office hours and the stack's floor of 1 the rest of the month (SageMaker takes no 0)
    assert office.idle_usd_per_month == pytest.approx(0.0000084 * (2 * office_hours + (730 - office_hours)) * 3600)
    assert office.requests_per_month_capacity is not None
    assert office.requests_per_month_capacity(QUERY) == pytest.approx(2 * office_hours * 3600 / 0.0123)
    assert office.name == "serverless 3 GB, provisioned concurrency 2 in office hours, 1 otherwise"


def test_provisioned_concurrency_without_a_price_is_refused_rather_than_priced_at_zero() -> None:
    with pytest.raises(ValueError, match="serverless 3072 MB: no provisioned-concurrency price"):
        serverless_provisioned(CITED, 3072)


def test_an_instance_costs_its_month_idle_and_adds_another_month_per_instance_once_full() -> None:
    option = instance_endpoint(CITED, Assumptions(machine_vcpus=2))
    month = 0.115 * HOURS_PER_MONTH
    assert option.idle_usd_per_month == pytest.approx(month)
    full = full_at(option, QUERY)
    assert full == pytest.approx(86_400 / QUERY.seconds_per_request)  # ml.m5.large has this machine's 2 vCPUs
    assert option.monthly_usd(full * 0.99, QUERY) == pytest.approx(month)
    assert option.monthly_usd(full * 1.5, QUERY) == pytest.approx(2 * month)
    faster = instance_endpoint(CITED, Assumptions(machine_vcpus=1))
    assert full_at(faster, QUERY) == pytest.approx(2 * full)


def test_a_transform_job_bills_its_start_up_and_its_compute_at_the_instance_rate() -> None:
    assumptions = Assumptions(machine_vcpus=2, transform_startup_s=300)
    seconds = 300 + 1_000_000 * BATCH.seconds_per_text / 2  # ml.c5.xlarge: 4 vCPUs, twice this machine's
    assert transform_job_usd(CITED, assumptions, 1_000_000, BATCH) == pytest.approx(seconds / 3600 * 0.204)
    daily = batch_transform(CITED, assumptions, {32: BATCH.seconds_per_text})
    assert not daily.real_time
    assert daily.idle_usd_per_month == pytest.approx(300 / 3600 * 0.204 * DAYS_PER_MONTH)
    # a lone query costs what a text costs inside the job's large requests, not what a lone request would
    assert daily.usd_per_request(QUERY) == pytest.approx(BATCH.seconds_per_text / 2 * 0.204 / 3600)


def test_break_evens_are_where_an_always_on_option_first_costs_less_than_each_on_demand_one() -> None:
    assumptions = Assumptions()
    small, large = serverless_on_demand(CITED, 2048), serverless_on_demand(CITED, 6144)
    instance = instance_endpoint(CITED, assumptions)
    job = batch_transform(CITED, assumptions, {32: BATCH.seconds_per_text})
    options = [small, large, instance, job]
    points = break_evens(options, QUERY)
    assert [(p.cheaper_below, p.cheaper_above) for p in points] == [
        (small.name, instance.name),
        (large.name, instance.name),
    ]
    for point, on_demand in zip(points, (small, large), strict=True):
        assert on_demand.monthly_usd(point.requests_per_day, QUERY) == pytest.approx(
            instance.monthly_usd(point.requests_per_day, QUERY), rel=1e-6
        )
        assert on_demand.monthly_usd(point.requests_per_day * 0.99, QUERY) < point.usd_per_month
        assert on_demand.monthly_usd(point.requests_per_day * 1.01, QUERY) > point.usd_per_month
    assert points[1].requests_per_day < points[0].requests_per_day  # the bigger size pays for an instance sooner
    # the transform job is cheaper than both here, but it answers tomorrow: it never wins a real-time comparison
    assert job.monthly_usd(points[0].requests_per_day, QUERY) < points[0].usd_per_month
    assert cheapest(options, points[0].requests_per_day * 0.99, QUERY) is small
    assert cheapest(options, points[0].requests_per_day * 1.01, QUERY) is instance


def test_no_break_even_is_reported_where_the_always_on_option_never_pays() -> None:
    options = [serverless_on_demand(CITED, 2048), instance_endpoint(CITED, Assumptions())]
    assert break_evens(options, QUERY, low=1, high=1000) == []
