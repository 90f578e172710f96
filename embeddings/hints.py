"""What to tell a caller whose setup is wrong, depending on whether it points at AWS or at the local twin.

The twin (`make twin`, local_endpoint/) needs an endpoint URL variable plus any credentials and region, and a
message that sends its user to `aws configure` or to the SageMaker console sends them the wrong way.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

ENDPOINT_URL_VARIABLES = ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL")
"""Where boto3 takes a SageMaker Runtime endpoint URL from, most specific first."""

TWIN_ENVIRONMENT = "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1"
"""What `make embed` sets besides the URL: the twin accepts any credentials and region, but botocore signs."""


def is_local_url(url: str | None) -> bool:
    """A loopback URL (127.0.0.0/8, ::1, localhost): only the twin lives there, never SageMaker."""
    if not url:
        return False
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_endpoint_variable() -> tuple[str, str] | None:
    """The variable and value of a local endpoint URL boto3 will use for SageMaker Runtime, if one is set."""
    for name in ENDPOINT_URL_VARIABLES:
        value = os.environ.get(name)
        if value:
            return (name, value) if is_local_url(value) else None
    return None


def twin_setup(url: str) -> str:
    return (
        f"the local twin at {url} accepts any credentials and region, but they must be set: {TWIN_ENVIRONMENT} "
        "(as `make embed` does)"
    )


def start_the_twin(url: str) -> str:
    port = urlsplit(url).port
    command = f"`make twin`{f' (or `make twin TWIN_PORT={port}`)' if port and port != 8080 else ''}"
    return (
        f"nothing is listening there: start the local twin with {command}, or point {ENDPOINT_URL_VARIABLES[0]} at it"
    )


def list_endpoints(region: str) -> str:
    return (
        f"list this account's endpoints with `aws sagemaker list-endpoints --region {region}`; the name this "
        "project deployed is the stack output `endpoint_name` (`pulumi stack output endpoint_name`)"
    )


def twin_endpoint_names(url: str) -> str:
    return (
        f"the local twin at {url} serves only the names it was started with (default alex-embedding-endpoint; "
        "`python -m local_endpoint --endpoint-name NAME` for another)"
    )
