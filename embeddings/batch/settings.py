"""The runner's settings and their rules, each refused with the option's name, its environment variable and the
value as typed. The rules come from botocore's SageMaker model where it has one (names, instance types), so a
bad value is refused here, before anything is uploaded, rather than by CreateTransformJob afterwards."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import botocore.session

from embeddings.batch.errors import UsageError
from embeddings.client import DEFAULT_ENDPOINT_NAME

MODEL_ENV_VAR = "SAGEMAKER_MODEL_NAME"
BUCKET_ENV_VAR = "EMBEDDINGS_BATCH_BUCKET"
JOB_PREFIX_ENV_VAR = "EMBEDDINGS_BATCH_JOB_PREFIX"

DEFAULT_INSTANCE_TYPE = "ml.c5.xlarge"
ENDPOINT_ENV_VAR = "SAGEMAKER_ENDPOINT"
_JOB_NAME_STEM_MAX = 33
_JOB_NAME_MARK = "-batch-"


def default_job_prefix(endpoint_name: str) -> str:
    """The stack's job-name prefix for its endpoint: `<endpoint name, lower-cased, cut to 33 characters, without
    trailing hyphens>-batch-`. The stack's batch_policy_json allows transform jobs named `<prefix>*` only, so the
    runner names its jobs the same way (a copy of components.constants.batch_job_name_prefix, which
    tests/test_shared_facts.py holds equal: embeddings/ cannot import the Pulumi program)."""
    return endpoint_name.lower()[:_JOB_NAME_STEM_MAX].rstrip("-") + _JOB_NAME_MARK


DEFAULT_JOB_PREFIX = default_job_prefix(DEFAULT_ENDPOINT_NAME)
"""Every job this runner starts is named `<prefix><hash>`: `alex-embedding-endpoint-batch-` for the default stack."""
MAX_INSTANCES = 100
"""CreateTransformJob's TransformResources.InstanceCount: 1 to 100 (the API reference)."""
MAX_JOB_PREFIX = 40
"""TransformJobName is at most 63 characters: the prefix, 16 hex digits of hash and a follow-up's `-r<n>`."""

# botocore's pattern for ModelName; TransformJobName's is the same alphabet without a trailing hyphen rule.
_MODEL_NAME = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")
_MODEL_NAME_MAX = 63
_JOB_PREFIX = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*-?")
# S3's bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


@functools.cache
def transform_instance_types() -> tuple[str, ...]:
    """botocore's TransformInstanceType enum: the instance types a transform job accepts (not ml.c5.large)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("TransformInstanceType").enum)


@dataclass(frozen=True)
class JobSettings:
    """What a job is started with, besides its input: all of it goes into the job's name."""

    model_name: str
    bucket: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1
    job_prefix: str = DEFAULT_JOB_PREFIX


def _source(option: str, env_var: str | None, from_env: bool) -> str:
    return f"${env_var}" if from_env and env_var else option


def model_name(value: str | None, *, from_env: bool = False) -> str:
    if not value:
        raise UsageError(f"give the model: --model-name NAME or ${MODEL_ENV_VAR} (the stack output model_name)")
    if len(value) > _MODEL_NAME_MAX or not _MODEL_NAME.fullmatch(value):
        raise UsageError(
            f"{_source('--model-name', MODEL_ENV_VAR, from_env)} is {value!r}; a SageMaker model name is 1-63 "
            "letters, digits and hyphens, starting and ending with a letter or digit"
        )
    return value


def bucket(value: str | None, *, from_env: bool = False) -> str:
    if not value:
        raise UsageError(f"give the batch bucket: --bucket NAME or ${BUCKET_ENV_VAR} (the stack output batch_bucket)")
    if not _BUCKET.fullmatch(value) or ".." in value:
        hint = "; give the bucket's name, not a URL" if "/" in value or ":" in value else ""
        raise UsageError(
            f"{_source('--bucket', BUCKET_ENV_VAR, from_env)} is {value!r}; an S3 bucket name is 3-63 lowercase "
            f"letters, digits, dots and hyphens{hint}"
        )
    return value


def instance_type(value: str) -> str:
    allowed = transform_instance_types()
    if value not in allowed:
        shown = ", ".join(t for t in allowed if t.startswith(("ml.c5.", "ml.m5.")))
        raise UsageError(
            f"--instance-type is {value!r}, which is not a transform instance type (botocore's "
            f"TransformInstanceType), e.g. {shown}"
        )
    return value


def instance_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_INSTANCES or str(count) != value.strip():
        raise UsageError(f"--instance-count is {value!r}; it must be a whole number from 1 to {MAX_INSTANCES}")
    return count


def job_prefix(value: str, *, from_env: bool = False) -> str:
    if len(value) > MAX_JOB_PREFIX or not _JOB_PREFIX.fullmatch(value):
        raise UsageError(
            f"{_source('--job-prefix', JOB_PREFIX_ENV_VAR, from_env)} is {value!r}; a job-name prefix is 1-"
            f"{MAX_JOB_PREFIX} letters, digits and hyphens, starting with a letter or digit"
        )
    return value
