"""The optional settings: bring-your-own role, image override, warm capacity, revision pin, Hub token."""

from __future__ import annotations

import json

from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from components import ServerlessEmbeddingEndpointArgs, ServerlessVariant
from tests.infra.pulumi_harness import ENDPOINT_CONFIG, MODEL, ROLE, ROLE_POLICY

OWN_ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-kb"


def test_bring_your_own_role_creates_no_iam_resources(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", execution_role_arn=OWN_ROLE))

    assert deployment.of_type(ROLE) == [] and deployment.of_type(ROLE_POLICY) == []
    assert deployment.one(MODEL).inputs["executionRoleArn"] == OWN_ROLE
    assert deployment.one(MODEL).dependencies == []
    assert deployment.exports["role_arn"] == OWN_ROLE


def test_image_override_is_used_and_is_the_only_repository_the_role_may_pull(deploy_component) -> None:
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/embedder@sha256:" + "a" * 64
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="eu-west-1", image_uri=image))

    assert deployment.one(MODEL).inputs["primaryContainer"]["image"] == image
    assert deployment.exports["image_uri"] == image
    statements = {s["Sid"]: s for s in json.loads(deployment.one(ROLE_POLICY).inputs["policy"])["Statement"]}
    assert statements["PullInferenceImage"]["Resource"] == (
        "arn:aws:ecr:eu-west-1:111122223333:repository/team/embedder"
    )


def test_provisioned_concurrency_and_sizes_reach_the_serverless_config(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        serverless=ServerlessVariant(memory_size_mb=6144, max_concurrency=5, provisioned_concurrency=1),
    )
    deployment = deploy_component(args)

    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 6144, "maxConcurrency": 5, "provisionedConcurrency": 1}
    assert "instanceType" not in variant and "initialInstanceCount" not in variant


def test_without_a_token_nothing_is_marked_secret(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1"))

    assert deployment.one(MODEL).additional_secret_outputs == []
    assert _special_sig_key not in deployment.one(MODEL).inputs["primaryContainer"]


def test_model_revision_and_task_reach_the_container(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", model_id="BAAI/bge-small-en-v1.5", model_revision="v1.0", task="sentence-embeddings"
    )
    environment = deploy_component(args).one(MODEL).inputs["primaryContainer"]["environment"]

    assert environment == {
        "HF_MODEL_ID": "BAAI/bge-small-en-v1.5",
        "HF_MODEL_REVISION": "v1.0",
        "HF_TASK": "sentence-embeddings",
    }


def test_hub_token_reaches_the_container_only_as_a_secret(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", hf_token="hf_secret_value"))

    container = deployment.one(MODEL).inputs["primaryContainer"]
    # The SDK sends the whole property as a secret, so the engine encrypts it in state and hides it in diffs.
    assert container[_special_sig_key] == _special_secret_sig
    environment = container["value"]["environment"]
    assert environment["HF_API_TOKEN"] == environment["HF_TOKEN"] == "hf_secret_value"
    # What the provider reads back (and stores in state) is secret too.
    assert deployment.one(MODEL).additional_secret_outputs == ["primaryContainer"]
    assert "hf_secret_value" not in json.dumps({k: v for k, v in deployment.exports.items()})
    assert deployment.secret_exports == set()
