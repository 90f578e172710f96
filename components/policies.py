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

from components.constants import (
    BATCH_INPUT_PREFIX,
    BATCH_OUTPUT_PREFIX,
    ENDPOINT_LOG_GROUP_PREFIX,
    ENDPOINT_METRICS_NAMESPACE,
    SAGEMAKER_SERVICE_PRINCIPAL,
    TRANSFORM_JOB_LOG_GROUP,
    TRANSFORM_JOB_METRICS_NAMESPACE,
)
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
    batch_bucket_arn: Any = None,
    extra_statements: Sequence[Mapping[str, Any]] = (),
) -> PolicyDocument:
    """What the container does at run time; `model_artifact_arn` (may be an Output) adds reading that one object,
    `batch_bucket_arn` what a transform job of this stack does (see `batch_job_statements`)."""
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
            *(
                batch_job_statements(batch_bucket_arn, partition=partition, region=region, account_id=account_id)
                if batch_bucket_arn is not None
                else []
            ),
            *(dict(statement) for statement in extra_statements),
        ],
    }


# The Sids above: extra statements may not reuse them.
EXECUTION_POLICY_SIDS = frozenset(
    {
        "PullInferenceImage",
        "AuthenticateToEcr",
        "WriteEndpointLogs",
        "PublishEndpointMetrics",
        "ReadModelArtifact",
        "ListBatchInput",
        "ReadBatchInput",
        "WriteBatchOutput",
        "WriteTransformJobLogs",
        "PublishTransformJobMetrics",
    }
)


def read_model_artifact_statement(object_arn: Any) -> dict[str, Any]:
    """SageMaker copies model.tar.gz with the execution role: that one object, and nothing else in S3."""
    return {"Sid": "ReadModelArtifact", "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arn}


def _objects(bucket_arn: Any, prefix: str) -> Any:
    return pulumi.Output.concat(bucket_arn, "/", prefix, "*")


def _under(prefix: str) -> list[str]:
    """`s3:prefix` values of a ListBucket confined to one folder: the folder itself and anything below it."""
    return [prefix, f"{prefix}*"]


def batch_bucket_statements(bucket_arn: Any) -> list[dict[str, Any]]:
    """The batch bucket as a transform job uses it: list and read `input/`, write `output/` (PutObject also covers
    a multipart upload's create, part and complete calls), and nothing else there."""
    return [
        {
            "Sid": "ListBatchInput",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": _under(BATCH_INPUT_PREFIX)}},
        },
        {
            "Sid": "ReadBatchInput",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": _objects(bucket_arn, BATCH_INPUT_PREFIX),
        },
        {
            "Sid": "WriteBatchOutput",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": _objects(bucket_arn, BATCH_OUTPUT_PREFIX),
        },
    ]


def transform_log_group_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{TRANSFORM_JOB_LOG_GROUP}"


def batch_job_statements(bucket_arn: Any, *, partition: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """What the execution role needs when a transform job runs as it: the bucket's two prefixes, the transform jobs'
    log group (SageMaker writes a job's streams with the role) and their utilisation metrics."""
    group = transform_log_group_arn(partition, region, account_id)
    return [
        *batch_bucket_statements(bucket_arn),
        {
            "Sid": "WriteTransformJobLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"],
        },
        {
            "Sid": "PublishTransformJobMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": TRANSFORM_JOB_METRICS_NAMESPACE}},
        },
    ]


def batch_caller_policy(
    *,
    model_arn: str,
    role_arn: str,
    bucket_arn: str,
    job_prefix: str,
    instance_type: str,
) -> PolicyDocument:
    """What `python -m embeddings.batch` needs, and nothing more: this stack's transform jobs on its model and one
    instance type, the execution role handed to SageMaker only, the batch bucket's two prefixes, the jobs' logs.

    Plain strings (call it inside an apply): the job ARNs are built from the model's, which carries the partition,
    region and account."""
    arn_head = model_arn.rsplit(":model/", 1)[0]  # arn:<partition>:sagemaker:<region>:<account>
    partition, region, account_id = arn_head.split(":")[1], arn_head.split(":")[3], arn_head.split(":")[4]
    jobs = f"{arn_head}:transform-job/{job_prefix}*"
    group = transform_log_group_arn(partition, region, account_id)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # sagemaker:ModelArn and sagemaker:InstanceTypes are condition keys of CreateTransformJob: a job on
                # another model, or on a bigger instance type, is refused.
                "Sid": "StartTransformJobsOnThisModel",
                "Effect": "Allow",
                "Action": "sagemaker:CreateTransformJob",
                "Resource": jobs,
                "Condition": {
                    "ArnEquals": {"sagemaker:ModelArn": model_arn},
                    "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": [instance_type]},
                },
            },
            {
                # Tags given to CreateTransformJob are authorised as sagemaker:AddTags too.
                "Sid": "TagTransformJobsOnCreate",
                "Effect": "Allow",
                "Action": "sagemaker:AddTags",
                "Resource": jobs,
                "Condition": {"StringEquals": {"sagemaker:TaggingAction": "CreateTransformJob"}},
            },
            {
                "Sid": "WatchTransformJobs",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"],
                "Resource": jobs,
            },
            {
                # List actions have no resource-level permissions: "*" is the only accepted value.
                "Sid": "FindTransformJobs",
                "Effect": "Allow",
                "Action": "sagemaker:ListTransformJobs",
                "Resource": "*",
            },
            {
                # The runner checks the model's environment and copies its tags onto the job.
                "Sid": "ReadModel",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeModel", "sagemaker:ListTags"],
                "Resource": model_arn,
            },
            {
                "Sid": "PassExecutionRoleToSageMaker",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE_PRINCIPAL}},
            },
            {
                "Sid": "ListBatchFolders",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [*_under(BATCH_INPUT_PREFIX), *_under(BATCH_OUTPUT_PREFIX)]}},
            },
            {
                "Sid": "ReadWriteBatchObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                "Resource": [f"{bucket_arn}/{BATCH_INPUT_PREFIX}*", f"{bucket_arn}/{BATCH_OUTPUT_PREFIX}*"],
            },
            {
                # A failed job's reason in its own words. The group is shared by every transform job of the region
                # (FilterLogEvents is a log-group action), so the caller can read those of other jobs too.
                "Sid": "ReadTransformJobLogs",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                "Resource": [group, f"{group}:*"],
            },
        ],
    }


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


def role_name(role: str, grant: str) -> str:
    """An IAM role's name from its name or ARN (`arn:aws:iam::123456789012:role/path/name` -> `name`); `grant` names
    the method in the error."""
    if role.startswith("arn:"):
        if ":role/" not in role:
            raise ValueError(f"{grant}: {role!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/...)")
        return role.rsplit("/", 1)[1]
    return role


def to_json(document: PolicyDocument) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


def to_json_output(document: PolicyDocument) -> pulumi.Output[str]:
    """The same text as `to_json`, for documents that hold Outputs (an ARN not known before the resource exists)."""
    return pulumi.Output.json_dumps(document, indent=2, sort_keys=False)
