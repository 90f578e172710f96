"""Part 2 of the knowledge base: the serverless embedding endpoint, configured per stack.

Later parts read the exports below (`pulumi stack output`, `pulumi.StackReference`) instead of hard-coding
names, so every export is part of this stack's contract.
"""

from __future__ import annotations

import os

import pulumi

from components import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_MODEL_ID,
    DEFAULT_TASK,
    InvalidEndpointArgsError,
    ServerlessEmbeddingEndpoint,
    ServerlessEmbeddingEndpointArgs,
)


def optional(value: str | None) -> str | None:
    """Pulumi.yaml declares optional keys with an empty default (a declared key without one is required)."""
    return value or None


def hf_token(config: pulumi.Config) -> pulumi.Output[str] | None:
    """The Hub token, only ever as a secret: a plain-text value in the stack file is refused."""
    token = optional(config.get("hfToken"))
    if token is None:
        return None
    if not pulumi.runtime.is_config_secret(config.full_key("hfToken")):
        raise InvalidEndpointArgsError(
            ["hfToken is stored in plain text: set it with `pulumi config set --secret hfToken <token>`"]
        )
    return pulumi.Output.secret(token)


def stack_region() -> str | None:
    """The region the AWS provider will use; None lets the component ask the provider itself."""
    return pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def endpoint_args(config: pulumi.Config) -> ServerlessEmbeddingEndpointArgs:
    return ServerlessEmbeddingEndpointArgs(
        endpoint_name=config.get("endpointName", DEFAULT_ENDPOINT_NAME),
        model_id=config.get("modelId", DEFAULT_MODEL_ID),
        model_revision=optional(config.get("modelRevision")),
        task=config.get("task", DEFAULT_TASK),
        memory_size_mb=config.get_int("memorySizeMb", DEFAULT_MEMORY_SIZE_MB),
        max_concurrency=config.get_int("maxConcurrency", DEFAULT_MAX_CONCURRENCY),
        # 0 is Pulumi.yaml's "unset": no warm capacity, nothing billed while idle.
        provisioned_concurrency=config.get_int("provisionedConcurrency", 0) or None,
        image_uri=optional(config.get("imageUri")),
        execution_role_arn=optional(config.get("executionRoleArn")),
        hf_token=hf_token(config),
        region=stack_region(),
        tags=config.get_object("tags") or {},
    )


endpoint = ServerlessEmbeddingEndpoint("embedding", endpoint_args(pulumi.Config()))

pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("endpoint_arn", endpoint.endpoint_arn)
pulumi.export("region", endpoint.region)
pulumi.export("model_name", endpoint.model_name)
pulumi.export("endpoint_config_name", endpoint.endpoint_config_name)
pulumi.export("role_arn", endpoint.role_arn)
pulumi.export("image_uri", endpoint.image_uri)
pulumi.export("invoke_policy_json", endpoint.invoke_policy_json)
