"""The default deployment: what is created, how the pieces reference each other, and what is exported."""

from __future__ import annotations

import json

import pytest

from components import ServerlessEmbeddingEndpointArgs
from components.images import HUGGINGFACE_INFERENCE_CPU_TAG
from components.model_files import DEFAULT_MODEL_REVISION
from tests.infra.pulumi_harness import (
    ACCOUNT_ID,
    ARTIFACT_STORE,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_OBJECT,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    COMPONENT,
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    MODEL,
    ROLE,
    ROLE_POLICY,
    Deployment,
)

US_EAST_1_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:" + HUGGINGFACE_INFERENCE_CPU_TAG
)


@pytest.fixture
def deployment(deploy_component) -> Deployment:
    return deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", tags={"owner": "kb-team"}))


STORE_CHILDREN = [
    BUCKET,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_ENCRYPTION,
    BUCKET_POLICY,
    BUCKET_OBJECT,
]


def test_creates_exactly_the_chain_store_role_model_config_endpoint_then_its_monitoring(
    deployment: Deployment,
) -> None:
    types = [r.type for r in deployment.registrations]
    # Registrations wait on their inputs: the store's children on the bucket, the role's policy on the object's
    # ARN, the alarms and the dashboard on the endpoint, so only the order along each dependency is fixed.
    assert sorted(types) == sorted(
        [COMPONENT, ARTIFACT_STORE, *STORE_CHILDREN, ROLE, ROLE_POLICY, MODEL, ENDPOINT_CONFIG, ENDPOINT]
        + [METRIC_ALARM] * 4
        + [DASHBOARD]
    )
    chain = [t for t in types if t in (COMPONENT, ROLE_POLICY, MODEL, ENDPOINT_CONFIG, ENDPOINT)]
    assert chain == [COMPONENT, ROLE_POLICY, MODEL, ENDPOINT_CONFIG, ENDPOINT]
    assert types.index(BUCKET_OBJECT) < types.index(ROLE_POLICY)


def test_every_child_is_parented_to_the_component_and_the_bucket_to_its_store(deployment: Deployment) -> None:
    component, store = deployment.one(COMPONENT), deployment.one(ARTIFACT_STORE)
    assert component.parent.endswith("::pulumi:pulumi:Stack::alex-sagemaker-dev")
    for child in deployment.registrations[1:]:
        parent = store if child.type in STORE_CHILDREN else component
        assert child.parent == parent.urn, child.name
        assert child.urn.startswith(f"urn:pulumi:dev::alex-sagemaker::{COMPONENT}$"), child.urn


def test_the_stores_children_keep_their_former_parent_as_an_alias(deployment: Deployment) -> None:
    """Deployed before the store existed, a stack's bucket and object were the endpoint component's children."""
    component = deployment.one(COMPONENT)
    for child in deployment.registrations:
        if child.type in STORE_CHILDREN:
            assert child.alias_parents == [component.urn], child.name


def test_model_runs_as_the_role_and_waits_for_its_policy(deployment: Deployment) -> None:
    role, policy, model = deployment.one(ROLE), deployment.one(ROLE_POLICY), deployment.one(MODEL)
    assert policy.inputs["role"] == role.state["name"]
    assert model.inputs["executionRoleArn"] == role.state["arn"]
    assert policy.urn in model.dependencies, "the model must not be created before the role can pull"


def test_model_serves_the_packed_model_with_the_huggingface_cpu_image_and_no_hub(deployment: Deployment) -> None:
    container = deployment.one(MODEL).inputs["primaryContainer"]
    assert container == {
        "image": US_EAST_1_IMAGE,
        "mode": "SingleModel",
        "modelDataUrl": deployment.exports["model_data_url"],
        "environment": {
            "HF_TASK": "feature-extraction",
            "ALEX_EMBEDDING_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2",
            "ALEX_EMBEDDING_MODEL_REVISION": DEFAULT_MODEL_REVISION,
            "ALEX_EMBEDDING_PRECISION": "fp32",
            # 256 MiB: a Batch Transform job's 1 MB jsonlines request answers ~80 MB (docs/container.md).
            "MMS_MAX_RESPONSE_SIZE": "268435456",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        },
    }
    assert "-cpu-" in container["image"]
    assert not any(key.startswith(("HF_MODEL", "HF_API", "HF_TOKEN")) for key in container["environment"])


