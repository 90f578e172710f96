"""`make smoke`: after `make deploy`, prove the endpoint answers the tutorial's request with the right vector.

It waits for the endpoint to be InService, sends exactly the tutorial's request (`{"inputs": "vectorize me"}`),
checks the answer against sentence-transformers' vector of that text (scripts/smoke_reference.json), reports the
cold and warm latency, and prints the `.env` lines the next parts read. Only boto3 is needed, so it runs in the
venv `pulumi install` creates. boto3 reads AWS_PROFILE, the credential chain and the AWS_ENDPOINT_URL* variables
itself, which is how CI points it at a local AWS API emulator and the local twin.

    python scripts/smoke.py                                   # the stack's outputs (Pulumi CLI), stack dev
    python scripts/smoke.py --endpoint NAME --region REGION   # no Pulumi CLI needed

stdout holds only the `.env` lines, and only when every check passed; progress and the one-line reason for a
failure go to stderr. Exit status: 0 passed, 1 the endpoint failed a check, 2 nothing to check (usage), 3 the
endpoint could not be reached or found (nothing was checked). docs/smoke.md has the details.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

PROG = "smoke"

EXIT_OK = 0
EXIT_FAILED = 1  # the endpoint answered, or reported its state, and something is wrong with it
EXIT_USAGE = 2  # what to check is unknown or malformed
EXIT_UNREACHABLE = 3  # the endpoint could not be reached, found or called with these credentials

REQUEST_TEXT = "vectorize me"
# The tutorial's request, byte for byte: json.dumps's default separators.
REQUEST_BODY = json.dumps({"inputs": REQUEST_TEXT})
CONTENT_TYPE = "application/json"
REFERENCE_FILE = Path(__file__).with_name("smoke_reference.json")

MIN_COSINE = 0.9999  # the precision gate's bar: fp32 and bf16 (docs/precision.md) both clear it
NORM_TOLERANCE = 1e-3  # the server normalises in float32; anything further off is not a normalised vector
POOLING_MODES = ("server", "client")
DEFAULT_POOLING = "server"  # the stack's default
DEFAULT_STACK = "dev"
# What `make deploy` uses when PULUMI_BACKEND_URL is unset (scripts/deploy.sh), so the outputs come from its state.
DEFAULT_PULUMI_BACKEND = "file://~"
PULUMI_TIMEOUT_S = 120.0

WAIT_TIMEOUT_S = 1800.0  # serverless endpoints take 3-10 minutes to create; instances can take longer
POLL_INTERVAL_S = 5.0
COLD_START_TIMEOUT_S = 300.0
WARM_TIMEOUT_S = 60.0
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 10.0
# The container must answer within 60 s; AWS recommends a 70 s socket timeout so a slow answer is not cut off.
READ_TIMEOUT_S = 70.0
CONNECT_TIMEOUT_S = 10.0

# SageMaker's EndpointName rule.
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
FAILED_STATUSES = frozenset({"Failed", "UpdateRollbackFailed"})
# Worth another attempt: a cold serverless endpoint (ModelNotReadyException), throttling, SageMaker's own 5xx.
TRANSIENT_CODES = frozenset(
    {
        "ModelNotReadyException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalDependencyException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# ModelError carries the container's own status: 502-504 while its model server (re)starts workers.
TRANSIENT_MODEL_STATUSES = frozenset({502, 503, 504})
CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)


class SmokeError(Exception):
    """A failure to report as one line, with the exit status that says which kind it is."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Target:
    """The endpoint to check and what its stack says about it."""

    endpoint_name: str
    region: str
    pooling: str
    source: str  # what named the endpoint: ENDPOINT, or `stack NAME`
    region_from: str  # e.g. "from REGION", for the first line of the report
    pooling_from: str
    precision: str | None = None
    model_id: str | None = None
    model_name: str | None = None  # the stack's SageMaker model: what a transform job runs
    batch_bucket: str | None = None  # the stack's batch bucket, with batchTransform true


@dataclass(frozen=True)
class Reference:
    text: str
    model_id: str
    vector: tuple[float, ...]


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str
    seconds: float
    attempts: int


@dataclass(frozen=True)
class Verdict:
    norm: float
    cosine: float
    summary: str


