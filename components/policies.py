"""IAM policy documents, built as plain dicts so they can be read, tested and diffed.

The execution role gets only what a serverless endpoint's container does at run time: pull its image and
write its own logs and metrics. No `AmazonSageMakerFullAccess`, no wildcard actions; `Resource: "*"` only
for the two actions IAM cannot scope (`ecr:GetAuthorizationToken`, `cloudwatch:PutMetricData`).
"""

from __future__ import annotations

import json
from typing import Any

from components.images import EcrImage

PolicyDocument = dict[str, Any]

SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"
# The namespace SageMaker hosting publishes a model container's metrics under.
ENDPOINT_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"


def endpoint_log_group_name(endpoint_name: str) -> str:
    """SageMaker writes an endpoint's container logs to this fixed log group."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


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
    *, image: EcrImage, partition: str, region: str, account_id: str, endpoint_name: str
) -> PolicyDocument:
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
        ],
    }


def invoke_endpoint_policy(endpoint_arn: str) -> PolicyDocument:
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
