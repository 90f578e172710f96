"""What to watch on the endpoint: its metrics, the alarms built from them, the dashboard and its console URL.

SageMaker publishes invocation metrics under `AWS/SageMaker` with the dimensions `EndpointName` and `VariantName`;
latencies (`ModelLatency`, `OverheadLatency`, `ModelSetupTime`) are in **microseconds**. The instance (host)
metrics (`CPUUtilization`, `MemoryUtilization`, ...) live under `/aws/sagemaker/Endpoints`; the serverless shares
(`ServerlessConcurrentExecutionsUtilization`, `ServerlessProvisionedConcurrencyUtilization`) are SageMaker's own,
under `AWS/SageMaker`, although their names end in Utilization too.

`Metric` is what the component's `metric_*()` methods return, and what its own alarms are made of, so an alarm a
caller adds reads the same numbers as the built-in ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.constants import ENDPOINT_METRICS_NAMESPACE, SAGEMAKER_METRICS_NAMESPACE, VARIANT_NAME
from components.regions import partition_of

MICROSECONDS_PER_MS = 1_000
MICROSECONDS_PER_S = 1_000_000
PERIOD_S = 300
_STATISTICS = frozenset({"Sum", "Average", "Maximum", "Minimum", "SampleCount"})

# The console's host per partition; isolated partitions have no public console.
_CONSOLE_BY_PARTITION = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}

# A handler that fails every request: the toolkit answers 400 for any exception in inference.py, which callers see
# as ModelError and CloudWatch counts as InvocationModelErrors and Invocation4XXErrors, never as 5XX. The alarm
# looks at the share of failed invocations, and only once there are a few, so that a caller's occasional bad
# request does not page anyone.
HANDLER_FAILING_MIN_INVOCATIONS = 3
HANDLER_FAILING_SHARE = 0.5

# The instance metrics SageMaker publishes under /aws/sagemaker/Endpoints (SageMaker Developer Guide, "SageMaker AI
# endpoint instance metrics"); every other endpoint metric is under AWS/SageMaker.
HOST_METRICS = frozenset(
    {"CPUUtilization", "MemoryUtilization", "DiskUtilization", "GPUUtilization", "GPUMemoryUtilization"}
)

# Published for a serverless variant with provisioned concurrency, under AWS/SageMaker with EndpointName and
# VariantName, "Valid statistics: Average, Max, Min" (SageMaker Developer Guide, "Monitor a serverless endpoint",
# "Serverless endpoint with Provisioned Concurrency metrics"). The Utilization one is SageMaker's, not the host's.
PROVISIONED_CONCURRENCY_EXECUTIONS = "ServerlessProvisionedConcurrencyExecutions"
"""Concurrent executions handled by provisioned concurrency (Count)."""
PROVISIONED_CONCURRENCY_UTILIZATION = "ServerlessProvisionedConcurrencyUtilization"
"""Concurrent executions divided by the allocated provisioned concurrency (None: a share)."""
PROVISIONED_CONCURRENCY_INVOCATIONS = "ServerlessProvisionedConcurrencyInvocations"
"""InvokeEndpoint requests handled by provisioned concurrency (Count)."""
PROVISIONED_CONCURRENCY_SPILLOVER = "ServerlessProvisionedConcurrencySpilloverInvocations"
"""InvokeEndpoint requests not handled by provisioned concurrency but by on-demand Serverless Inference: the ones
that may meet a cold start (Count)."""
# Spillover for 3 of 4 periods of 5 minutes: sustained, not the minutes a schedule's morning scale-out or a single
# burst takes (target tracking adds warm capacity within minutes), yet within 20 minutes of warm capacity falling
# short for real. Maximum, one of the statistics AWS lists for the metric: any spilled request in a period counts.
SPILLOVER_DATAPOINTS = 3
SPILLOVER_PERIODS = 4


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric of the endpoint's variant, with the statistic and period it is read at."""

    metric_name: str
    endpoint_name: pulumi.Input[str]
    statistic: str = "Sum"
    """Sum, Average, Maximum, Minimum, SampleCount, or a percentile such as p90."""
    namespace: str = SAGEMAKER_METRICS_NAMESPACE
    period_s: int = PERIOD_S

    @property
    def dimensions(self) -> dict[str, pulumi.Input[str]]:
        return {"EndpointName": self.endpoint_name, "VariantName": VARIANT_NAME}

    def alarm_args(self) -> dict[str, Any]:
        """Keyword arguments of `aws.cloudwatch.MetricAlarm` for this metric; add a threshold and an operator."""
        statistic = (
            {"statistic": self.statistic} if self.statistic in _STATISTICS else {"extended_statistic": self.statistic}
        )
        return {
            "namespace": self.namespace,
            "metric_name": self.metric_name,
            "dimensions": self.dimensions,
            "period": self.period_s,
            **statistic,
        }

    def query(self, query_id: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        """This metric as one input of a metric-math alarm."""
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=self.namespace,
                metric_name=self.metric_name,
                dimensions=self.dimensions,
                period=self.period_s,
                stat=self.statistic,
            ),
        )

    def widget(self, **options: Any) -> list[Any]:
        """This metric in a dashboard widget's `metrics` list."""
        return [
            self.namespace,
            self.metric_name,
            "EndpointName",
            self.endpoint_name,
            "VariantName",
            VARIANT_NAME,
            {"stat": self.statistic, **options},
        ]


