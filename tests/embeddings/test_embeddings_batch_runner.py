"""`python -m embeddings.batch` against moto's S3 and SageMaker (in-process), the job played by batch_fakes: what
the runner uploads and asks for, how it waits, finds the first job again, re-submits what a failed job left, and
refuses bad settings and bad answers."""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from embeddings.batch.__main__ import console, main
from embeddings.batch.aws import Clients
from embeddings.batch.estimate import estimate
from embeddings.batch.waiting import Watcher
from embeddings.output import vector_line
from embeddings.pooling import l2_normalize
from tests.embeddings.batch_fakes import BUCKET, MODEL, MODEL_TAGS, REGION, ROLE, Plan, TransformJobs, fake_vector
from tests.paths import PROJECT_DIR

NAME = re.compile(r"^alex-embedding-endpoint-batch-[0-9a-f]{16}$")


@dataclass
class Setup:
    jobs: TransformJobs
    s3: Any
    clients: Clients
    pauses: list[float]

    def keys(self, prefix: str) -> list[str]:
        return sorted(item["Key"] for item in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SAGEMAKER_MODEL_NAME", "EMBEDDINGS_BATCH_BUCKET", "EMBEDDINGS_BATCH_JOB_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SAGEMAKER_ENDPOINT",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def _model(sagemaker: Any, environment: dict[str, str]) -> None:
    sagemaker.create_model(
        ModelName=MODEL,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/hf:latest",
            "Environment": environment,
        },
        Tags=MODEL_TAGS,
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    _aws_env(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker = session.client("sagemaker")
        _model(sagemaker, {"MMS_MAX_RESPONSE_SIZE": "200000000"})
        jobs = TransformJobs(sagemaker, s3)
        pauses: list[float] = []
        yield Setup(jobs, s3, Clients(sagemaker=jobs, s3=s3), pauses)


def batch(setup: Setup, *argv: str, terminal: bool = False, ask: Callable[[str], bool] | None = None, **kw: Any) -> int:
    return main(
        list(argv),
        clients=setup.clients,
        pause=kw.get("pause", setup.pauses.append),
        terminal=terminal,
        ask=ask or (lambda question: pytest.fail(f"asked {question!r}")),
    )


SETTINGS = ("--model-name", MODEL, "--bucket", BUCKET)


def corpus(tmp_path: Path, count: int = 10, name: str = "texts.txt") -> tuple[Path, list[str]]:
    texts = [f"sentence number {i}, ünïcode" for i in range(count)]
    path = tmp_path / name
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return path, texts


def expected_output(texts: list[str]) -> bytes:
    return b"".join(vector_line(l2_normalize(fake_vector(text))) for text in texts)


def test_run_shards_uploads_starts_waits_and_writes_the_vectors_in_input_order(
    aws: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, texts = corpus(tmp_path, 10)
    output = tmp_path / "vectors.jsonl"
    status = batch(aws, "run", str(source), "-o", str(output), *SETTINGS, "--yes")
    err = capsys.readouterr().err
    assert status == 0, err
    assert output.read_bytes() == expected_output(texts)
    (request,) = aws.jobs.created
    name = request["TransformJobName"]
    assert NAME.match(name)
    assert request == {
        "TransformJobName": name,
        "ModelName": MODEL,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 1,
        "MaxConcurrentTransforms": 1,
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/input/{name}/"}},
            "ContentType": "application/jsonlines",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/output/{name}/",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "DataProcessing": {"JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"},
        "Tags": MODEL_TAGS,
    }
    # Four shards for one instance, contiguous, each record {"id": position, "inputs": text}.
    shards = aws.keys(f"input/{name}/")
    assert shards == [f"input/{name}/shard-{i:05d}.jsonl" for i in range(4)]
    records = [
        json.loads(line)
        for key in shards
        for line in aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    assert records == [{"id": i, "inputs": text} for i, text in enumerate(texts)]
    # Progress: status, elapsed time, output shards present out of the total, a line whenever they change.
    progress = [line for line in err.splitlines() if line.startswith(f"job {name}: ") and "elapsed" in line]
    assert [re.sub(r", \S+ elapsed", "", line) for line in progress[-3:]] == [
        f"job {name}: InProgress, 3/4 output shards",
        f"job {name}: InProgress, 4/4 output shards",
        f"job {name}: Completed, 4/4 output shards",
    ]
    assert all(re.search(r", [0-9]+s elapsed, ", line) for line in progress)
    # Soon at first (a job on the local twin ends within seconds), then twice a minute: 1, 2, 4, 8, 16, 30, 30 s...
    assert aws.pauses and aws.pauses == [min(2.0**poll, 30.0) for poll in range(len(aws.pauses))]
    assert "wrote 10 vectors to" in err


def test_the_wait_polls_soon_at_first_then_twice_a_minute(aws: Setup, tmp_path: Path) -> None:
    source, _ = corpus(tmp_path, 20)  # 8 shards on 2 instances: the fake answers one shard per poll

    assert (
        batch(aws, "run", str(source), "-o", str(tmp_path / "v.jsonl"), *SETTINGS, "--instance-count", "2", "-y") == 0
    )

    assert aws.pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_same_run_twice_finds_the_first_job_and_starts_no_second(
    aws: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, texts = corpus(tmp_path, 7)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert batch(aws, "run", str(source), "-o", str(first), *SETTINGS, "--yes") == 0
    capsys.readouterr()
    # Not a terminal and no --yes: finding a job needs no question.
    assert batch(aws, "run", str(source), "-o", str(second), *SETTINGS) == 0
    assert len(aws.jobs.created) == 1
    assert second.read_bytes() == first.read_bytes() == expected_output(texts)
    assert "exists already: Completed" in capsys.readouterr().err


def test_the_name_derives_from_the_content_and_the_settings(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    source, _ = corpus(tmp_path, 5)
    other, _ = corpus(tmp_path, 6, "other.txt")

    def name(*argv: str, path: Path = source) -> str:
        assert batch(aws, "submit", str(path), *SETTINGS, "--yes", *argv) == 0
        return capsys.readouterr().out.strip()

    base = name()
    assert NAME.match(base)
    assert name() == base  # found, not started again
    assert len(aws.jobs.created) == 1
    assert name(path=other) != base
    assert name("--instance-count", "2") != base
    assert name("--instance-type", "ml.m5.xlarge") != base
    prefixed = name("--job-prefix", "team-a-")
    assert re.fullmatch(r"team-a-[0-9a-f]{16}", prefixed)
    assert all(len(request["TransformJobName"]) <= 63 for request in aws.jobs.created)


def test_the_job_prefix_comes_from_its_environment_variable(
    aws: Setup, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = corpus(tmp_path, 3)
    monkeypatch.setenv("EMBEDDINGS_BATCH_JOB_PREFIX", "nightly-")
    monkeypatch.setenv("SAGEMAKER_MODEL_NAME", MODEL)
    monkeypatch.setenv("EMBEDDINGS_BATCH_BUCKET", BUCKET)
    assert batch(aws, "submit", str(source), "--yes") == 0
    assert re.fullmatch(r"nightly-[0-9a-f]{16}\n", capsys.readouterr().out)
    monkeypatch.setenv("EMBEDDINGS_BATCH_JOB_PREFIX", "-bad")
    assert batch(aws, "submit", str(source), "--yes") == 2
    assert "$EMBEDDINGS_BATCH_JOB_PREFIX is '-bad'" in capsys.readouterr().err


def test_without_a_prefix_jobs_are_named_for_the_endpoint_the_stacks_policy_allows(
    aws: Setup, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = corpus(tmp_path, 3)
    monkeypatch.setenv("SAGEMAKER_ENDPOINT", "Team-Search-Embeddings")
    assert batch(aws, "submit", str(source), *SETTINGS, "--yes") == 0
    assert re.fullmatch(r"team-search-embeddings-batch-[0-9a-f]{16}\n", capsys.readouterr().out)


def test_a_failed_job_says_why_and_a_second_run_resubmits_only_the_shards_without_output(
    aws: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, texts = corpus(tmp_path, 12)
    output = tmp_path / "vectors.jsonl"
    aws.jobs.plans.append(Plan(fail_after=1, failure_reason="AlgorithmError: Worker died."))
    assert batch(aws, "run", str(source), "-o", str(output), *SETTINGS, "--yes") == 3
    err = capsys.readouterr().err
    name = aws.jobs.created[0]["TransformJobName"]
    (failure,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert f"transform job {name} Failed: AlgorithmError: Worker died." in failure
    assert "/aws/sagemaker/TransformJobs" in failure and f"--log-stream-name-prefix {name}" in failure
    assert "3 of 4 shards have no output" in failure and f"{name}-r1" in failure
    assert not output.exists()

    # Without --yes and no terminal, the re-submission is not made behind the user's back.
    assert batch(aws, "run", str(source), "-o", str(output), *SETTINGS) == 2
    assert "--yes" in capsys.readouterr().err
    assert len(aws.jobs.created) == 1

    assert batch(aws, "run", str(source), "-o", str(output), *SETTINGS, "--yes") == 0
    follow_up = aws.jobs.created[1]
    assert follow_up["TransformJobName"] == f"{name}-r1"
    assert follow_up["TransformResources"]["InstanceCount"] == 1
    assert aws.keys(f"input/{name}-r1/") == [f"input/{name}-r1/shard-{i:05d}.jsonl" for i in (1, 2, 3)]
    assert output.read_bytes() == expected_output(texts)


def test_ctrl_c_while_waiting_leaves_the_job_running_and_says_how_to_go_on(
    aws: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, texts = corpus(tmp_path, 8)
    output = tmp_path / "vectors.jsonl"

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    assert batch(aws, "run", str(source), "-o", str(output), *SETTINGS, "--yes", pause=interrupt) == 130
    name = aws.jobs.created[0]["TransformJobName"]
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"interrupted: transform job {name} keeps running")
    assert f"python -m embeddings.batch fetch {name} -o OUTPUT" in last
    assert f"python -m embeddings.batch status {name}" in last and f"python -m embeddings.batch stop {name}" in last
    assert aws.jobs.jobs[name].status == "InProgress" and not aws.jobs.stopped

    assert batch(aws, "fetch", name, "-o", str(output)) == 0
    assert output.read_bytes() == expected_output(texts)
    assert len(aws.jobs.created) == 1


def test_status_and_stop(aws: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, _ = corpus(tmp_path, 8)
    assert batch(aws, "submit", str(source), *SETTINGS, "--yes") == 0
    name = capsys.readouterr().out.strip()
    assert batch(aws, "status", name) == 0
    out = capsys.readouterr().out
    assert re.match(rf"{name}: InProgress, [0-9]/4 output shards\n", out)
    assert batch(aws, "stop", name) == 0
    assert aws.jobs.stopped == [name]
    assert batch(aws, "status", name) == 0
    out = capsys.readouterr().out
    assert f"{name}: Stopped" in out and "Stopped by the user" in out
    assert batch(aws, "stop", name) == 0
    assert capsys.readouterr().out.startswith(f"nothing to stop: {name} is Stopped")
    assert batch(aws, "status", "alex-embed-0000000000000000") == 2
    assert "no such transform job" in capsys.readouterr().err


def test_not_on_a_terminal_without_yes_starts_nothing(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    source, _ = corpus(tmp_path, 4)
    assert batch(aws, "run", str(source), "-o", str(tmp_path / "v.jsonl"), *SETTINGS) == 2
    err = capsys.readouterr().err
    assert "not a terminal" in err and "--yes" in err
    assert aws.jobs.created == [] and aws.keys("input/") == []


@pytest.mark.parametrize(
    ("records", "said"),
    [
        (300, "about 1s of transform plus start-up, under 0.01 instance-hours"),  # not "1s-1s", "0.00-0.00"
        (50_000, "about 1m40s-2m59s of transform plus start-up, 0.03-0.05 instance-hours"),
    ],
)
def test_the_estimate_gives_one_figure_where_its_range_rounds_to_one(records: int, said: str) -> None:
    planned = estimate(records, "ml.c5.xlarge", 1)

    assert planned is not None and planned.describe() == said


def test_on_a_terminal_it_shows_the_plan_and_asks(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    source, _ = corpus(tmp_path, 50_000)
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    argv = ("submit", str(source), *SETTINGS, "--instance-count", "2", "--instance-type", "ml.c5.2xlarge")
    assert batch(aws, *argv, terminal=True, ask=decline) == 1
    err = capsys.readouterr().err
    name = re.search(r"job (alex-embedding-endpoint-batch-[0-9a-f]{16}):", err)
    assert name is not None
    # 50,000 texts at 140-250 texts/s per 2 vCPUs, 8 vCPUs each, 2 instances: 25-45 s, 0.01-0.02 instance-hours.
    assert f"job {name[1]}: 50,000 records in 8 shards on 2 x ml.c5.2xlarge; about 25s-45s of transform" in err
    assert "0.01-0.02 instance-hours" in err
    assert questions == [f"Start transform job {name[1]}? [y/N] "]
    assert "nothing started" in err
    assert aws.jobs.created == [] and aws.keys("input/") == []


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ((), {}, "give the model: --model-name NAME or $SAGEMAKER_MODEL_NAME"),
        (("--model-name", MODEL), {}, "give the batch bucket: --bucket NAME or $EMBEDDINGS_BATCH_BUCKET"),
        (("--bucket", BUCKET), {"SAGEMAKER_MODEL_NAME": "bad_name"}, "$SAGEMAKER_MODEL_NAME is 'bad_name'"),
        (("--model-name", MODEL), {"EMBEDDINGS_BATCH_BUCKET": "s3://b/"}, "$EMBEDDINGS_BATCH_BUCKET is 's3://b/'"),
        ((*SETTINGS, "--instance-type", "ml.c5.large"), {}, "--instance-type is 'ml.c5.large', which is not a"),
        ((*SETTINGS, "--instance-count", "0"), {}, "--instance-count is '0'; it must be a whole number from 1 to 100"),
        ((*SETTINGS, "--instance-count", "101"), {}, "--instance-count is '101'"),
        ((*SETTINGS, "--instance-count", "two"), {}, "--instance-count is 'two'"),
        (("--model-name", "no-such-model", "--bucket", BUCKET), {}, "model 'no-such-model' (--model-name or"),
    ],
)
def test_bad_settings_are_usage_errors_naming_the_option_and_the_value(
    aws: Setup,
    tmp_path: Path,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source, _ = corpus(tmp_path, 3)
    assert batch(aws, "submit", str(source), *argv, "--yes") == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m embeddings.batch: error: ") and err.count("\n") == 1
    assert message in err
    assert aws.jobs.created == [] and aws.keys("input/") == []


def _broken(kind: str) -> Callable[[dict[str, Any], list[float]], Any]:
    def answer(record: dict[str, Any], vector: list[float]) -> Any:
        if record["id"] == 5:
            if kind == "missing":
                return None
            if kind == "duplicate":
                return {"id": 4, "SageMakerOutput": vector}
            if kind == "not unit":
                return {"id": 5, "SageMakerOutput": [x * 2 for x in vector]}
            if kind == "short":
                return {"id": 5, "SageMakerOutput": vector[:383]}
            if kind == "nan":
                return {"id": 5, "SageMakerOutput": [float("nan"), *vector[1:]]}
        return {"id": record["id"], "SageMakerOutput": vector}

    return answer


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no answer for 1 of its 3 texts, the first being text 5 (input line 6)"),
        ("duplicate", "id 4 is answered twice"),
        ("not unit", "the vector's length is 2, not 1"),
        ("short", "expected 384 numbers, got list[383]"),
        ("nan", "non-finite values"),
    ],
)
def test_every_answer_is_checked_and_a_bad_one_writes_nothing(
    aws: Setup, tmp_path: Path, capsys: Any, kind: str, message: str
) -> None:
    source, _ = corpus(tmp_path, 12)
    output = tmp_path / "vectors.jsonl"
    output.write_text("kept\n")
    aws.jobs.plans.append(Plan(answer=_broken(kind)))
    assert batch(aws, "run", str(source), "-o", str(output), *SETTINGS, "--yes") == 4
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("error: s3://") and "/shard-00001.jsonl.out" in err
    assert message in err
    assert output.read_text() == "kept\n"  # untouched, and no temporary file left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.txt", "vectors.jsonl"]


def test_an_s3_prefix_of_records_is_read_in_key_order(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/b.jsonl", Body=b'{"inputs": "third", "id": "x"}\n')
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/a.jsonl", Body=b'{"inputs": "first"}\r\n{"inputs": "second"}')
    output = tmp_path / "vectors.jsonl"
    assert batch(aws, "run", f"s3://{BUCKET}/corpus/", "-o", str(output), *SETTINGS, "--yes") == 0
    assert output.read_bytes() == expected_output(["first", "second", "third"])

    aws.s3.put_object(Bucket=BUCKET, Key="bad/a.jsonl", Body=b'{"inputs": "fine"}\n{"text": "no inputs"}\n')
    assert batch(aws, "run", f"s3://{BUCKET}/bad/", "-o", str(output), *SETTINGS, "--yes") == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f'error: s3://{BUCKET}/bad/a.jsonl line 2 is not a JSON object with a string "inputs"')


def test_texts_are_read_and_checked_as_the_client_reads_them(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"fine\ncaf\xe9\n")
    assert batch(aws, "submit", str(latin1), *SETTINGS, "--yes") == 1
    assert "latin1.txt is not UTF-8 text: byte 0xe9 at offset 8 (line 2)" in capsys.readouterr().err
    huge = tmp_path / "huge.txt"
    huge.write_text("short\n" + "x" * 1_100_000 + "\n")
    assert batch(aws, "submit", str(huge), *SETTINGS, "--yes") == 1
    assert f"{huge} line 2: texts[1] (1,100,000 characters)" in capsys.readouterr().err
    blank = tmp_path / "blank.txt"
    blank.write_text("one\n\nthree\r\n")
    assert batch(aws, "run", str(blank), "-o", str(tmp_path / "v.jsonl"), *SETTINGS, "--yes") == 0
    assert "note: 1 blank line(s) in" in capsys.readouterr().err
    assert (tmp_path / "v.jsonl").read_bytes() == expected_output(["one", "", "three"])
    assert aws.keys("input/") and len(aws.jobs.created) == 1


def test_a_model_without_the_response_size_variable_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    _aws_env(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        _model(session.client("sagemaker"), {"HF_TASK": "feature-extraction"})
        jobs = TransformJobs(session.client("sagemaker"), s3)
        setup = Setup(jobs, s3, Clients(jobs, s3), [])
        source, _ = corpus(tmp_path, 2)
        assert batch(setup, "submit", str(source), *SETTINGS, "--yes") == 0
    assert f"warning: model {MODEL}'s environment has no MMS_MAX_RESPONSE_SIZE" in capsys.readouterr().err


def test_against_moto_alone_a_completed_job_without_output_is_a_failed_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    """The runner's own boto3 clients (standard retries, endpoints from the environment) on moto's own transform
    jobs, which accept the request and complete at once, writing nothing."""
    _aws_env(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        _model(session.client("sagemaker"), {"MMS_MAX_RESPONSE_SIZE": "200000000"})
        source, _ = corpus(tmp_path, 3)
        status = main(["run", str(source), "-o", str(tmp_path / "v.jsonl"), *SETTINGS, "--yes"], terminal=False)
        (summary,) = session.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    err = capsys.readouterr().err.splitlines()[-1]
    assert status == 3
    assert f"transform job {summary['TransformJobName']} Completed; 3 of 3 shards have no output" in err


@pytest.mark.parametrize(("denied", "tags"), [({"DescribeModel"}, None), ({"ListTags"}, None), (set(), MODEL_TAGS)])
def test_a_caller_that_may_not_read_the_model_still_starts_the_job_without_tags(
    aws: Setup, tmp_path: Path, capsys: Any, denied: set[str], tags: Any
) -> None:
    aws.jobs.denied = denied
    source, _ = corpus(tmp_path, 2)
    assert batch(aws, "submit", str(source), *SETTINGS, "--yes") == 0
    (request,) = aws.jobs.created
    assert request.get("Tags") == tags
    err = capsys.readouterr().err
    for operation in denied:
        assert f"(sagemaker:{operation} not allowed)" in err


def test_a_corpus_in_the_batch_buckets_input_folder_does_not_take_in_the_runners_own_files(
    aws: Setup, tmp_path: Path
) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key="input/corpus.jsonl", Body=b'{"inputs": "one"}\n{"inputs": "two"}\n')
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert batch(aws, "run", f"s3://{BUCKET}/input/", "-o", str(first), *SETTINGS, "--yes") == 0
    assert batch(aws, "run", f"s3://{BUCKET}/input/", "-o", str(second), *SETTINGS, "--yes") == 0
    assert len(aws.jobs.created) == 1
    assert first.read_bytes() == second.read_bytes() == expected_output(["one", "two"])


def test_the_console_script_is_the_cli() -> None:
    scripts = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["alex-embed-batch"].split(":")
    assert getattr(importlib.import_module(module), function) is console


@pytest.mark.process
def test_as_a_process_a_usage_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "EMBEDDINGS_"))}
    env.update(PYTHONPATH=str(PROJECT_DIR), HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "embeddings.batch", "run", "texts.txt", "-o", "v.jsonl", "--instance-count", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "python -m embeddings.batch: error: give the model: --model-name NAME or $SAGEMAKER_MODEL_NAME (the stack "
        "output model_name)\n"
    )


def test_no_region_is_a_usage_error_naming_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    _aws_env(monkeypatch)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    source, _ = corpus(tmp_path, 1)
    assert main(["submit", str(source), *SETTINGS, "--yes"], terminal=False) == 2
    assert "no AWS region configured: pass --region, set AWS_DEFAULT_REGION" in capsys.readouterr().err


def test_a_text_refused_in_an_s3_corpus_is_named_by_its_object_and_line(
    aws: Setup, tmp_path: Path, capsys: Any
) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/a.jsonl", Body=b'{"inputs": "one"}\n{"inputs": "two"}\n')
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/b.jsonl", Body=b'{"inputs": "three"}\n{"inputs": "\\ud800"}\n')
    assert batch(aws, "submit", f"s3://{BUCKET}/corpus/", *SETTINGS, "--yes") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: s3://{BUCKET}/corpus/b.jsonl line 2: texts[3] has a lone surrogate U+D800")
    assert aws.jobs.created == []


def test_on_a_terminal_the_progress_line_is_redrawn_in_place() -> None:
    stream = io.StringIO()
    watcher = Watcher(stream, terminal=True)
    watcher.show("job j: InProgress, 5s elapsed, 0/4 output shards", "InProgress 0")
    watcher.show("job j: InProgress, 35s elapsed, 0/4 output shards", "InProgress 0")
    watcher.done()
    assert stream.getvalue() == (
        "\r\x1b[Kjob j: InProgress, 5s elapsed, 0/4 output shards"
        "\r\x1b[Kjob j: InProgress, 35s elapsed, 0/4 output shards\n"
    )
    log = io.StringIO()
    watcher = Watcher(log, terminal=False)
    for line, key in [("a 5s", "1"), ("a 35s", "1"), ("b", "2")]:
        watcher.show(line, key)
    watcher.done()
    assert log.getvalue() == "a 5s\nb\n"  # elsewhere, a line only when the status or the count changes