# ---------------------------------------------------------------------------------------------------- configuration


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_reference(path: Path = REFERENCE_FILE) -> Reference:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        vector = tuple(float(value) for value in document["vector"])
        reference = Reference(str(document["text"]), str(document["model_id"]), vector)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SmokeError(
            f"cannot read the reference vector {path}: {_one_line(str(error))}; restore it from git "
            "(or rebuild it: .venv/bin/python -m tests.smoke.reference)",
            EXIT_USAGE,
        ) from None
    if reference.text != REQUEST_TEXT or not vector:
        raise SmokeError(f"{path} is not the vector of {REQUEST_TEXT!r}; restore it from git", EXIT_USAGE)
    return reference


def _how_to_name_it() -> str:
    """The way to give the endpoint by hand, in the form the user ran (make exports MAKELEVEL to its commands)."""
    if os.environ.get("MAKELEVEL"):
        return "make smoke ENDPOINT=<endpoint name> REGION=<region>"
    return "python scripts/smoke.py --endpoint <endpoint name> --region <region> (or ENDPOINT=... REGION=...)"


def stack_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs as `make outputs` prints them; any problem is a usage error naming a way around it."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise SmokeError(
            f"no endpoint to check: the Pulumi CLI is not installed, so stack {stack}'s outputs cannot be read; "
            f"name the endpoint instead: {_how_to_name_it()}",
            EXIT_USAGE,
        )
    command = [pulumi, "stack", "output", "--json", "--stack", stack]
    environment = {**os.environ}
    environment.setdefault("PULUMI_BACKEND_URL", DEFAULT_PULUMI_BACKEND)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=environment,
            timeout=PULUMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SmokeError(
            f"`pulumi stack output --stack {stack}` did not run: {_one_line(str(error))}; "
            f"name the endpoint instead: {_how_to_name_it()}",
            EXIT_USAGE,
        ) from None
    if result.returncode != 0:
        lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
        reason = _one_line(lines[-1]) if lines else f"exit status {result.returncode}"
        raise SmokeError(
            f"`pulumi stack output --stack {stack}` failed: {reason}; deploy it first (make deploy STACK={stack}), "
            f"or name the endpoint: {_how_to_name_it()}",
            EXIT_USAGE,
        )
    try:
        outputs = json.loads(result.stdout or "")
    except ValueError:
        outputs = None
    if not isinstance(outputs, dict):
        raise SmokeError(f"`pulumi stack output --json --stack {stack}` did not print a JSON object", EXIT_USAGE)
    return outputs


def _option(value: str | None) -> str | None:
    """An option or variable left empty (`make smoke REGION=`) means not given."""
    if value is None:
        return None
    return value.strip() or None