def endpoint_metric(
    endpoint_name: pulumi.Input[str], metric_name: str, statistic: str = "Sum", *, period_s: int = PERIOD_S
) -> Metric:
    namespace = ENDPOINT_METRICS_NAMESPACE if metric_name in HOST_METRICS else SAGEMAKER_METRICS_NAMESPACE
    return Metric(metric_name, endpoint_name, statistic, namespace, period_s)


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm on the variant: a metric against a threshold, or a metric-math expression over several."""

    key: str
    """The logical-name suffix and the alarm name suffix."""
    description: str
    comparison_operator: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int | None = None
    metric: Metric | None = None
    expression: str | None = None
    inputs: Mapping[str, Metric] = field(default_factory=dict)

    def alarm_name(self, endpoint_name: str) -> str:
        return f"{endpoint_name}-{self.key}"

    def alarm_args(self) -> dict[str, Any]:
        """Keyword arguments of `aws.cloudwatch.MetricAlarm`, without name, actions, region and tags."""
        common = {
            "alarm_description": self.description,
            "comparison_operator": self.comparison_operator,
            "threshold": self.threshold,
            "evaluation_periods": self.evaluation_periods,
            "datapoints_to_alarm": self.datapoints_to_alarm,
            # An idle serverless endpoint publishes nothing: that is fine, not a breach.
            "treat_missing_data": "notBreaching",
        }
        if self.metric is not None:
            return {**common, **self.metric.alarm_args()}
        queries = [metric.query(query_id) for query_id, metric in self.inputs.items()]
        result = aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="result", expression=self.expression, label=self.key, return_data=True
        )
        return {**common, "metric_queries": [*queries, result]}


def alarm_specs(
    *,
    endpoint_name: pulumi.Input[str],
    endpoint_type: str,
    model_latency_p90_ms: int,
    model_setup_time_s: int,
    provisioned_concurrency: bool = False,
) -> list[AlarmSpec]:
    """Errors, a failing handler and latency for every endpoint; the cold-start cost for serverless only; requests
    spilling over to cold capacity for serverless with provisioned concurrency."""
    specs = [
        AlarmSpec(
            key="invocation-5xx-errors",
            description="The endpoint answered at least one 5xx (the container failed or was not ready) in 5 min.",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            evaluation_periods=1,
            metric=endpoint_metric(endpoint_name, "Invocation5XXErrors", "Sum"),
        ),
        AlarmSpec(
            key="handler-failing",
            description=(
                f"At least {HANDLER_FAILING_SHARE:.0%} of invocations failed in the model container (ModelError, "
                f"4xx) in 2 of 3 periods of 5 min, with at least {HANDLER_FAILING_MIN_INVOCATIONS} invocations in "
                "each: inference.py or the model is broken. A caller's few bad requests do not trigger it."
            ),
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=HANDLER_FAILING_SHARE,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            expression=(
                f"IF(FILL(invocations, 0) >= {HANDLER_FAILING_MIN_INVOCATIONS}, "
                "MAX([FILL(model_errors, 0), FILL(client_errors, 0)]) / FILL(invocations, 1), 0)"
            ),
            inputs={
                "invocations": endpoint_metric(endpoint_name, "Invocations", "Sum"),
                "model_errors": endpoint_metric(endpoint_name, "InvocationModelErrors", "Sum"),
                "client_errors": endpoint_metric(endpoint_name, "Invocation4XXErrors", "Sum"),
            },
        ),
        AlarmSpec(
            key="model-latency-p90",
            description=(
                f"p90 of ModelLatency above {model_latency_p90_ms} ms for 15 minutes: the container is starved "
                "or failing (a full 128-text batch of pooled answers normally takes about 1 s)."
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=model_latency_p90_ms * MICROSECONDS_PER_MS,
            evaluation_periods=3,
            metric=endpoint_metric(endpoint_name, "ModelLatency", "p90"),
        ),
    ]
    if endpoint_type == "serverless":
        specs.append(
            AlarmSpec(
                key="model-setup-time",
                description=(
                    f"A serverless cold start (image, model.tar.gz from S3, the container's start) took over "
                    f"{model_setup_time_s} s; callers without retries time out."
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=model_setup_time_s * MICROSECONDS_PER_S,
                evaluation_periods=1,
                metric=endpoint_metric(endpoint_name, "ModelSetupTime", "Maximum"),
            )
        )
    if endpoint_type == "serverless" and provisioned_concurrency:
        specs.append(
            AlarmSpec(
                key="provisioned-concurrency-spillover",
                description=(
                    f"Requests spilled over from provisioned concurrency to on-demand (cold) capacity in "
                    f"{SPILLOVER_DATAPOINTS} of {SPILLOVER_PERIODS} periods of 5 min: warm capacity is too small for "
                    "the load, or a schedule leaves it cold while callers are busy."
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                evaluation_periods=SPILLOVER_PERIODS,
                datapoints_to_alarm=SPILLOVER_DATAPOINTS,
                metric=endpoint_metric(endpoint_name, PROVISIONED_CONCURRENCY_SPILLOVER, "Maximum"),
            )
        )
    return specs


def dashboard_name(endpoint_name: str, region: str) -> str:
    """Dashboards are global to the account, so the region keeps two stacks' dashboards apart."""
    return f"{endpoint_name}-{region}"


