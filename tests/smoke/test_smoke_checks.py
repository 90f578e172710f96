"""The smoke's decisions, in-process and without a model: what counts as the right vector, what is retried and
what ends the check at once, how it waits, and where the endpoint, region and pooling come from."""

from __future__ import annotations

import argparse
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from scripts import smoke
from tests.smoke.smoke_support import REGION, SMOKE_VARIABLES, fake_pulumi, local_client, pulumi_calls

REFERENCE = smoke.load_reference()
REF = list(REFERENCE.vector)
NAME = "alex-embedding-endpoint"
TARGET = smoke.Target(NAME, REGION, "server", "ENDPOINT", "from REGION", "from POOLING")
# The tutorial's request exactly: botocore's Stubber compares these before anything is serialised.
TUTORIAL_REQUEST = {"EndpointName": NAME, "Body": '{"inputs": "vectorize me"}', "ContentType": "application/json"}


def answer(value: Any) -> smoke.Invocation:
    return smoke.Invocation(json.dumps(value).encode(), "application/json", 0.1, 1)


def unit(vector: list[float]) -> list[float]:
    length = math.hypot(*vector)
    return [x / length for x in vector]


def orthogonal() -> list[float]:
    """A unit vector at right angles to the reference."""
    flipped = [x if i % 2 else -x for i, x in enumerate(REF)]
    along = smoke._cosine(flipped, REF)
    return unit([f - along * r for f, r in zip(flipped, REF, strict=True)])


def at_cosine(cosine: float) -> list[float]:
    """A unit vector at this cosine to the reference: the right length, and as near as asked."""
    side = math.sqrt(1 - cosine**2)
    return [cosine * r + side * o for r, o in zip(REF, orthogonal(), strict=True)]


# ------------------------------------------------------------------------------------------------------ the answer


def test_server_pooling_reads_result_0_0_as_the_tutorial_does() -> None:
    verdict = smoke.check_answer(answer([[REF]]), "server", REFERENCE)

    assert verdict.cosine == pytest.approx(1.0, abs=1e-12)
    assert verdict.norm == pytest.approx(1.0, abs=1e-6)


def test_client_pooling_mean_pools_and_normalises_the_token_vectors() -> None:
    """Two token vectors, each far from the reference, whose mean points exactly along it."""
    noise = orthogonal()
    tokens = [[3 * r + sign * n for r, n in zip(REF, noise, strict=True)] for sign in (1, -1)]
    assert smoke._cosine(tokens[0], REF) < 0.99

    verdict = smoke.check_answer(answer([tokens]), "client", REFERENCE)

    assert verdict.cosine == pytest.approx(1.0, abs=1e-9)
    assert "mean-pooled result[0]'s 2 token vectors and normalised the mean (its norm was 3.0000)" in verdict.summary


def test_client_pooling_of_a_server_pooled_answer_passes_and_says_so() -> None:
    verdict = smoke.check_answer(answer([[REF]]), "client", REFERENCE)

    assert "the answer held one vector, as a pooling: server endpoint answers" in verdict.summary


@pytest.mark.parametrize(
    ("body", "pooling", "expected"),
    [
        pytest.param(b"<html>Bad Gateway</html>", "server", "the answer is not JSON", id="not-json"),
        pytest.param(json.dumps({"error": "x"}).encode(), "server", "the answer is dict;", id="an-object"),
        pytest.param(json.dumps([]).encode(), "server", "the answer is list[0];", id="empty"),
        pytest.param(json.dumps([[REF], [REF]]).encode(), "server", "the answer is list[2][1][384];", id="two-texts"),
        pytest.param(
            json.dumps([[[REF]]]).encode(), "server", "result[0][0] is list[1][384], not a vector of 384", id="nested"
        ),
        pytest.param(json.dumps([[REF[:383]]]).encode(), "server", "result[0][0] is list[383], not", id="383-numbers"),
        pytest.param(json.dumps([[[math.nan, *REF[1:]]]]).encode(), "server", "other than finite numbers", id="nan"),
        pytest.param(json.dumps([[[str(x) for x in REF]]]).encode(), "server", "other than finite", id="strings"),
        pytest.param(json.dumps([[[True] * 384]]).encode(), "server", "other than finite", id="booleans"),
        pytest.param(
            json.dumps([[REF, REF[:10]]]).encode(), "client", "token vector 1 (result[0][1]) is list[10]", id="token"
        ),
    ],
)
def test_an_answer_of_the_wrong_shape_fails_naming_what_is_wrong(body: bytes, pooling: str, expected: str) -> None:
    with pytest.raises(smoke.SmokeError) as failure:
        smoke.check_answer(smoke.Invocation(body, "application/json", 0.1, 1), pooling, REFERENCE)

    assert (failure.value.exit_code, expected in str(failure.value)) == (1, True), str(failure.value)


