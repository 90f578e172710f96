"""The real __main__.py, configured exactly as `pulumi up` on the dev stack would configure it."""

from __future__ import annotations

import pytest

from components import InvalidEndpointArgsError
from tests.infra.pulumi_harness import ENDPOINT, ENDPOINT_CONFIG, MODEL, STACK_EXPORTS, ProgramFailed
from tests.infra.stack_config import StackConfigError, load_stack_config
from tests.paths import PROJECT_DIR


def test_pulumi_yaml_declares_every_key_the_cli_would_accept_with_no_stack_settings() -> None:
    config = load_stack_config(PROJECT_DIR, "a-stack-with-no-file")
    assert config.values == {
        "alex-sagemaker:endpointName": "alex-embedding-endpoint",
        "alex-sagemaker:modelId": "sentence-transformers/all-MiniLM-L6-v2",
        "alex-sagemaker:modelRevision": "",
        "alex-sagemaker:task": "feature-extraction",
        "alex-sagemaker:endpointType": "serverless",
        "alex-sagemaker:memorySizeMb": 0,
        "alex-sagemaker:maxConcurrency": 0,
        "alex-sagemaker:provisionedConcurrency": 0,
        "alex-sagemaker:instanceType": "",
        "alex-sagemaker:minInstances": 0,
        "alex-sagemaker:maxInstances": 0,
        "alex-sagemaker:targetInvocationsPerInstance": 0,
        "alex-sagemaker:monitoring": True,
        "alex-sagemaker:alarmEmail": "",
        "alex-sagemaker:pooling": "client",
        "alex-sagemaker:imageUri": "",
        "alex-sagemaker:executionRoleArn": "",
        "alex-sagemaker:hfToken": "",
    }


def test_dev_stack_deploys_with_every_export_resolved(deploy_stack) -> None:
    deployment = deploy_stack("dev")

    assert set(deployment.exports) == set(STACK_EXPORTS)
    assert all(isinstance(value, str) and value for value in deployment.exports.values())
    assert deployment.exports["endpoint_name"] == "alex-embedding-endpoint"
    assert deployment.exports["region"] == "us-east-1"
    assert deployment.exports["image_uri"].startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/")
    assert deployment.one(ENDPOINT).inputs["name"] == "alex-embedding-endpoint"
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 3072, "maxConcurrency": 2}
    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]
    assert environment == {"HF_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2", "HF_TASK": "feature-extraction"}


def test_stack_settings_override_the_defaults(deploy_stack) -> None:
    deployment = deploy_stack(
        "dev",
        {
            "aws:region": "eu-central-1",
            "endpointName": "kb-embeddings",
            "memorySizeMb": 4096,
            "maxConcurrency": 4,
            "provisionedConcurrency": 1,
            "modelRevision": "main",
            "tags": {"cost-center": "kb"},
        },
    )

    assert deployment.exports["region"] == "eu-central-1"
    assert deployment.exports["endpoint_name"] == "kb-embeddings"
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 4096, "maxConcurrency": 4, "provisionedConcurrency": 1}
    assert deployment.one(MODEL).inputs["primaryContainer"]["environment"]["HF_MODEL_REVISION"] == "main"
    assert deployment.one(MODEL).inputs["tags"]["cost-center"] == "kb"


def test_a_bad_stack_value_fails_before_anything_is_registered(deploy_stack) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", {"memorySizeMb": 3000, "endpointName": "my_endpoint"})

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    assert "memorySizeMb 3000" in str(failure.value) and "endpointName 'my_endpoint'" in str(failure.value)
    assert failure.value.recorded == []


def test_a_plain_text_hub_token_is_refused(deploy_stack) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", {"hfToken": "hf_plain"})

    assert "pulumi config set --secret hfToken" in str(failure.value)
    assert failure.value.recorded == []


def test_a_secret_hub_token_is_accepted_and_stays_secret(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"hfToken": {"secure": "hf_encrypted"}})

    assert "hf_encrypted" not in str(deployment.exports)
    assert deployment.exports["endpoint_name"] == "alex-embedding-endpoint"


def test_the_config_loader_applies_the_clis_rules(tmp_path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: p\nruntime: python\nconfig:\n  needed:\n    type: string\n  token:\n    type: string\n"
        "    secret: true\n  count:\n    type: integer\n    default: 1\n"
    )
    with pytest.raises(StackConfigError, match="missing configuration values \\['needed', 'token'\\]"):
        load_stack_config(tmp_path, "dev")
    with pytest.raises(StackConfigError, match="'token' must be encrypted"):
        load_stack_config(tmp_path, "dev", {"needed": "x", "token": "plain"})
    with pytest.raises(StackConfigError, match="'count' must be of type 'integer'"):
        load_stack_config(tmp_path, "dev", {"needed": "x", "token": {"secure": "s"}, "count": "many"})