def dashboard_url(name: str, region: str) -> str:
    console = _CONSOLE_BY_PARTITION.get(partition_of(region), _CONSOLE_BY_PARTITION["aws"]).format(region=region)
    return f"{console}/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def _widget(title: str, region: str, metrics: list[Any], *, x: int, y: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "period": 60,
            "metrics": metrics,
            **properties,
        },
    }


def dashboard_body(
    *,
    endpoint_name: pulumi.Input[str],
    region: str,
    endpoint_type: str,
    model_latency_p90_ms: int,
    provisioned_concurrency: bool = False,
    target_utilization: float | None = None,
) -> dict[str, Any]:
    """Invocations, errors, latency, and capacity: concurrency for serverless, instance count for instances; with
    provisioned concurrency, a row for it (utilisation against the tracking target, warm and spilled requests).

    `endpoint_name` may be an Output; the body is serialised with `pulumi.Output.json_dumps`.
    """

    def metric(name: str, statistic: str) -> Metric:
        return endpoint_metric(endpoint_name, name, statistic)

    invocations = _widget("Invocations (per minute)", region, [metric("Invocations", "Sum").widget()], x=0, y=0)
    errors = _widget(
        "Errors (per minute)",
        region,
        [
            metric("Invocation4XXErrors", "Sum").widget(),
            metric("Invocation5XXErrors", "Sum").widget(),
            metric("InvocationModelErrors", "Sum").widget(),
        ],
        x=12,
        y=0,
    )
    latency = _widget(
        "Latency (microseconds)",
        region,
        [
            metric("ModelLatency", "p50").widget(),
            metric("ModelLatency", "p90").widget(),
            metric("OverheadLatency", "p90").widget(),
        ],
        x=0,
        y=6,
        annotations={
            "horizontal": [{"label": "ModelLatency p90 alarm", "value": model_latency_p90_ms * MICROSECONDS_PER_MS}]
        },
    )
    if endpoint_type == "serverless":
        capacity = _widget(
            "Concurrency used (fraction of maxConcurrency) and cold starts",
            region,
            [
                metric("ServerlessConcurrentExecutionsUtilization", "Maximum").widget(),
                metric("ModelSetupTime", "Maximum").widget(yAxis="right"),
            ],
            x=12,
            y=6,
        )
    else:
        capacity = _widget(
            "Instances (Invocations / InvocationsPerInstance, while there is traffic) and CPU",
            region,
            [
                [{"expression": "invocations / per_instance", "label": "instances", "id": "instances"}],
                metric("Invocations", "Sum").widget(id="invocations", visible=False),
                metric("InvocationsPerInstance", "Sum").widget(id="per_instance", visible=False),
                metric("CPUUtilization", "Average").widget(yAxis="right"),
            ],
            x=12,
            y=6,
        )
    widgets = [invocations, errors, latency, capacity]
    if endpoint_type == "serverless" and provisioned_concurrency:
        widgets += _provisioned_concurrency_widgets(endpoint_name, region, target_utilization)
    return {"widgets": widgets}


def _provisioned_concurrency_widgets(
    endpoint_name: pulumi.Input[str], region: str, target_utilization: float | None
) -> list[dict[str, Any]]:
    def metric(name: str) -> Metric:
        return endpoint_metric(endpoint_name, name, "Maximum")

    target = (
        {"annotations": {"horizontal": [{"label": "target utilisation", "value": target_utilization}]}}
        if target_utilization is not None
        else {}
    )
    warm = _widget(
        "Provisioned concurrency: utilisation (share of warm capacity in use) and executions",
        region,
        [
            metric(PROVISIONED_CONCURRENCY_UTILIZATION).widget(),
            metric(PROVISIONED_CONCURRENCY_EXECUTIONS).widget(yAxis="right"),
        ],
        x=0,
        y=12,
        **target,
    )
    spillover = _widget(
        "Requests served warm (provisioned) and spilled over to cold capacity",
        region,
        [metric(PROVISIONED_CONCURRENCY_INVOCATIONS).widget(), metric(PROVISIONED_CONCURRENCY_SPILLOVER).widget()],
        x=12,
        y=12,
    )
    return [warm, spillover]
