"""The example consumer (examples/ingest_lambda) on the mocks, reading this stack's real exports."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import pytest
import yaml

from embeddings.client import READ_TIMEOUT_S
from tests.examples.consumer_harness import (
    DEV_STACK,
    EXAMPLE_DIR,
    LAMBDA_FUNCTION,
    LOG_GROUP,
    ConsumerRun,
    archive_members,
    deploy_consumer,
    deploy_producer,
)
from tests.infra.pulumi_harness import ROLE, ROLE_POLICY, Deployment, ProgramFailed
from tests.paths import PROJECT_DIR


def policy_named(deployment: Deployment, name: str) -> dict:
    (policy,) = [r for r in deployment.of_type(ROLE_POLICY) if r.name == name]
    return policy.inputs


def test_reads_the_default_stack_and_exports_the_function(consumer: ConsumerRun) -> None:
    function = consumer.deployment.one(LAMBDA_FUNCTION)

    assert consumer.referenced_stacks == [DEV_STACK]
    assert consumer.deployment.exports["function_name"] == function.state["name"]
    assert consumer.deployment.exports["function_arn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{function.state['name']}"
    )


def test_role_may_invoke_exactly_what_the_producer_grants(consumer: ConsumerRun, producer: Deployment) -> None:
    deployment = consumer.deployment
    role = deployment.one(ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])

    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert sorted(r.name for r in deployment.of_type(ROLE_POLICY)) == ["ingest-logs", "ingest-may-embed"]
    invoke = policy_named(deployment, "ingest-may-embed")
    assert invoke["role"] == role.state["name"]
    assert invoke["policy"] == producer.exports["invoke_policy_json"]
    assert [s["Action"] for s in json.loads(invoke["policy"])["Statement"]] == ["sagemaker:InvokeEndpoint"]
    assert not [r for r in deployment.registrations if r.type.startswith("aws:iam/rolePolicyAttachment")]


def test_role_writes_only_the_function_log_group(consumer: ConsumerRun) -> None:
    deployment = consumer.deployment
    log_group = deployment.one(LOG_GROUP)
    logs = json.loads(policy_named(deployment, "ingest-logs")["policy"])

    assert logs["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group.state['arn']}:*",
        }
    ]
    function = deployment.one(LAMBDA_FUNCTION)
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.state["name"]
    assert log_group.inputs["retentionInDays"] > 0


def test_function_environment_comes_from_the_producer_outputs(consumer: ConsumerRun, producer: Deployment) -> None:
    variables = consumer.deployment.one(LAMBDA_FUNCTION).inputs["environment"]["variables"]
    assert variables == {
        "SAGEMAKER_ENDPOINT": producer.exports["endpoint_name"],
        "SAGEMAKER_REGION": producer.exports["region"],
        "EMBEDDINGS_MAX_WAIT_S": "180",
        "EMBEDDINGS_POOLING": producer.exports["pooling"],
        "EMBEDDINGS_MAX_CONCURRENCY": str(producer.exports["max_concurrency"]),
    }
    assert (variables["SAGEMAKER_ENDPOINT"], variables["EMBEDDINGS_POOLING"]) == ("alex-embedding-endpoint", "server")
    assert variables["EMBEDDINGS_MAX_CONCURRENCY"] == "2"


def test_a_stack_without_the_newer_outputs_still_deploys_the_function(producer: Deployment) -> None:
    older = {k: v for k, v in producer.exports.items() if k not in ("pooling", "max_concurrency")}
    variables = deploy_consumer({DEV_STACK: Deployment([], [], older, set())}).deployment.one(LAMBDA_FUNCTION)

    assert set(variables.inputs["environment"]["variables"]) == {
        "SAGEMAKER_ENDPOINT",
        "SAGEMAKER_REGION",
        "EMBEDDINGS_MAX_WAIT_S",
    }


def test_a_pooling_output_reaches_the_function(producer: Deployment) -> None:
    exports = {**producer.exports, "pooling": "server"}
    with_pooling = Deployment([], [], exports, set())

    variables = deploy_consumer({DEV_STACK: with_pooling}).deployment.one(LAMBDA_FUNCTION).inputs["environment"]

    assert variables["variables"]["EMBEDDINGS_POOLING"] == "server"


def test_function_runtime_timeout_and_ordering(consumer: ConsumerRun) -> None:
    deployment = consumer.deployment
    function = deployment.one(LAMBDA_FUNCTION)
    inputs = function.inputs
    max_wait_s = float(inputs["environment"]["variables"]["EMBEDDINGS_MAX_WAIT_S"])

    assert inputs["runtime"] == "python3.12"
    assert inputs["handler"] == "handler.handle"
    # A whole retry budget plus one invocation at the client's read timeout.
    assert inputs["timeout"] > max_wait_s + READ_TIMEOUT_S
    assert inputs["timeout"] <= 900  # Lambda's maximum
    assert inputs["role"] == deployment.one(ROLE).state["arn"]
    # Both policies exist before the function does, so its first event can log and invoke.
    policy_urns = {r.urn for r in deployment.of_type(ROLE_POLICY)}
    assert policy_urns <= set(function.dependencies)


def test_code_is_the_handler_and_the_embeddings_package(consumer: ConsumerRun) -> None:
    code = consumer.deployment.one(LAMBDA_FUNCTION).inputs["code"]

    members = archive_members(code, EXAMPLE_DIR)

    modules = sorted((PROJECT_DIR / "embeddings").glob("*.py"))
    assert set(members) == {"handler.py"} | {f"embeddings/{path.name}" for path in modules}
    assert members["handler.py"] == (EXAMPLE_DIR / "function" / "handler.py").read_bytes()
    for path in modules:
        assert members[f"embeddings/{path.name}"] == path.read_bytes()


def test_code_paths_do_not_depend_on_the_checkout_location(consumer: ConsumerRun) -> None:
    code = consumer.deployment.one(LAMBDA_FUNCTION).inputs["code"]
    paths = [code.assets["handler.py"].path, *(asset.path for asset in code.assets["embeddings"].assets.values())]

    assert not [path for path in paths if path.startswith("/")]


def test_embedding_stack_config_selects_the_producer() -> None:
    prod = deploy_producer("prod", {"aws:region": "eu-west-1", "endpointName": "embeddings-prod"})
    name = "organization/alex-sagemaker/prod"

    run = deploy_consumer({name: prod}, overrides={"embeddingStack": name})

    variables = run.deployment.one(LAMBDA_FUNCTION).inputs["environment"]["variables"]
    assert run.referenced_stacks == [name]
    assert (variables["SAGEMAKER_ENDPOINT"], variables["SAGEMAKER_REGION"]) == ("embeddings-prod", "eu-west-1")
    assert policy_named(run.deployment, "ingest-may-embed")["policy"] == prod.exports["invoke_policy_json"]
    assert "endpoint/embeddings-prod" in prod.exports["invoke_policy_json"]


@pytest.fixture
def failed_outputs_collected() -> Iterator[None]:
    """A program failing in an apply leaves the outputs that waited on it failed and never awaited; collect them
    while pytest still captures the log lines asyncio writes for them, so they do not clutter the run's output."""
    yield
    gc.collect()


