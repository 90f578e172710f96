"""Every plain value is checked before anything is registered; the error names the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components import InvalidEndpointArgsError, ServerlessEmbeddingEndpointArgs, ServerlessVariant
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
