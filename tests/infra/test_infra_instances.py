"""`instances`: one AllTraffic instance variant, Application Auto Scaling around it, same endpoint name and URN."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import InstancesVariant, ServerlessEmbeddingEndpointArgs, ServerlessVariant
from tests.infra.pulumi_harness import (
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    MODEL,
    SCALING_POLICY,
    SCALING_TARGET,
    Deployment,
)

RESOURCE_ID = "endpoint/alex-embedding-endpoint/variant/AllTraffic"


@pytest.fixture
def deployment(deploy_component) -> Deployment:
    instances = InstancesVariant(
        instance_type="ml.c6i.xlarge", min_instances=2, max_instances=5, target_invocations_per_instance=120
    )
    return deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", instances=instances))


def test_one_instance_variant_starting_at_the_minimum(deployment: Deployment) -> None:
    assert deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"] == [
        {
            "variantName": "AllTraffic",
            "modelName": deployment.one(MODEL).state["name"],
            "instanceType": "ml.c6i.xlarge",
            "initialInstanceCount": 2,
        }
    ]


def test_the_variant_is_a_scalable_target_between_min_and_max(deployment: Deployment) -> None:
    target = deployment.one(SCALING_TARGET)
    assert target.inputs["serviceNamespace"] == "sagemaker"
    assert target.inputs["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target.inputs["resourceId"] == RESOURCE_ID
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 5)
    assert target.inputs["region"] == "us-east-1"
    # Registered only once the endpoint exists (and is InService), which RegisterScalableTarget requires.
    assert deployment.one(ENDPOINT).urn in target.dependencies


def test_a_target_tracking_policy_on_invocations_per_instance_with_cooldowns(deployment: Deployment) -> None:
    policy, target = deployment.one(SCALING_POLICY), deployment.one(SCALING_TARGET)
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert (policy.inputs["serviceNamespace"], policy.inputs["scalableDimension"], policy.inputs["resourceId"]) == (
        "sagemaker",
        "sagemaker:variant:DesiredInstanceCount",
        RESOURCE_ID,
    )
    assert policy.inputs["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 120.0,
        "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "scaleInCooldown": 300,
        "scaleOutCooldown": 60,
    }
    assert target.urn in policy.dependencies, "the policy needs its scalable target registered first"


def test_no_cold_start_alarm_and_the_dashboard_shows_instances(deployment: Deployment) -> None:
    assert sorted(a.name for a in deployment.of_type(METRIC_ALARM)) == [
        "embedding-handler-failing",
        "embedding-invocation-5xx-errors",
        "embedding-model-latency-p90",
    ]
    widgets = json.loads(deployment.one(DASHBOARD).inputs["dashboardBody"])["widgets"]
    metrics = widgets[3]["properties"]["metrics"]
    capacity = json.dumps(metrics)
    assert "InvocationsPerInstance" in capacity and "CPUUtilization" in capacity
    namespaces = {metric[1]: metric[0] for metric in metrics if len(metric) > 2}  # not the math expressions
    assert namespaces["CPUUtilization"] == "/aws/sagemaker/Endpoints"  # an instance (host) metric
    assert namespaces["InvocationsPerInstance"] == "AWS/SageMaker"
    assert "Serverless" not in capacity


def test_exports_say_instances(deployment: Deployment) -> None:
    assert deployment.exports["endpoint_type"] == "instances"
    assert deployment.warnings == []


def test_serverless_creates_no_scaling(deploy_component) -> None:
    deployment = deploy_component()
    assert deployment.of_type(SCALING_TARGET) == [] and deployment.of_type(SCALING_POLICY) == []
    assert "instanceType" not in deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]


def test_switching_type_replaces_the_endpoint_deleting_it_first(deploy_component) -> None:
    """AWS refuses to update an instance endpoint to serverless. The endpoint's replacement trigger is its type, so
    a switch either way replaces it; deleted first, because the new one takes the same fixed name."""
    serverless = deploy_component().one(ENDPOINT)
    instances = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", instances=InstancesVariant()))

    endpoint = instances.one(ENDPOINT)
    assert endpoint.urn == serverless.urn
    assert endpoint.inputs["name"] == serverless.inputs["name"] == "alex-embedding-endpoint"
    assert (serverless.replacement_trigger, endpoint.replacement_trigger) == ("serverless", "instances")
    assert serverless.delete_before_replace and endpoint.delete_before_replace


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ServerlessVariant(), ServerlessVariant(memory_size_mb=6144, max_concurrency=10, provisioned_concurrency=1)),
        (InstancesVariant(), InstancesVariant(instance_type="ml.c6i.xlarge", min_instances=2, max_instances=4)),
    ],
    ids=["serverless sizes", "instance type and counts"],
)
def test_changes_within_a_type_update_the_endpoint_in_place(deploy_component, before: Any, after: Any) -> None:
    """A new configuration (auto-named, created first) and the same trigger: UpdateEndpoint, blue/green, no
    downtime; the same for a new model or new code, which only make a new model and configuration."""

    def deploy(variant: Any, **args: Any) -> Any:
        kind = "instances" if isinstance(variant, InstancesVariant) else "serverless"
        return deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", **{kind: variant}, **args))

    first, changed = deploy(before), deploy(after, precision="bf16")
    assert changed.one(ENDPOINT).replacement_trigger == first.one(ENDPOINT).replacement_trigger
    assert changed.one(ENDPOINT).urn == first.one(ENDPOINT).urn
    assert "name" not in changed.one(ENDPOINT_CONFIG).inputs and "name" not in changed.one(MODEL).inputs
    assert changed.one(MODEL).inputs["primaryContainer"] != first.one(MODEL).inputs["primaryContainer"]


def test_instance_defaults(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", instances=InstancesVariant()))
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 1)
    target = deployment.one(SCALING_TARGET).inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    assert deployment.one(SCALING_POLICY).inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 30.0