def test_a_unit_vector_just_short_of_the_bar_fails_on_the_cosine() -> None:
    """Cosine 0.9995: closer than any other text's vector would be, still not this model's vector of this text."""
    assert smoke.check_answer(answer([[at_cosine(0.99995)]]), "server", REFERENCE).cosine == pytest.approx(0.99995)

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.check_answer(answer([[at_cosine(0.9995)]]), "server", REFERENCE)

    message = str(failure.value)
    assert "wrong vector: result[0][0] is not sentence-transformers/all-MiniLM-L6-v2's vector" in message
    assert "norm 1.0000 (needs 1 ± 0.001), cosine 0.9995 to the reference (needs ≥ 0.9999)" in message
    assert "POOLING=client" not in message


def test_the_right_direction_at_the_wrong_length_fails_on_the_norm() -> None:
    """A server that forgot to normalise: cosine 1, norm 2."""
    with pytest.raises(smoke.SmokeError) as failure:
        smoke.check_answer(answer([[[2 * x for x in REF]]]), "server", REFERENCE)

    assert "norm 2.0000 (needs 1 ± 0.001), cosine 1.0000" in str(failure.value)


def test_token_vectors_read_as_server_pooling_suggest_pooling_client() -> None:
    tokens = [[3 * x for x in REF], orthogonal(), orthogonal()]

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.check_answer(answer([tokens]), "server", REFERENCE)

    assert "the answer holds 3 vectors for one text" in str(failure.value)
    assert "run with POOLING=client" in str(failure.value)


def test_token_vectors_whose_mean_is_wrong_fail_under_client_pooling() -> None:
    with pytest.raises(smoke.SmokeError) as failure:
        smoke.check_answer(answer([[orthogonal(), orthogonal()]]), "client", REFERENCE)

    assert "wrong vector: the mean of result[0]'s token vectors is not" in str(failure.value)


# ------------------------------------------------------------------------------------------------ retries and waits


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def runtime() -> Iterator[tuple[Any, Stubber]]:
    client = local_client("sagemaker-runtime")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    client = local_client("sagemaker")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _answered(stubber: Stubber, value: Any) -> None:
    body = json.dumps(value).encode()
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
        TUTORIAL_REQUEST,
    )


def _refused(stubber: Stubber, code: str, status: int, message: str = "no", **fields: Any) -> None:
    stubber.add_client_error(
        "invoke_endpoint", code, message, status, expected_params=TUTORIAL_REQUEST, modeled_fields=fields or None
    )


def test_a_cold_start_is_retried_with_growing_waits_and_reported(
    runtime: tuple[Any, Stubber], fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = runtime
    _refused(stubber, "ModelNotReadyException", 429, "Model for endpoint is not ready yet")
    _refused(stubber, "ThrottlingException", 400, "Rate exceeded")
    _refused(stubber, "ModelError", 424, "Received server error (503)", OriginalStatusCode=503)
    _answered(stubber, [[REF]])

    invocation = smoke.invoke(client, TARGET, timeout_s=300, clock=fake_time.clock, sleep=fake_time.sleep)

    assert (invocation.attempts, invocation.seconds, fake_time.sleeps) == (4, 7.0, [1.0, 2.0, 4.0])
    assert json.loads(invocation.body) == [[REF]]
    progress = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in progress] == [
        "smoke: attempt 1: ModelNotReadyException",
        "smoke: attempt 2: ThrottlingException",
        "smoke: attempt 3: ModelError",
    ]


