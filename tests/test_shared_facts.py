"""The facts the client and the twin keep copies of agree with the component's.

`embeddings/` vendors into a Lambda with boto3 alone and `local_endpoint/` must not import the Pulumi program, so
each states the few SageMaker facts it needs itself; this is what keeps the copies honest.
"""

from __future__ import annotations

import ast

import pytest

from components import aws_rules, constants
from components.endpoint_args import ServerlessVariant
from components.model_files import DEFAULT_MODEL_ID, DEFAULT_MODEL_REVISION
from embeddings import batching, client, settings
from embeddings.errors import InvalidSettingError
from local_endpoint import config, runtime_api
from local_endpoint.container import ContainerResponse
from tests import fake_hub
from tests.paths import MODEL_ARTIFACT_DIR

NAMES = ["a", "alex-embedding-endpoint", "a--b", "A1", "a" * 63, "a" * 64, "-a", "a-", "a_b", "", "a\n", "é", "a b"]


def test_the_default_endpoint_name_is_the_components() -> None:
    assert client.DEFAULT_ENDPOINT_NAME == config.DEFAULT_ENDPOINT_NAME == constants.DEFAULT_ENDPOINT_NAME


@pytest.mark.parametrize("name", NAMES)
def test_the_client_and_the_twin_accept_exactly_the_endpoint_names_sagemaker_accepts(name: str) -> None:
    accepted = aws_rules.string_rule(aws_rules.ENDPOINT_NAME).accepts(name) and name != ""
    assert runtime_api.is_endpoint_name(name) is accepted
    try:
        settings.endpoint_name(name)
    except InvalidSettingError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize("name", NAMES)
def test_the_twin_accepts_exactly_the_model_names_sagemaker_accepts(name: str) -> None:
    accepted = aws_rules.string_rule(("sagemaker", "ModelName")).accepts(name) and name != ""
    assert runtime_api.is_model_name(name) is accepted


def test_the_twin_serves_the_stacks_variant_with_the_stacks_defaults() -> None:
    assert runtime_api.VARIANT_NAME == constants.VARIANT_NAME
    assert config.TwinConfig().max_concurrency == ServerlessVariant().max_concurrency
    assert aws_rules.integer_rule(aws_rules.MAX_CONCURRENCY).maximum == runtime_api.MAX_CONCURRENCY_LIMIT


def test_the_payload_limit_is_the_same_everywhere() -> None:
    assert batching.SERVERLESS_PAYLOAD_LIMIT_BYTES == runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES
    assert batching.SERVERLESS_PAYLOAD_LIMIT_BYTES == constants.SERVERLESS_PAYLOAD_LIMIT_BYTES


def test_the_twins_model_errors_point_at_the_endpoints_log_group() -> None:
    error = runtime_api.model_error(
        ContainerResponse(400, b"{}", "application/json"), endpoint_name="kb", region="eu-west-1", account_id="1" * 12
    )
    assert error.fields["LogStreamArn"].endswith(f":log-group:{constants.ENDPOINT_LOG_GROUP_PREFIX}/kb")


def _inference_constants() -> dict[str, object]:
    """inference.py's module-level constants, read from the source: importing it would import torch."""
    tree = ast.parse((MODEL_ARTIFACT_DIR / "code" / "inference.py").read_text())
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_the_client_truncates_where_inference_py_does() -> None:
    assert _inference_constants()["MAX_TOKENS"] == batching.MAX_TOKENS


def test_the_client_never_sends_more_texts_than_inference_py_takes() -> None:
    assert _inference_constants()["MAX_TEXTS"] == batching.MAX_TEXTS_PER_REQUEST


def test_the_fake_hub_serves_the_pinned_commit_by_default() -> None:
    assert fake_hub.DEFAULT_COMMIT == DEFAULT_MODEL_REVISION
    assert fake_hub.DEFAULT_REPO_ID == DEFAULT_MODEL_ID


@pytest.mark.parametrize("name", [*NAMES, "Alex-Embedding-Endpoint", "a" * 33 + "-b", "x" * 32 + "--y"])
def test_the_batch_runner_names_jobs_with_the_prefix_the_stacks_policy_allows(name: str) -> None:
    from embeddings.batch import settings as batch_settings

    assert batch_settings.default_job_prefix(name) == constants.batch_job_name_prefix(name)
    assert len(constants.batch_job_name_prefix("x" * 63)) <= batch_settings.MAX_JOB_PREFIX


def test_the_batch_runner_starts_on_the_stacks_default_instance_type() -> None:
    from embeddings.batch import settings as batch_settings

    assert batch_settings.DEFAULT_INSTANCE_TYPE == constants.DEFAULT_TRANSFORM_INSTANCE_TYPE
