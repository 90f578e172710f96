"""The new stack keys through the real __main__.py: each one reaches the component, each bad value is named."""

from __future__ import annotations

from typing import Any

import pytest

from components import InvalidEndpointArgsError
from tests.infra.pulumi_harness import (
    BUCKET_OBJECT,
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    MODEL,
    SCALING_POLICY,
    SCALING_TARGET,
    TOPIC_SUBSCRIPTION,
    ProgramFailed,
)
from tests.infra.stack_config import StackConfigError, load_stack_config
from tests.paths import PROJECT_DIR


def test_endpoint_type_instances_with_its_keys(deploy_stack) -> None:
    deployment = deploy_stack(
        "dev",
        {
            "endpointType": "instances",
            "instanceType": "ml.c5.xlarge",
            "minInstances": 2,
            "maxInstances": 4,
            "targetInvocationsPerInstance": 90,
        },
    )
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.c5.xlarge", 2)
    assert "serverlessConfig" not in variant
    target = deployment.one(SCALING_TARGET).inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    tracking = deployment.one(SCALING_POLICY).inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 90
    assert deployment.exports["endpoint_type"] == "instances"
    assert deployment.one(ENDPOINT).inputs["name"] == "alex-embedding-endpoint"


def test_endpoint_type_instances_with_defaults(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"endpointType": "instances"})
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 1)
    assert deployment.one(SCALING_TARGET).inputs["maxCapacity"] == 2


def test_monitoring_false_turns_everything_off(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"monitoring": False})
    assert deployment.of_type(METRIC_ALARM) == [] and deployment.of_type(DASHBOARD) == []
    assert "dashboard_url" not in deployment.exports


def test_alarm_email_adds_the_topic_and_its_export(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"alarmEmail": "ops@example.com"})
    assert deployment.one(TOPIC_SUBSCRIPTION).inputs["endpoint"] == "ops@example.com"
    assert deployment.exports["alarm_topic_arn"].startswith("arn:aws:sns:us-east-1:")


def test_pooling_server_packs_the_projects_model_artifact(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"pooling": "server"})
    obj = deployment.one(BUCKET_OBJECT)
    assert obj.inputs["key"].startswith("model-artifacts/")
    assert deployment.one(MODEL).inputs["primaryContainer"]["modelDataUrl"] == deployment.exports["model_data_url"]
    assert deployment.exports["pooling"] == "server"


BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("unknown endpoint type", {"endpointType": "gpu"}, ["endpointType 'gpu'", "serverless, instances"]),
    (
        "serverless key in instance mode",
        {"endpointType": "instances", "memorySizeMb": 4096},
        ["memorySizeMb 4096 is a setting of endpointType 'serverless'", "pulumi config rm memorySizeMb"],
    ),
    (
        "provisioned concurrency in instance mode",
        {"endpointType": "instances", "provisionedConcurrency": 1},
        ["provisionedConcurrency 1 is a setting of endpointType 'serverless'"],
    ),
    (
        "instance key in serverless mode",
        {"instanceType": "ml.m5.large"},
        ["instanceType 'ml.m5.large' is a setting of endpointType 'instances'", "endpointType is 'serverless'"],
    ),
    (
        "scaling key in serverless mode",
        {"maxInstances": 3, "targetInvocationsPerInstance": 10},
        ["maxInstances 3 is a setting", "targetInvocationsPerInstance 10 is a setting"],
    ),
    (
        "bad instance type",
        {"endpointType": "instances", "instanceType": "ml.t3.medium"},
        ["instanceType 'ml.t3.medium' is not a SageMaker real-time instance type"],
    ),
    (
        "min above max",
        {"endpointType": "instances", "minInstances": 4, "maxInstances": 3},
        ["minInstances 4 exceeds maxInstances 3"],
    ),
    ("negative min", {"endpointType": "instances", "minInstances": -1}, ["minInstances -1"]),
    ("bad alarm email", {"alarmEmail": "ops at example.com"}, ["alarmEmail 'ops at example.com'"]),
    (
        "alarm email with monitoring off",
        {"monitoring": False, "alarmEmail": "ops@example.com"},
        ["alarmEmail 'ops@example.com' is set but monitoring is false"],
    ),
    ("unknown pooling", {"pooling": "mean"}, ["pooling 'mean'"]),
]


@pytest.mark.parametrize(("case", "settings", "expected"), BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_new_key_is_named_and_nothing_is_registered(
    deploy_stack, case: str, settings: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    for fragment in expected:
        assert fragment in str(failure.value), f"{case}: {fragment!r} not in {failure.value}"
    assert failure.value.recorded == []


def test_every_problem_of_every_key_in_one_error(deploy_stack) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack(
            "dev",
            {
                "endpointType": "instances",
                "memorySizeMb": 4096,
                "instanceType": "ml.nope",
                "minInstances": 3,
                "maxInstances": 2,
                "pooling": "mean",
                "alarmEmail": "nobody",
                "hfToken": "hf_plain",
            },
        )
    problems = failure.value.cause.problems
    assert [p.split(" ", 1)[0] for p in problems] == [
        "memorySizeMb",
        "instanceType",
        "minInstances",
        "alarmEmail",
        "pooling",
        "hfToken",
    ]
    assert failure.value.recorded == []


@pytest.mark.parametrize(
    ("key", "value", "declared"),
    [("monitoring", "yes", "boolean"), ("minInstances", "two", "integer"), ("maxInstances", "3.5", "integer")],
)
def test_the_cli_refuses_a_value_of_the_wrong_type_before_the_program_runs(key: str, value: str, declared: str) -> None:
    with pytest.raises(StackConfigError, match=f"'{key}' must be of type '{declared}'"):
        load_stack_config(PROJECT_DIR, "dev", {key: value})
