"""A job's name, where its files live in the bucket, and the CreateTransformJob request that starts it.

The name is `<prefix><16 hex digits>`, the digits a SHA-256 of the shard files' bytes and every setting that
shapes the job (model, bucket, instance type and count, this request's own parameters). The same input with the
same settings therefore gets the same name, and a second run finds the first job instead of paying twice. A
job re-submitting the shards an earlier attempt left without output is `<name>-r<n>`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from embeddings.batch.settings import JobSettings

CONTENT_TYPE = "application/jsonlines"
MAX_PAYLOAD_MB = 1
"""The container runs one model-server worker, and a 1 MB MultiRecord request of ~100-byte texts (~10,000 lines)
already takes ~40 s on 2 cores and answers ~80 MB of JSON (docs/batch.md). Larger payloads only lengthen each
invocation towards its timeout; MaxConcurrentTransforms x MaxPayloadInMB must stay <= 100."""
MAX_PAYLOAD_BYTES = MAX_PAYLOAD_MB * 1024 * 1024
"""What one record line may take: sagemaker-inference maps 1 MB onto multi-model-server's max_request_size of
1,048,576 bytes."""
MAX_CONCURRENT_TRANSFORMS = 1
"""One request at a time per instance: the one worker would queue any more."""
INVOCATIONS_TIMEOUT_S = 600
"""SageMaker's default and 15 times the ~40 s a 1 MB request of short texts takes on 2 cores; 1 MB of long texts
(256 tokens each, ~1,000 texts) takes about as long. At most 3600."""
INVOCATIONS_MAX_RETRIES = 1
"""One retry for a transient fault; a request the handler refuses (a 400) fails the same way again. 0-3."""
OUTPUT_FILTER = "$['id','SageMakerOutput']"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
REQUEST_VERSION = 1
"""Part of every name: a change to the request below must not find the jobs the old request started."""

_HASH_DIGITS = 16
_FOLLOW_UP = re.compile(r"^(?P<base>.+)-r(?P<attempt>[0-9]+)$")


def input_prefix(name: str) -> str:
    return f"input/{name}/"


def output_prefix(name: str) -> str:
    return f"output/{name}/"


def manifest_key(name: str) -> str:
    """Beside the job's input folder, not in it: everything under input/<name>/ is fed to the model."""
    return f"input/{name}.manifest.json"


def job_name(settings: JobSettings, shards: Iterable[bytes]) -> str:
    """`<prefix><hash>` of the shard files and the settings, within TransformJobName's 63 characters."""
    digest = hashlib.sha256()
    described = {
        "version": REQUEST_VERSION,
        "model": settings.model_name,
        "bucket": settings.bucket,
        "instance_type": settings.instance_type,
        "instance_count": settings.instance_count,
    }
    digest.update(json.dumps(described, sort_keys=True).encode())
    for shard in shards:
        digest.update(len(shard).to_bytes(8, "big"))
        digest.update(shard)
    return settings.job_prefix + digest.hexdigest()[:_HASH_DIGITS]


def follow_up_name(base: str, attempt: int) -> str:
    return base if attempt == 0 else f"{base}-r{attempt}"


def split_name(name: str) -> tuple[str, int]:
    """The base job's name and the attempt number (0 for the base job) of any job this runner names."""
    match = _FOLLOW_UP.match(name)
    if match is None:
        return name, 0
    return match["base"], int(match["attempt"])


def create_request(name: str, settings: JobSettings, tags: list[dict[str, str]]) -> dict[str, Any]:
    """CreateTransformJob's parameters: MultiRecord jsonlines in and out, each answer joined to its record's id."""
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": settings.model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": MAX_PAYLOAD_MB,
        "MaxConcurrentTransforms": MAX_CONCURRENT_TRANSFORMS,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": INVOCATIONS_TIMEOUT_S,
            "InvocationsMaxRetries": INVOCATIONS_MAX_RETRIES,
        },
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{settings.bucket}/{input_prefix(name)}"}
            },
            "ContentType": CONTENT_TYPE,
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{settings.bucket}/{output_prefix(name)}",
            "Accept": CONTENT_TYPE,
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": settings.instance_type, "InstanceCount": settings.instance_count},
        "DataProcessing": {"JoinSource": "Input", "OutputFilter": OUTPUT_FILTER},
    }
    if tags:
        request["Tags"] = tags
    return request


def settings_of(job: dict[str, Any], prefix: str) -> JobSettings:
    """The settings a described job was started with, for a follow-up that must match it."""
    uri = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    resources = job["TransformResources"]
    return JobSettings(
        model_name=job["ModelName"],
        bucket=uri.removeprefix("s3://").split("/", 1)[0],
        instance_type=resources["InstanceType"],
        instance_count=int(resources["InstanceCount"]),
        job_prefix=prefix,
    )
