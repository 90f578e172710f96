"""Alarms on by default, an optional email topic every alarm notifies, a dashboard whose URL is exported."""

from __future__ import annotations

import json

import pytest

from components import Monitoring, ServerlessEmbeddingEndpointArgs
from tests.infra.pulumi_harness import (
    ACCOUNT_ID,
    DASHBOARD,
    ENDPOINT,
    METRIC_ALARM,
    TOPIC,
    TOPIC_SUBSCRIPTION,
    Deployment,
)

DIMENSIONS = {"EndpointName": "alex-embedding-endpoint", "VariantName": "AllTraffic"}


def _alarms(deployment: Deployment) -> dict[str, dict]:
    """Single-metric alarms by metric name, the metric-math one by its name's suffix."""
    alarms = {}
    for alarm in deployment.of_type(METRIC_ALARM):
        key = alarm.inputs.get("metricName") or alarm.inputs["name"].removeprefix("alex-embedding-endpoint-")
        alarms[key] = alarm.inputs
    return alarms


@pytest.fixture
def deployment(deploy_component) -> Deployment:
    return deploy_component()


def test_default_alarms_watch_this_endpoints_variant(deployment: Deployment) -> None:
    alarms = _alarms(deployment)
    assert set(alarms) == {"Invocation5XXErrors", "ModelLatency", "ModelSetupTime", "handler-failing"}
    for metric, alarm in alarms.items():
        queried = [query["metric"] for query in alarm.get("metricQueries", []) if "metric" in query]
        for source in queried or [alarm]:
            assert source["namespace"] == "AWS/SageMaker", metric
            assert source["dimensions"] == DIMENSIONS, metric
            assert source["period"] == 300
        assert alarm["treatMissingData"] == "notBreaching", "an idle serverless endpoint publishes no data"
        assert alarm["region"] == "us-east-1"
        assert alarm["name"].startswith("alex-embedding-endpoint-")
    endpoint = deployment.one(ENDPOINT).urn
    assert all(endpoint in a.dependencies for a in deployment.of_type(METRIC_ALARM))


