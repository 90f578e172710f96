"""Which failures are worth retrying, and how long to wait between attempts.

botocore's retry modes do not retry ModelNotReadyException (HTTP 429 with a code outside their throttling list),
which is exactly what a cold serverless endpoint answers for its first requests. So the client turns botocore's
retries off and decides here, from the AWS error code first and the HTTP status second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ProxyConnectionError,
    SSLError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

NOT_READY_CODE = "ModelNotReadyException"
INVOCATION_TIMEOUT_CODE = "InvocationTimeout"
"""Not an AWS code: the client's own wall-clock deadline for one attempt passed (see deadline.py)."""

# Retry: the endpoint or SageMaker is briefly unable to serve, and the same request will succeed later.
TRANSIENT_CODES = frozenset(
    {
        NOT_READY_CODE,
        "ServiceUnavailable",
        "InternalFailure",
        "InternalDependencyException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

# Retry, and run fewer invocations at once: the endpoint is at its MaxConcurrency, or still starting.
PUSH_BACK_CODES = frozenset(
    {
        NOT_READY_CODE,
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)

# ModelError wraps the container's own HTTP status. 502/503/504 come from the model server while its workers are
# (re)starting or busy, and pass. 500 and 4xx come from the handler itself (the Hugging Face toolkit reports a
# failing pipeline call as 400) and repeat for the same input, so they fail at once.
TRANSIENT_MODEL_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Fault:
    """One failed attempt, reduced to what the retry loop and the final error message need."""

    transient: bool
    code: str
    message: str
    http_status: int | None = None
    # No connection could be made (refused, unreachable, DNS, connect timeout): nothing reached the endpoint.
    # Worth a few quick retries for a blip, not minutes of them: a cold start is slow to answer, not to connect.
    no_connection: bool = False


def _client_error_fault(error: ClientError) -> Fault:
    response: dict[str, Any] = error.response
    code = str(response.get("Error", {}).get("Code", "") or "Unknown")
    message = str(response.get("Error", {}).get("Message", "") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ModelError":
        original_status = response.get("OriginalStatusCode")
        original_message = response.get("OriginalMessage")
        details = [f"the model container answered HTTP {original_status}"]
        if original_message:
            details.append(f"with {original_message}")
        if response.get("LogStreamArn"):
            details.append(f"(logs: {response['LogStreamArn']})")
        return Fault(
            transient=original_status in TRANSIENT_MODEL_STATUSES,
            code=code,
            message=f"{message} [{' '.join(details)}]" if message else " ".join(details),
            http_status=status,
        )
    transient = code in TRANSIENT_CODES or (status is not None and (status == 429 or status >= 500))
    return Fault(transient=transient, code=code, message=message, http_status=status)


def _reason(error: BaseException) -> str:
    """The innermost OS-level reason behind a botocore transport error, e.g. "[Errno 111] Connection refused".

    botocore's own text names `endpoint_url`, which it does not know for errors raised while reading a body
    ('Read timeout on endpoint URL: "None"'); the client names the URL itself.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    found = ""
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            found = f"[Errno {current.errno}] {current.strerror}" if current.errno is not None else current.strerror
        kwargs = getattr(current, "kwargs", None)
        inner = kwargs.get("error") if isinstance(kwargs, dict) else None
        stack.extend(
            x
            for x in (current.__cause__, current.__context__, getattr(current, "reason", None), inner)
            if isinstance(x, BaseException)
        )
    return found


def _transport_message(error: BotoCoreError, url: str) -> str:
    kind = {
        "EndpointConnectionError": "could not connect to",
        "ProxyConnectionError": "could not connect through the proxy to",
        "ConnectTimeoutError": "connect timeout on",
        "ReadTimeoutError": "read timeout on",
        "ConnectionClosedError": "connection closed before a complete answer from",
        "ResponseStreamingError": "the answer was cut off from",
        "IncompleteReadError": "the answer was cut off from",
    }.get(type(error).__name__)
    if kind is None:
        return str(error)
    reason = _reason(error)
    return f"{kind} {url}" + (f" ({reason})" if reason else "")


def classify(error: BaseException, url: str = "the endpoint URL") -> Fault:
    """Decide whether `error`, raised by invoke_endpoint or while reading its body, is worth another attempt.

    `url` is the invocation URL, named in the messages of transport errors.
    """
    if isinstance(error, ClientError):
        return _client_error_fault(error)
    if isinstance(error, SSLError):
        # A certificate problem (proxy, clock, CA bundle) does not fix itself within minutes.
        return Fault(transient=False, code=type(error).__name__, message=str(error))
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ProxyConnectionError):
        # DNS failures are EndpointConnectionErrors too.
        return Fault(
            transient=True, code=type(error).__name__, message=_transport_message(error, url), no_connection=True
        )
    if isinstance(error, BotoConnectionError | HTTPClientError | IncompleteReadError):
        # Read timeouts, dropped connections, bodies cut short. Embedding is idempotent, so sending the request
        # again is safe.
        return Fault(transient=True, code=type(error).__name__, message=_transport_message(error, url))
    if isinstance(error, BotoCoreError):
        return Fault(transient=False, code=type(error).__name__, message=str(error))
    raise TypeError(f"not a botocore error: {error!r}")


def backoff_ceiling(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential growth of the longest wait after the `attempt`-th failure (1-based), capped."""
    return min(cap_s, base_s * 2.0 ** (attempt - 1))


def full_jitter(attempt: int, base_s: float, cap_s: float, random_fraction: float) -> float:
    """AWS's "full jitter": a uniform wait below the ceiling, so many cold callers do not retry in lockstep."""
    return random_fraction * backoff_ceiling(attempt, base_s, cap_s)
