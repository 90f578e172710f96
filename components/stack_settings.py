"""Stack configuration (Pulumi.yaml keys) -> the component's arguments, with every key checked first.

Pulumi hands the program a declared key's default when the stack does not set it, so the program cannot tell
"unset" from "set to the default". The keys that belong to one endpoint type therefore default to "" or 0,
meaning "the type's own default", and a key of the other type that is set is refused by name.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi

from components.endpoint_args import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_MIN_INSTANCES,
    DEFAULT_MODEL_ID,
    DEFAULT_POOLING,
    DEFAULT_TARGET_INVOCATIONS_PER_INSTANCE,
    DEFAULT_TASK,
    InstancesVariant,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.validation import InvalidEndpointArgsError, check_endpoint_type

SERVERLESS_KEYS = ("memorySizeMb", "maxConcurrency", "provisionedConcurrency")
INSTANCES_KEYS = ("instanceType", "minInstances", "maxInstances", "targetInvocationsPerInstance")


def optional(value: Any) -> Any:
    """Pulumi.yaml declares optional keys with an empty default (a declared key without one is required)."""
    return value or None


def hf_token(config: pulumi.Config) -> tuple[pulumi.Output[str] | None, list[str]]:
    """The Hub token, only ever as a secret: a plain-text value in the stack file is refused."""
    token = optional(config.get("hfToken"))
    if token is None:
        return None, []
    if not pulumi.runtime.is_config_secret(config.full_key("hfToken")):
        return None, ["hfToken is stored in plain text: set it with `pulumi config set --secret hfToken <token>`"]
    return pulumi.Output.secret(token), []


def stack_region() -> str | None:
    """The region the AWS provider will use; None lets the component ask the provider itself."""
    return pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _set_keys(config: pulumi.Config, keys: tuple[str, ...]) -> dict[str, Any]:
    """The keys among `keys` that the stack sets to something other than their "unset" default ("" or 0)."""
    found: dict[str, Any] = {}
    for key in keys:
        value = config.get(key)
        if optional(value) in (None, "0"):
            continue
        found[key] = int(value) if value.lstrip("-").isdigit() else value
    return found


def _mode_problems(endpoint_type: str, config: pulumi.Config) -> list[str]:
    if endpoint_type == "instances":
        misplaced, other = _set_keys(config, SERVERLESS_KEYS), "serverless"
    elif endpoint_type == "serverless":
        misplaced, other = _set_keys(config, INSTANCES_KEYS), "instances"
    else:
        return []
    return [
        f"{key} {value!r} is a setting of endpointType {other!r}, but endpointType is {endpoint_type!r}: "
        f"remove it (`pulumi config rm {key}`) or set endpointType {other}"
        for key, value in misplaced.items()
    ]


def _variant_args(endpoint_type: str, config: pulumi.Config) -> dict[str, Any]:
    if endpoint_type == "instances":
        return {
            "instances": InstancesVariant(
                instance_type=optional(config.get("instanceType")) or DEFAULT_INSTANCE_TYPE,
                min_instances=config.get_int("minInstances", 0) or DEFAULT_MIN_INSTANCES,
                max_instances=config.get_int("maxInstances", 0) or DEFAULT_MAX_INSTANCES,
                target_invocations_per_instance=(
                    config.get_int("targetInvocationsPerInstance", 0) or DEFAULT_TARGET_INVOCATIONS_PER_INSTANCE
                ),
            )
        }
    return {
        "serverless": ServerlessVariant(
            memory_size_mb=config.get_int("memorySizeMb", 0) or DEFAULT_MEMORY_SIZE_MB,
            max_concurrency=config.get_int("maxConcurrency", 0) or DEFAULT_MAX_CONCURRENCY,
            # 0 is Pulumi.yaml's "unset": no warm capacity, nothing billed while idle.
            provisioned_concurrency=config.get_int("provisionedConcurrency", 0) or None,
        )
    }


def _monitoring(config: pulumi.Config) -> tuple[Monitoring | None, list[str]]:
    enabled = config.get_bool("monitoring", True)
    email = optional(config.get("alarmEmail"))
    if enabled:
        return Monitoring(alarm_email=email), []
    if email is not None:
        return None, [
            f"alarmEmail {email!r} is set but monitoring is false: with monitoring off there are no alarms to "
            "send; remove alarmEmail or set monitoring true"
        ]
    return None, []


def endpoint_args_from_config(config: pulumi.Config) -> ServerlessEmbeddingEndpointArgs:
    """Read every key, and raise one InvalidEndpointArgsError listing every problem before anything exists."""
    endpoint_type = config.get("endpointType") or "serverless"
    problems = [*check_endpoint_type(endpoint_type), *_mode_problems(endpoint_type, config)]
    token, token_problems = hf_token(config)
    monitoring, monitoring_problems = _monitoring(config)
    args = ServerlessEmbeddingEndpointArgs(
        endpoint_name=config.get("endpointName", DEFAULT_ENDPOINT_NAME),
        model_id=config.get("modelId", DEFAULT_MODEL_ID),
        model_revision=optional(config.get("modelRevision")),
        task=config.get("task", DEFAULT_TASK),
        **_variant_args(endpoint_type, config),
        monitoring=monitoring,
        pooling=config.get("pooling") or DEFAULT_POOLING,
        image_uri=optional(config.get("imageUri")),
        execution_role_arn=optional(config.get("executionRoleArn")),
        hf_token=token,
        region=stack_region(),
        tags=config.get_object("tags") or {},
    )
    problems += [*args.problems(), *monitoring_problems, *token_problems]
    if problems:
        raise InvalidEndpointArgsError(problems)
    return args