@pytest.mark.parametrize("missing", ["endpoint_name", "invoke_policy_json"])
@pytest.mark.usefixtures("failed_outputs_collected")
def test_a_missing_output_fails_before_anything_is_registered(producer: Deployment, missing: str) -> None:
    exports = {key: value for key, value in producer.exports.items() if key != missing}

    with pytest.raises(ProgramFailed) as failed:
        deploy_consumer({DEV_STACK: Deployment([], [], exports, set())})

    assert f"stack {DEV_STACK!r} has no output {missing}" in str(failed.value)
    assert "embeddingStack" in str(failed.value)
    assert [r.type for r in failed.value.recorded if r.type.startswith("aws:")] == []


def test_the_example_elides_nothing() -> None:
    """Users copy the example whole; an ellipsis in it would be code that does not run."""
    files = [
        path for path in EXAMPLE_DIR.rglob("*") if path.is_file() and not {".venv", "__pycache__"} & set(path.parts)
    ]

    assert {path.name for path in files} >= {"__main__.py", "handler.py", "Pulumi.yaml", "requirements.txt"}
    assert [path.name for path in files if "..." in path.read_text() or "\u2026" in path.read_text()] == []


def pins(requirements: str) -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in requirements.splitlines()]
    return dict(line.split("==") for line in lines if line and not line.startswith("-"))


def test_the_example_is_its_own_project_with_the_root_s_pins() -> None:
    project = yaml.safe_load((EXAMPLE_DIR / "Pulumi.yaml").read_text())
    example_pins = pins((EXAMPLE_DIR / "requirements.txt").read_text())
    root_pins = pins((PROJECT_DIR / "requirements.txt").read_text())

    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project["config"]["embeddingStack"]["default"] == DEV_STACK
    assert set(example_pins) == {"pulumi", "pulumi-aws"}
    assert example_pins == {name: root_pins[name] for name in example_pins}
