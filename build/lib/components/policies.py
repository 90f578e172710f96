"""IAM policy documents, built as plain dicts so they can be read, tested and diffed.

The execution role gets only what the endpoint's container does at run time: pull its image, write its own
logs and metrics, and (with `pooling: server`) read its one model artifact. No `AmazonSageMakerFullAccess`,
no wildcard actions; `Resource: "*"` only for the two actions IAM cannot scope (`ecr:GetAuthorizationToken`,
`cloudwatch:PutMetricData`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from components.constants import ENDPOINT_LOG_GROUP_PREFIX, ENDPOINT_METRICS_NAMESPACE, SAGEMAKER_SERVICE_PRINCIPAL
from components.images import EcrImage

PolicyDocument = dict[str, Any]


def endpoint_log_group_name(endpoint_name: str) -> str:
    """SageMaker writes an endpoint's container logs to this fixed log group."""
    return f"{ENDPOINT_LOG_GROUP_PREFIX}/{endpoint_name}"


def sagemaker_trust_policy() -> PolicyDocument:
    """Only the SageMaker service may assume the execution role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SageMakerAssumesRole",
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def execution_policy(
    *,
    image: EcrImage,
    partition: str,
    region: str,
    account_id: str,
    endpoint_name: str,
    model_artifact_arn: Any = None,
    extra_statements: Sequence[Mapping[str, Any]] = (),
) -> PolicyDocument:
    """What the container does at run time; `model_artifact_arn` (may be an Output) adds reading that one object."""
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{endpoint_log_group_name(endpoint_name)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullInferenceImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": image.repository_arn(partition),
            },
            {
                # GetAuthorizationToken has no resource-level permissions: "*" is the only accepted value.
                "Sid": "AuthenticateToEcr",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "WriteEndpointLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
            {
                # PutMetricData has no resource-level permissions; the namespace condition narrows it instead.
                "Sid": "PublishEndpointMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": ENDPOINT_METRICS_NAMESPACE}},
            },
            *([read_model_artifact_statement(model_artifact_arn)] if model_artifact_arn is not None else []),
            *(dict(statement) for statement in extra_statements),
        ],
    }


# The Sids above: extra statements may not reuse them.
EXECUTION_POLICY_SIDS = frozenset(
    {"PullInferenceImage", "AuthenticateToEcr", "WriteEndpointLogs", "PublishEndpointMetrics", "ReadModelArtifact"}
)


def read_model_artifact_statement(object_arn: Any) -> dict[str, Any]:
    """SageMaker copies model.tar.gz with the execution role: that one object, and nothing else in S3."""
    return {"Sid": "ReadModelArtifact", "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arn}


def deny_insecure_transport_policy(bucket_arn: Any) -> PolicyDocument:
    """A bucket policy that refuses every request made over plain HTTP, whoever makes it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def invoke_endpoint_policy(endpoint_arn: Any) -> PolicyDocument:
    """What a caller (the ingest Lambda, an agent) needs to call this endpoint, and nothing more."""
    return {
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


def to_json(document: PolicyDocument) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


def to_json_output(document: PolicyDocument) -> pulumi.Output[str]:
    """The same text as `to_json`, for documents that hold Outputs (an ARN not known before the resource exists)."""
    return pulumi.Output.json_dumps(document, indent=2, sort_keys=False)
