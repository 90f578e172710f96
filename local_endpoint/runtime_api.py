"""The SageMaker Runtime front door: which errors InvokeEndpoint answers, in the shape botocore parses.

botocore's rest-json parser takes the error code from the `X-Amzn-ErrorType` header (text before any ":") and
the message from the body's `message`/`Message`; for ModelError it also copies the modeled members
(OriginalStatusCode, OriginalMessage, LogStreamArn) from the body into `ClientError.response`. The messages
imitate what SageMaker says, so logs and error handling written against the twin read the same in AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from local_endpoint.container import ContainerResponse

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
VARIANT_NAME = "AllTraffic"  # the stack's only production variant (components/constants.py)

SERVERLESS_PAYLOAD_LIMIT_BYTES = 4_000_000
"""Serverless Inference's "4 MB" request limit, read as decimal like the client does, so the twin errs strict."""

DEFAULT_MAX_CONCURRENCY = 2
"""The stack's default ServerlessConfig.MaxConcurrency (ServerlessVariant in components/endpoint_args.py)."""
MAX_CONCURRENCY_LIMIT = 200
"""ProductionVariantServerlessConfig.MaxConcurrency's valid range is 1-200."""

_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
_ENDPOINT_NAME_MAX_LENGTH = 63


def is_endpoint_name(name: str) -> bool:
    """botocore's EndpointName shape: at most 63 letters, digits and inner hyphens."""
    return len(name) <= _ENDPOINT_NAME_MAX_LENGTH and _ENDPOINT_NAME.fullmatch(name) is not None


_MODEL_NAME = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")


def is_model_name(name: str) -> bool:
    """botocore's ModelName shape (at most 63 characters), and not empty: a model has a name."""
    return len(name) <= _ENDPOINT_NAME_MAX_LENGTH and _MODEL_NAME.fullmatch(name) is not None


# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/sagemaker/aws4_request, ..."
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")


@dataclass(frozen=True)
class ApiError:
    """One SageMaker Runtime error response."""

    status: int
    code: str | None
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return {"X-Amzn-ErrorType": self.code} if self.code else {}

    def body(self) -> bytes:
        return json.dumps({"message": self.message, **self.fields}).encode("utf-8")


def caller_region(authorization: str | None, default: str) -> str:
    """The region the caller signed for, so console links in messages point where the caller looks."""
    match = _CREDENTIAL_SCOPE.search(authorization or "")
    return match.group(1) if match else default


def endpoint_not_found(endpoint_name: str, account_id: str) -> ApiError:
    return ApiError(400, "ValidationError", f"Endpoint {endpoint_name} of account {account_id} not found.")


def oversize_body(request_id: str) -> ApiError:
    """What a serverless endpoint answers for a body over its limit (aws/sagemaker-python-sdk#4271)."""
    return ApiError(400, "ValidationError", f"Request {request_id} has oversize body.")


def model_not_ready(endpoint_name: str, remaining_s: float) -> ApiError:
    return ApiError(
        429,
        "ModelNotReadyException",
        f"Model for endpoint {endpoint_name} is not ready yet: the serverless variant {VARIANT_NAME} is still "
        f"being provisioned (local twin cold start, about {remaining_s:.1f}s left). Wait and try again.",
    )


def throttled(endpoint_name: str, max_concurrency: int) -> ApiError:
    """MaxConcurrency exceeded: SageMaker's common ThrottlingException, which it answers with HTTP 400.

    The code and status are those of SageMaker's CommonErrors page and of throttled InvokeEndpoint calls seen in
    the wild ("Status Code: 400; Error Code: ThrottlingException"); there the message is often null, the twin
    says what happened instead.
    """
    return ApiError(
        400,
        "ThrottlingException",
        f"Rate exceeded: endpoint {endpoint_name} already has {max_concurrency} invocation(s) in flight, its "
        f"serverless MaxConcurrency (local twin). Retry with backoff.",
    )


def async_not_configured(endpoint_name: str, account_id: str) -> ApiError:
    """InvokeEndpointAsync on an endpoint without AsyncInferenceConfig; ValidationError is the 4xx botocore models."""
    return ApiError(
        400,
        "ValidationError",
        f"Endpoint {endpoint_name} of account {account_id} is not configured for asynchronous inference (its "
        "endpoint config has no AsyncInferenceConfig). Use InvokeEndpoint.",
    )


def streaming_not_supported(endpoint_name: str, account_id: str) -> ApiError:
    """InvokeEndpointWithResponseStream on a container that answers buffered responses only."""
    return ApiError(
        400,
        "ValidationError",
        f"Endpoint {endpoint_name} of account {account_id} does not support response streaming: its model "
        "container (the Hugging Face inference toolkit) answers buffered responses only. Use InvokeEndpoint.",
    )


def invalid_http_request(detail: str) -> ApiError:
    """A request the HTTP parser refused (conflicting or malformed Content-Length, bad chunking, ...)."""
    return ApiError(400, "ValidationError", f"Invalid HTTP request: {detail}.")


def request_timeout(part: str, seconds: float, setting: str) -> ApiError:
    """A request whose headers or body did not arrive in time (HTTP 408). SageMaker Runtime models no such error;
    the code is the one AWS uses for it (Glacier's 408 RequestTimeoutException), which botocore's standard and
    adaptive retry modes treat as transient, so a client whose upload stalled retries it."""
    return ApiError(
        408,
        "RequestTimeoutException",
        f"Request {part} not received within {seconds:g}s (the local twin's {setting}); the connection is closed.",
    )


def shutting_down(seconds: float) -> ApiError:
    """A request still receiving its body when the twin stopped: SageMaker Runtime's ServiceUnavailable (503),
    which botocore retries."""
    return ApiError(
        503,
        "ServiceUnavailable",
        f"The local twin is shutting down: this request's body was not complete within the {seconds:g}s grace it "
        "gives uploads under way. Retry against a running endpoint.",
    )


def method_not_allowed(method: str, path: str, allowed: str) -> ApiError:
    return ApiError(400, "ValidationError", f"{method} is not supported for {path}; use {allowed}.")


def no_such_operation(method: str, path: str) -> ApiError:
    """Any other route. SageMaker Runtime has no code for it that botocore models, so ValidationError."""
    return ApiError(
        400,
        "ValidationError",
        f"No operation matches {method} {path}. The twin serves POST /endpoints/NAME/invocations "
        "(also /async-invocations and /invocations-response-stream), GET /ping and POST /invocations.",
    )


def model_error(response: ContainerResponse, *, endpoint_name: str, region: str, account_id: str) -> ApiError:
    """SageMaker's wrapping of a container's non-2xx answer: 424, the container's status and body inside."""
    original = response.body.decode("utf-8", errors="replace")
    kind = "client" if response.status < 500 else "server"
    log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
    message = (
        f'Received {kind} error ({response.status}) from primary with message "{original}". See '
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={log_group} "
        f"in account {account_id} for more information."
    )
    return ApiError(
        424,
        "ModelError",
        message,
        {
            "OriginalStatusCode": response.status,
            "OriginalMessage": original,
            "LogStreamArn": f"arn:aws:logs:{region}:{account_id}:log-group:{log_group}",
        },
    )
