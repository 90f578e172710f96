"""The image always comes from the deploying region's own registry, in every partition, or not at all."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components import ImageLookupError, ServerlessEmbeddingEndpointArgs
from components.images import HUGGINGFACE_INFERENCE_CPU_TAG
from tests.infra.pulumi_harness import (
    ACCOUNT_ID,
    MODEL,
    PREBUILT_IMAGE_INVOKE,
    ROLE_POLICY,
    ProgramFailed,
)

REPOSITORY = "huggingface-pytorch-inference"


@pytest.mark.parametrize(
    ("region", "registry", "dns_suffix", "partition"),
    [
        ("us-east-1", "763104351884", "amazonaws.com", "aws"),
        ("eu-west-2", "763104351884", "amazonaws.com", "aws"),
        ("af-south-1", "626614931356", "amazonaws.com", "aws"),
        ("ap-east-1", "871362719292", "amazonaws.com", "aws"),
        ("me-south-1", "217643126080", "amazonaws.com", "aws"),
        ("eu-south-1", "692866216735", "amazonaws.com", "aws"),
        ("ap-northeast-3", "364406365360", "amazonaws.com", "aws"),
        ("cn-north-1", "727897471807", "amazonaws.com.cn", "aws-cn"),
        ("us-gov-west-1", "442386744353", "amazonaws.com", "aws-us-gov"),
    ],
)
def test_image_comes_from_the_regions_own_registry(
    deploy_component, region: str, registry: str, dns_suffix: str, partition: str
) -> None:
    deployment = deploy_component(region=region)

    image = f"{registry}.dkr.ecr.{region}.{dns_suffix}/{REPOSITORY}:{HUGGINGFACE_INFERENCE_CPU_TAG}"
    assert deployment.one(MODEL).inputs["primaryContainer"]["image"] == image
    assert deployment.exports["image_uri"] == image
    lookup = next(i for i in deployment.invokes if i.token == PREBUILT_IMAGE_INVOKE)
    assert lookup.args == {
        "repositoryName": REPOSITORY,
        "imageTag": HUGGINGFACE_INFERENCE_CPU_TAG,
        "region": region,
    }

    statements = {s["Sid"]: s for s in json.loads(deployment.one(ROLE_POLICY).inputs["policy"])["Statement"]}
    assert statements["PullInferenceImage"]["Resource"] == (
        f"arn:{partition}:ecr:{region}:{registry}:repository/{REPOSITORY}"
    )
    assert statements["WriteEndpointLogs"]["Resource"][0].startswith(
        f"arn:{partition}:logs:{region}:{ACCOUNT_ID}:log-group:"
    )
    assert deployment.exports["endpoint_arn"].startswith(f"arn:{partition}:sagemaker:{region}:")
    assert (
        json.loads(deployment.exports["invoke_policy_json"])["Statement"][0]["Resource"]
        == (deployment.exports["endpoint_arn"])
    )


def test_a_region_without_a_registry_is_a_clear_error_and_creates_nothing(deploy_component) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_component(region="ap-southeast-7")

    assert isinstance(failure.value.cause, ImageLookupError)
    message = str(failure.value)
    assert "'ap-southeast-7'" in message
    assert "Set imageUri to an ECR image in 'ap-southeast-7'" in message
    assert "no registry ID available for region (ap-southeast-7)" in message
    assert failure.value.recorded == [], "nothing may be registered, not even the component"


def test_a_provider_that_cannot_be_asked_is_not_reported_as_an_unknown_region(deploy_component, monkeypatch) -> None:
    """Credentials or throttling failures of the image lookup say so, instead of blaming the region."""
    from tests.infra.pulumi_harness import AwsProviderMocks

    def failing(self, call_args, provider_region):
        return {}, [("", "operation error STS: GetCallerIdentity, https response error StatusCode: 403, ExpiredToken")]

    monkeypatch.setattr(AwsProviderMocks, "_prebuilt_ecr_image", failing)
    with pytest.raises(ProgramFailed) as failure:
        deploy_component(region="eu-west-1")

    message = str(failure.value)
    assert isinstance(failure.value.cause, ImageLookupError)
    assert "could not ask the AWS provider for the Hugging Face inference image of region 'eu-west-1'" in message
    assert "ExpiredToken" in message and "Set imageUri" not in message
    assert failure.value.recorded == []


def test_an_image_override_deploys_where_no_registry_is_known(deploy_component) -> None:
    image = "111122223333.dkr.ecr.ap-southeast-7.amazonaws.com/my-embedder:1.0"
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="ap-southeast-7", image_uri=image))

    assert deployment.one(MODEL).inputs["primaryContainer"]["image"] == image
    assert not [i for i in deployment.invokes if i.token == PREBUILT_IMAGE_INVOKE]
    statements = {s["Sid"]: s for s in json.loads(deployment.one(ROLE_POLICY).inputs["policy"])["Statement"]}
    assert statements["PullInferenceImage"]["Resource"] == (
        "arn:aws:ecr:ap-southeast-7:111122223333:repository/my-embedder"
    )


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1", "ap-southeast-7"])
def test_a_region_not_known_for_serverless_inference_gets_a_warning_not_an_error(deploy_component, region: str) -> None:
    image = f"111122223333.dkr.ecr.{region}.amazonaws.com/my-embedder:1.0" if region == "ap-southeast-7" else None
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region=region, image_uri=image))

    assert len(deployment.warnings) == 1
    assert f"region '{region}' is not known to offer SageMaker Serverless Inference" in deployment.warnings[0]
    assert deployment.exports["endpoint_name"] == "alex-embedding-endpoint"


@pytest.mark.parametrize("option", ["provider", "providers"])
def test_an_explicit_provider_for_another_region_is_honoured(deploy_component, option: str) -> None:
    """With no region given, the component asks its provider, and every child and invoke uses that provider."""

    def opts() -> pulumi.ResourceOptions:
        provider = aws.Provider("eu-west-3", region="eu-west-3")
        if option == "provider":
            return pulumi.ResourceOptions(provider=provider)
        return pulumi.ResourceOptions(providers=[provider])

    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region=None), region="us-east-1", opts=opts)

    assert deployment.exports["region"] == "eu-west-3"
    assert deployment.exports["image_uri"].startswith("763104351884.dkr.ecr.eu-west-3.amazonaws.com/")
    assert deployment.exports["endpoint_arn"].startswith("arn:aws:sagemaker:eu-west-3:")
    provider_urn = deployment.one("pulumi:providers:aws").urn
    for child in deployment.registrations:
        if child.type.startswith("aws:"):
            assert child.provider.startswith(provider_urn + "::"), child.name
    assert deployment.invokes, "the component looks its region and image up through the provider"
    for invoke in deployment.invokes:
        assert invoke.provider.startswith(provider_urn + "::"), invoke.token


def test_with_a_provider_region_the_region_dependent_checks_still_run_before_anything_is_created(
    deploy_component,
) -> None:
    """An image override from another region than the provider's is refused once the region is known."""
    image = "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference:2.6.0"

    def opts() -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=aws.Provider("eu-west-3", region="eu-west-3"))

    with pytest.raises(ProgramFailed) as failure:
        deploy_component(ServerlessEmbeddingEndpointArgs(region=None, image_uri=image), opts=opts)

    assert "in region 'us-west-2' but the stack deploys to 'eu-west-3'" in str(failure.value)
    assert not [
        r for r in failure.value.recorded if r.type.startswith("aws:") and r.custom and "providers" not in r.type
    ]
