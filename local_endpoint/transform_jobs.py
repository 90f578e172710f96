"""SageMaker's transform-job control plane, played by the twin: Create/Describe/Stop/ListTransformJobs.

Also DescribeModel and ListTags for the one model (and the jobs), which a runner reads before it starts a job.

SageMaker's API uses botocore's `json` protocol: `POST /` with `X-Amz-Target: SageMaker.<Operation>` and a JSON
body; errors are HTTP 400 with `{"__type": code, "message": ...}`. So `boto3.client("sagemaker",
endpoint_url=twin_url)` (or `AWS_ENDPOINT_URL_SAGEMAKER`) drives the same code it drives in AWS, on the twin's port.

A job reads its input from, and writes its output to, the S3 that boto3 finds (`AWS_ENDPOINT_URL_S3`: moto's
server in tests), and sends each mini-batch to the container the twin serves (`invoke`, the same call POST
/invocations makes), with the job's ContentType and Accept. Jobs run on threads of their own, so the HTTP routes
stay responsive; their records live in memory, as the twin is one process.

What AWS documents and the twin does (local_endpoint/transform_work.py has the record rules):
- objects under an `S3Prefix`, partitioned across nothing: the twin is one instance with one container, and
  `MaxConcurrentTransforms` mini-batches are in flight at once (InstanceCount is recorded, not multiplied);
- the output of `<prefix-folder>/<rest>` is `<S3OutputPath>/<rest>.out`, where the prefix folder is S3Uri up to its
  last "/" (API_TransformOutput: "a corresponding subfolder in the location in the output prefix");
- an object is written only once all its mini-batches succeeded; the other objects go on, and the job ends
  `Failed` with the first failure as FailureReason (API_TransformOutput: "uploads only the output for
  successfully processed objects. If any object fails in the transform job batch transform marks the job as
  failed");
- a mini-batch the container answers with a 5xx (or cannot answer, or does not answer within
  `ModelClientConfig.InvocationsTimeoutInSeconds`, default 600) is retried up to
  `ModelClientConfig.InvocationsMaxRetries` (default 3); a 4xx is the record's fault and is not retried. A call
  past its timeout is abandoned, not interrupted: an in-process model finishes it before it takes the next;
- StopTransformJob: `Stopping` until the calls under way return, then `Stopped`; nothing more is written.
What it refuses, clearly, at CreateTransformJob: `ManifestFile` and the other non-prefix data types, `RecordIO` and
`TFRecord` splits, `DataCaptureConfig`, `https://` S3 URIs, and filters outside local_endpoint/jsonpath_filter.py.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import StructureShape

from local_endpoint import aws_validation, transform_work
from local_endpoint.config import DEFAULT_MODEL_NAME
from local_endpoint.container import ContainerResponse
from local_endpoint.transform_work import MiniBatch, Plan, RecordError

logger = logging.getLogger(__name__)

TARGET_PREFIX = "SageMaker."
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_LIST_RESULTS = 10
"""ListTransformJobs' documented default for MaxResults."""
FAILURE_REASON_LIMIT = 1024
"""FailureReason's maximum length in botocore's shape."""

Invoke = Callable[[bytes, str | None, str | None, float], ContainerResponse]
"""The container's call: body, ContentType, Accept, and the seconds it may take (a container that can give up on
its own, such as the serving stack's HTTP connection, does; the job gives up on the others)."""
TIMEOUT_GRACE_S = 1.0
"""How much longer than InvocationsTimeoutInSeconds the job waits for a call, so that a container that gives up on
its own at the timeout does so first."""


