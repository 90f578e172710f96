"""CDK-style grants and children: `grant_invoke`, extra execution-role statements, public child resources."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components import InstancesVariant, Monitoring, ServerlessEmbeddingEndpoint, ServerlessEmbeddingEndpointArgs
from tests.infra.pulumi_harness import COMPONENT, ROLE, ROLE_POLICY, run_program
from tests.paths import PROJECT_DIR

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
    assert set(endpoint.alarms) == {"Invocation5XXErrors", "ModelLatency"}
    assert isinstance(endpoint.alarm_topic, aws.sns.Topic)
    assert isinstance(endpoint.alarm_subscription, aws.sns.TopicSubscription)
    assert isinstance(endpoint.dashboard, aws.cloudwatch.Dashboard)
    assert endpoint.artifact_bucket is None and endpoint.artifact_object is None and endpoint.model_artifact is None


def test_the_readme_grant_example_runs_as_written() -> None:
    """The README's snippet is code a user copies: run it, unchanged, as a Pulumi program."""
    readme = (PROJECT_DIR / "README.md").read_text()
    after = readme.split("Inside one Pulumi program the component also grants access", 1)[1]
    snippet = after.split("```python\n", 1)[1].split("```", 1)[0]

    deployment = run_program(
        lambda: exec(compile(snippet, "README.md", "exec"), {}), config={"aws:region": "us-east-1"}
    )

    grant = next(p for p in deployment.of_type(ROLE_POLICY) if p.name == "ingest-invokes-embeddings")
    assert json.loads(grant.inputs["policy"])["Statement"][0]["Resource"] == ENDPOINT_ARN
    execution = next(p for p in deployment.of_type(ROLE_POLICY) if p.name == "embedding-execution")
    assert json.loads(execution.inputs["policy"])["Statement"][-1]["Resource"] == "arn:aws:s3:::my-models/*"
