"""The ingest Lambda: texts in, all-MiniLM-L6-v2 sentence vectors out, through the alex-sagemaker endpoint.

Event:   {"texts": ["first chunk", "second chunk"]}            (1 to 100 strings; [] is allowed and costs nothing)
Answer:  {"endpoint": "alex-embedding-endpoint", "count": 2, "dimension": 384, "vectors": [[384 floats], [384 floats]]}
         One unit-length vector per text, in order; store them with the texts.
Bad event: {"error": "<what is wrong and what is allowed>"}, returned rather than raised, because retrying the same
         event cannot help. Endpoint failures (unknown endpoint, access denied, a cold start longer than
         EMBEDDINGS_MAX_WAIT_S) raise, so the invocation fails visibly and queue or async invocations retry it.

Environment (set by the example's Pulumi program from the embedding stack's outputs): SAGEMAKER_ENDPOINT
(required), SAGEMAKER_REGION, EMBEDDINGS_MAX_WAIT_S, EMBEDDINGS_POOLING, EMBEDDINGS_MAX_CONCURRENCY (the stack's
`max_concurrency` output: the function's role may not read it with DescribeEndpoint). An empty variable counts as
unset. A bad value fails the import (the function's init) with an error naming the variable and its value as set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from embeddings import (
    POOLING_MODES,
    ConfigurationError,
    EmbeddingClient,
    InvalidSettingError,
    InvalidTextError,
    settings,
)

# ~8 kB of JSON per vector keeps an answer far under Lambda's 6 MB response limit, and the work within the timeout.
MAX_TEXTS_PER_EVENT = 100
EXAMPLE_EVENT = '{"texts": ["a text", "another text"]}'

logger = logging.getLogger(__name__)


class BadEventError(ValueError):
    pass


class EnvironmentSettingError(RuntimeError):
    """A variable of the function's environment is missing or has a value the client cannot use."""


def _from_environment(name: str, parse: Callable[[str], Any], allowed: str) -> Any:
    """The variable's value as `parse` reads it, None if unset or empty; else an error showing it as set."""
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        return parse(raw)
    except (ValueError, InvalidSettingError):
        raise EnvironmentSettingError(f"{name} is {raw!r}; it must be {allowed}") from None


def _seconds(raw: str) -> float:
    return settings.seconds("seconds", float(raw))


def _whole_number(raw: str) -> int:
    return settings.whole_number("count", int(raw), minimum=1)


def client_from_environment() -> EmbeddingClient:
    """One client per execution environment: its boto3 client and its knowledge of the endpoint are reused."""
    endpoint_name = _from_environment(
        "SAGEMAKER_ENDPOINT",
        lambda raw: settings.endpoint_name(raw),
        "an endpoint name (1-63 letters, digits and hyphens): the embedding stack's endpoint_name output",
    )
    if endpoint_name is None:
        raise EnvironmentSettingError(
            "SAGEMAKER_ENDPOINT is not set: set it to the embedding stack's endpoint_name output"
        )
    options: dict[str, Any] = {
        "max_wait_s": _from_environment(
            "EMBEDDINGS_MAX_WAIT_S", _seconds, "a finite number of seconds, 0 or more, such as 180"
        ),
        # Where the endpoint pools (the stack's `pooling` output); told, the client plans every batch for it.
        "pooling": _from_environment(
            "EMBEDDINGS_POOLING",
            lambda raw: settings.one_of("pooling", raw, POOLING_MODES),
            f"one of {', '.join(POOLING_MODES)}: the embedding stack's pooling output",
        ),
        # The role may invoke the endpoint but not describe it, so its MaxConcurrency comes from here.
        "max_concurrency": _from_environment(
            "EMBEDDINGS_MAX_CONCURRENCY",
            _whole_number,
            "a whole number of at least 1: the embedding stack's max_concurrency output",
        ),
    }
    region = os.environ.get("SAGEMAKER_REGION") or None
    try:
        return EmbeddingClient(
            endpoint_name, region_name=region, **{key: value for key, value in options.items() if value is not None}
        )
    except ConfigurationError as error:
        if region is None:
            raise
        raise EnvironmentSettingError(
            f"SAGEMAKER_REGION is {region!r}; it must be an AWS region such as us-east-1 (the embedding stack's "
            f"region output): {error}"
        ) from None


def texts_of(event: Any) -> list[str]:
    """The event's texts, or a BadEventError naming what is wrong."""
    if not isinstance(event, dict):
        raise BadEventError(f"the event must be a JSON object like {EXAMPLE_EVENT}, got {type(event).__name__}")
    if "texts" not in event:
        raise BadEventError(f'the event has no "texts" (keys: {sorted(event)}): send {EXAMPLE_EVENT}')
    unexpected = sorted(key for key in event if key != "texts")
    if unexpected:
        raise BadEventError(f'unexpected keys {unexpected} in the event: only "texts" is allowed')
    texts = event["texts"]
    if isinstance(texts, str):
        raise BadEventError(f'"texts" must be a list of strings, not a single string: send {EXAMPLE_EVENT}')
    if not isinstance(texts, list):
        raise BadEventError(f'"texts" must be a list of strings, got {type(texts).__name__}')
    if len(texts) > MAX_TEXTS_PER_EVENT:
        raise BadEventError(f'"texts" has {len(texts)} items; at most {MAX_TEXTS_PER_EVENT} per event: split the batch')
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadEventError(f'"texts"[{index}] is {type(text).__name__} {text!r:.40}, expected a string')
    return texts


client = client_from_environment()


def handle(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        texts = texts_of(event)
        vectors = client.embed(texts)
    except (BadEventError, InvalidTextError) as error:
        logger.warning("bad event: %s", error)
        return {"error": str(error)}
    return {
        "endpoint": client.endpoint_name,
        "count": len(vectors),
        "dimension": client.limits.dimension,
        "vectors": vectors,
    }