def test_a_cold_start_longer_than_the_deadline_fails(runtime: tuple[Any, Stubber], fake_time: FakeTime) -> None:
    client, stubber = runtime
    for _ in range(3):
        _refused(stubber, "ModelNotReadyException", 429)

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.invoke(client, TARGET, timeout_s=5, clock=fake_time.clock, sleep=fake_time.sleep)

    assert failure.value.exit_code == 1
    assert "still answers ModelNotReadyException after 3 s and 3 attempts" in str(failure.value)
    assert f"aws logs tail /aws/sagemaker/Endpoints/{NAME} --region {REGION}" in str(failure.value)


@pytest.mark.parametrize(
    ("code", "status", "message", "fields", "exit_code", "expected"),
    [
        pytest.param(
            "ValidationError",
            400,
            f"Endpoint {NAME} of account 123456789012 not found.",
            {},
            3,
            f"endpoint {NAME} not found in {REGION} (InvokeEndpoint:",
            id="unknown-name",
        ),
        pytest.param(
            "ModelError",
            424,
            "Received client error (400)",
            {"OriginalStatusCode": 400, "OriginalMessage": '{"message": "inputs must be a string"}'},
            1,
            'container failed the tutorial\'s request (HTTP 400: {"message": "inputs must be a string"})',
            id="container-400",
        ),
        pytest.param(
            "AccessDeniedException",
            400,
            "not authorized to perform: sagemaker:InvokeEndpoint",
            {},
            3,
            "AWS refused InvokeEndpoint (AccessDeniedException",
            id="access-denied",
        ),
        pytest.param(
            "ValidationError", 400, "Request has oversize body.", {}, 1, "InvokeEndpoint failed", id="other-4xx"
        ),
    ],
)
def test_what_repeats_for_the_same_request_fails_at_the_first_attempt(
    runtime: tuple[Any, Stubber],
    fake_time: FakeTime,
    code: str,
    status: int,
    message: str,
    fields: dict[str, Any],
    exit_code: int,
    expected: str,
) -> None:
    client, stubber = runtime
    _refused(stubber, code, status, message, **fields)

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.invoke(client, TARGET, timeout_s=300, clock=fake_time.clock, sleep=fake_time.sleep)

    assert (failure.value.exit_code, fake_time.sleeps) == (exit_code, [])
    assert expected in str(failure.value)


def _described(stubber: Stubber, status: str, **extra: Any) -> None:
    response = {
        "EndpointName": NAME,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{NAME}",
        "EndpointConfigName": "config",
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
        **extra,
    }
    stubber.add_response("describe_endpoint", response, {"EndpointName": NAME})