def resolve_target(args: argparse.Namespace, *, default_region: Callable[[], str | None]) -> Target:
    """ENDPOINT names the endpoint outright (the stack is not read); otherwise the stack's outputs do. REGION and
    POOLING override either; without them, the stack's values, else boto3's default region and `server`."""
    endpoint, region, pooling = _option(args.endpoint), _option(args.region), _option(args.pooling)
    if pooling is not None and pooling not in POOLING_MODES:
        raise SmokeError(f"POOLING={pooling!r} is not a pooling mode: use server or client", EXIT_USAGE)
    outputs: dict[str, Any] = {}
    if endpoint is not None:
        source = "ENDPOINT"
    else:
        stack = _option(args.stack) or DEFAULT_STACK
        outputs = stack_outputs(stack)
        source = f"stack {stack}"
        endpoint = outputs.get("endpoint_name")
        if not isinstance(endpoint, str) or not endpoint:
            raise SmokeError(
                f"stack {stack} has no endpoint_name output: deploy it first (make deploy STACK={stack}), or name "
                f"the endpoint: {_how_to_name_it()}",
                EXIT_USAGE,
            )
    if not ENDPOINT_NAME.fullmatch(endpoint):
        raise SmokeError(
            f"{endpoint!r} is not a SageMaker endpoint name: 1-63 letters, digits and hyphens, starting and ending "
            "with a letter or digit",
            EXIT_USAGE,
        )
    pooling_from = "from POOLING"
    if pooling is None:
        pooling, pooling_from = outputs.get("pooling"), f"from {source}"
        if pooling is None:
            pooling, pooling_from = DEFAULT_POOLING, "the stack's default"
        elif pooling not in POOLING_MODES:
            raise SmokeError(f"{source}'s pooling output is {pooling!r}, not server or client", EXIT_USAGE)
    region_from = "from REGION"
    if region is None:
        region, region_from = _string(outputs.get("region")), f"from {source}"
    if region is None:
        region, region_from = default_region(), "the AWS configuration's default"
    if region is None:
        raise SmokeError(
            f"no AWS region for endpoint {endpoint}: give REGION=<region> (--region), or set AWS_DEFAULT_REGION or "
            "the profile's region (aws configure)",
            EXIT_USAGE,
        )
    return Target(
        endpoint_name=endpoint,
        region=region,
        pooling=pooling,
        source=source,
        region_from=region_from,
        pooling_from=pooling_from,
        precision=_string(outputs.get("precision")),
        model_id=_string(outputs.get("model_id")),
        model_name=_string(outputs.get("model_name")),
        batch_bucket=_string(outputs.get("batch_bucket")),
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ------------------------------------------------------------------------------------------------------------ AWS


def aws_clients(session: Any, region: str) -> tuple[Any, Any]:
    """SageMaker and SageMaker Runtime clients with one attempt per call: the loops below decide what to retry,
    and a refused connection must end the check at once rather than after botocore's backoff."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    try:
        return (
            session.client("sagemaker", region_name=region, config=config),
            session.client("sagemaker-runtime", region_name=region, config=config),
        )
    except BotoCoreError as error:  # InvalidRegionError, an unusable endpoint URL variable, ...
        raise SmokeError(f"cannot create the SageMaker clients: {_one_line(str(error))}", EXIT_USAGE) from None


def _error_fields(error: ClientError) -> tuple[str, str, int | None]:
    response: dict[str, Any] = error.response
    code = str(response.get("Error", {}).get("Code") or "Unknown")
    message = _one_line(str(response.get("Error", {}).get("Message") or ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code, message, status if isinstance(status, int) else None


def _is_transient(code: str, http_status: int | None) -> bool:
    return code in TRANSIENT_CODES or (http_status is not None and (http_status == 429 or http_status >= 500))


def _is_credential_problem(code: str) -> bool:
    return code in CREDENTIAL_CODES or code.startswith("AccessDenied")


def _credentials_message(operation: str, code: str, message: str) -> str:
    return (
        f"AWS refused {operation} ({code}: {message}): check the credentials (aws configure, AWS_PROFILE) and that "
        f"they may call sagemaker:{operation}"
    )


def _unreachable(what: str, error: BaseException) -> SmokeError:
    return SmokeError(
        f"cannot reach the {what} API: {_one_line(str(error))}; check the network, and AWS_ENDPOINT_URL / "
        "AWS_ENDPOINT_URL_SAGEMAKER / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME if set",
        EXIT_UNREACHABLE,
    )


def _not_found(target: Target, operation: str, message: str) -> SmokeError:
    return SmokeError(
        f"endpoint {target.endpoint_name} not found in {target.region} ({operation}: {message}): check ENDPOINT= and "
        "REGION=, or deploy it (make deploy)",
        EXIT_UNREACHABLE,
    )


def _credentials_missing(error: BotoCoreError) -> SmokeError | None:
    credential_errors = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError)
    if isinstance(error, credential_errors):
        return SmokeError(
            f"no usable AWS credentials ({_one_line(str(error))}): run aws configure, set AWS_PROFILE, or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            EXIT_UNREACHABLE,
        )
    return None


def wait_in_service(
    sagemaker: Any,
    target: Target,
    *,
    timeout_s: float = WAIT_TIMEOUT_S,
    poll_s: float = POLL_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Poll DescribeEndpoint until InService, a line on stderr per poll, so a 5-minute creation is visibly alive;
    the seconds it took. Failed and Deleting end it at once; every other status (Creating, Updating,
    SystemUpdating, RollingBack, OutOfService) and a throttled or unanswered poll is waited through until the
    deadline."""
    started = clock()
    while True:
        elapsed = clock() - started
        try:
            description = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
            status = str(description.get("EndpointStatus") or "Unknown")
        except ClientError as error:
            code, message, http_status = _error_fields(error)
            if code == "ValidationException" and "could not find" in message.lower():
                raise _not_found(target, "DescribeEndpoint", message) from None
            if _is_credential_problem(code):
                raise SmokeError(_credentials_message("DescribeEndpoint", code, message), EXIT_UNREACHABLE) from None
            if not _is_transient(code, http_status):
                raise SmokeError(f"DescribeEndpoint failed ({code}: {message})", EXIT_FAILED) from None
            status, description = f"not known ({code})", {}
        except BotoConnectionError as error:
            raise _unreachable("SageMaker", error) from None
        except HTTPClientError as error:
            status, description = f"not known ({type(error).__name__})", {}
        except BotoCoreError as error:
            raise _credentials_missing(error) or SmokeError(
                f"DescribeEndpoint failed: {_one_line(str(error))}", EXIT_FAILED
            ) from None
        if status == "InService":
            log(f"endpoint {target.endpoint_name} is InService ({elapsed:.0f} s)")
            return elapsed
        if status in FAILED_STATUSES:
            reason = _one_line(str(description.get("FailureReason") or "no FailureReason given"))
            raise SmokeError(
                f"endpoint {target.endpoint_name} is {status}: {reason} (its logs: aws logs tail "
                f"/aws/sagemaker/Endpoints/{target.endpoint_name} --region {target.region}); fix the cause and "
                "make deploy again",
                EXIT_FAILED,
            )
        if status == "Deleting":
            raise SmokeError(
                f"endpoint {target.endpoint_name} is being deleted: deploy it again (make deploy) once it is gone",
                EXIT_FAILED,
            )
        if elapsed + poll_s > timeout_s:
            raise SmokeError(
                f"endpoint {target.endpoint_name} is still {status} after {elapsed:.0f} s (the limit is "
                f"{timeout_s:.0f} s): see aws sagemaker describe-endpoint --endpoint-name {target.endpoint_name} "
                f"--region {target.region}, and run the smoke again once it is InService",
                EXIT_FAILED,
            )
        log(f"endpoint {target.endpoint_name}: {status} ({elapsed:.0f} s)")
        sleep(poll_s)


def _invocation_fault(error: Exception, target: Target) -> tuple[str, str]:
    """What went wrong in one InvokeEndpoint attempt, as (code, reason) when another attempt may succeed; a
    SmokeError when it will not."""
    if isinstance(error, ClientError):
        code, message, http_status = _error_fields(error)
        if code == "ModelError":
            original = error.response.get("OriginalStatusCode")
            inner = _one_line(str(error.response.get("OriginalMessage") or message))
            if original in TRANSIENT_MODEL_STATUSES:
                return code, f"the container answered HTTP {original}"
            raise SmokeError(
                f"the endpoint's container failed the tutorial's request (HTTP {original}: {inner}); its logs: aws "
                f"logs tail /aws/sagemaker/Endpoints/{target.endpoint_name} --region {target.region}",
                EXIT_FAILED,
            )
        if code == "ValidationError" and "not found" in message.lower():
            raise _not_found(target, "InvokeEndpoint", message)
        if _is_credential_problem(code):
            raise SmokeError(_credentials_message("InvokeEndpoint", code, message), EXIT_UNREACHABLE)
        if _is_transient(code, http_status):
            return code, message
        raise SmokeError(f"InvokeEndpoint failed ({code}: {message})", EXIT_FAILED)
    if isinstance(error, BotoConnectionError):
        raise _unreachable("SageMaker Runtime", error)
    if isinstance(error, HTTPClientError | IncompleteReadError):  # a read timeout or a dropped answer
        return type(error).__name__, _one_line(str(error))
    if isinstance(error, BotoCoreError):
        raise _credentials_missing(error) or SmokeError(f"InvokeEndpoint failed: {_one_line(str(error))}", EXIT_FAILED)
    raise error


def invoke(
    runtime: Any,
    target: Target,
    *,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Invocation:
    """The tutorial's request, repeated through a cold start or throttling until `timeout_s`, doubling the wait."""
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            response = runtime.invoke_endpoint(
                EndpointName=target.endpoint_name, Body=REQUEST_BODY, ContentType=CONTENT_TYPE
            )
            body = response["Body"].read()
            return Invocation(body, str(response.get("ContentType") or ""), clock() - started, attempt)
        except (ClientError, BotoCoreError) as error:
            code, reason = _invocation_fault(error, target)
        elapsed = clock() - started
        wait = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** (attempt - 1))
        if elapsed + wait > timeout_s:
            meaning = (
                f"a cold start longer than {timeout_s:.0f} s means the model does not load"
                if code == "ModelNotReadyException"
                else f"it kept failing for {timeout_s:.0f} s"
            )
            raise SmokeError(
                f"the endpoint still answers {code} after {elapsed:.0f} s and {attempt} attempts ({reason}): "
                f"{meaning}; its logs: aws logs tail /aws/sagemaker/Endpoints/{target.endpoint_name} --region "
                f"{target.region}",
                EXIT_FAILED,
            )
        log(f"attempt {attempt}: {code} ({reason}); retrying in {wait:.0f} s ({elapsed:.0f} s so far)")
        sleep(wait)


# ---------------------------------------------------------------------------------------------------- the answer


def _describe_shape(value: Any) -> str:
    dims: list[str] = []
    while isinstance(value, list):
        dims.append(f"[{len(value)}]")
        if not value:
            break
        value = value[0]
    return "list" + "".join(dims) if dims else type(value).__name__


def _numbers(value: Any, where: str, dimension: int) -> list[float]:
    if not isinstance(value, list) or len(value) != dimension:
        shape = _describe_shape(value)
        raise SmokeError(f"{where} is {shape}, not a vector of {dimension} numbers", EXIT_FAILED)
    if not all(type(number) in (int, float) and math.isfinite(number) for number in value):
        raise SmokeError(f"{where} holds something other than finite numbers", EXIT_FAILED)
    return [float(number) for number in value]


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vector))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    denominator = _norm(a) * _norm(b)
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / denominator if denominator else 0.0


