"""How many invocations an endpoint serves at once: its serverless MaxConcurrency, read from SageMaker.

DescribeEndpoint reports each production variant's CurrentServerlessConfig; an older answer (or one without it)
is completed from DescribeEndpointConfig's ServerlessConfig. An endpoint on instances has no such limit, so the
caller's setting (or 1) applies there. Reading needs sagemaker:DescribeEndpoint (and DescribeEndpointConfig),
which the stack's invoke policy does not grant: callers without it get 1 and a note saying how to set it.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

DESCRIBE_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 2})
"""Control-plane calls made once per client: short timeouts, botocore's own two attempts."""


def _serverless_total(variants: list[dict[str, Any]], key: str) -> int | None:
    """The sum of the variants' MaxConcurrency under `key`, or None unless every variant has one."""
    limits = [(variant.get(key) or {}).get("MaxConcurrency") for variant in variants]
    whole = [limit for limit in limits if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0]
    if not limits or len(whole) != len(limits):
        return None
    return sum(whole)


def serverless_max_concurrency(sagemaker_client: Any, endpoint_name: str) -> int | None:
    """The endpoint's total serverless MaxConcurrency, or None for an endpoint on instances.

    With several variants the limits add up: each serves its own share of the traffic. Raises botocore's errors
    (AccessDeniedException, ValidationError for an unknown name, connection errors) for the caller to judge.
    """
    endpoint = sagemaker_client.describe_endpoint(EndpointName=endpoint_name)
    total = _serverless_total(endpoint.get("ProductionVariants") or [], "CurrentServerlessConfig")
    if total is not None:
        return total
    config = sagemaker_client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return _serverless_total(config.get("ProductionVariants") or [], "ServerlessConfig")