def test_waiting_reports_the_status_at_every_poll_until_in_service(
    sagemaker: tuple[Any, Stubber], fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = sagemaker
    _described(stubber, "Creating")
    stubber.add_client_error("describe_endpoint", "ThrottlingException", "Rate exceeded", 400)
    _described(stubber, "Creating")
    _described(stubber, "InService")

    waited = smoke.wait_in_service(client, TARGET, poll_s=5, clock=fake_time.clock, sleep=fake_time.sleep)

    assert waited == 15
    assert capsys.readouterr().err.splitlines() == [
        f"smoke: endpoint {NAME}: Creating (0 s)",
        f"smoke: endpoint {NAME}: not known (ThrottlingException) (5 s)",
        f"smoke: endpoint {NAME}: Creating (10 s)",
        f"smoke: endpoint {NAME} is InService (15 s)",
    ]


def test_a_failed_endpoint_ends_the_wait_with_its_failure_reason(
    sagemaker: tuple[Any, Stubber], fake_time: FakeTime
) -> None:
    client, stubber = sagemaker
    _described(stubber, "Creating")
    _described(stubber, "Failed", FailureReason="Image size 12 GB is greater than supported size 10 GB")

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.wait_in_service(client, TARGET, poll_s=5, clock=fake_time.clock, sleep=fake_time.sleep)

    assert failure.value.exit_code == 1
    assert f"endpoint {NAME} is Failed: Image size 12 GB is greater than supported size 10 GB" in str(failure.value)


def test_waiting_has_a_deadline(sagemaker: tuple[Any, Stubber], fake_time: FakeTime) -> None:
    client, stubber = sagemaker
    for _ in range(3):
        _described(stubber, "Creating")

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.wait_in_service(client, TARGET, timeout_s=12, poll_s=5, clock=fake_time.clock, sleep=fake_time.sleep)

    assert failure.value.exit_code == 1
    assert f"endpoint {NAME} is still Creating after 10 s (the limit is 12 s)" in str(failure.value)


# ----------------------------------------------------------------------------------------- what to check, and where


def _args(*argv: str, environ: dict[str, str] | None = None) -> argparse.Namespace:
    return smoke._parser(environ or {}).parse_args(argv)


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path first on PATH, the only place a `pulumi` can be found; make deploy's backend unless set."""
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    for name in (*SMOKE_VARIABLES, "PULUMI_BACKEND_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# fake_pulumi puts a program on PATH: the tests that make the smoke script run it are `process`.
STACK_OUTPUTS = {"endpoint_name": "embeddings-prod", "region": "eu-central-1", "pooling": "client", "precision": "fp32"}


@pytest.mark.process
def test_the_stack_outputs_name_the_endpoint_its_region_and_pooling(on_path: Path) -> None:
    fake_pulumi(on_path, STACK_OUTPUTS)

    target = smoke.resolve_target(_args("--stack", "prod"), default_region=lambda: "us-east-1")

    assert target == smoke.Target(
        "embeddings-prod", "eu-central-1", "client", "stack prod", "from stack prod", "from stack prod", "fp32"
    )
    assert pulumi_calls(on_path) == ["stack output --json --stack prod|file://~"]


@pytest.mark.process
def test_region_and_pooling_given_override_the_stack(on_path: Path) -> None:
    fake_pulumi(on_path, STACK_OUTPUTS)

    target = smoke.resolve_target(
        _args(environ={"REGION": "us-west-2", "POOLING": "server"}), default_region=lambda: None
    )

    assert (target.endpoint_name, target.region, target.pooling) == ("embeddings-prod", "us-west-2", "server")
    assert pulumi_calls(on_path) == ["stack output --json --stack dev|file://~"]


@pytest.mark.process
def test_the_stack_outputs_name_the_model_and_the_batch_bucket_for_the_env_lines(on_path: Path) -> None:
    outputs = {**STACK_OUTPUTS, "model_name": "embedding-model-3f2a9c1", "batch_bucket": "embedding-batch-8d41e07"}
    fake_pulumi(on_path, outputs)

    target = smoke.resolve_target(_args("--stack", "prod"), default_region=lambda: "us-east-1")

    assert smoke.env_lines(target) == [
        "SAGEMAKER_ENDPOINT=embeddings-prod",
        "DEFAULT_AWS_REGION=eu-central-1",
        "SAGEMAKER_MODEL_NAME=embedding-model-3f2a9c1",
        "EMBEDDINGS_BATCH_BUCKET=embedding-batch-8d41e07",
    ]


@pytest.mark.process
def test_without_batch_transform_there_is_no_bucket_line(on_path: Path) -> None:
    fake_pulumi(on_path, {**STACK_OUTPUTS, "model_name": "embedding-model-3f2a9c1"})

    target = smoke.resolve_target(_args("--stack", "prod"), default_region=lambda: "us-east-1")

    assert smoke.env_lines(target)[2:] == ["SAGEMAKER_MODEL_NAME=embedding-model-3f2a9c1"]


def test_an_endpoint_given_by_name_gives_only_the_endpoint_and_region_lines(on_path: Path) -> None:
    fake_pulumi(on_path, {**STACK_OUTPUTS, "model_name": "m", "batch_bucket": "b"})

    target = smoke.resolve_target(_args("--endpoint", "mine", "--region", "us-west-2"), default_region=lambda: None)

    assert smoke.env_lines(target) == ["SAGEMAKER_ENDPOINT=mine", "DEFAULT_AWS_REGION=us-west-2"]


def test_an_endpoint_given_is_checked_without_reading_the_stack(on_path: Path) -> None:
    fake_pulumi(on_path, STACK_OUTPUTS)

    target = smoke.resolve_target(_args("--endpoint", "mine"), default_region=lambda: "ap-south-1")

    assert (target.endpoint_name, target.region, target.pooling) == ("mine", "ap-south-1", "server")
    assert (target.region_from, target.pooling_from) == ("the AWS configuration's default", "the stack's default")
    assert pulumi_calls(on_path) == []


@pytest.mark.parametrize(
    ("argv", "pulumi", "expected"),
    [
        pytest.param(
            (),
            None,
            "no endpoint to check: the Pulumi CLI is not installed, so stack dev's outputs cannot be read; name the "
            "endpoint instead: python scripts/smoke.py --endpoint <endpoint name> --region <region>",
            id="no-pulumi",
        ),
        pytest.param(
            ("--stack", "prod"),
            {"exit_code": 255, "stderr": "error: no stack named 'prod' found\n"},
            "`pulumi stack output --stack prod` failed: error: no stack named 'prod' found; deploy it first "
            "(make deploy STACK=prod)",
            id="pulumi-fails",
            marks=pytest.mark.process,
        ),
        pytest.param(
            (),
            {"outputs": {}},
            "stack dev has no endpoint_name output: deploy it first",
            id="no-outputs",
            marks=pytest.mark.process,
        ),
        pytest.param(
            (), {"outputs": ["x"]}, "did not print a JSON object", id="not-an-object", marks=pytest.mark.process
        ),
        pytest.param(
            (),
            {"outputs": {**STACK_OUTPUTS, "pooling": "auto"}},
            "pooling output is 'auto'",
            id="stack-pooling",
            marks=pytest.mark.process,
        ),
        pytest.param(("--endpoint", "x", "--pooling", "auto"), None, "POOLING='auto' is not a pooling mode", id="pool"),
        pytest.param(("--endpoint", "not_valid"), None, "'not_valid' is not a SageMaker endpoint name", id="name"),
        pytest.param(("--endpoint", "x"), None, "no AWS region for endpoint x: give REGION=<region>", id="no-region"),
    ],
)
def test_nothing_to_check_is_a_usage_error_saying_what_to_give(
    on_path: Path, argv: tuple[str, ...], pulumi: dict[str, Any] | None, expected: str
) -> None:
    if pulumi is not None:
        fake_pulumi(
            on_path, pulumi.get("outputs", {}), exit_code=pulumi.get("exit_code", 0), stderr=pulumi.get("stderr", "")
        )

    with pytest.raises(smoke.SmokeError) as failure:
        smoke.resolve_target(_args(*argv), default_region=lambda: None)

    assert failure.value.exit_code == 2
    assert expected in str(failure.value)


def test_from_make_the_way_out_is_named_as_make_variables(on_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAKELEVEL", "1")

    with pytest.raises(smoke.SmokeError, match=r"make smoke ENDPOINT=<endpoint name> REGION=<region>$"):
        smoke.resolve_target(_args(), default_region=lambda: None)


@pytest.mark.process
def test_a_stack_serving_another_model_is_refused_in_one_line(
    on_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference vector is all-MiniLM-L6-v2's; another model's answer cannot be compared with it."""
    fake_pulumi(on_path, {**STACK_OUTPUTS, "model_id": "BAAI/bge-small-en-v1.5"})
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")

    exit_code = smoke.main([])

    captured = capsys.readouterr()
    assert (exit_code, captured.out) == (2, "")
    assert captured.err == (
        "smoke: error: stack dev serves BAAI/bge-small-en-v1.5, but the smoke knows only "
        "sentence-transformers/all-MiniLM-L6-v2's vector: there is nothing to compare the answer with\n"
    )


def test_a_bad_option_is_one_line_and_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        smoke.main(["--wait-timeout", "-1"])

    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "smoke: error: argument --wait-timeout: '-1' is not allowed: use a number of seconds > 0\n"
    )
