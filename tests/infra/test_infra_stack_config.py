"""The real __main__.py and its config layer (stack_config.py), configured as `pulumi up` on a stack would be:
every key reaches the component, and every mistake is named in the stack's own key names before anything exists."""

from __future__ import annotations

import re
import runpy
from typing import Any

import pytest
import yaml

from components import DEFAULT_MODEL_REVISION, InvalidEndpointArgsError
from stack_config import KEY_NAMES, KEYS
from tests.hub_cache import model_package_dir
from tests.infra.pulumi_cli_config import StackConfigError, load_stack_config
from tests.infra.pulumi_harness import (
    BUCKET_OBJECT,
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    MODEL,
    SCALING_POLICY,
    SCALING_TARGET,
    STACK_EXPORTS,
    TOPIC_SUBSCRIPTION,
    ProgramFailed,
    run_program,
)
from tests.paths import PROJECT_DIR


def test_pulumi_yaml_declares_every_key_the_program_reads_each_unset_by_default() -> None:
    """Unset is "": an integer key is declared without a type, as a typed default must be a number, and every number
    is a value the program must be able to refuse (0 among them)."""
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    # `tags` and `provisionedConcurrencyScaling` are read too; Pulumi.yaml has no object type to declare them with.
    objects = {key.name for key in KEYS if key.kind == "object"}
    assert objects == {"tags", "provisionedConcurrencyScaling"}
    assert set(declared) == set(KEY_NAMES) - objects
    config = load_stack_config(PROJECT_DIR, "a-stack-with-no-file")
    for key in KEYS:
        if key.name in objects:
            continue
        assert declared[key.name].get("type") == (None if key.kind == "integer" else key.kind), key.name
        # Booleans default to the component's own choice: monitoring on, batch transform off.
        expected = {"string": "", "integer": "", "boolean": key.name != "batchTransform"}[key.kind]
        assert config.values[f"alex-sagemaker:{key.name}"] == expected, key.name


def test_dev_stack_deploys_the_packed_model_with_every_export_resolved(deploy_stack) -> None:
    deployment = deploy_stack("dev")

    assert set(STACK_EXPORTS) <= set(deployment.exports)
    assert set(deployment.exports) - set(STACK_EXPORTS) == {
        "model_revision",
        "max_concurrency",
        "dashboard_url",
        "model_artifact_bucket",
        "model_data_url",
    }
    assert all(value not in (None, "") for value in deployment.exports.values())
    assert deployment.exports["endpoint_name"] == "alex-embedding-endpoint"
    assert deployment.exports["region"] == "us-east-1"
    assert deployment.exports["model_revision"] == DEFAULT_MODEL_REVISION
    assert (deployment.exports["model_source"], deployment.exports["pooling"]) == ("artifact", "server")
    assert deployment.one(ENDPOINT).inputs["name"] == "alex-embedding-endpoint"
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 3072, "maxConcurrency": 2}
    assert "HF_MODEL_ID" not in deployment.one(MODEL).inputs["primaryContainer"]["environment"]


def test_stack_settings_override_the_defaults(deploy_stack) -> None:
    deployment = deploy_stack(
        "dev",
        {
            "aws:region": "eu-central-1",
            "endpointName": "kb-embeddings",
            "memorySizeMb": 4096,
            "maxConcurrency": 4,
            "provisionedConcurrency": 1,
            "modelDir": str(model_package_dir()),
            "precision": "bf16",
            "tags": {"cost-center": "kb"},
        },
    )

    assert deployment.exports["region"] == "eu-central-1"
    assert deployment.exports["endpoint_name"] == "kb-embeddings"
    assert (deployment.exports["precision"], deployment.exports["max_concurrency"]) == ("bf16", 4)
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 4096, "maxConcurrency": 4, "provisionedConcurrency": 1}
    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]
    assert environment["ALEX_EMBEDDING_PRECISION"] == "bf16"
    assert environment["ALEX_EMBEDDING_MODEL_REVISION"] == DEFAULT_MODEL_REVISION
    assert deployment.one(MODEL).inputs["tags"]["cost-center"] == "kb"


