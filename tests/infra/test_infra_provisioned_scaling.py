"""Provisioned concurrency that follows load and the clock: what a configured stack registers, what the default
does not, its monitoring, and every bad setting refused by the name the user typed before anything exists."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import yaml

from components import (
    InvalidEndpointArgsError,
    ProvisionedConcurrencyScaling,
    ScalingSchedule,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
    aws_rules,
    schedule_expressions,
)
from components.provisioned_scaling import PROVISIONED_CONCURRENCY_DIMENSION, PROVISIONED_CONCURRENCY_METRIC
from stack_config import config_name
from tests.infra.pulumi_harness import (
    COMPONENT,
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    SCALING_POLICY,
    SCALING_TARGET,
    SCHEDULED_ACTION,
    Deployment,
    ProgramFailed,
)
from tests.markdown_blocks import code_blocks
from tests.paths import PROJECT_DIR

RESOURCE_ID = "endpoint/alex-embedding-endpoint/variant/AllTraffic"
# docs/operations.md's worked example, as `pulumi config set --path` writes it.
OFFICE_HOURS = {
    "min": 1,
    "max": 4,
    "targetUtilization": 0.7,
    "schedules": [
        {
            "name": "office-hours",
            "schedule": "cron(0 8 ? * MON-FRI *)",
            "timezone": "Europe/London",
            "min": 2,
            "max": 4,
        },
        {"name": "night", "schedule": "cron(0 19 ? * MON-FRI *)", "timezone": "Europe/London", "min": 1, "max": 1},
    ],
}
STACK = {"maxConcurrency": 4, "provisionedConcurrency": 1, "provisionedConcurrencyScaling": OFFICE_HOURS}


def _serverless(**scaling: Any) -> ServerlessEmbeddingEndpointArgs:
    return ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        model_source="hub",
        pooling="client",
        serverless=ServerlessVariant(
            max_concurrency=5,
            provisioned_concurrency=2,
            provisioned_concurrency_scaling=ProvisionedConcurrencyScaling(**scaling),
        ),
    )


@pytest.fixture
def stack(deploy_stack) -> Deployment:
    return deploy_stack("dev", STACK)


def test_the_stack_scales_its_provisioned_concurrency_between_min_and_max(stack: Deployment) -> None:
    component = stack.one(COMPONENT)
    target, policy = stack.one(SCALING_TARGET), stack.one(SCALING_POLICY)
    assert target.inputs["serviceNamespace"] == "sagemaker"
    assert target.inputs["scalableDimension"] == "sagemaker:variant:DesiredProvisionedConcurrency"
    assert target.inputs["resourceId"] == RESOURCE_ID
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 4)
    assert stack.one(ENDPOINT).urn in target.dependencies, "registered once the endpoint is InService"
    assert policy.inputs["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 0.7,
        "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"},
    }
    assert (policy.inputs["scalableDimension"], policy.inputs["resourceId"]) == (
        PROVISIONED_CONCURRENCY_DIMENSION,
        RESOURCE_ID,
    )
    assert target.urn in policy.dependencies
    assert all(r.parent == component.urn for r in (target, policy, *stack.of_type(SCHEDULED_ACTION)))
    # provisionedConcurrency stays the configuration's starting value.
    variant = stack.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"]["provisionedConcurrency"] == 1


def test_each_schedule_is_a_scheduled_action_in_its_time_zone_one_after_another(stack: Deployment) -> None:
    morning, night = stack.of_type(SCHEDULED_ACTION)
    assert {key: morning.inputs[key] for key in ("name", "schedule", "timezone", "scalableTargetAction")} == {
        "name": "office-hours",
        "schedule": "cron(0 8 ? * MON-FRI *)",
        "timezone": "Europe/London",
        "scalableTargetAction": {"minCapacity": 2, "maxCapacity": 4},
    }
    assert night.inputs["scalableTargetAction"] == {"minCapacity": 1, "maxCapacity": 1}
    assert all(a.inputs["resourceId"] == RESOURCE_ID for a in (morning, night))
    assert all(a.inputs["scalableDimension"] == PROVISIONED_CONCURRENCY_DIMENSION for a in (morning, night))
    # One change to the scalable target at a time: Application Auto Scaling refuses concurrent ones.
    assert stack.one(SCALING_POLICY).urn in morning.dependencies
    assert morning.urn in night.dependencies


def test_the_default_and_a_static_provisioned_concurrency_register_no_scaling(deploy_stack) -> None:
    for settings in ({}, {"provisionedConcurrency": 1}):
        deployment = deploy_stack("dev", settings)
        assert deployment.of_type(SCALING_TARGET) == [], settings
        assert deployment.of_type(SCALING_POLICY) == [], settings
        assert deployment.of_type(SCHEDULED_ACTION) == [], settings


def test_removing_the_settings_removes_the_scaling(deploy_component) -> None:
    with_scaling = deploy_component(_serverless(min=1, schedules=[ScalingSchedule("n", "rate(1 day)", min=1)]))
    args = _serverless()
    args.serverless.provisioned_concurrency_scaling = None  # type: ignore[union-attr]
    without = deploy_component(args)
    assert len(with_scaling.of_type(SCHEDULED_ACTION)) == 1
    assert not without.of_type(SCALING_TARGET) and not without.of_type(SCHEDULED_ACTION)


def test_max_defaults_to_max_concurrency(deploy_component) -> None:
    deployment = deploy_component(_serverless(min=2))
    assert deployment.one(SCALING_TARGET).inputs["maxCapacity"] == 5


def test_spillover_alarm_and_dashboard_row_with_provisioned_concurrency(stack: Deployment, deploy_stack) -> None:
    alarm = stack.one_named("embedding-provisioned-concurrency-spillover")
    assert alarm.inputs["namespace"] == "AWS/SageMaker"
    assert alarm.inputs["metricName"] == "ServerlessProvisionedConcurrencySpilloverInvocations"
    assert (alarm.inputs["statistic"], alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"], alarm.inputs["period"]) == (3, 4, 300)
    widgets = json.loads(stack.one(DASHBOARD).inputs["dashboardBody"])["widgets"]
    shown = json.dumps(widgets[4:])
    for metric in (
        "ServerlessProvisionedConcurrencyUtilization",
        "ServerlessProvisionedConcurrencyExecutions",
        "ServerlessProvisionedConcurrencyInvocations",
        "ServerlessProvisionedConcurrencySpilloverInvocations",
    ):
        assert metric in shown
    assert '"value": 0.7' in shown, "the tracking target is drawn on the utilisation graph"
    plain = deploy_stack("dev")
    assert not [a for a in plain.of_type(METRIC_ALARM) if "spillover" in a.name]
    assert len(json.loads(plain.one(DASHBOARD).inputs["dashboardBody"])["widgets"]) == 4


def test_the_predefined_metric_and_dimension_are_in_botocores_enums() -> None:
    assert PROVISIONED_CONCURRENCY_METRIC in aws_rules.enum_values(aws_rules.PREDEFINED_METRICS)
    assert PROVISIONED_CONCURRENCY_DIMENSION in aws_rules.enum_values(aws_rules.SCALABLE_DIMENSIONS)


def test_the_component_offers_the_metrics() -> None:
    from components import ServerlessEmbeddingEndpoint
    from tests.infra.pulumi_harness import run_program

    found: dict[str, Any] = {}

    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", _serverless(min=1))
        for name in ("utilization", "executions", "invocations", "spillover_invocations"):
            metric = getattr(endpoint, f"metric_provisioned_concurrency_{name}")()
            found[name] = (metric.namespace, metric.metric_name, metric.statistic)

    run_program(program)
    assert found == {
        "utilization": ("AWS/SageMaker", "ServerlessProvisionedConcurrencyUtilization", "Maximum"),
        "executions": ("AWS/SageMaker", "ServerlessProvisionedConcurrencyExecutions", "Maximum"),
        "invocations": ("AWS/SageMaker", "ServerlessProvisionedConcurrencyInvocations", "Maximum"),
        "spillover_invocations": ("AWS/SageMaker", "ServerlessProvisionedConcurrencySpilloverInvocations", "Maximum"),
    }


def _config_set(commands: str) -> dict[str, Any]:
    """What `pulumi config set [--path] KEY VALUE` lines leave in the stack's configuration, as the CLI nests them:
    `a.b` a key of an object, `a[0]` an item of a list; values typed as YAML types them."""
    config: dict[str, Any] = {}
    for line in commands.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] != ["pulumi", "config", "set"]:
            continue
        path, value = [word for word in words[3:] if word != "--path"]
        parts = [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path)]
        node: Any = config
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            if isinstance(part, int):
                node.extend([None] * (part + 1 - len(node)))
            elif part not in node:
                node[part] = None
            if following is None:
                node[part] = yaml.safe_load(value)
            else:
                if node[part] is None:
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]
    return config


def test_the_worked_example_in_the_operations_page_deploys_what_it_says(deploy_stack) -> None:
    (block,) = [
        b for b in code_blocks(PROJECT_DIR / "docs" / "operations.md") if "provisionedConcurrencyScaling" in b.text
    ]
    settings = _config_set(block.text)
    assert settings == STACK, "the page's commands set what these tests deploy"
    deployment = deploy_stack("dev", settings)
    assert [a.inputs["schedule"] for a in deployment.of_type(SCHEDULED_ACTION)] == [
        "cron(0 8 ? * MON-FRI *)",
        "cron(0 19 ? * MON-FRI *)",
    ]


# --- refused by name, before anything is registered -------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    return {**STACK, "provisionedConcurrencyScaling": {**OFFICE_HOURS, **changes}}


def _schedule(**changes: Any) -> dict[str, Any]:
    return _with(schedules=[{**OFFICE_HOURS["schedules"][0], **changes}])  # type: ignore[index]


BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "a five-field cron",
        _schedule(schedule="cron(0 8 * * 1-5)"),
        ["provisionedConcurrencyScaling.schedules[0].schedule 'cron(0 8 * * 1-5)' has cron(0 8 * * 1-5) with 5 fields"],
    ),
    (
        "both day fields",
        _schedule(schedule="cron(0 8 * * MON-FRI *)"),
        ["give one of day-of-month (*) and day-of-week (MON-FRI) and '?' in the other"],
    ),
    ("an hour past 23", _schedule(schedule="cron(0 24 ? * MON *)"), ["has hours '24': use 0-23"]),
    ("not an expression", _schedule(schedule="weekdays at 8"), ["'weekdays at 8' is not a schedule expression"]),
    ("a date that is not", _schedule(schedule="at(2027-02-30T08:00:00)"), ["which is not a date and time"]),
    ("a plural rate of one", _schedule(schedule="rate(1 hours)"), ["with the value 1 the unit is 'hour'"]),
    (
        "a misspelled time zone",
        _schedule(timezone="Europe/Londn"),
        [
            "provisionedConcurrencyScaling.schedules[0].timezone 'Europe/Londn' is not an IANA time zone",
            "Europe/London",
        ],
    ),
    ("a UTC offset", _schedule(timezone="+01:00"), ["timezone '+01:00' is not an IANA time zone"]),
    ("a name with a colon", _schedule(name="office:hours"), ["schedules[0].name 'office:hours' is not"]),
    (
        "a schedule that changes nothing",
        _schedule(min=None, max=None),
        ["provisionedConcurrencyScaling.schedules[0] sets neither"],
    ),
    (
        "two schedules of one name",
        _with(schedules=[OFFICE_HOURS["schedules"][0], OFFICE_HOURS["schedules"][0]]),  # type: ignore[index]
        ["provisionedConcurrencyScaling.schedules[1].name 'office-hours' is used twice"],
    ),
    ("min of zero", _with(min=0), ["provisionedConcurrencyScaling.min 0 is out of range: use a whole number from 1"]),
    (
        "min above max",
        _with(min=3, max=2),
        ["provisionedConcurrencyScaling.min 3 exceeds provisionedConcurrencyScaling.max 2"],
    ),
    ("max above maxConcurrency", _with(max=5), ["provisionedConcurrencyScaling.max 5 exceeds maxConcurrency 4"]),
    (
        "a schedule's max above maxConcurrency",
        _schedule(max=9),
        ["provisionedConcurrencyScaling.schedules[0].max 9 exceeds maxConcurrency 4"],
    ),
    (
        "a target of 70",
        _with(targetUtilization=70),
        ["provisionedConcurrencyScaling.targetUtilization 70 is out of range"],
    ),
    ("a target of zero", _with(targetUtilization=0), ["targetUtilization 0 is out of range"]),
    (
        "a misspelled key",
        _with(maximum=3),
        ["provisionedConcurrencyScaling.maximum is not a setting", "did you mean max?"],
    ),
    (
        "no starting value",
        {"provisionedConcurrencyScaling": OFFICE_HOURS},
        ["provisionedConcurrencyScaling needs provisionedConcurrency, the starting value"],
    ),
    (
        "in instance mode",
        {"endpointType": "instances", "provisionedConcurrencyScaling": {"min": 1}},
        ["provisionedConcurrencyScaling {'min': 1} is a setting of endpointType 'serverless'"],
    ),
    (
        "a schedule without a name",
        _with(schedules=[{"schedule": "cron(0 8 ? * MON *)", "min": 2}]),
        ["provisionedConcurrencyScaling.schedules[0].name is not set"],
    ),
    (
        "a schedule that is a string",
        _with(schedules=["cron(0 8 ? * MON *)"]),
        ["provisionedConcurrencyScaling.schedules[0] 'cron(0 8 ? * MON *)' is a str: use a schedule (name, schedule"],
    ),
    (
        "schedules as an object",
        _with(schedules={"office": {"name": "office"}}),
        ["provisionedConcurrencyScaling.schedules {'office': {'name': 'office'}} is a dict: use a list"],
    ),
    (
        "not an object",
        {**STACK, "provisionedConcurrencyScaling": 3},
        ["provisionedConcurrencyScaling is a number 3: use an object, set key by key with `pulumi config set --path"],
    ),
]


@pytest.mark.parametrize(("case", "settings", "expected"), BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_scaling_setting_is_named_as_typed_and_nothing_is_registered(
    deploy_stack, case: str, settings: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    for fragment in expected:
        assert fragment in str(failure.value), f"{case}: {fragment!r} not in {failure.value}"
    assert failure.value.recorded == [], "nothing is registered, not even the component"


def test_every_scaling_problem_in_one_error(deploy_stack) -> None:
    settings = _with(
        min=0,
        targetUtilization=2,
        schedules=[{"name": "a", "schedule": "cron(0 8 * * MON *)", "timezone": "Mars/Olympus", "min": 9}],
    )
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)
    fields = [message.split(" ", 1)[0] for message in failure.value.cause.messages]
    assert fields == [
        "provisionedConcurrencyScaling.min",
        "provisionedConcurrencyScaling.targetUtilization",
        "provisionedConcurrencyScaling.schedules[0].schedule",
        "provisionedConcurrencyScaling.schedules[0].timezone",
        "provisionedConcurrencyScaling.schedules[0].min",
    ]


def test_numbers_the_cli_kept_as_strings_are_read_as_numbers(deploy_stack) -> None:
    settings = _with(min="1", max="3", targetUtilization="0.5")
    deployment = deploy_stack("dev", settings)
    target = deployment.one(SCALING_TARGET)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 3)
    assert deployment.one(SCALING_POLICY).inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 0.5


def test_the_library_names_its_own_fields() -> None:
    args = _serverless(min=0, schedules=[ScalingSchedule("x", "cron(0 8 ? * MON *)", "Nowhere/City", min=1)])
    with pytest.raises(InvalidEndpointArgsError) as failure:
        args.validate()
    assert failure.value.messages[0].startswith("serverless.provisioned_concurrency_scaling.min 0")
    assert failure.value.messages[1].startswith("serverless.provisioned_concurrency_scaling.schedules[0].timezone")
    assert config_name("serverless.provisioned_concurrency_scaling.schedules[0].timezone") == (
        "provisionedConcurrencyScaling.schedules[0].timezone"
    )
    assert config_name("serverless.provisioned_concurrency_scaling.target_utilization") == (
        "provisionedConcurrencyScaling.targetUtilization"
    )


# --- the expression grammar itself ---------------------------------------------------------------------------------

ACCEPTED = [
    "cron(0 8 ? * MON-FRI *)",
    "cron(30 6 ? * MON *)",  # AWS's own example
    "cron(0/15 * * * ? *)",
    "cron(0 10 * * ? *)",
    "cron(0 8 1 * ? *)",
    "cron(0 18 ? * 2-6 2027)",
    "cron(0 8 L * ? *)",
    "cron(0 8 15W * ? *)",
    "cron(0 8 ? * 6L *)",
    "cron(0 8 ? * 3#2 *)",
    "cron(0,30 8-17 ? JAN-MAR,DEC MON,WED *)",
    "at(2027-01-04T08:00:00)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 day)",
    "rate(2 hours)",
]
REFUSED = [
    "cron(0 8 * * ?)",
    "cron(0 8 ? * MON-FRI * *)",
    "cron(0  8 ? * MON *)",
    "cron(60 8 ? * MON *)",
    "cron(0 8 0 * ? *)",
    "cron(0 8 ? 13 * *)",
    "cron(0 8 ? * 8 *)",
    "cron(0 8 ? * FUNDAY *)",
    "cron(0 8 ? * * 1969)",
    "cron(0 8 ? * ? *)",
    "cron(0 8 * * * *)",
    "cron(0/0 8 ? * MON *)",
    "cron(? 8 ? * MON *)",
    "cron(0 8 ? * 3#6 *)",
    "at(2027-01-04 08:00:00)",
    "at(2027-01-04T25:00:00)",
    "rate(0 minutes)",
    "rate(5 minute)",
    "rate(5 weeks)",
    "rate(five minutes)",
    "0 8 ? * MON-FRI *",
    "CRON(0 8 ? * MON *)",
]


@pytest.mark.parametrize("expression", ACCEPTED)
def test_expressions_aws_documents_are_accepted(expression: str) -> None:
    assert schedule_expressions.problems(expression) == []


@pytest.mark.parametrize("expression", REFUSED)
def test_expressions_aws_would_refuse_are_refused(expression: str) -> None:
    assert schedule_expressions.problems(expression) != []


def test_a_python_without_a_time_zone_database_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from components import validation

    monkeypatch.setattr(validation, "time_zones", frozenset)
    (found,) = validation.check_time_zone("timezone", "Europe/London")
    assert "has no time zone database" in found.render() and "tzdata" in found.render()
