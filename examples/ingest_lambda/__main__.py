"""Part 3's ingest Lambda, as a consumer of the alex-sagemaker stack: it reads the stack's outputs, not names.

The function's role may invoke exactly the endpoint the stack exports (`invoke_policy_json`) and write its own
log group; its code is `function/handler.py` plus the repository's `embeddings/` package, zipped at deploy
time, so nothing is copied into this folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

EXAMPLE_DIR = Path(__file__).resolve().parent
EMBEDDINGS_DIR = EXAMPLE_DIR.parents[1] / "embeddings"

# The client retries a cold or busy endpoint for up to EMBEDDINGS_MAX_WAIT_S per invocation, and one invocation may
# take up to its 70 s read timeout. The function's timeout covers a whole cold-start wait, one slow invocation, and
# the rest of an event's batches (at most 100 texts, see the handler).
EMBEDDINGS_MAX_WAIT_S = 180
TIMEOUT_S = EMBEDDINGS_MAX_WAIT_S + 70 + 50
# Pooling the container's token-level answer is pure Python; more memory buys a proportionally faster CPU.
MEMORY_MB = 512
LOG_RETENTION_DAYS = 14
DEFAULT_EMBEDDING_STACK = "organization/alex-sagemaker/dev"

REQUIRED_OUTPUTS = ("endpoint_name", "region", "invoke_policy_json")
# Added by later versions of the stack; the function works without them. `max_concurrency` (serverless only) lets
# the client run that many invocations at once: the function's role may not read it with DescribeEndpoint.
OPTIONAL_OUTPUTS = ("pooling", "max_concurrency")


class MissingStackOutputError(Exception):
    pass


def producer_outputs(stack_name: str) -> pulumi.Output[dict[str, Any]]:
    """The embedding stack's exports this program uses, checked.

    Every resource below takes an input from this Output, so a missing output fails the program before any of
    them is registered: nothing is half-created.
    """
    reference = pulumi.StackReference(stack_name)
    names = (*REQUIRED_OUTPUTS, *OPTIONAL_OUTPUTS)

    def check(outputs: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in REQUIRED_OUTPUTS if outputs.get(name) in (None, "")]
        if missing:
            raise MissingStackOutputError(
                f"stack {stack_name!r} has no output {', '.join(missing)}: deploy alex-sagemaker first "
                "(`make deploy` in the repository root), or set embeddingStack to the stack that has them "
                "(`pulumi config set embeddingStack organization/alex-sagemaker/<stack>`)"
            )
        return outputs

    return pulumi.Output.all(**{name: reference.get_output(name) for name in names}).apply(check)


def lambda_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def write_logs_policy(log_group_arn: str) -> str:
    """Only this function's own log group; the group exists before the function, so no logs:CreateLogGroup."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                }
            ],
        }
    )


def function_environment(outputs: dict[str, Any]) -> dict[str, str]:
    """What the handler reads; SAGEMAKER_ENDPOINT is also what `python -m embeddings` reads."""
    variables = {
        "SAGEMAKER_ENDPOINT": outputs["endpoint_name"],
        # The endpoint's region, which may differ from the function's (AWS_REGION is reserved by Lambda).
        "SAGEMAKER_REGION": outputs["region"],
        "EMBEDDINGS_MAX_WAIT_S": str(EMBEDDINGS_MAX_WAIT_S),
    }
    if outputs.get("pooling"):
        variables["EMBEDDINGS_POOLING"] = outputs["pooling"]
    if outputs.get("max_concurrency"):
        # A stack output number arrives as a float (Pulumi's property values are JSON numbers): 2.0 means 2.
        variables["EMBEDDINGS_MAX_CONCURRENCY"] = str(int(outputs["max_concurrency"]))
    return variables


def code_archive() -> pulumi.AssetArchive:
    """handler.py at the root and embeddings/*.py beside it, as the runtime imports them.

    Paths are relative to this folder, where `pulumi up` runs, so the state does not depend on the checkout's
    location. Only the .py files: a FileArchive of the folder would also ship __pycache__, whose changes would
    redeploy the function.
    """
    modules = {
        path.name: pulumi.FileAsset(os.path.relpath(path, EXAMPLE_DIR)) for path in sorted(EMBEDDINGS_DIR.glob("*.py"))
    }
    return pulumi.AssetArchive(
        {
            "handler.py": pulumi.FileAsset("function/handler.py"),
            "embeddings": pulumi.AssetArchive(modules),
        }
    )


config = pulumi.Config()
stack_name = config.get("embeddingStack") or DEFAULT_EMBEDDING_STACK
outputs = producer_outputs(stack_name)
endpoint_name = outputs.apply(lambda o: o["endpoint_name"])
# Useful on its own (which endpoint a function calls), and it makes every resource wait for the checked outputs.
tags = {"embedding-endpoint": endpoint_name}

role = aws.iam.Role(
    "ingest",
    assume_role_policy=lambda_trust_policy(),
    description="The ingest Lambda: may invoke the embedding endpoint and write its own logs",
    tags=tags,
)
log_group = aws.cloudwatch.LogGroup(
    "ingest",
    name=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}",
    retention_in_days=LOG_RETENTION_DAYS,
    tags=tags,
)
logs_policy = aws.iam.RolePolicy("ingest-logs", role=role.id, policy=log_group.arn.apply(write_logs_policy))
invoke_policy = aws.iam.RolePolicy(
    "ingest-may-embed", role=role.id, policy=outputs.apply(lambda o: o["invoke_policy_json"])
)
function = aws.lambda_.Function(
    "ingest",
    description='Embeds texts with the alex-sagemaker endpoint: {"texts": [strings]} -> 384-dim unit vectors',
    runtime="python3.12",
    architectures=["arm64"],  # pure Python: the cheaper Graviton price applies
    handler="handler.handle",
    code=code_archive(),
    role=role.arn,
    timeout=TIMEOUT_S,
    memory_size=MEMORY_MB,
    environment={"variables": outputs.apply(function_environment)},
    logging_config={"log_format": "Text", "log_group": log_group.name},
    tags=tags,
    # The role must be allowed to log and to invoke before the first event arrives.
    opts=pulumi.ResourceOptions(depends_on=[logs_policy, invoke_policy]),
)

pulumi.export("function_name", function.name)
pulumi.export("function_arn", function.arn)
pulumi.export("role_arn", role.arn)
pulumi.export("log_group_name", log_group.name)
pulumi.export("endpoint_name", endpoint_name)
