"""A transform job to run the batch runner against: moto in-process for S3 and the SageMaker requests (so every
request is checked against botocore's shapes and moto's own create/describe/list_transform_job), and a thin
wrapper that plays the job itself, which moto cannot: it stays InProgress while it writes one shard's answers per
poll into moto's S3, joined to their ids as Batch Transform's `JoinSource=Input` does, then Completes or Fails.
StopTransformJob, which moto lacks, is the wrapper's too."""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

REGION = "us-east-1"
MODEL = "alex-embedding-model"
BUCKET = "alex-embed-batch-bucket"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
MODEL_TAGS = [{"Key": "project", "Value": "alex"}, {"Key": "stack", "Value": "dev"}]


def fake_vector(text: str) -> list[float]:
    """A unit vector that depends on the text only, as float32 values the container would print."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.uniform(-1, 1) for _ in range(384)]
    norm = math.hypot(*values)
    return [float(f"{x / norm:.8g}") for x in values]


@dataclass
class Plan:
    """How the next job behaves: polls it stays InProgress (one shard answered per poll), and whether it fails
    after answering `fail_after` shards."""

    fail_after: int | None = None
    failure_reason: str = "ClientError: See job logs for more information"
    answer: Any = None  # a function (record, vector) -> the joined answer line's object, to break the output


@dataclass
class FakeJob:
    name: str
    request: dict[str, Any]
    pending: list[str]
    plan: Plan
    status: str = "InProgress"
    failure_reason: str = ""
    written: int = 0


@dataclass
class TransformJobs:
    """The sagemaker client the runner gets: moto's, with the job's life played here."""

    moto: Any
    s3: Any
    plans: list[Plan] = field(default_factory=list)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    describes: int = 0
    denied: set[str] = field(default_factory=set)  # operations answered AccessDeniedException, as a least-privilege
    # caller's would be (the stack's batch policy grants only the transform-job calls)

    @property
    def meta(self) -> Any:
        return self.moto.meta

    def _allowed(self, operation: str) -> None:
        if operation in self.denied:
            message = f"User is not authorized to perform: sagemaker:{operation}"
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)

    def describe_model(self, **kwargs: Any) -> Any:
        self._allowed("DescribeModel")
        return self.moto.describe_model(**kwargs)

    def list_tags(self, **kwargs: Any) -> Any:
        self._allowed("ListTags")
        return self.moto.list_tags(**kwargs)

    def create_transform_job(self, **request: Any) -> Any:
        answer = self.moto.create_transform_job(**request)  # botocore's shapes, then moto's own checks
        self.created.append(request)
        uri = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = uri.removeprefix("s3://").split("/", 1)
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        plan = self.plans.pop(0) if self.plans else Plan()
        name = request["TransformJobName"]
        self.jobs[name] = FakeJob(name, request, sorted(item["Key"] for item in listed), plan)
        return answer

    def _advance(self, job: FakeJob) -> None:
        """One poll of a running job: one more shard answered, or the end."""
        if job.status != "InProgress":
            return
        if job.plan.fail_after is not None and job.written >= job.plan.fail_after:
            job.status, job.failure_reason = "Failed", job.plan.failure_reason
            return
        if not job.pending:
            job.status = "Completed"
            return
        key = job.pending.pop(0)
        self._answer(job, key)
        job.written += 1

    def _answer(self, job: FakeJob, key: str) -> None:
        uri = job.request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = uri.removeprefix("s3://").split("/", 1)
        out_bucket, out_prefix = job.request["TransformOutput"]["S3OutputPath"].removeprefix("s3://").split("/", 1)
        lines = []
        for line in self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines():
            record = json.loads(line)
            vector = fake_vector(record["inputs"])
            joined = {"id": record["id"], "SageMakerOutput": vector}  # $['id','SageMakerOutput'] of the join
            if job.plan.answer is not None:
                joined = job.plan.answer(record, vector)
            if joined is not None:
                lines.append(json.dumps(joined))
        body = "".join(line + "\n" for line in lines).encode()
        self.s3.put_object(Bucket=out_bucket, Key=out_prefix + key[len(prefix) :] + ".out", Body=body)

    def describe_transform_job(self, **kwargs: Any) -> Any:
        self.describes += 1
        answer = self.moto.describe_transform_job(**kwargs)
        job = self.jobs.get(kwargs["TransformJobName"])
        if job is not None:
            self._advance(job)
            answer["TransformJobStatus"] = job.status
            if job.failure_reason:
                answer["FailureReason"] = job.failure_reason
        return answer

    def list_transform_jobs(self, **kwargs: Any) -> Any:
        answer = self.moto.list_transform_jobs(**kwargs)
        for summary in answer["TransformJobSummaries"]:
            job = self.jobs.get(summary["TransformJobName"])
            if job is not None:
                summary["TransformJobStatus"] = job.status
        return answer

    def stop_transform_job(self, TransformJobName: str) -> Any:
        job = self.jobs.get(TransformJobName)
        if job is None:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "no job"}}, "StopTransformJob")
        job.status, job.failure_reason = "Stopped", "Stopped by the user"
        self.stopped.append(TransformJobName)
        return {}
