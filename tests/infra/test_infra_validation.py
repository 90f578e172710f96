"""Every plain value is checked before anything is registered; the error names the value and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import (
    InstancesVariant,
    InvalidEndpointArgsError,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from tests.infra.pulumi_harness import ProgramFailed

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("endpoint name with underscore", {"endpoint_name": "alex_embedding"}, ["'alex_embedding'", "hyphens"]),
    ("endpoint name too long", {"endpoint_name": "a" * 64}, ["'" + "a" * 64 + "'", "1-63"]),
    ("endpoint name ends with hyphen", {"endpoint_name": "alex-"}, ["'alex-'", "starting and ending"]),
    ("empty endpoint name", {"endpoint_name": ""}, ["endpointName ''"]),
    ("model id with spaces", {"model_id": "all MiniLM"}, ["modelId 'all MiniLM'", "'owner/name'"]),
    ("model id with two slashes", {"model_id": "a/b/c"}, ["modelId 'a/b/c'"]),
    ("model id with double dash", {"model_id": "org/name--x"}, ["modelId 'org/name--x'"]),
    ("revision with spaces", {"model_revision": "main branch"}, ["modelRevision 'main branch'", "commit hash"]),
    ("task with capitals", {"task": "Feature_Extraction"}, ["task 'Feature_Extraction'", "'feature-extraction'"]),
    (
        "memory not a step of 1024",
        {"serverless": ServerlessVariant(memory_size_mb=3000)},
        ["memorySizeMb 3000", "1024, 2048, 3072"],
    ),
    ("memory above 6144", {"serverless": ServerlessVariant(memory_size_mb=7168)}, ["memorySizeMb 7168", "6144"]),
    ("memory of zero", {"serverless": ServerlessVariant(memory_size_mb=0)}, ["memorySizeMb 0"]),
    (
        "max concurrency zero",
        {"serverless": ServerlessVariant(max_concurrency=0)},
        ["maxConcurrency 0", "from 1 to 200"],
    ),
    (
        "max concurrency above 200",
        {"serverless": ServerlessVariant(max_concurrency=201)},
        ["maxConcurrency 201", "from 1 to 200"],
    ),
    ("max concurrency not an int", {"serverless": ServerlessVariant(max_concurrency=2.5)}, ["maxConcurrency 2.5"]),
    (
        "provisioned negative",
        {"serverless": ServerlessVariant(provisioned_concurrency=-1)},
        ["provisionedConcurrency -1", "from 1 to 200"],
    ),
    (
        "provisioned above max",
        {"serverless": ServerlessVariant(max_concurrency=2, provisioned_concurrency=3)},
        ["provisionedConcurrency 3 exceeds maxConcurrency 2"],
    ),
    ("region shape", {"region": "useast1"}, ["region 'useast1'", "'us-east-1'"]),
    ("image not ECR", {"image_uri": "docker.io/library/python:3"}, ["imageUri 'docker.io/library/python:3'"]),
    (
        "image from another region",
        {"image_uri": "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference:2.6.0"},
        ["in region 'us-west-2' but the stack deploys to 'us-east-1'", "cross-region"],
    ),
    ("role ARN shape", {"execution_role_arn": "my-role"}, ["executionRoleArn 'my-role'", "role/<name>"]),
    (
        "role ARN of a user",
        {"execution_role_arn": "arn:aws:iam::123456789012:user/bob"},
        ["executionRoleArn 'arn:aws:iam::123456789012:user/bob'"],
    ),
    (
        "role ARN in another partition",
        {"execution_role_arn": "arn:aws-cn:iam::123456789012:role/x"},
        ["partition 'aws-cn'", "'us-east-1' is in 'aws'"],
    ),
    ("reserved tag key", {"tags": {"aws:owner": "me"}}, ["tag key 'aws:owner'"]),
    ("tag value too long", {"tags": {"note": "x" * 257}}, ["tag 'note' has value"]),
    # Instances
    (
        "unknown instance type",
        {"instances": InstancesVariant(instance_type="ml.m5.larg")},
        ["instanceType 'ml.m5.larg'", "ProductionVariantInstanceType", "did you mean ml.m5.large"],
    ),
    ("instance type without ml.", {"instances": InstancesVariant(instance_type="m5.large")}, ["'m5.large'"]),
    (
        "Graviton with the x86 image",
        {"instances": InstancesVariant(instance_type="ml.c7g.large")},
        ["instanceType 'ml.c7g.large'", "Graviton", "x86_64"],
    ),
    ("min instances zero", {"instances": InstancesVariant(min_instances=0)}, ["minInstances 0", "at least 1"]),
    ("max instances not an int", {"instances": InstancesVariant(max_instances=2.5)}, ["maxInstances 2.5"]),
    (
        "min above max",
        {"instances": InstancesVariant(min_instances=3, max_instances=2)},
        ["minInstances 3 exceeds maxInstances 2"],
    ),
    (
        "target invocations zero",
        {"instances": InstancesVariant(target_invocations_per_instance=0)},
        ["targetInvocationsPerInstance 0", "at least 1"],
    ),
    ("negative cooldown", {"instances": InstancesVariant(scale_in_cooldown_s=-5)}, ["scale_in_cooldown_s -5"]),
    (
        "both endpoint types",
        {"serverless": ServerlessVariant(), "instances": InstancesVariant()},
        ["serverless and instances are both set"],
    ),
    # Monitoring
    ("alarm email without @", {"monitoring": Monitoring(alarm_email="ops")}, ["alarmEmail 'ops'", "ops@example.com"]),
    ("latency threshold zero", {"monitoring": Monitoring(model_latency_p90_ms=0)}, ["model_latency_p90_ms 0"]),
    ("setup threshold negative", {"monitoring": Monitoring(model_setup_time_s=-1)}, ["model_setup_time_s -1"]),
    # Pooling
    ("unknown pooling", {"pooling": "mean"}, ["pooling 'mean'", "'client'", "'server'"]),
    (
        "server pooling without the folder",
        {"pooling": "server", "model_artifact_dir": Path("/nonexistent/model_artifact")},
        ["model artifact folder '/nonexistent/model_artifact' does not exist", "code/inference.py"],
    ),
    # Extra execution-role statements
    (
        "statement without effect",
        {"execution_role_statements": [{"Action": "s3:GetObject", "Resource": "*"}]},
        ["execution_role_statements[0] has Effect None", "'Allow'"],
    ),
    (
        "statement with an empty action list",
        {"execution_role_statements": [{"Effect": "Allow", "Action": [], "Resource": "*"}]},
        ["execution_role_statements[0] has Action []"],
    ),
    (
        "statement without resource",
        {"execution_role_statements": [{"Effect": "Allow", "Action": "kms:Decrypt"}]},
        ["execution_role_statements[0] has no Resource"],
    ),
    (
        "statement reusing a Sid",
        {
            "execution_role_statements": [
                {"Sid": "AuthenticateToEcr", "Effect": "Allow", "Action": "a:b", "Resource": "*"}
            ]
        },
        ["Sid 'AuthenticateToEcr'", "already uses"],
    ),
    (
        "statement that is a string",
        {"execution_role_statements": ["s3:GetObject"]},
        ["'s3:GetObject' is not a statement"],
    ),
    (
        "statements with your own role",
        {
            "execution_role_arn": "arn:aws:iam::123456789012:role/mine",
            "execution_role_statements": [{"Effect": "Allow", "Action": "a:b", "Resource": "*"}],
        },
        ["cannot be added to a role you bring"],
    ),
]


@pytest.mark.parametrize(("case", "overrides", "expected"), CASES, ids=[case for case, _, _ in CASES])
def test_bad_value_is_refused_by_name_before_anything_is_registered(
    deploy_component, case: str, overrides: dict[str, Any], expected: list[str]
) -> None:
    args = ServerlessEmbeddingEndpointArgs(**{"region": "us-east-1", **overrides})

    with pytest.raises(ProgramFailed) as failure:
        deploy_component(args)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    for fragment in expected:
        assert fragment in str(failure.value), f"{case}: {fragment!r} not in {failure.value}"
    assert failure.value.recorded == [], "nothing may be registered, not even the component"


def test_all_problems_are_reported_at_once(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        endpoint_name="bad name",
        serverless=ServerlessVariant(memory_size_mb=100, max_concurrency=0),
    )

    with pytest.raises(ProgramFailed) as failure:
        deploy_component(args)

    problems = failure.value.cause.problems
    assert len(problems) == 3
    assert [p.split(" ", 1)[0] for p in problems] == ["endpointName", "memorySizeMb", "maxConcurrency"]


@pytest.mark.parametrize("name", ["embedding_1", "x" * 49, "-embedding"])
def test_component_names_that_would_make_invalid_child_names_are_refused(deploy_component, name: str) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_component(name=name)

    assert f"component name {name!r}" in str(failure.value)
    assert failure.value.recorded == []


def test_limits_themselves_are_accepted(deploy_component) -> None:
    edge = ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        endpoint_name="a" * 63,
        serverless=ServerlessVariant(memory_size_mb=6144, max_concurrency=200, provisioned_concurrency=200),
        model_id="BAAI/bge-small-en-v1.5",
        model_revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
    )
    assert (
        ServerlessEmbeddingEndpointArgs(
            region="us-east-1", serverless=ServerlessVariant(memory_size_mb=1024)
        ).problems()
        == []
    )
    deployment = deploy_component(edge, name="e" * 48)
    assert deployment.exports["endpoint_name"] == "a" * 63


def test_instance_types_are_the_pinned_botocore_service_models_enum() -> None:
    """Read at validation time from botocore's data, so the list is never a stale copy."""
    import gzip
    import json

    import botocore

    from components.validation import sagemaker_instance_types

    data = Path(botocore.__file__).parent / "data" / "sagemaker"
    (model_file,) = data.glob("*/service-2.json.gz")
    enum = json.loads(gzip.decompress(model_file.read_bytes()))["shapes"]["ProductionVariantInstanceType"]["enum"]
    assert sagemaker_instance_types() == tuple(enum)
    assert "ml.m5.large" in enum and "ml.t3.medium" not in enum


def test_a_graviton_instance_is_accepted_with_an_image_override(deploy_component) -> None:
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/embedder-arm64:1.0"
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", image_uri=image, instances=InstancesVariant(instance_type="ml.c7g.large")
    )
    assert args.problems() == []
    assert deploy_component(args).exports["endpoint_type"] == "instances"
