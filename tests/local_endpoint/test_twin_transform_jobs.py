"""The twin's transform-job control plane, driven by boto3's own sagemaker client, with moto's S3 on loopback.

The container is a fake that answers jsonlines one line per record (as the batch handler will), so these tests
run in a moment and pin the control plane, not the model. moto's ThreadedMotoServer runs in this process, on a
thread: the twin's jobs reach it over HTTP through AWS_ENDPOINT_URL_S3, as they reach moto_server or AWS.
The last test runs the deployed model.tar.gz's handler itself (`model` layer).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from local_endpoint import ContainerResponse, TwinConfig, TwinServer, serve_in_thread
from local_endpoint.codec import mms_error_body
from tests.local_endpoint.twin_support import DUMMY_CREDENTIALS, REGION, runtime_client

JSONLINES = "application/jsonlines"
MODEL = "alex-embedding-model"
WAIT_S = 60  # a guard against a hang, not a measurement
_names = itertools.count()


class FakeContainer:
    """Answers a jsonlines body with one line per record, `[len(inputs), call number]`; `{"inputs": "bad"}` is the
    container's 400 naming the line. It records every call, and `gate` (set by default) holds back the calls whose
    body has the word "hold"."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str | None, str | None]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.server_errors = 0  # answer this many calls with a 500 first
        self._lock = threading.Lock()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        with self._lock:
            self.calls.append((body, content_type, accept))
            number = len(self.calls)
            fail_with_500 = self.server_errors > 0
            self.server_errors -= 1
        if b"hold" in body:
            self.started.set()
            assert self.gate.wait(WAIT_S)
        if fail_with_500:
            return ContainerResponse(500, mms_error_body(500, "Worker died."), "application/json")
        answers = []
        for line_number, line in enumerate(body.splitlines(), start=1):
            record = json.loads(line)
            if record.get("inputs") == "bad":
                message = f"line {line_number}: bad record"
                return ContainerResponse(400, mms_error_body(400, message), "application/json")
            answers.append(json.dumps([len(record["inputs"]), number]))
        return ContainerResponse(200, "\n".join(answers).encode() + b"\n", JSONLINES)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_environment(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """What `python -m local_endpoint --transform-jobs` needs in its environment: the S3 emulator and dummy keys."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_url


@pytest.fixture
def container() -> FakeContainer:
    return FakeContainer()


@pytest.fixture
def twin(aws_environment: str, container: FakeContainer) -> Iterator[TwinServer]:
    with serve_in_thread(container, TwinConfig(transform_jobs=True, region=REGION)) as server:
        try:
            yield server
        finally:
            container.gate.set()


def client(service: str, url: str, **options: Any) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, **options)
    session = boto3.session.Session(**DUMMY_CREDENTIALS, region_name=REGION)
    return session.client(service, endpoint_url=url, config=config)


@pytest.fixture
def sagemaker(twin: TwinServer) -> Any:
    return client("sagemaker", twin.url)


@pytest.fixture
def s3(moto_url: str) -> Any:
    return client("s3", moto_url)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"batch-{next(_names)}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def put_records(s3: Any, bucket: str, key: str, records: list[Any]) -> None:
    body = "".join(json.dumps(record) + "\n" for record in records)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def texts(count: int, prefix: str = "text") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{index}", "inputs": f"{prefix} number {index}"} for index in range(count)]


def job_request(bucket: str, name: str | None = None, **changes: Any) -> dict[str, Any]:
    """A CreateTransformJob request as the runner sends it: MultiRecord jsonlines, joined, id and vector kept."""
    base: dict[str, Any] = {
        "TransformJobName": name or f"job-{next(_names)}",
        "ModelName": MODEL,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 1,
        "MaxConcurrentTransforms": 2,
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/input/run/"}},
            "ContentType": JSONLINES,
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/output/run", "Accept": JSONLINES, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        "DataProcessing": {"JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"},
        "Tags": [{"Key": "project", "Value": "alex"}],
    }
    return base | changes


def run_job(twin: TwinServer, sagemaker: Any, request: dict[str, Any]) -> dict[str, Any]:
    sagemaker.create_transform_job(**request)
    assert twin.app.transform_jobs is not None
    twin.app.transform_jobs.wait(request["TransformJobName"], WAIT_S)
    return dict(sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"]))


def read_lines(s3: Any, bucket: str, key: str) -> list[Any]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def output_keys(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="output/").get("Contents", []))


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- a job from start to end ----------------------------------------------------------------------------------------


def test_a_job_goes_in_progress_then_completed_writing_one_out_object_per_input(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    put_records(s3, bucket, "input/run/shard-0.jsonl", texts(3, "a-hold"))
    put_records(s3, bucket, "input/run/more/shard-1.jsonl", texts(2, "b-hold"))
    request = job_request(bucket)
    container.gate.clear()

    arn = sagemaker.create_transform_job(**request)["TransformJobArn"]
    assert container.started.wait(WAIT_S)
    during = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])  # while the model works
    answer = runtime_client(twin.url).invoke_endpoint(  # and the runtime route answers meanwhile
        EndpointName="alex-embedding-endpoint", Body=b'{"inputs": "abc"}', ContentType=JSONLINES
    )
    container.gate.set()
    assert twin.app.transform_jobs is not None
    twin.app.transform_jobs.wait(request["TransformJobName"], WAIT_S)
    after = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])

    assert arn == f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/{request['TransformJobName']}"
    assert during["TransformJobStatus"] == "InProgress"
    assert json.loads(answer["Body"].read())[0] == len("abc")
    assert after["TransformJobStatus"] == "Completed"
    assert "FailureReason" not in after
    assert after["TransformEndTime"] >= after["TransformStartTime"] >= after["CreationTime"]
    assert after["TransformInput"] == request["TransformInput"]
    assert after["DataProcessing"] == request["DataProcessing"]
    assert output_keys(s3, bucket) == ["output/run/more/shard-1.jsonl.out", "output/run/shard-0.jsonl.out"]
    first = read_lines(s3, bucket, "output/run/shard-0.jsonl.out")
    assert [line["id"] for line in first] == ["a-hold-0", "a-hold-1", "a-hold-2"]
    assert [line["SageMakerOutput"][0] for line in first] == [len(t["inputs"]) for t in texts(3, "a-hold")]
    assert all(set(line) == {"id", "SageMakerOutput"} for line in first)
    assert [line["id"] for line in read_lines(s3, bucket, "output/run/more/shard-1.jsonl.out")] == [
        "b-hold-0",
        "b-hold-1",
    ]
    job_calls = [(content_type, accept) for body, content_type, accept in container.calls if b"hold" in body]
    assert set(job_calls) == {(JSONLINES, JSONLINES)}


def test_multi_record_packs_whole_lines_up_to_max_payload_in_mb(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    records = [{"id": str(index), "inputs": "x" * 99_970} for index in range(25)]  # about 100 kB a line
    put_records(s3, bucket, "input/run/big.jsonl", records)

    described = run_job(twin, sagemaker, job_request(bucket, DataProcessing={}))

    assert described["TransformJobStatus"] == "Completed"
    data = s3.get_object(Bucket=bucket, Key="input/run/big.jsonl")["Body"].read()
    # MaxConcurrentTransforms 2: two calls are in flight at once, and either may reach the container first.
    bodies = sorted((body for body, _, _ in container.calls), key=data.index)
    assert [len(body.splitlines()) for body in bodies] == [10, 10, 5]
    assert all(len(body) <= 1024 * 1024 for body in bodies)
    assert b"".join(bodies) == data
    assert len(read_lines(s3, bucket, "output/run/big.jsonl.out")) == 25


def test_single_record_sends_each_line_alone(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(4))

    described = run_job(twin, sagemaker, job_request(bucket, BatchStrategy="SingleRecord", MaxConcurrentTransforms=4))

    assert described["TransformJobStatus"] == "Completed"
    assert sorted(len(body.splitlines()) for body, _, _ in container.calls) == [1, 1, 1, 1]
    assert [line["id"] for line in read_lines(s3, bucket, "output/run/shard.jsonl.out")] == [t["id"] for t in texts(4)]


def test_gzip_input_is_unpacked(twin: TwinServer, sagemaker: Any, s3: Any, bucket: str) -> None:
    body = "".join(json.dumps(record) + "\n" for record in texts(3)).encode()
    s3.put_object(Bucket=bucket, Key="input/run/shard.jsonl.gz", Body=gzip.compress(body))
    request = job_request(bucket)
    request["TransformInput"]["CompressionType"] = "Gzip"

    described = run_job(twin, sagemaker, request)

    assert described["TransformJobStatus"] == "Completed"
    assert [line["id"] for line in read_lines(s3, bucket, "output/run/shard.jsonl.gz.out")] == [
        t["id"] for t in texts(3)
    ]


def test_the_output_filter_dollar_keeps_the_whole_joined_record(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", [{"id": 7, "inputs": "abc", "source": "doc.md"}])

    run_job(twin, sagemaker, job_request(bucket, DataProcessing={"JoinSource": "Input", "OutputFilter": "$"}))

    [line] = read_lines(s3, bucket, "output/run/shard.jsonl.out")
    assert line == {"id": 7, "inputs": "abc", "source": "doc.md", "SageMakerOutput": [3, 1]}


# --- failures ------------------------------------------------------------------------------------------------------


def test_a_record_the_container_refuses_fails_the_job_with_its_message_and_spares_the_other_objects(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str
) -> None:
    put_records(s3, bucket, "input/run/a-good.jsonl", texts(2))
    put_records(s3, bucket, "input/run/b-bad.jsonl", [*texts(2), {"id": "x", "inputs": "bad"}])

    described = run_job(twin, sagemaker, job_request(bucket, MaxConcurrentTransforms=1))

    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith(f"{bucket}/input/run/b-bad.jsonl: ClientError: 400 for lines 1-3. Message: ")
    assert "line 3: bad record" in reason
    assert output_keys(s3, bucket) == ["output/run/a-good.jsonl.out"]


def test_a_server_error_is_retried_as_model_client_config_allows(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(2))
    container.server_errors = 1

    retried = run_job(twin, sagemaker, job_request(bucket))  # InvocationsMaxRetries 1
    container.server_errors = 1
    not_retried = run_job(twin, sagemaker, job_request(bucket, ModelClientConfig={"InvocationsMaxRetries": 0}))

    assert retried["TransformJobStatus"] == "Completed"
    assert not_retried["TransformJobStatus"] == "Failed"
    assert "ServerError: 500 for lines 1-2. Message: " in not_retried["FailureReason"]
    assert "Worker died." in not_retried["FailureReason"]
    assert len(container.calls) == 3


def test_a_mini_batch_not_answered_within_the_invocation_timeout_is_retried_then_fails_the_job(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(3, "hold"))
    container.gate.clear()  # the container never answers, until the test lets it
    config = {"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 1}

    described = run_job(twin, sagemaker, job_request(bucket, ModelClientConfig=config))
    container.gate.set()

    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        f"{bucket}/input/run/shard.jsonl: ServerError: the model did not answer lines 1-3 within 1 s "
        "(InvocationsTimeoutInSeconds)"
    )
    assert len(container.calls) == 2  # the call and its one retry
    assert output_keys(s3, bucket) == []


def test_the_serving_stack_gets_the_jobs_invocation_timeout_for_its_connection(
    aws_environment: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    from local_endpoint.serving_stack import ServingStack

    class RecordingStack(ServingStack):  # the twin's wiring, without Java: answers as FakeContainer does
        def __init__(self) -> None:
            python = tmp_path / "python"
            python.write_text("#!/bin/sh\n")
            python.chmod(0o755)
            super().__init__(None, {}, python=python)
            self.timeouts: list[float] = []

        def invoke(self, body: bytes, content_type: str | None, accept: str | None, *, timeout: float = 120.0) -> Any:
            self.timeouts.append(timeout)
            return FakeContainer().invoke(body, content_type, accept)

    put_records(s3, bucket, "input/run/shard.jsonl", texts(2))
    stack = RecordingStack()
    with serve_in_thread(stack, TwinConfig(transform_jobs=True, region=REGION)) as server:
        config = {"InvocationsTimeoutInSeconds": 1800, "InvocationsMaxRetries": 0}
        described = run_job(server, client("sagemaker", server.url), job_request(bucket, ModelClientConfig=config))

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert stack.timeouts == [1800]


def test_a_line_over_max_payload_fails_its_object_naming_the_line(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", [*texts(2), {"id": "big", "inputs": "x" * (1024 * 1024)}])

    described = run_job(twin, sagemaker, job_request(bucket))

    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        f"{bucket}/input/run/shard.jsonl: ClientError: Too much data for max payload size: line 3 is "
    )


def test_stop_goes_stopping_then_stopped_and_writes_nothing(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str, container: FakeContainer
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(3, "hold"))
    request = job_request(bucket)
    container.gate.clear()
    sagemaker.create_transform_job(**request)
    assert container.started.wait(WAIT_S)

    sagemaker.stop_transform_job(TransformJobName=request["TransformJobName"])
    stopping = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])
    container.gate.set()
    assert twin.app.transform_jobs is not None
    twin.app.transform_jobs.wait(request["TransformJobName"], WAIT_S)
    stopped = sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])

    assert stopping["TransformJobStatus"] == "Stopping"
    assert stopped["TransformJobStatus"] == "Stopped"
    assert output_keys(s3, bucket) == []
    code, message = error_of(sagemaker.stop_transform_job, TransformJobName=request["TransformJobName"])
    assert (code, message) == (
        "ValidationException",
        f"The request was rejected because the transform job {request['TransformJobName']} is in status Stopped.",
    )


# --- refused at CreateTransformJob ---------------------------------------------------------------------------------


def test_an_unknown_model_gets_sagemakers_validation_exception(sagemaker: Any, s3: Any, bucket: str) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(1))

    code, message = error_of(sagemaker.create_transform_job, **job_request(bucket, ModelName="Other-Model"))

    assert code == "ValidationException"
    assert message == f'Could not find model "arn:aws:sagemaker:{REGION}:123456789012:model/other-model".'


def test_a_duplicate_job_name_is_resource_in_use(twin: TwinServer, sagemaker: Any, s3: Any, bucket: str) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(1))
    request = job_request(bucket)
    run_job(twin, sagemaker, request)

    code, message = error_of(sagemaker.create_transform_job, **request)

    assert code == "ResourceInUse"
    assert message.startswith("Transform job names must be unique within an AWS account and region")
    assert message.endswith(f"transform-job/{request['TransformJobName']})")


def test_an_unknown_job_is_a_validation_exception(sagemaker: Any) -> None:
    for call in (sagemaker.describe_transform_job, sagemaker.stop_transform_job):
        assert error_of(call, TransformJobName="nope") == (
            "ValidationException",
            "Could not find requested job with name nope",
        )


def test_an_empty_prefix_is_refused_as_sagemaker_refuses_it(sagemaker: Any, bucket: str) -> None:
    code, message = error_of(sagemaker.create_transform_job, **job_request(bucket))

    assert code == "ValidationException"
    assert message.startswith(
        f'No S3 objects found under S3 URL "s3://{bucket}/input/run/" given in input data source.'
    )


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        (
            {"TransformResources": {"InstanceType": "ml.c5.large", "InstanceCount": 1}},
            "Member must satisfy enum value set",
        ),
        ({"MaxPayloadInMB": 30, "MaxConcurrentTransforms": 4}, "MaxConcurrentTransforms 4 x MaxPayloadInMB 30 = 120"),
        ({"DataProcessing": {"JoinSource": "Input", "OutputFilter": "$[1:]"}}, "not a JSONPath the local twin applies"),
    ],
)
def test_what_aws_or_the_twin_refuses_is_a_validation_exception(
    sagemaker: Any, s3: Any, bucket: str, changes: dict[str, Any], fragment: str
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(1))

    code, message = error_of(sagemaker.create_transform_job, **job_request(bucket, **changes))

    assert code == "ValidationException"
    assert fragment in message


def test_a_manifest_file_is_refused_as_unsupported_by_the_twin(sagemaker: Any, bucket: str) -> None:
    request = job_request(bucket)
    request["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "ManifestFile",
        "S3Uri": f"s3://{bucket}/input/run.manifest",
    }

    code, message = error_of(sagemaker.create_transform_job, **request)

    assert code == "ValidationException"
    assert message.startswith("S3DataType ManifestFile is not supported by the local twin: use S3Prefix")


def test_a_missing_member_is_refused_by_the_twin_too(twin: TwinServer, bucket: str) -> None:
    unchecked = client("sagemaker", twin.url, parameter_validation=False)  # what botocore itself would refuse
    request = job_request(bucket)
    del request["TransformResources"]

    code, message = error_of(unchecked.create_transform_job, **request)

    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value null at 'transformResources' failed to satisfy constraint: Member must "
        "not be null"
    )


# --- ListTransformJobs ---------------------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages(twin: TwinServer, sagemaker: Any, s3: Any, bucket: str) -> None:
    put_records(s3, bucket, "input/run/good.jsonl", texts(1))
    names = ["list-b-ok", "list-a-ok", "list-c-ok"]
    for name in names:
        run_job(twin, sagemaker, job_request(bucket, name))
    put_records(s3, bucket, "input/bad/bad.jsonl", [{"id": "x", "inputs": "bad"}])
    failing = job_request(bucket, "list-d-fails")
    failing["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/input/bad/"
    run_job(twin, sagemaker, failing)

    def listed(**filters: Any) -> list[str]:
        return [job["TransformJobName"] for job in sagemaker.list_transform_jobs(**filters)["TransformJobSummaries"]]

    assert listed(NameContains="LIST-", SortBy="Name", SortOrder="Ascending") == [
        "list-a-ok",
        "list-b-ok",
        "list-c-ok",
        "list-d-fails",
    ]
    assert listed(NameContains="list-", StatusEquals="Failed") == ["list-d-fails"]
    assert listed(NameContains="list-", StatusEquals="Completed") == ["list-c-ok", "list-a-ok", "list-b-ok"]
    [failed] = sagemaker.list_transform_jobs(NameContains="list-d")["TransformJobSummaries"]
    assert failed["TransformJobStatus"] == "Failed" and "bad record" in failed["FailureReason"]
    first = sagemaker.list_transform_jobs(NameContains="list-", SortBy="Name", SortOrder="Ascending", MaxResults=3)
    second = sagemaker.list_transform_jobs(
        NameContains="list-", SortBy="Name", SortOrder="Ascending", MaxResults=3, NextToken=first["NextToken"]
    )
    assert [job["TransformJobName"] for job in first["TransformJobSummaries"]] == names[1:2] + names[:1] + names[2:]
    assert [job["TransformJobName"] for job in second["TransformJobSummaries"]] == ["list-d-fails"]
    assert "NextToken" not in second
    paged = [
        job["TransformJobName"]
        for page in sagemaker.get_paginator("list_transform_jobs").paginate(
            NameContains="list-", PaginationConfig={"PageSize": 1}
        )
        for job in page["TransformJobSummaries"]
    ]
    assert sorted(paged) == sorted([*names, "list-d-fails"])
    assert error_of(sagemaker.list_transform_jobs, NextToken="garbage")[0] == "ValidationException"


# --- what a runner reads of the model before it starts a job -----------------------------------------------------


def test_describe_model_and_list_tags_answer_for_the_one_model_and_the_jobs(
    twin: TwinServer, sagemaker: Any, s3: Any, bucket: str
) -> None:
    put_records(s3, bucket, "input/run/shard.jsonl", texts(1))
    request = job_request(bucket)
    arn = sagemaker.create_transform_job(**request)["TransformJobArn"]

    model = sagemaker.describe_model(ModelName=MODEL)

    assert model["ModelArn"] == f"arn:aws:sagemaker:{REGION}:123456789012:model/{MODEL}"
    assert model["PrimaryContainer"]["Environment"] == {}
    assert sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"] == []
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == request["Tags"]
    code, message = error_of(sagemaker.describe_model, ModelName="other")
    assert (code, message) == (
        "ValidationException",
        f'Could not find model "arn:aws:sagemaker:{REGION}:123456789012:model/other".',
    )


def test_describe_model_shows_the_environment_the_twin_was_given(aws_environment: str) -> None:
    config = TwinConfig(transform_jobs=True, model_name="m-1", model_environment=(("MMS_MAX_RESPONSE_SIZE", "9"),))
    with serve_in_thread(FakeContainer(), config) as server:
        model = client("sagemaker", server.url).describe_model(ModelName="m-1")

    assert model["PrimaryContainer"]["Environment"] == {"MMS_MAX_RESPONSE_SIZE": "9"}


# --- the rest of the twin, beside the control plane --------------------------------------------------------------


def test_the_runtime_routes_still_answer_beside_the_control_plane(twin: TwinServer) -> None:
    answer = runtime_client(twin.url).invoke_endpoint(
        EndpointName="alex-embedding-endpoint",
        Body=b'{"inputs": "abc"}\n',
        ContentType=JSONLINES,
        Accept=JSONLINES,
    )

    assert answer["Body"].read() == b"[3, 1]\n"


def test_without_transform_jobs_the_control_plane_says_how_to_turn_it_on(aws_environment: str) -> None:
    with serve_in_thread(FakeContainer(), TwinConfig()) as server:
        code, message = error_of(client("sagemaker", server.url).list_transform_jobs)

    assert code == "UnknownOperationException"
    assert "started with --transform-jobs" in message


# --- the deployed handler --------------------------------------------------------------------------------------------


def test_the_deployed_handler_embeds_a_corpus_through_a_job(
    deployed_artifact: Path, aws_environment: str, s3: Any, bucket: str
) -> None:
    from local_endpoint.artifact import ArtifactContainer

    corpus = texts(40, "sentence")
    put_records(s3, bucket, "input/run/shard-0.jsonl", corpus[:25])
    put_records(s3, bucket, "input/run/shard-1.jsonl", corpus[25:])
    with (
        ArtifactContainer(deployed_artifact) as container,
        serve_in_thread(container, TwinConfig(transform_jobs=True, region=REGION)) as server,
    ):
        described = run_job(server, client("sagemaker", server.url), job_request(bucket))

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    lines = read_lines(s3, bucket, "output/run/shard-0.jsonl.out") + read_lines(
        s3, bucket, "output/run/shard-1.jsonl.out"
    )
    assert [line["id"] for line in lines] == [record["id"] for record in corpus]
    for line in lines:
        vector = line["SageMakerOutput"]
        assert len(vector) == 384
        assert abs(sum(value * value for value in vector) - 1.0) < 1e-3