def test_model_and_config_are_auto_named_so_changes_roll_out_as_replacements(deployment: Deployment) -> None:
    model, config = deployment.one(MODEL), deployment.one(ENDPOINT_CONFIG)
    assert "name" not in model.inputs and "name" not in config.inputs
    assert model.state["name"].startswith("embedding-model-")
    assert config.state["name"].startswith("embedding-config-")


def test_config_has_one_serverless_variant_on_the_model(deployment: Deployment) -> None:
    config = deployment.one(ENDPOINT_CONFIG)
    assert config.inputs["productionVariants"] == [
        {
            "variantName": "AllTraffic",
            "modelName": deployment.one(MODEL).state["name"],
            "serverlessConfig": {"memorySizeInMb": 3072, "maxConcurrency": 2},
        }
    ]
    assert deployment.one(MODEL).urn in config.dependencies


def test_endpoint_keeps_its_exact_name_and_points_at_the_config(deployment: Deployment) -> None:
    endpoint = deployment.one(ENDPOINT)
    assert endpoint.inputs["name"] == "alex-embedding-endpoint"
    assert endpoint.inputs["endpointConfigName"] == deployment.one(ENDPOINT_CONFIG).state["name"]
    assert deployment.one(ENDPOINT_CONFIG).urn in endpoint.dependencies


def test_sagemaker_resources_are_pinned_to_the_stack_region(deployment: Deployment) -> None:
    for token in (MODEL, ENDPOINT_CONFIG, ENDPOINT):
        assert deployment.one(token).inputs["region"] == "us-east-1"


def test_every_taggable_resource_is_tagged_and_user_tags_merge_in(deployment: Deployment) -> None:
    expected = {"project": "alex-sagemaker", "stack": "dev", "component": "embedding", "owner": "kb-team"}
    for token in (ROLE, MODEL, ENDPOINT_CONFIG, ENDPOINT, BUCKET, BUCKET_OBJECT, METRIC_ALARM):
        for resource in deployment.of_type(token):
            assert resource.inputs["tags"] == expected, token


def test_role_is_trusted_by_sagemaker_only(deployment: Deployment) -> None:
    trust = json.loads(deployment.one(ROLE).inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Sid": "SageMakerAssumesRole",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]


def test_role_has_no_managed_policies_only_the_inline_least_privilege_one(deployment: Deployment) -> None:
    role = deployment.one(ROLE)
    assert not role.inputs.get("managedPolicyArns")
    assert len(deployment.of_type(ROLE_POLICY)) == 1
    assert not deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def _statements(deployment: Deployment) -> dict[str, dict]:
    policy = json.loads(deployment.one(ROLE_POLICY).inputs["policy"])
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_execution_policy_pulls_only_the_image_repository(deployment: Deployment) -> None:
    pull = _statements(deployment)["PullInferenceImage"]
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference"
    assert sorted(pull["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]


def test_execution_policy_writes_only_this_endpoints_logs(deployment: Deployment) -> None:
    logs = _statements(deployment)["WriteEndpointLogs"]
    group = f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/alex-embedding-endpoint"
    assert logs["Resource"] == [group, f"{group}:*"]


def test_execution_policy_has_no_wildcard_actions_and_star_only_where_iam_allows_nothing_else(
    deployment: Deployment,
) -> None:
    statements = _statements(deployment).values()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), actions
        assert statement["Effect"] == "Allow"
    star = {s["Sid"]: s["Action"] for s in statements if s["Resource"] == "*"}
    assert star == {
        "AuthenticateToEcr": "ecr:GetAuthorizationToken",
        "PublishEndpointMetrics": "cloudwatch:PutMetricData",
    }
    metrics = _statements(deployment)["PublishEndpointMetrics"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}


def test_exports_resolve_to_the_created_resources(deployment: Deployment) -> None:
    exports = deployment.exports
    endpoint_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/alex-embedding-endpoint"
    assert exports["endpoint_name"] == "alex-embedding-endpoint"
    assert exports["endpoint_arn"] == endpoint_arn
    assert exports["region"] == "us-east-1"
    assert exports["model_name"] == deployment.one(MODEL).state["name"]
    assert exports["endpoint_config_name"] == deployment.one(ENDPOINT_CONFIG).state["name"]
    assert exports["role_arn"] == deployment.one(ROLE).state["arn"]
    assert exports["image_uri"] == US_EAST_1_IMAGE
    assert json.loads(exports["invoke_policy_json"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeEmbeddingEndpoint",
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": endpoint_arn,
            }
        ],
    }
    assert deployment.secret_exports == set()


def test_no_warning_for_a_region_with_serverless_inference(deployment: Deployment) -> None:
    assert deployment.warnings == []