def check_answer(invocation: Invocation, pooling: str, reference: Reference) -> Verdict:
    """The tutorial's reading of the answer (`result[0][0]`), or the mean of the token vectors for `pooling:
    client`, must be the reference vector: same length, finite, unit length, cosine >= MIN_COSINE."""
    try:
        answer = json.loads(invocation.body)
    except (ValueError, UnicodeDecodeError):
        start = _one_line(invocation.body[:80].decode("utf-8", errors="replace"))
        raise SmokeError(
            f"the answer is not JSON (content type {invocation.content_type or 'none'}): {start!r}", EXIT_FAILED
        ) from None
    dimension = len(reference.vector)
    if not (isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list) and answer[0]):
        raise SmokeError(
            f"the answer is {_describe_shape(answer)}; one text should give [[...]] (result[0][0] the vector)",
            EXIT_FAILED,
        )
    rows = answer[0]
    if pooling == "client":
        tokens = [_numbers(row, f"token vector {i} (result[0][{i}])", dimension) for i, row in enumerate(rows)]
        mean = [math.fsum(column) / len(tokens) for column in zip(*tokens, strict=True)]
        length = _norm(mean)
        vector = [x / length for x in mean] if length else mean
        summary = (
            f"pooling client: mean-pooled result[0]'s {len(tokens)} token vector{'s' if len(tokens) != 1 else ''} "
            f"and normalised the mean (its norm was {length:.4f})"
        )
        if len(tokens) == 1:
            summary += "; the answer held one vector, as a pooling: server endpoint answers, so pooling changed nothing"
        norm = _norm(vector)
    else:
        vector = _numbers(rows[0], "result[0][0]", dimension)
        norm = _norm(vector)
        summary = "pooling server: result[0][0] is the sentence vector"
    cosine = _cosine(vector, reference.vector)
    if abs(norm - 1.0) > NORM_TOLERANCE or cosine < MIN_COSINE:
        hint = ""
        if pooling == "server" and len(rows) > 1:
            hint = (
                f"; the answer holds {len(rows)} vectors for one text, as a pooling: client endpoint answers (token "
                "vectors): if the stack deploys pooling: client, run with POOLING=client"
            )
        read = "the mean of result[0]'s token vectors" if pooling == "client" else "result[0][0]"
        raise SmokeError(
            f"wrong vector: {read} is not {reference.model_id}'s vector of {REQUEST_TEXT!r}: norm {norm:.4f} "
            f"(needs 1 ± {NORM_TOLERANCE:g}), cosine {cosine:.4f} to the reference (needs ≥ {MIN_COSINE}){hint}",
            EXIT_FAILED,
        )
    return Verdict(norm, cosine, summary)


