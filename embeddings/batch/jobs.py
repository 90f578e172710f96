"""The transform-job control plane: find a base job and its follow-ups, start, describe, stop; and what the
runner reads of the model (its environment and tags) before starting one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from embeddings.batch.errors import UsageError
from embeddings.batch.job import LOG_GROUP, split_name
from embeddings.batch.settings import MODEL_ENV_VAR

RUNNING = ("InProgress", "Stopping")
ENDED = ("Completed", "Failed", "Stopped")
RESPONSE_SIZE_VARIABLE = "MMS_MAX_RESPONSE_SIZE"
"""multi-model-server answers at most 6,553,500 bytes unless the model's environment raises it; a 1 MB
MultiRecord request of short texts answers ~80 MB."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


@dataclass(frozen=True)
class Attempt:
    name: str
    number: int
    status: str


def attempts(sagemaker: Any, base: str) -> list[Attempt]:
    """The base job and its follow-ups that exist, in attempt order (ListTransformJobs with NameContains)."""
    found: dict[int, Attempt] = {}
    request: dict[str, Any] = {"NameContains": base, "MaxResults": 100}
    while True:
        page = sagemaker.list_transform_jobs(**request)
        for summary in page.get("TransformJobSummaries", []):
            name = summary["TransformJobName"]
            root, number = split_name(name)
            if root == base:
                found[number] = Attempt(name, number, summary["TransformJobStatus"])
        if not page.get("NextToken"):
            return [found[number] for number in sorted(found)]
        request["NextToken"] = page["NextToken"]


def describe(sagemaker: Any, name: str) -> dict[str, Any]:
    job: dict[str, Any] = sagemaker.describe_transform_job(TransformJobName=name)
    return job


def failure(job: dict[str, Any], region: str) -> str:
    """Why a job ended without every answer, and where its logs are."""
    name = job["TransformJobName"]
    reason = job.get("FailureReason") or "no FailureReason given"
    return (
        f"transform job {name} {job['TransformJobStatus']}: {reason}; logs: CloudWatch log group {LOG_GROUP}, "
        f"streams {name}/... (aws logs tail {LOG_GROUP} --log-stream-name-prefix {name} --region {region})"
    )


@dataclass(frozen=True)
class ModelFacts:
    """What the runner could read of the model: its tags (for the job) and a note about its environment."""

    tags: list[dict[str, str]]
    notes: list[str]


def model_facts(sagemaker: Any, model_name: str) -> ModelFacts:
    """The model's tags and environment. A missing model is an error; a caller whose policy does not allow
    DescribeModel or ListTags (the stack's batch policy grants only the transform-job calls) gets notes."""
    try:
        model = sagemaker.describe_model(ModelName=model_name)
    except ClientError as error:
        if _code(error) in ("AccessDeniedException", "AccessDenied"):
            note = (
                f"note: cannot read model {model_name} (sagemaker:DescribeModel not allowed): its environment is "
                "not checked and the job gets no tags"
            )
            return ModelFacts([], [note])
        if _code(error) in ("ValidationException", "ValidationError") and "not find" in str(error):
            raise UsageError(
                f"model {model_name!r} (--model-name or ${MODEL_ENV_VAR}) does not exist in this region: use the "
                "stack output model_name"
            ) from None
        raise
    notes = []
    environment = (model.get("PrimaryContainer") or {}).get("Environment") or {}
    if RESPONSE_SIZE_VARIABLE not in environment:
        notes.append(
            f"warning: model {model_name}'s environment has no {RESPONSE_SIZE_VARIABLE}: multi-model-server then "
            "answers at most 6,553,500 bytes, and a 1 MB request of short texts needs ~80 MB; the job may fail with "
            "'Worker died' (deploy the stack's current version)"
        )
    try:
        listed = sagemaker.list_tags(ResourceArn=model["ModelArn"]).get("Tags", [])
    except ClientError as error:
        if _code(error) not in ("AccessDeniedException", "AccessDenied"):
            raise
        notes.append(f"note: cannot list model {model_name}'s tags (sagemaker:ListTags not allowed): the job gets none")
        listed = []
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in listed if not t["Key"].startswith("aws:")][:50]
    return ModelFacts(tags, notes)