def test_thresholds_are_in_the_metrics_own_units(deployment: Deployment) -> None:
    alarms = _alarms(deployment)
    errors, latency, setup = alarms["Invocation5XXErrors"], alarms["ModelLatency"], alarms["ModelSetupTime"]
    assert (errors["statistic"], errors["comparisonOperator"], errors["threshold"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    # ModelLatency and ModelSetupTime are published in microseconds.
    assert (latency["extendedStatistic"], latency["threshold"], latency["evaluationPeriods"]) == ("p90", 5e6, 3)
    assert "statistic" not in latency
    assert (setup["statistic"], setup["threshold"]) == ("Maximum", 60e6)


def test_a_handler_failing_most_requests_alarms_and_a_few_bad_requests_do_not(deployment: Deployment) -> None:
    """The toolkit answers 400 for any exception in inference.py: no 5XX is ever counted for a broken handler."""
    alarm = _alarms(deployment)["handler-failing"]
    queries = {query["id"]: query for query in alarm["metricQueries"]}
    metrics = {query_id: query["metric"]["metricName"] for query_id, query in queries.items() if "metric" in query}
    assert metrics == {
        "invocations": "Invocations",
        "model_errors": "InvocationModelErrors",
        "client_errors": "Invocation4XXErrors",
    }
    assert all(query["metric"]["stat"] == "Sum" for query in queries.values() if "metric" in query)
    result = queries["result"]
    assert result["returnData"] is True and not any(q.get("returnData") for q in queries.values() if q is not result)
    assert result["expression"] == (
        "IF(FILL(invocations, 0) >= 3, MAX([FILL(model_errors, 0), FILL(client_errors, 0)]) / FILL(invocations, 1), 0)"
    )
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 0.5)
    # Within 15 minutes: 2 of 3 five-minute periods.
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (3, 2)


def test_thresholds_follow_the_monitoring_settings(deploy_component) -> None:
    settings = Monitoring(model_latency_p90_ms=800, model_setup_time_s=30)
    alarms = _alarms(deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", monitoring=settings)))
    assert alarms["ModelLatency"]["threshold"] == 800_000
    assert alarms["ModelSetupTime"]["threshold"] == 30_000_000


def test_without_an_email_alarms_notify_no_one_and_no_topic_exists(deployment: Deployment) -> None:
    assert deployment.of_type(TOPIC) == [] and deployment.of_type(TOPIC_SUBSCRIPTION) == []
    for alarm in _alarms(deployment).values():
        assert alarm.get("alarmActions", []) == [] and alarm.get("okActions", []) == []
    assert "alarm_topic_arn" not in deployment.exports


def test_an_email_gets_a_topic_that_every_alarm_notifies(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(region="eu-west-1", monitoring=Monitoring(alarm_email="ops@example.com"))
    deployment = deploy_component(args, region="eu-west-1")

    topic, subscription = deployment.one(TOPIC), deployment.one(TOPIC_SUBSCRIPTION)
    topic_arn = topic.state["arn"]
    assert topic_arn.startswith(f"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:embedding-alarms-")
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "ops@example.com"
    assert subscription.inputs["topic"] == topic_arn
    assert subscription.state["pendingConfirmation"] is True, "the recipient must confirm AWS's email"
    for metric, alarm in _alarms(deployment).items():
        assert alarm["alarmActions"] == [topic_arn], metric
        assert alarm["okActions"] == [topic_arn], metric
    assert deployment.exports["alarm_topic_arn"] == topic_arn


def test_monitoring_none_creates_nothing_and_exports_no_dashboard(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", monitoring=None))
    for token in (METRIC_ALARM, DASHBOARD, TOPIC, TOPIC_SUBSCRIPTION):
        assert deployment.of_type(token) == [], token
    assert "dashboard_url" not in deployment.exports


def test_dashboard_shows_invocations_errors_latency_and_concurrency(deployment: Deployment) -> None:
    dashboard = deployment.one(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == "alex-embedding-endpoint-us-east-1"
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    assert titles[0].startswith("Invocations") and titles[1].startswith("Errors")
    assert titles[2].startswith("Latency") and titles[3].startswith("Concurrency")
    metrics = [m for w in widgets for m in w["properties"]["metrics"]]
    names = {m[1] for m in metrics}
    assert {
        "Invocations",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "InvocationModelErrors",
        "ModelLatency",
    } <= names
    assert {"ServerlessConcurrentExecutionsUtilization", "ModelSetupTime"} <= names
    for metric in metrics:
        assert metric[2:6] == ["EndpointName", "alex-embedding-endpoint", "VariantName", "AllTraffic"]
        # Only the instance (host) metrics are under /aws/sagemaker/Endpoints; the serverless concurrency share,
        # whose name ends in Utilization too, is SageMaker's own ("Monitor a serverless endpoint").
        assert metric[0] == "AWS/SageMaker", metric
    assert all(w["properties"]["region"] == "us-east-1" for w in widgets)
    assert deployment.one(ENDPOINT).urn in dashboard.dependencies


def test_dashboard_url_is_exported(deployment: Deployment) -> None:
    assert deployment.exports["dashboard_url"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#dashboards/dashboard/alex-embedding-endpoint-us-east-1"
    )


@pytest.mark.parametrize(
    ("region", "console"),
    [("cn-north-1", "https://console.amazonaws.cn"), ("us-gov-west-1", "https://console.amazonaws-us-gov.com")],
)
def test_dashboard_url_uses_the_partitions_console(deploy_component, region: str, console: str) -> None:
    deployment = deploy_component(region=region)
    assert deployment.exports["dashboard_url"].startswith(f"{console}/cloudwatch/home?region={region}#dashboards/")


def test_alarms_and_topic_are_tagged(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", monitoring=Monitoring(alarm_email="ops@example.com"), tags={"owner": "kb"}
    )
    deployment = deploy_component(args)
    for registration in [*deployment.of_type(METRIC_ALARM), deployment.one(TOPIC)]:
        assert registration.inputs["tags"]["owner"] == "kb", registration.name