# ----------------------------------------------------------------------------------------------------------- main


class _OneLineErrorParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a number of seconds > 0")
    return value


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        prog=PROG,
        description="Wait for the embedding endpoint to be InService, send the tutorial's request, check the vector "
        "against sentence-transformers', report the latency and print the .env lines.",
    )
    parser.add_argument("--stack", default=environ.get("STACK"), help="Pulumi stack (default: $STACK, else dev)")
    parser.add_argument(
        "--endpoint",
        default=environ.get("ENDPOINT"),
        help="endpoint name; the stack's outputs are then not read (default: $ENDPOINT)",
    )
    parser.add_argument(
        "--region",
        default=environ.get("REGION"),
        help="the endpoint's region (default: $REGION, else the stack's region output, else boto3's default region)",
    )
    parser.add_argument(
        "--pooling",
        default=environ.get("POOLING"),
        help="server or client (default: $POOLING, else the stack's pooling output, else server)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="skip DescribeEndpoint, for a local twin, which serves only the runtime API",
    )
    parser.add_argument(
        "--wait-timeout",
        type=_positive_seconds,
        default=WAIT_TIMEOUT_S,
        metavar="SECONDS",
        help="give up waiting for InService after this long (default: %(default)g)",
    )
    parser.add_argument(
        "--cold-start-timeout",
        type=_positive_seconds,
        default=COLD_START_TIMEOUT_S,
        metavar="SECONDS",
        help="give up retrying the first invocation after this long (default: %(default)g)",
    )
    return parser


