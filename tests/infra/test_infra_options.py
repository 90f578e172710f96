"""The optional settings: bring-your-own role, image override, warm capacity, revision pin, Hub token."""

from __future__ import annotations

import json

from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from components import DEFAULT_MODEL_REVISION, InstancesVariant, ServerlessEmbeddingEndpointArgs, ServerlessVariant
from tests.infra.pulumi_harness import BUCKET_OBJECT, ENDPOINT_CONFIG, MODEL, ROLE, ROLE_POLICY

OWN_ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-kb"


def test_bring_your_own_role_creates_no_iam_resources(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", execution_role_arn=OWN_ROLE))

    assert deployment.of_type(ROLE) == [] and deployment.of_type(ROLE_POLICY) == []
    assert deployment.one(MODEL).inputs["executionRoleArn"] == OWN_ROLE
    assert deployment.one(MODEL).dependencies == [deployment.one(BUCKET_OBJECT).urn], "only its model.tar.gz"
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


def test_the_hub_source_is_the_tutorials_environment_with_plain_https_downloads(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", model_source="hub", model_id="BAAI/bge-small-en-v1.5", model_revision="v1.0"
    )
    deployment = deploy_component(args)
    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]

    assert environment == {
        "HF_MODEL_ID": "BAAI/bge-small-en-v1.5",
        "HF_MODEL_REVISION": "v1.0",
        "HF_TASK": "feature-extraction",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_ENABLE_HF_TRANSFER": "0",
        "ALEX_EMBEDDING_PRECISION": "fp32",
        "MMS_MAX_RESPONSE_SIZE": "268435456",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    }
    assert deployment.warnings == [
        "model 'BAAI/bge-small-en-v1.5' follows v1.0: set modelRevision to a commit hash so that a change on the Hub "
        "cannot change the endpoint"
    ]


def test_the_hub_source_pins_the_default_model_to_its_commit(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(region="us-east-1", model_source="hub", pooling="client")
    deployment = deploy_component(args)

    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]
    assert environment["HF_MODEL_REVISION"] == DEFAULT_MODEL_REVISION == deployment.exports["model_revision"]
    assert "ALEX_EMBEDDING_PRECISION" not in environment and deployment.exports["precision"] == "fp32"
    assert "MMS_MAX_RESPONSE_SIZE" not in environment, "the toolkit's own handler answers no jsonlines"


def test_instance_endpoints_keep_the_model_servers_worker_count(deploy_component) -> None:
    args = ServerlessEmbeddingEndpointArgs(region="us-east-1", instances=InstancesVariant())
    environment = deploy_component(args).one(MODEL).inputs["primaryContainer"]["environment"]

    assert "SAGEMAKER_MODEL_SERVER_WORKERS" not in environment, "one worker per vCPU, inference.py sizes threads"
    assert environment["MMS_MAX_RESPONSE_SIZE"] == "268435456", "Batch Transform runs on instances"


def test_a_hub_token_never_reaches_an_artifact_endpoints_container(deploy_component) -> None:
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", hf_token="hf_secret_value"))

    assert "hf_secret_value" not in json.dumps(deployment.snapshot())
    assert deployment.one(MODEL).additional_secret_outputs == []


def test_hub_token_reaches_the_hub_containers_environment_only_as_a_secret(deploy_component) -> None:
    deployment = deploy_component(
        ServerlessEmbeddingEndpointArgs(region="us-east-1", model_source="hub", hf_token="hf_secret_value")
    )

    container = deployment.one(MODEL).inputs["primaryContainer"]
    # The SDK sends the whole property as a secret, so the engine encrypts it in state and hides it in diffs.
    assert container[_special_sig_key] == _special_secret_sig
    environment = container["value"]["environment"]
    assert environment["HF_API_TOKEN"] == environment["HF_TOKEN"] == "hf_secret_value"
    # What the provider reads back (and stores in state) is secret too.
    assert deployment.one(MODEL).additional_secret_outputs == ["primaryContainer"]
    assert "hf_secret_value" not in json.dumps({k: v for k, v in deployment.exports.items()})
    assert deployment.secret_exports == set()
