"""Application Auto Scaling of the endpoint's one variant: a scalable target, a target-tracking policy, and for a
serverless variant's provisioned concurrency the scheduled actions that move its bounds by the clock.

Both endpoint types scale the same way, on different dimensions: instances on `sagemaker:variant:DesiredInstanceCount`
tracking invocations per instance, serverless on `sagemaker:variant:DesiredProvisionedConcurrency` tracking
`SageMakerVariantProvisionedConcurrencyUtilization` (Application Auto Scaling's MetricType enum, in botocore's
model). `scale_variant` registers what they share; `scale_provisioned_concurrency` adds the schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.constants import VARIANT_NAME
from components.endpoint_args import ProvisionedConcurrencyScaling

PROVISIONED_CONCURRENCY_DIMENSION = "sagemaker:variant:DesiredProvisionedConcurrency"
PROVISIONED_CONCURRENCY_METRIC = "SageMakerVariantProvisionedConcurrencyUtilization"

ChildOptions = Callable[..., pulumi.ResourceOptions]
"""The component's `_child(*depends_on)`: options of a child resource that waits for the given ones."""


class VariantScaling(NamedTuple):
    target: aws.appautoscaling.Target
    policy: aws.appautoscaling.Policy
    scheduled_actions: list[aws.appautoscaling.ScheduledAction]


def variant_resource_id(endpoint_name: pulumi.Output[str]) -> pulumi.Output[str]:
    """Built from the endpoint's output, so the target is registered only once the endpoint is InService."""
    return endpoint_name.apply(lambda endpoint: f"endpoint/{endpoint}/variant/{VARIANT_NAME}")


def scale_variant(
    name: str,
    *,
    endpoint_name: pulumi.Output[str],
    dimension: str,
    min_capacity: int,
    max_capacity: int,
    metric: str,
    target_value: float,
    region: str,
    tags: Mapping[str, str],
    child: ChildOptions,
    scale_in_cooldown_s: int | None = None,
    scale_out_cooldown_s: int | None = None,
) -> tuple[aws.appautoscaling.Target, aws.appautoscaling.Policy]:
    """The variant as a scalable target between min and max, and target tracking on a predefined metric.

    `name` prefixes the logical names (`<name>-target`, `<name>-policy`); the policy takes the target's outputs,
    so it is put only after the target is registered.
    """
    tracking_args = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
    metric_args = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
    target = aws.appautoscaling.Target(
        f"{name}-target",
        service_namespace="sagemaker",
        scalable_dimension=dimension,
        resource_id=variant_resource_id(endpoint_name),
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        region=region,
        tags=dict(tags),
        opts=child(),
    )
    policy = aws.appautoscaling.Policy(
        f"{name}-policy",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=tracking_args(
            target_value=float(target_value),
            predefined_metric_specification=metric_args(predefined_metric_type=metric),
            scale_in_cooldown=scale_in_cooldown_s,
            scale_out_cooldown=scale_out_cooldown_s,
        ),
        region=region,
        opts=child(),
    )
    return target, policy


def scale_provisioned_concurrency(
    name: str,
    scaling: ProvisionedConcurrencyScaling,
    *,
    endpoint_name: pulumi.Output[str],
    max_concurrency: int,
    region: str,
    tags: Mapping[str, str],
    child: ChildOptions,
) -> VariantScaling:
    """Target tracking on provisioned-concurrency utilisation, and one scheduled action per schedule.

    Logical names: `<name>-pc-scaling-target`, `-policy`, and `<name>-pc-schedule-<schedule name>` (the name, not
    the position, so reordering the list changes nothing). A schedule without a time zone is read in UTC.
    """
    target, policy = scale_variant(
        f"{name}-pc-scaling",
        endpoint_name=endpoint_name,
        dimension=PROVISIONED_CONCURRENCY_DIMENSION,
        min_capacity=scaling.min,
        max_capacity=scaling.max if scaling.max is not None else max_concurrency,
        metric=PROVISIONED_CONCURRENCY_METRIC,
        target_value=scaling.target_utilization,
        region=region,
        tags=tags,
        child=child,
    )
    # One after another, after the policy: Application Auto Scaling refuses a second change to a scalable target
    # while one is pending ("ConcurrentUpdateException: You already have a pending update to an Auto Scaling
    # resource", hashicorp/terraform#14258, hashicorp/terraform-provider-aws#17915).
    actions: list[aws.appautoscaling.ScheduledAction] = []
    for schedule in scaling.schedules:
        previous: pulumi.Resource = actions[-1] if actions else policy
        actions.append(
            aws.appautoscaling.ScheduledAction(
                f"{name}-pc-schedule-{schedule.name}",
                name=schedule.name,
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                schedule=schedule.schedule,
                timezone=schedule.timezone,
                scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                    min_capacity=schedule.min, max_capacity=schedule.max
                ),
                region=region,
                opts=child(previous),
            )
        )
    return VariantScaling(target, policy, actions)