def _default_region(session: Any) -> Callable[[], str | None]:
    def region() -> str | None:
        name = session.region_name
        return str(name) if name else None

    return region


def _attempts(invocation: Invocation) -> str:
    return f"{invocation.attempts} attempt{'s' if invocation.attempts != 1 else ''}"


def run(args: argparse.Namespace) -> int:
    reference = load_reference()
    try:
        session = boto3.session.Session()
    except BotoCoreError as error:  # ProfileNotFound for a bad AWS_PROFILE
        raise SmokeError(f"cannot set up AWS: {_one_line(str(error))}", EXIT_USAGE) from None
    target = resolve_target(args, default_region=_default_region(session))
    if target.model_id is not None and target.model_id != reference.model_id:
        raise SmokeError(
            f"{target.source} serves {target.model_id}, but the smoke knows only {reference.model_id}'s vector: "
            "there is nothing to compare the answer with",
            EXIT_USAGE,
        )
    log(
        f"endpoint {target.endpoint_name} (from {target.source}) in {target.region} ({target.region_from}), "
        f"pooling {target.pooling} ({target.pooling_from})"
        + (f", precision {target.precision}" if target.precision else "")
    )
    sagemaker, runtime = aws_clients(session, target.region)
    if args.no_wait:
        log("not waiting for InService (--no-wait)")
    else:
        wait_in_service(sagemaker, target, timeout_s=args.wait_timeout)
    log(f"InvokeEndpoint with Body={REQUEST_BODY} ContentType={CONTENT_TYPE}")
    first = invoke(runtime, target, timeout_s=args.cold_start_timeout)
    verdict = check_answer(first, target.pooling, reference)
    warm = invoke(runtime, target, timeout_s=WARM_TIMEOUT_S)
    check_answer(warm, target.pooling, reference)
    log(verdict.summary)
    log(
        f"vector OK: {len(reference.vector)} finite numbers, norm {verdict.norm:.6f}, cosine {verdict.cosine:.6f} "
        f"to sentence-transformers' vector of {REQUEST_TEXT!r} (needs ≥ {MIN_COSINE})"
    )
    log(
        f"latency: first call {first.seconds:.2f} s ({_attempts(first)}, any cold start included), warm call "
        f"{warm.seconds:.3f} s ({_attempts(warm)})"
    )
    configured = session.region_name
    if configured and configured != target.region:
        log(
            f"note: your default AWS region is {configured}, the endpoint's is {target.region}: boto3 clients made "
            f"without region_name will not find it"
        )
    log(
        "passed; for .env (Part 3 reads SAGEMAKER_ENDPOINT and deploys into DEFAULT_AWS_REGION; python -m "
        "embeddings.batch reads SAGEMAKER_MODEL_NAME and EMBEDDINGS_BATCH_BUCKET):"
    )
    for line in env_lines(target):
        print(line)
    return EXIT_OK


def env_lines(target: Target) -> list[str]:
    """The `.env` lines: the endpoint and its region always; the model and the batch bucket when the stack's outputs
    name them (an endpoint given by name says nothing of either)."""
    lines = [f"SAGEMAKER_ENDPOINT={target.endpoint_name}", f"DEFAULT_AWS_REGION={target.region}"]
    if target.model_name is not None:
        lines.append(f"SAGEMAKER_MODEL_NAME={target.model_name}")
    if target.batch_bucket is not None:
        lines.append(f"EMBEDDINGS_BATCH_BUCKET={target.batch_bucket}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser(os.environ).parse_args(argv)
    try:
        return run(args)
    except SmokeError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line even for what nothing above foresaw
        print(f"{PROG}: error: unexpected {type(error).__name__}: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
