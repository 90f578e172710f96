"""Replay what the program registers as the boto3 calls the provider makes, against the API's shapes and moto.

The mocks only echo our own inputs back; this layer asks AWS's published API definitions (patterns, lengths,
enums) and moto's IAM and SageMaker (policy grammar, references between model, config and endpoint) whether the
same requests would be accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components import ServerlessEmbeddingEndpointArgs, ServerlessVariant
from tests.infra.api_shapes import violations
from tests.infra.pulumi_harness import ENDPOINT, ENDPOINT_CONFIG, MODEL, ROLE, ROLE_POLICY, Deployment


def _tags(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted((inputs.get("tags") or {}).items())]


def _integer(value: float) -> int:
    """The engine carries numbers as doubles; the provider sends the schema's integers."""
    assert float(value).is_integer(), f"{value} is not a whole number"
    return int(value)


def create_role_request(deployment: Deployment) -> dict[str, Any]:
    role = deployment.one(ROLE)
    return {
        "RoleName": role.state["name"],
        "AssumeRolePolicyDocument": role.inputs["assumeRolePolicy"],
        "Description": role.inputs["description"],
        "Tags": _tags(role.inputs),
    }


def put_role_policy_request(deployment: Deployment) -> dict[str, Any]:
    policy = deployment.one(ROLE_POLICY)
    return {
        "RoleName": policy.inputs["role"],
        "PolicyName": policy.state["name"],
        "PolicyDocument": policy.inputs["policy"],
    }


def create_model_request(deployment: Deployment) -> dict[str, Any]:
    model = deployment.one(MODEL)
    container = model.inputs["primaryContainer"]
    return {
        "ModelName": model.state["name"],
        "ExecutionRoleArn": model.inputs["executionRoleArn"],
        "PrimaryContainer": {
            "Image": container["image"],
            "Mode": container["mode"],
            "Environment": container["environment"],
        },
        "Tags": _tags(model.inputs),
    }


def create_endpoint_config_request(deployment: Deployment) -> dict[str, Any]:
    config = deployment.one(ENDPOINT_CONFIG)
    variants = []
    for variant in config.inputs["productionVariants"]:
        serverless = variant["serverlessConfig"]
        variants.append(
            {
                "VariantName": variant["variantName"],
                "ModelName": variant["modelName"],
                "ServerlessConfig": {
                    "MemorySizeInMB": _integer(serverless["memorySizeInMb"]),
                    "MaxConcurrency": _integer(serverless["maxConcurrency"]),
                    **(
                        {"ProvisionedConcurrency": _integer(serverless["provisionedConcurrency"])}
                        if "provisionedConcurrency" in serverless
                        else {}
                    ),
                },
            }
        )
    return {
        "EndpointConfigName": config.state["name"],
        "ProductionVariants": variants,
        "Tags": _tags(config.inputs),
    }


def create_endpoint_request(deployment: Deployment) -> dict[str, Any]:
    endpoint = deployment.one(ENDPOINT)
    return {
        "EndpointName": endpoint.inputs["name"],
        "EndpointConfigName": endpoint.inputs["endpointConfigName"],
        "Tags": _tags(endpoint.inputs),
    }


ARGS = {
    "defaults": ServerlessEmbeddingEndpointArgs(region="us-east-1"),
    "every option": ServerlessEmbeddingEndpointArgs(
        region="eu-west-1",
        endpoint_name="kb-embeddings-" + "x" * 49,
        model_id="BAAI/bge-small-en-v1.5",
        model_revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
        serverless=ServerlessVariant(memory_size_mb=6144, max_concurrency=200, provisioned_concurrency=200),
        tags={"cost-center": "kb"},
    ),
    "china": ServerlessEmbeddingEndpointArgs(
        region="cn-north-1", serverless=ServerlessVariant(memory_size_mb=1024, max_concurrency=1)
    ),
}


@pytest.fixture(params=list(ARGS), ids=list(ARGS))
def deployment(request: pytest.FixtureRequest, deploy_component) -> Deployment:
    args = ARGS[request.param]
    return deploy_component(args, region=args.region)


@pytest.fixture
def aws_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_every_request_satisfies_the_api_shapes(deployment: Deployment) -> None:
    requests = [
        ("iam", "CreateRole", create_role_request(deployment)),
        ("iam", "PutRolePolicy", put_role_policy_request(deployment)),
        ("sagemaker", "CreateModel", create_model_request(deployment)),
        ("sagemaker", "CreateEndpointConfig", create_endpoint_config_request(deployment)),
        ("sagemaker", "CreateEndpoint", create_endpoint_request(deployment)),
        ("iam", "CreatePolicy", {"PolicyName": "invoke", "PolicyDocument": deployment.exports["invoke_policy_json"]}),
    ]
    for service, operation, params in requests:
        assert violations(service, operation, params) == [], f"{service}:{operation}"


def test_the_shape_check_catches_what_botocore_lets_through() -> None:
    """Guard for the check itself: these pass botocore's own validation but AWS would refuse them."""
    bad = {
        "EndpointConfigName": "has_underscore",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "ServerlessConfig": {"MemorySizeInMB": 512, "MaxConcurrency": 201},
            }
        ],
    }
    found = violations("sagemaker", "CreateEndpointConfig", bad)
    assert any("EndpointConfigName" in v and "does not match" in v for v in found)
    assert any("MemorySizeInMB: 512 is below the minimum 1024" in v for v in found)
    assert any("MaxConcurrency: 201 is above the maximum 200" in v for v in found)


def test_moto_accepts_the_whole_chain_and_the_references_line_up(aws_api: None, deployment: Deployment) -> None:
    region = deployment.exports["region"]
    iam = boto3.client("iam", region_name=region)
    sagemaker = boto3.client("sagemaker", region_name=region)

    role = iam.create_role(**create_role_request(deployment))["Role"]
    iam.put_role_policy(**put_role_policy_request(deployment))  # moto checks the policy grammar
    iam.create_policy(PolicyName="invoke-embeddings", PolicyDocument=deployment.exports["invoke_policy_json"])
    assert create_model_request(deployment)["ExecutionRoleArn"] == role["Arn"] == deployment.exports["role_arn"]

    sagemaker.create_model(**create_model_request(deployment))
    sagemaker.create_endpoint_config(**create_endpoint_config_request(deployment))  # moto checks the model exists
    sagemaker.create_endpoint(**create_endpoint_request(deployment))  # and that the config exists

    described = sagemaker.describe_endpoint(EndpointName=deployment.exports["endpoint_name"])
    assert described["EndpointConfigName"] == deployment.exports["endpoint_config_name"]
    # The invoke policy names the endpoint exactly as AWS reports its ARN (SageMaker lower-cases the name).
    invoke_resource = json.loads(deployment.exports["invoke_policy_json"])["Statement"][0]["Resource"]
    assert invoke_resource.lower() == described["EndpointArn"].lower() == deployment.exports["endpoint_arn"]
    model = sagemaker.describe_model(ModelName=deployment.exports["model_name"])
    image_region = model["PrimaryContainer"]["Image"].split(".")[3]
    assert image_region == region, "SageMaker refuses images from another region"