class ApiFailure(Exception):
    """One error answer of the control plane: HTTP status, error code and message, as botocore parses them."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ApiFailure:
    return ApiFailure("ValidationException", message)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    code: str | None = None


@dataclass
class _Job:
    request: dict[str, Any]
    arn: str
    plan: Plan
    input_bucket: str
    input_folder: str  # the S3Uri's key up to its last "/": what output keys are relative to
    keys: list[str]
    output_bucket: str
    output_prefix: str
    created: float
    status: str = "InProgress"
    failure_reason: str | None = None
    started: float | None = None
    ended: float | None = None
    modified: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return str(self.request["TransformJobName"])


class _CallFailed(Exception):
    """A mini-batch the container did not answer with a 2xx, after the retries."""


class _Skipped(Exception):
    """A mini-batch not sent: the job is stopping, or another mini-batch of its object failed."""


class TransformJobs:
    """The control plane and its jobs. `handle` is blocking (it may list S3): call it from a worker thread."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        model_name: str = DEFAULT_MODEL_NAME,
        model_environment: dict[str, str] | None = None,
        account_id: str,
        region: str,
        s3_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._invoke = invoke
        self.model_name = model_name
        self.model_environment = dict(model_environment or {})
        self._model_created = clock()
        self.account_id = account_id
        self.region = region
        self._s3 = s3_client
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._threads: list[threading.Thread] = []
        self._model = botocore.session.get_session().get_service_model("sagemaker")

    # --- the API ----------------------------------------------------------------------------------------------

    def handle(self, target: str | None, body: bytes) -> Answer:
        """One control-plane request: the X-Amz-Target header and the JSON body, answered in botocore's shapes."""
        try:
            return Answer(200, _json(self._dispatch(target, body)))
        except ApiFailure as failure:
            return Answer(failure.status, _json({"__type": failure.code, "message": failure.message}), failure.code)

    def _dispatch(self, target: str | None, body: bytes) -> dict[str, Any]:
        operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateTransformJob": self._create,
            "DescribeTransformJob": self._describe,
            "StopTransformJob": self._stop,
            "ListTransformJobs": self._list,
            "DescribeModel": self._describe_model,
            "ListTags": self._list_tags,
        }
        operation = (target or "").removeprefix(TARGET_PREFIX)
        if not (target or "").startswith(TARGET_PREFIX) or operation not in operations:
            served = ", ".join(operations)
            raise ApiFailure(
                "UnknownOperationException",
                f"Unknown operation {target!r}: the local twin serves SageMaker's {served} on this port",
            )
        try:
            request = json.loads(body or b"{}")
        except ValueError as error:
            raise ApiFailure("SerializationException", f"The request body is not JSON: {error}") from None
        shape = self._model.operation_model(operation).input_shape
        assert isinstance(shape, StructureShape)
        try:
            found = aws_validation.problems(shape, request)
        except aws_validation.WrongType as error:
            raise ApiFailure("SerializationException", str(error)) from None
        if found:
            raise validation(aws_validation.message(found))
        return operations[operation](request)

    def _describe_model(self, request: dict[str, Any]) -> dict[str, Any]:
        if request["ModelName"] != self.model_name:
            raise self._no_such_model(request["ModelName"])
        return {
            "ModelName": self.model_name,
            "ModelArn": self._arn("model", self.model_name),
            "CreationTime": self._model_created,
            "PrimaryContainer": {"Environment": self.model_environment},
        }

    def _list_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        if arn == self._arn("model", self.model_name):
            return {"Tags": []}
        with self._lock:
            tags = next((job.request.get("Tags", []) for job in self._jobs.values() if job.arn == arn), None)
        if tags is None:  # the twin's words: it knows one model and its own jobs
            known = f"the local twin knows model {self.model_name} and its jobs"
            raise validation(f"Could not find resource {arn}: {known}")
        return {"Tags": tags}

    def _no_such_model(self, name: str) -> ApiFailure:
        # SageMaker's words for a model that does not exist, e.g. from CreateEndpointConfig: 'Could not find model
        # "arn:aws:sagemaker:us-east-1:307920926045:model/pytorch-tuning-01-11-42-49-003-20772488".' (quoted in
        # public notes of a SageMaker workshop; search: 'Could not find model "arn:aws:sagemaker'). The twin knows
        # one model, --model-name.
        return validation(f'Could not find model "{self._arn("model", name)}".')

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TransformJobName"]
        with self._lock:
            if name in self._jobs:
                raise self._name_in_use(name)
        if request["ModelName"] != self.model_name:
            raise self._no_such_model(request["ModelName"])
        try:
            plan = Plan.from_request(request)
        except ValueError as error:
            raise validation(str(error)) from None
        data_source = request["TransformInput"]["DataSource"]["S3DataSource"]
        if data_source["S3DataType"] != "S3Prefix":
            raise validation(
                f"S3DataType {data_source['S3DataType']} is not supported by the local twin: use S3Prefix, with "
                "S3Uri the key prefix of the input objects"
            )
        if request.get("DataCaptureConfig"):
            raise validation("DataCaptureConfig is not supported by the local twin: leave it out")
        input_bucket, input_prefix = _s3_location(data_source["S3Uri"], "TransformInput S3Uri")
        output_bucket, output_prefix = _s3_location(request["TransformOutput"]["S3OutputPath"], "S3OutputPath")
        keys = self._input_keys(input_bucket, input_prefix, data_source["S3Uri"])
        now = self._clock()
        job = _Job(
            request=request,
            arn=self._arn("transform-job", name),
            plan=plan,
            input_bucket=input_bucket,
            input_folder=input_prefix[: input_prefix.rfind("/") + 1],
            keys=keys,
            output_bucket=output_bucket,
            output_prefix=output_prefix.rstrip("/"),
            created=now,
            started=now,
            modified=now,
        )
        with self._lock:
            if name in self._jobs:
                raise self._name_in_use(name)
            self._jobs[name] = job
            thread = threading.Thread(target=self._run, args=(job,), name=f"transform-{name}")
            self._threads.append(thread)
        logger.info("transform job %s: %d object(s) under %s", name, len(keys), data_source["S3Uri"])
        thread.start()
        return {"TransformJobArn": job.arn}

    def _name_in_use(self, name: str) -> ApiFailure:
        # Modelled on SageMaker's answer for a training job's duplicate name: "Training job names must be unique
        # within an AWS account and region, and a training job with this name already exists (arn:...)" (quoted in
        # aws/amazon-sagemaker-examples#3108).
        return ApiFailure(
            "ResourceInUse",
            "Transform job names must be unique within an AWS account and region, and a transform job with this name "
            f"already exists ({self._arn('transform-job', name)})",
        )

    def _input_keys(self, bucket: str, prefix: str, uri: str) -> list[str]:
        try:
            pages = self._s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [item["Key"] for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        except (BotoCoreError, ClientError) as error:
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            where = f"the S3 at {endpoint}" if endpoint else "AWS's S3 (set AWS_ENDPOINT_URL_S3 for an emulator)"
            raise validation(f"Could not list the input objects under {uri} in {where}: {error}") from None
        if not keys:
            # SageMaker's words (aws/amazon-sagemaker-examples#2414), without the role the twin does not have.
            raise validation(
                f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
                f"exists in the selected region ({self.region}) and that objects exist under that S3 prefix."
            )
        return sorted(keys)

    def _describe(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self._job(request["TransformJobName"])
        shape = self._model.operation_model("DescribeTransformJob").output_shape
        assert isinstance(shape, StructureShape)
        with self._lock:
            answer = {name: job.request[name] for name in shape.members if name in job.request}
            answer |= {"TransformJobArn": job.arn, "TransformJobStatus": job.status, "CreationTime": job.created}
            if job.failure_reason is not None:
                answer["FailureReason"] = job.failure_reason
            if job.started is not None:
                answer["TransformStartTime"] = job.started
            if job.ended is not None:
                answer["TransformEndTime"] = job.ended
        return answer

    def _stop(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self._job(request["TransformJobName"])
        with self._lock:
            if job.status == "InProgress":
                job.status = "Stopping"
                job.modified = self._clock()
                job.stop.set()
            elif job.status != "Stopping":
                # The twin's words: the job has ended, so there is nothing to stop.
                raise validation(
                    f"The request was rejected because the transform job {job.name} is in status {job.status}."
                )
        logger.info("transform job %s: stopping", job.name)
        return {}

    def _list(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.values())
            summaries = [_summary(job) for job in jobs if _matches(job, request)]
        sort_by = request.get("SortBy", "CreationTime")
        sort_key = {"Name": "TransformJobName", "CreationTime": "CreationTime", "Status": "TransformJobStatus"}[sort_by]
        summaries.sort(key=lambda summary: summary[sort_key], reverse=request.get("SortOrder") != "Ascending")
        start = _offset(request.get("NextToken"))
        end = start + request.get("MaxResults", DEFAULT_LIST_RESULTS)
        answer: dict[str, Any] = {"TransformJobSummaries": summaries[start:end]}
        if end < len(summaries):
            answer["NextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
        return answer

    def _job(self, name: str) -> _Job:
        with self._lock:
            job = self._jobs.get(name)
        if job is None:
            raise validation(f"Could not find requested job with name {name}")
        return job

    def _arn(self, kind: str, name: str) -> str:
        # SageMaker writes resource names in ARNs in lower case.
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{name.lower()}"

    # --- the jobs ---------------------------------------------------------------------------------------------

    def wait(self, name: str, timeout: float | None = None) -> str:
        """The job's status once it has ended (or now, after `timeout` seconds): for tests and tools."""
        job = self._job(name)
        job.done.wait(timeout)
        with self._lock:
            return job.status

    def close(self) -> None:
        """Stop every job and wait for the container calls under way (the twin is shutting down)."""
        with self._lock:
            running = [job.name for job in self._jobs.values() if not job.done.is_set()]
            for job in self._jobs.values():
                job.stop.set()
            threads = list(self._threads)
        if running:
            logger.info("stopping transform job(s) %s: waiting for their model calls under way", ", ".join(running))
        for thread in threads:
            thread.join()

    def _s3_client(self) -> Any:
        with self._lock:
            if self._s3 is None:
                # boto3 finds AWS_ENDPOINT_URL_S3 and the credentials in the environment, as the runner's does.
                import boto3

                self._s3 = boto3.session.Session().client("s3", region_name=self.region)
            return self._s3

    def _run(self, job: _Job) -> None:
        plan = job.plan
        # The container's calls run on threads of their own, so a call past its timeout can be abandoned; they are
        # reused (torch keeps per-thread state), and enough for every try of every mini-batch in flight.
        invokes = ThreadPoolExecutor(plan.concurrency * (plan.max_retries + 1), thread_name_prefix=f"{job.name}-invoke")
        try:
            with (
                ThreadPoolExecutor(plan.concurrency, thread_name_prefix=f"{job.name}-object") as objects,
                ThreadPoolExecutor(plan.concurrency, thread_name_prefix=f"{job.name}-call") as calls,
            ):
                futures = [objects.submit(self._transform_object, job, key, calls, invokes) for key in job.keys]
                for future in futures:
                    future.result()
        except Exception as error:  # a bug of the twin's, not of the job: still end the job, and say so
            logger.exception("transform job %s", job.name)
            self._fail(job, f"InternalServerError: the local twin failed: {type(error).__name__}: {error}")
        finally:
            invokes.shutdown(wait=False)  # an abandoned call ends when the container answers it
        with self._lock:
            job.status = "Stopped" if job.stop.is_set() else "Failed" if job.failure_reason else "Completed"
            job.ended = job.modified = self._clock()
        logger.info("transform job %s: %s", job.name, job.status)
        job.done.set()

    def _fail(self, job: _Job, reason: str) -> None:
        logger.warning("transform job %s: %s", job.name, reason)
        with self._lock:
            if job.failure_reason is None:
                job.failure_reason = reason[:FAILURE_REASON_LIMIT]
                job.modified = self._clock()

    def _transform_object(self, job: _Job, key: str, calls: ThreadPoolExecutor, invokes: ThreadPoolExecutor) -> None:
        if job.stop.is_set():
            return
        where = f"{job.input_bucket}/{key}"
        plan = job.plan
        try:
            data = self._s3_client().get_object(Bucket=job.input_bucket, Key=key)["Body"].read()
            if plan.gzip:
                data = gzip.decompress(data)
        except (BotoCoreError, ClientError, OSError, EOFError) as error:
            return self._fail(job, f"{where}: ClientError: could not read the object: {error}")
        records = transform_work.split_records(data, plan.split_lines)
        object_failed = threading.Event()
        try:
            batches = list(transform_work.mini_batches(records, plan))
            futures: list[tuple[MiniBatch, Future[bytes]]] = [
                (batch, calls.submit(self._call, job, batch, object_failed, invokes)) for batch in batches
            ]
            output = []
            for batch, future in futures:
                try:
                    answer = future.result()
                except (_CallFailed, _Skipped):
                    object_failed.set()
                    raise
                output.append(transform_work.answer_records(batch, records, answer, plan))
        except _Skipped:
            return
        except _CallFailed as error:
            return self._fail(job, f"{where}: {error}")
        except RecordError as error:
            object_failed.set()
            return self._fail(job, f"{where}: ClientError: {error}")
        if job.stop.is_set():
            return
        relative = key[len(job.input_folder) :]
        output_key = f"{job.output_prefix}/{relative}.out" if job.output_prefix else f"{relative}.out"
        try:
            self._s3_client().put_object(Bucket=job.output_bucket, Key=output_key, Body=b"".join(output))
        except (BotoCoreError, ClientError) as error:
            return self._fail(job, f"{where}: could not write s3://{job.output_bucket}/{output_key}: {error}")
        logger.info("transform job %s: %s -> s3://%s/%s", job.name, where, job.output_bucket, output_key)

    def _call(self, job: _Job, batch: MiniBatch, object_failed: threading.Event, invokes: ThreadPoolExecutor) -> bytes:
        """One mini-batch to the container, retried on 5xx and timeouts as InvocationsMaxRetries allows."""
        plan = job.plan
        problem = ""
        for _ in range(plan.max_retries + 1):
            if job.stop.is_set() or object_failed.is_set():
                raise _Skipped
            try:
                call = invokes.submit(
                    self._invoke, batch.body, plan.content_type, plan.accept, plan.invocation_timeout_s
                )
                response = call.result(timeout=plan.invocation_timeout_s + TIMEOUT_GRACE_S)
            except TimeoutError:  # the job's wait, or the serving stack's connection, gave up
                limit = f"{plan.invocation_timeout_s:g} s (InvocationsTimeoutInSeconds)"
                problem = f"ServerError: the model did not answer {batch.lines} within {limit}"
                continue
            except Exception as error:  # the serving stack's connection, for one
                problem = f"ServerError: the model did not answer {batch.lines}: {type(error).__name__}: {error}"
                continue
            if response.status < 300:
                return response.body
            # As SageMaker's job log reports a container's error ("<bucket>/<key>: ClientError: 400", then
            # "Message:" and the container's answer; aws/amazon-sagemaker-examples#1620).
            kind = "ClientError" if response.status < 500 else "ServerError"
            text = " ".join(response.body.decode("utf-8", "replace").split())  # one line, as a reason is read
            problem = f"{kind}: {response.status} for {batch.lines}. Message: {text}"
            if response.status < 500:
                break
        raise _CallFailed(problem)


def _s3_location(uri: str, member: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise validation(f"{member} {uri!r} is not supported by the local twin: use an s3://bucket/prefix URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _summary(job: _Job) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TransformJobStatus": job.status,
    }
    if job.ended is not None:
        summary["TransformEndTime"] = job.ended
    if job.failure_reason is not None:
        summary["FailureReason"] = job.failure_reason
    return summary


def _matches(job: _Job, request: dict[str, Any]) -> bool:
    contains = request.get("NameContains")
    status = request.get("StatusEquals")
    bounds = (
        ("CreationTimeAfter", job.created, 1),
        ("CreationTimeBefore", job.created, -1),
        ("LastModifiedTimeAfter", job.modified, 1),
        ("LastModifiedTimeBefore", job.modified, -1),
    )
    if contains and contains.lower() not in job.name.lower():
        return False
    if status and job.status != status:
        return False
    for member, when, sign in bounds:
        bound = request.get(member)
        if bound is not None and not (when - bound) * sign > 0:
            return False
    return True


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise validation(f"Invalid pagination token {token!r}: pass the NextToken of the previous answer unchanged")
    return offset


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode("utf-8")