def test_the_hub_source_with_client_pooling_is_the_tutorials_endpoint(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"modelSource": "hub", "pooling": "client", "modelRevision": "main"})

    container = deployment.one(MODEL).inputs["primaryContainer"]
    assert "modelDataUrl" not in container and not deployment.of_type(BUCKET_OBJECT)
    assert (container["environment"]["HF_MODEL_ID"], container["environment"]["HF_MODEL_REVISION"]) == (
        "sentence-transformers/all-MiniLM-L6-v2",
        "main",
    )


def test_endpoint_type_instances_with_its_keys(deploy_stack) -> None:
    deployment = deploy_stack(
        "dev",
        {
            "endpointType": "instances",
            "instanceType": "ml.c5.xlarge",
            "minInstances": 2,
            "maxInstances": 4,
            "targetInvocationsPerInstance": 90,
        },
    )
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.c5.xlarge", 2)
    assert "serverlessConfig" not in variant
    target = deployment.one(SCALING_TARGET).inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    tracking = deployment.one(SCALING_POLICY).inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 90
    assert deployment.exports["endpoint_type"] == "instances" and "max_concurrency" not in deployment.exports


def test_endpoint_type_instances_with_defaults(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"endpointType": "instances"})
    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 1)
    assert deployment.one(SCALING_TARGET).inputs["maxCapacity"] == 2


def test_monitoring_false_turns_everything_off(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"monitoring": False})
    assert deployment.of_type(METRIC_ALARM) == [] and deployment.of_type(DASHBOARD) == []
    assert "dashboard_url" not in deployment.exports


def test_alarm_email_adds_the_topic_and_its_export(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"alarmEmail": "ops@example.com"})
    assert deployment.one(TOPIC_SUBSCRIPTION).inputs["endpoint"] == "ops@example.com"
    assert deployment.exports["alarm_topic_arn"].startswith("arn:aws:sns:us-east-1:")


def test_a_secret_hub_token_is_accepted_and_stays_secret(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"hfToken": {"secure": "hf_encrypted"}, "modelSource": "hub"})

    assert "hf_encrypted" not in str(deployment.exports)
    assert deployment.one(MODEL).additional_secret_outputs == ["primaryContainer"]


BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("unknown endpoint type", {"endpointType": "gpu"}, ["endpointType 'gpu'", "serverless, instances"]),
    (
        "serverless key in instance mode",
        {"endpointType": "instances", "memorySizeMb": 4096},
        ["memorySizeMb 4096 is a setting of endpointType 'serverless'", "pulumi config rm memorySizeMb"],
    ),
    (
        "instance key in serverless mode",
        {"instanceType": "ml.m5.large"},
        ["instanceType 'ml.m5.large' is a setting of endpointType 'instances'", "endpointType is 'serverless'"],
    ),
    (
        "scaling keys in serverless mode",
        {"maxInstances": 3, "targetInvocationsPerInstance": 10},
        ["maxInstances 3 is a setting", "targetInvocationsPerInstance 10 is a setting"],
    ),
    (
        "a superscript digit as an instance type in serverless mode",
        {"instanceType": "²"},
        ["instanceType '²' is a setting of endpointType 'instances'"],
    ),
    (
        "bad instance type",
        {"endpointType": "instances", "instanceType": "ml.t3.medium"},
        ["instanceType 'ml.t3.medium' is not a SageMaker real-time instance type"],
    ),
    (
        "min above max",
        {"endpointType": "instances", "minInstances": 4, "maxInstances": 3},
        ["minInstances 4 exceeds maxInstances 3"],
    ),
    ("memory off the steps", {"memorySizeMb": 3000}, ["memorySizeMb 3000 is not a serverless memory size"]),
    ("bad endpoint name", {"endpointName": "my_endpoint"}, ["endpointName 'my_endpoint' is not a valid"]),
    ("bad alarm email", {"alarmEmail": "ops at example.com"}, ["alarmEmail 'ops at example.com'"]),
    (
        "alarm email with monitoring off",
        {"monitoring": False, "alarmEmail": "ops@example.com"},
        ["alarmEmail 'ops@example.com' is set but monitoring is false"],
    ),
    ("unknown pooling", {"pooling": "mean"}, ["pooling 'mean' is not supported"]),
    ("misspelled task", {"task": "feature-extractoin"}, ["task 'feature-extractoin'", "did you mean"]),
    ("bf16 with client pooling", {"pooling": "client", "precision": "bf16"}, ["precision 'bf16' needs pooling"]),
    ("a model folder with the hub", {"modelSource": "hub", "modelDir": "/m"}, ["modelDir is set but modelSource"]),
    ("a missing model folder", {"modelDir": "/nonexistent"}, ["modelDir '/nonexistent' is not a folder"]),
    ("a plain-text token", {"hfToken": "hf_plain"}, ["pulumi config set --secret hfToken"]),
    ("a region AWS does not have", {"aws:region": "us-east-9"}, ["aws:region 'us-east-9' is not a region"]),
    (
        "a misspelled key",
        {"memorySize": 4096},
        ["memorySize is not a setting of this stack: did you mean memorySizeMb?", "pulumi config rm memorySize"],
    ),
    ("a key in the wrong case", {"endpointname": "kb"}, ["endpointname is not a setting", "did you mean endpointName"]),
    ("tags as a list", {"tags": ["team", "search"]}, ['tags is a list ["team", "search"]: use an object']),
    ("tags as a number", {"tags": 3}, ["tags is a number 3: use an object"]),
    ("a tag with a star", {"tags": {"cost*center": "x"}}, ["tags key 'cost*center' is not allowed"]),
]


