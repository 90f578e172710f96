"""What to watch on the endpoint, as plain data: the alarms, the dashboard's widgets and its console URL.

SageMaker publishes invocation metrics under `AWS/SageMaker` with the dimensions `EndpointName` and
`VariantName`; latencies (`ModelLatency`, `OverheadLatency`, `ModelSetupTime`) are in **microseconds**.
Utilisation metrics (`CPUUtilization`, `MemoryUtilization`) live under `/aws/sagemaker/Endpoints`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.regions import partition_of

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
UTILIZATION_NAMESPACE = "/aws/sagemaker/Endpoints"
MICROSECONDS_PER_MS = 1_000
MICROSECONDS_PER_S = 1_000_000
PERIOD_S = 300

# The console's host per partition; isolated partitions have no public console.
_CONSOLE_BY_PARTITION = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch metric alarm on the variant, in the provider's argument names."""

    key: str  # the logical-name suffix and the alarm name suffix
    metric_name: str
    description: str
    comparison_operator: str
    threshold: float
    evaluation_periods: int
    statistic: str | None = None
    extended_statistic: str | None = None

    def alarm_name(self, endpoint_name: str) -> str:
        return f"{endpoint_name}-{self.key}"


def alarm_specs(*, endpoint_type: str, model_latency_p90_ms: int, model_setup_time_s: int) -> list[AlarmSpec]:
    """Errors and latency for every endpoint; the cold-start cost (`ModelSetupTime`) for serverless only."""
    specs = [
        AlarmSpec(
            key="invocation-5xx-errors",
            metric_name="Invocation5XXErrors",
            description="The endpoint answered at least one 5xx (the container failed or was not ready) in 5 min.",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            evaluation_periods=1,
            statistic="Sum",
        ),
        AlarmSpec(
            key="model-latency-p90",
            metric_name="ModelLatency",
            description=(
                f"p90 of ModelLatency above {model_latency_p90_ms} ms for 15 minutes: the container is starved "
                "or failing (a full 64-text batch normally takes about 1 s)."
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=model_latency_p90_ms * MICROSECONDS_PER_MS,
            evaluation_periods=3,
            extended_statistic="p90",
        ),
    ]
    if endpoint_type == "serverless":
        specs.append(
            AlarmSpec(
                key="model-setup-time",
                metric_name="ModelSetupTime",
                description=(
                    f"A serverless cold start (container start and model download) took over {model_setup_time_s} s;"
                    " callers without retries time out."
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=model_setup_time_s * MICROSECONDS_PER_S,
                evaluation_periods=1,
                statistic="Maximum",
            )
        )
    return specs


def dashboard_name(endpoint_name: str, region: str) -> str:
    """Dashboards are global to the account, so the region keeps two stacks' dashboards apart."""
    return f"{endpoint_name}-{region}"


def dashboard_url(name: str, region: str) -> str:
    console = _CONSOLE_BY_PARTITION.get(partition_of(region), _CONSOLE_BY_PARTITION["aws"]).format(region=region)
    return f"{console}/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def _metric(
    metric_name: str, endpoint_name: Any, options: dict[str, Any] | None = None, *, namespace: str = ""
) -> list[Any]:
    dimensions = ["EndpointName", endpoint_name, "VariantName", "AllTraffic"]
    return [namespace or SAGEMAKER_NAMESPACE, metric_name, *dimensions, *([options] if options else [])]


def _widget(title: str, region: str, metrics: list, *, x: int, y: int, **properties: Any) -> dict[str, Any]:
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


def dashboard_body(*, endpoint_name: Any, region: str, endpoint_type: str, model_latency_p90_ms: int) -> dict[str, Any]:
    """Invocations, errors, latency, and capacity: concurrency for serverless, instance count for instances.

    `endpoint_name` may be an Output; the body is serialised with `pulumi.Output.json_dumps`.
    """
    invocations = _widget(
        "Invocations (per minute)", region, [_metric("Invocations", endpoint_name, {"stat": "Sum"})], x=0, y=0
    )
    errors = _widget(
        "Errors (per minute)",
        region,
        [
            _metric("Invocation4XXErrors", endpoint_name, {"stat": "Sum"}),
            _metric("Invocation5XXErrors", endpoint_name, {"stat": "Sum"}),
        ],
        x=12,
        y=0,
    )
    latency = _widget(
        "Latency (microseconds)",
        region,
        [
            _metric("ModelLatency", endpoint_name, {"stat": "p50"}),
            _metric("ModelLatency", endpoint_name, {"stat": "p90"}),
            _metric("OverheadLatency", endpoint_name, {"stat": "p90"}),
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
                _metric("ServerlessConcurrentExecutionsUtilization", endpoint_name, {"stat": "Maximum"}),
                _metric("ModelSetupTime", endpoint_name, {"stat": "Maximum", "yAxis": "right"}),
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
                _metric("Invocations", endpoint_name, {"stat": "Sum", "id": "invocations", "visible": False}),
                _metric(
                    "InvocationsPerInstance", endpoint_name, {"stat": "Sum", "id": "per_instance", "visible": False}
                ),
                _metric(
                    "CPUUtilization",
                    endpoint_name,
                    {"stat": "Average", "yAxis": "right"},
                    namespace=UTILIZATION_NAMESPACE,
                ),
            ],
            x=12,
            y=6,
        )
    return {"widgets": [invocations, errors, latency, capacity]}
