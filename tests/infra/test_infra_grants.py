"""CDK-style grants and children: `grant_invoke`, extra execution-role statements, public child resources."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest

from components import (
    InstancesVariant,
    ModelArtifactStore,
    Monitoring,
    ServerlessEmbeddingEndpoint,
    ServerlessEmbeddingEndpointArgs,
)
from tests.infra.pulumi_harness import COMPONENT, METRIC_ALARM, ROLE, ROLE_POLICY, ProgramFailed, run_program

ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/alex-embedding-endpoint"
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_grant_invoke_attaches_invoke_on_this_endpoint_to_a_role_of_the_program() -> None:
    granted: list[aws.iam.RolePolicy] = []

    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1"))
        ingest = aws.iam.Role("ingest-lambda", assume_role_policy=LAMBDA_TRUST)
        granted.append(endpoint.grant_invoke("ingest-invokes-embeddings", ingest))

    deployment = run_program(program, config={"aws:region": "us-east-1"})

    assert isinstance(granted[0], aws.iam.RolePolicy)
    grant = next(p for p in deployment.of_type(ROLE_POLICY) if p.name == "ingest-invokes-embeddings")
    ingest = next(r for r in deployment.of_type(ROLE) if r.name == "ingest-lambda")
    assert grant.inputs["role"] == ingest.state["name"]
    assert json.loads(grant.inputs["policy"])["Statement"] == [
        {
            "Sid": "InvokeEmbeddingEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": ENDPOINT_ARN,
        }
    ]
    assert grant.parent == deployment.one(COMPONENT).urn
    assert ingest.urn in grant.dependencies


def test_extra_statements_are_appended_to_the_execution_policy() -> None:
    extra = [
        {"Sid": "ReadTokenizer", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::kb/tok/*"},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "arn:aws:kms:us-east-1:123456789012:key/abc"},
    ]

    def program() -> None:
        ServerlessEmbeddingEndpoint(
            "embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1", execution_role_statements=extra)
        )

    policy = json.loads(run_program(program, config={"aws:region": "us-east-1"}).one(ROLE_POLICY).inputs["policy"])
    assert [s.get("Sid") for s in policy["Statement"]] == [
        "PullInferenceImage",
        "AuthenticateToEcr",
        "WriteEndpointLogs",
        "PublishEndpointMetrics",
        "ReadModelArtifact",
        "ReadTokenizer",
        None,
    ]
    assert policy["Statement"][-2:] == extra


def test_extra_statements_may_hold_outputs_of_the_same_program() -> None:
    def program() -> None:
        bucket = aws.s3.Bucket("corpus")
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": pulumi.Output.concat(bucket.arn, "/*")}
        ServerlessEmbeddingEndpoint(
            "embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1", execution_role_statements=[statement])
        )

    deployment = run_program(program, config={"aws:region": "us-east-1"})
    policy = deployment.one(ROLE_POLICY)
    assert json.loads(policy.inputs["policy"])["Statement"][-1]["Resource"].startswith("arn:aws:s3:::corpus-")
    corpus = next(r for r in deployment.registrations if r.name == "corpus")
    assert corpus.urn in policy.dependencies


def test_children_are_public_attributes() -> None:
    components: list[ServerlessEmbeddingEndpoint] = []

    def program() -> None:
        args = ServerlessEmbeddingEndpointArgs(
            region="us-east-1",
            instances=InstancesVariant(),
            monitoring=Monitoring(alarm_email="ops@example.com"),
        )
        components.append(ServerlessEmbeddingEndpoint("embedding", args))

    run_program(program, config={"aws:region": "us-east-1"})
    endpoint = components[0]
    assert isinstance(endpoint.role, aws.iam.Role)
    assert isinstance(endpoint.execution_policy, aws.iam.RolePolicy)
    assert isinstance(endpoint.model, aws.sagemaker.Model)
    assert isinstance(endpoint.endpoint_config, aws.sagemaker.EndpointConfiguration)
    assert isinstance(endpoint.endpoint, aws.sagemaker.Endpoint)
    assert isinstance(endpoint.scaling_target, aws.appautoscaling.Target)
    assert isinstance(endpoint.scaling_policy, aws.appautoscaling.Policy)
    assert set(endpoint.alarms) == {"invocation-5xx-errors", "handler-failing", "model-latency-p90"}
    assert isinstance(endpoint.alarm_topic, aws.sns.Topic)
    assert isinstance(endpoint.alarm_subscription, aws.sns.TopicSubscription)
    assert isinstance(endpoint.dashboard, aws.cloudwatch.Dashboard)
    store = endpoint.artifact_store
    assert isinstance(store, ModelArtifactStore)
    assert isinstance(store.bucket, aws.s3.Bucket) and isinstance(store.object, aws.s3.BucketObjectv2)
    assert endpoint.plan.artifact is not None and endpoint.plan.model_files is not None


def test_the_tutorials_setup_has_no_artifact_store() -> None:
    components: list[ServerlessEmbeddingEndpoint] = []

    def program() -> None:
        args = ServerlessEmbeddingEndpointArgs(region="us-east-1", model_source="hub", pooling="client")
        components.append(ServerlessEmbeddingEndpoint("embedding", args))

    run_program(program, config={"aws:region": "us-east-1"})
    assert components[0].artifact_store is None and components[0].plan.artifact is None


@pytest.mark.parametrize(
    "role",
    [
        lambda: "ingest-lambda-role",
        lambda: "arn:aws:iam::123456789012:role/service-role/ingest-lambda-role",
        # Made inside the program: an Output belongs to the event loop it was made on.
        lambda: pulumi.Output.from_input("arn:aws:iam::123456789012:role/ingest-lambda-role"),
    ],
    ids=["name", "arn with a path", "output"],
)
def test_grant_invoke_takes_any_role_by_name_or_arn(role: Callable[[], object]) -> None:
    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1"))
        endpoint.grant_invoke("ingest-invokes-embeddings", role())

    deployment = run_program(program, config={"aws:region": "us-east-1"})
    grant = next(p for p in deployment.of_type(ROLE_POLICY) if p.name == "ingest-invokes-embeddings")
    assert grant.inputs["role"] == "ingest-lambda-role"
    assert json.loads(grant.inputs["policy"])["Statement"][0]["Resource"] == ENDPOINT_ARN


def test_grant_invoke_refuses_an_arn_that_is_not_a_role() -> None:
    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1"))
        endpoint.grant_invoke("grant", "arn:aws:iam::123456789012:user/bob")

    with pytest.raises(ProgramFailed, match="'arn:aws:iam::123456789012:user/bob' is not an IAM role ARN"):
        run_program(program, config={"aws:region": "us-east-1"})


def test_metric_helpers_give_the_built_in_alarms_metrics_for_alarms_of_ones_own() -> None:
    """A caller's alarm from `metric_*().alarm_args()` reads the same metric as the component's own."""

    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", ServerlessEmbeddingEndpointArgs(region="us-east-1"))
        aws.cloudwatch.MetricAlarm(
            "p99-latency",
            **endpoint.metric_model_latency("p99").alarm_args(),
            comparison_operator="GreaterThanThreshold",
            threshold=2_000_000,
            evaluation_periods=1,
        )
        aws.cloudwatch.MetricAlarm(
            "busy",
            **endpoint.metric_invocations().alarm_args(),
            comparison_operator="GreaterThanThreshold",
            threshold=1000,
            evaluation_periods=1,
        )

    deployment = run_program(program, config={"aws:region": "us-east-1"})
    alarms = {alarm.name: alarm.inputs for alarm in deployment.of_type(METRIC_ALARM)}
    dimensions = {"EndpointName": "alex-embedding-endpoint", "VariantName": "AllTraffic"}
    built_in, own = alarms["embedding-model-latency-p90"], alarms["p99-latency"]
    for key in ("namespace", "metricName", "dimensions", "period"):
        assert own[key] == built_in[key], key
    assert (own["extendedStatistic"], own["dimensions"]) == ("p99", dimensions)
    assert (alarms["busy"]["metricName"], alarms["busy"]["statistic"]) == ("Invocations", "Sum")
    endpoint_urn = next(r.urn for r in deployment.registrations if r.name == "embedding-endpoint")
    assert endpoint_urn in deployment.one_named("p99-latency").dependencies
