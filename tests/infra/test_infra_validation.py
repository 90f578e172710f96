"""Every plain value is checked before anything is registered; the error names the argument, the value and what is
allowed, in the library's own field names."""

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

ECR = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.6.0"

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("endpoint name with underscore", {"endpoint_name": "alex_embedding"}, ["endpoint_name 'alex_embedding'"]),
    ("endpoint name too long", {"endpoint_name": "a" * 64}, ["'" + "a" * 64 + "'", "1-63 characters"]),
    ("endpoint name ends with hyphen", {"endpoint_name": "alex-"}, ["endpoint_name 'alex-'", "sagemaker EndpointName"]),
    ("empty endpoint name", {"endpoint_name": ""}, ["endpoint_name ''"]),
    ("endpoint name with a trailing newline", {"endpoint_name": "alex\n"}, ["endpoint_name 'alex\\n'"]),
    ("endpoint name not a string", {"endpoint_name": 5}, ["endpoint_name 5 is a int: use a string"]),
    ("model id with spaces", {"model_id": "all MiniLM"}, ["model_id 'all MiniLM'", "'owner/name'"]),
    ("model id with two slashes", {"model_id": "a/b/c"}, ["model_id 'a/b/c'"]),
    ("model id with double dash", {"model_id": "org/name--x"}, ["model_id 'org/name--x'"]),
    ("model id with a trailing newline", {"model_id": "org/name\n"}, ["model_id 'org/name\\n'"]),
    ("model id with non-ASCII letters", {"model_id": "org/naïve"}, ["model_id 'org/naïve'", "ASCII"]),
    ("revision with spaces", {"model_revision": "main branch"}, ["model_revision 'main branch'", "commit hash"]),
    ("revision with a trailing newline", {"model_revision": "main\n"}, ["model_revision 'main\\n'"]),
    (
        "task misspelled",
        {"task": "feature-extractoin"},
        ["task 'feature-extractoin' is not a transformers pipeline task", "did you mean feature-extraction"],
    ),
    ("task that answers no vectors", {"task": "fill-mask"}, ["task 'fill-mask' answers something other than vectors"]),
    (
        "memory not a step of 1024",
        {"serverless": ServerlessVariant(memory_size_mb=3000)},
        ["serverless.memory_size_mb 3000 is not a serverless memory size", "1024, 2048, 3072"],
    ),
    (
        "memory above 6144",
        {"serverless": ServerlessVariant(memory_size_mb=7168)},
        ["serverless.memory_size_mb 7168 is out of range", "sagemaker ServerlessMemorySizeInMB"],
    ),
    ("memory as a string", {"serverless": ServerlessVariant(memory_size_mb="4096")}, ["'4096' is a str"]),
    (
        "max concurrency zero",
        {"serverless": ServerlessVariant(max_concurrency=0)},
        ["serverless.max_concurrency 0 is out of range", "from 1 to 200"],
    ),
    ("max concurrency not an int", {"serverless": ServerlessVariant(max_concurrency=2.5)}, ["2.5 is a float"]),
    (
        "provisioned negative",
        {"serverless": ServerlessVariant(provisioned_concurrency=-1)},
        ["serverless.provisioned_concurrency -1 is out of range", "from 1 to 200"],
    ),
    (
        "provisioned above max",
        {"serverless": ServerlessVariant(max_concurrency=2, provisioned_concurrency=3)},
        ["serverless.provisioned_concurrency 3 exceeds serverless.max_concurrency 2"],
    ),
    ("region shape", {"region": "useast1"}, ["region 'useast1' is not an AWS region name"]),
    ("region AWS does not have", {"region": "us-east-9"}, ["region 'us-east-9' is not a region", "us-east-1"]),
    ("image not ECR", {"image_uri": "docker.io/library/python:3"}, ["image_uri 'docker.io/library/python:3'"]),
    (
        "image from another region",
        {"image_uri": ECR.replace("us-east-1", "us-west-2")},
        ["in region 'us-west-2' but the stack deploys to 'us-east-1'", "cross-region"],
    ),
    (
        "image with China's suffix outside China",
        {"image_uri": ECR.replace("amazonaws.com", "amazonaws.com.cn")},
        ["ends in 'amazonaws.com.cn', but ECR in 'us-east-1' is at 'amazonaws.com'"],
    ),
    ("image with Arabic-Indic digits", {"image_uri": "٧٦٣١٠٤٣٥١٨٨٤" + ECR[12:]}, ["is not an ECR image URI"]),
    ("image with a non-ASCII tag", {"image_uri": ECR.replace(":2.6.0", ":vé")}, ["is not an ECR image URI"]),
    ("role ARN shape", {"execution_role_arn": "my-role"}, ["execution_role_arn 'my-role'", "role/<name>"]),
    ("role ARN of a user", {"execution_role_arn": "arn:aws:iam::123456789012:user/bob"}, ["sagemaker RoleArn"]),
    ("role ARN with a non-ASCII name", {"execution_role_arn": "arn:aws:iam::123456789012:role/rôle"}, ["RoleArn"]),
    (
        "role name longer than IAM allows",
        {"execution_role_arn": "arn:aws:iam::123456789012:role/" + "r" * 100},
        ["which IAM cannot have", "1-64 characters", "iam roleNameType"],
    ),
    (
        "role ARN in another partition",
        {"execution_role_arn": "arn:aws-cn:iam::123456789012:role/x"},
        ["partition 'aws-cn'", "'us-east-1' is in 'aws'"],
    ),
    ("reserved tag key", {"tags": {"aws:owner": "me"}}, ["tags key 'aws:owner' is not allowed: the aws: prefix"]),
    ("tag value too long", {"tags": {"note": "x" * 257}}, ["tags 'note' has value"]),
    ("tag key with a star", {"tags": {"cost*center": "a"}}, ["tags key 'cost*center' is not allowed"]),
    ("tag key that is an emoji", {"tags": {"🙂": "a"}}, ["tags key '🙂' is not allowed"]),
    ("tags as a list", {"tags": ["team", "search"]}, ["tags ['team', 'search'] is a list: use a mapping"]),
    ("tags as a number", {"tags": 3}, ["tags 3 is a int: use a mapping"]),
    # Instances
    (
        "unknown instance type",
        {"instances": InstancesVariant(instance_type="ml.m5.larg")},
        ["instances.instance_type 'ml.m5.larg'", "ProductionVariantInstanceType", "did you mean ml.m5.large"],
    ),
    ("instance type without ml.", {"instances": InstancesVariant(instance_type="m5.large")}, ["'m5.large'"]),
    (
        "Graviton with the x86 image",
        {"instances": InstancesVariant(instance_type="ml.c7g.large")},
        ["instances.instance_type 'ml.c7g.large' runs on an Arm host", "x86_64"],
    ),
    (
        "Grace with the x86 image",
        {"instances": InstancesVariant(instance_type="ml.p6e-gb200.36xlarge")},
        ["'ml.p6e-gb200.36xlarge' runs on an Arm host"],
    ),
    (
        "min instances zero",
        {"instances": InstancesVariant(min_instances=0)},
        ["instances.min_instances 0 asks for scaling to zero", "from 1 to", "or serverless for an endpoint"],
    ),
    ("max instances not an int", {"instances": InstancesVariant(max_instances=2.5)}, ["max_instances 2.5 is a float"]),
    (
        "max instances beyond a 32-bit integer",
        {"instances": InstancesVariant(max_instances=3_000_000_000)},
        ["instances.max_instances 3000000000 is out of range", "from 1 to 2147483647"],
    ),
    (
        "min above max",
        {"instances": InstancesVariant(min_instances=3, max_instances=2)},
        ["instances.min_instances 3 exceeds instances.max_instances 2"],
    ),
    (
        "target invocations zero",
        {"instances": InstancesVariant(target_invocations_per_instance=0)},
        ["instances.target_invocations_per_instance 0 is out of range"],
    ),
    ("negative cooldown", {"instances": InstancesVariant(scale_in_cooldown_s=-5)}, ["scale_in_cooldown_s -5"]),
    (
        "both endpoint types",
        {"serverless": ServerlessVariant(), "instances": InstancesVariant()},
        ["serverless and instances are both set"],
    ),
    # Monitoring
    ("alarm email without @", {"monitoring": Monitoring(alarm_email="ops")}, ["monitoring.alarm_email 'ops'"]),
    ("alarm email with a trailing newline", {"monitoring": Monitoring(alarm_email="a@b.io\n")}, ["'a@b.io\\n'"]),
    ("latency threshold zero", {"monitoring": Monitoring(model_latency_p90_ms=0)}, ["model_latency_p90_ms 0"]),
    ("setup threshold negative", {"monitoring": Monitoring(model_setup_time_s=-1)}, ["model_setup_time_s -1"]),
    # Where the model comes from, and how it answers
    ("unknown pooling", {"pooling": "mean"}, ["pooling 'mean' is not supported", "server (", "client ("]),
    ("unknown model source", {"model_source": "s3"}, ["model_source 's3' is not supported", "artifact ("]),
    ("unknown precision", {"precision": "int8"}, ["precision 'int8' is not supported", "fp32 (", "bf16 ("]),
    ("bf16 with client pooling", {"pooling": "client", "precision": "bf16"}, ["precision 'bf16' needs pooling"]),
    (
        "a model folder with the hub source",
        {"model_source": "hub", "model_dir": "/models/x"},
        ["model_dir is set but model_source is 'hub'"],
    ),
    ("a model folder that is missing", {"model_dir": "/nonexistent/model"}, ["model_dir '/nonexistent/model' is not"]),
    (
        "server pooling without the code folder",
        {"code_dir": Path("/nonexistent/code")},
        ["inference code folder '/nonexistent/code' does not exist", "inference.py"],
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
        ["cannot be added to a role you bring (execution_role_arn)"],
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

    assert [problem.field for problem in failure.value.cause.problems] == [
        "endpoint_name",
        "serverless.memory_size_mb",
        "serverless.max_concurrency",
    ]


@pytest.mark.parametrize("name", ["embedding_1", "x" * 49, "-embedding", "embedding\n"])
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
        tags={"café": "naïve value", "cost-center": "a b:c/d=e+f-g@h"},
    )
    assert ServerlessEmbeddingEndpointArgs(serverless=ServerlessVariant(memory_size_mb=1024)).problems() == []
    assert InstancesVariant(min_instances=2**31 - 1, max_instances=2**31 - 1).problems(image_uri=None) == []
    deployment = deploy_component(edge, name="e" * 48)
    assert deployment.exports["endpoint_name"] == "a" * 63


def test_a_graviton_instance_is_accepted_with_an_image_override(deploy_component) -> None:
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/embedder-arm64:1.0"
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", image_uri=image, instances=InstancesVariant(instance_type="ml.c7g.large")
    )
    assert args.problems() == []
    assert deploy_component(args).exports["endpoint_type"] == "instances"


def test_a_region_newer_than_botocore_is_accepted_only_with_an_image_of_its_own() -> None:
    image = "111122223333.dkr.ecr.ap-southeast-9.amazonaws.com/embedder:1.0"
    assert ServerlessEmbeddingEndpointArgs(region="ap-southeast-9", image_uri=image).problems() == []
    [problem] = ServerlessEmbeddingEndpointArgs(region="ap-southeast-9").problems()
    assert "set an image in it (image_uri) or upgrade boto3" in problem.render()


def test_a_problem_is_written_with_the_names_its_reader_knows() -> None:
    [problem] = ServerlessVariant(max_concurrency=2, provisioned_concurrency=3).problems("serverless.")
    names = {"serverless.max_concurrency": "maxConcurrency", "serverless.provisioned_concurrency": "provisioned"}

    assert problem.render(lambda field: names.get(field, field)).startswith("provisioned 3 exceeds maxConcurrency 2")