@pytest.mark.parametrize(("case", "settings", "expected"), BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_setting_is_named_in_the_stacks_terms_and_nothing_is_registered(
    deploy_stack, case: str, settings: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    for fragment in expected:
        assert fragment in str(failure.value), f"{case}: {fragment!r} not in {failure.value}"
    assert failure.value.recorded == [], "nothing is registered on a config error, not even the component"


def test_every_problem_of_every_key_in_one_error(deploy_stack) -> None:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack(
            "dev",
            {
                "endpointType": "instances",
                "memorySizeMb": 4096,
                "instanceType": "ml.nope",
                "minInstances": 3,
                "maxInstances": 2,
                "pooling": "mean",
                "alarmEmail": "nobody",
                "hfToken": "hf_plain",
                "maxConcurency": 3,
            },
        )
    messages = failure.value.cause.messages
    assert [message.split(" ", 1)[0] for message in messages] == [
        "hfToken",
        "maxConcurency",
        "memorySizeMb",
        "pooling",
        "instanceType",
        "minInstances",
        "alarmEmail",
    ]
    assert failure.value.recorded == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("memorySizeMb", "abc", "memorySizeMb is 'abc': use a whole number"),
        ("memorySizeMb", "²", "memorySizeMb is '²': use a whole number"),
        ("minInstances", "two", "minInstances is 'two': use a whole number"),
        ("maxInstances", "3.5", "maxInstances is '3.5': use a whole number"),
        ("monitoring", "yes", "monitoring is 'yes': use true or false"),
        ("tags", "{not json", "tags is '{not json': use an object"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_words_when_the_cli_lets_it_through(
    key: str, value: str, expected: str
) -> None:
    """The CLI checks declared types; the program still refuses a wrong one in words, never a Python exception."""
    config = {**load_stack_config(PROJECT_DIR, "dev").values, f"alex-sagemaker:{key}": value}

    with pytest.raises(ProgramFailed) as failure:
        run_program(lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"), config=config)

    assert expected in str(failure.value)
    assert failure.value.recorded == []


@pytest.mark.parametrize(("key", "value", "declared"), [("monitoring", "yes", "boolean")])
def test_the_cli_refuses_a_value_of_the_wrong_type_before_the_program_runs(key: str, value: str, declared: str) -> None:
    with pytest.raises(StackConfigError, match=f"'{key}' must be of type '{declared}'"):
        load_stack_config(PROJECT_DIR, "dev", {key: value})


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
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nconfig:\n  count: {type: integer, default: ''}\n")
    with pytest.raises(StackConfigError, match="default value specified for configuration key 'count' is not of"):
        load_stack_config(tmp_path, "dev")


def test_the_readmes_example_error_is_the_programs_for_the_commands_it_names(deploy_stack) -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration\n", 1)[1].split("\n## ", 1)[0]
    settings = dict(re.findall(r"`pulumi config set (\w+) (\S+)`", section))
    [shown] = [block for block in re.findall(r"```text\n(.*?)```", section, flags=re.S) if "invalid" in block]

    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)

    assert settings == {"memorySize": "4096", "maxConcurrency": "300"}
    assert str(failure.value.cause) == shown.rstrip("\n")
