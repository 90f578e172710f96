"""The ingest Lambda: texts in, all-MiniLM-L6-v2 sentence vectors out, through the alex-sagemaker endpoint.

Event:   {"texts": ["first chunk", "second chunk"]}            (1 to 100 strings; [] is allowed and costs nothing)
Answer:  {"endpoint": "alex-embedding-endpoint", "count": 2, "dimension": 384, "vectors": [[384 floats], [384 floats]]}
         One unit-length vector per text, in order; store them with the texts.
Bad event: {"error": "<what is wrong and what is allowed>"}, returned rather than raised, because retrying the same
         event cannot help. Endpoint failures (unknown endpoint, access denied, a cold start longer than
         EMBEDDINGS_MAX_WAIT_S) raise, so the invocation fails visibly and queue or async invocations retry it.

Environment (set by the example's Pulumi program from the embedding stack's outputs): SAGEMAKER_ENDPOINT
(required), SAGEMAKER_REGION, EMBEDDINGS_MAX_WAIT_S, EMBEDDINGS_POOLING.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from embeddings import EmbeddingClient, InvalidTextError

# ~8 kB of JSON per vector keeps an answer far under Lambda's 6 MB response limit, and the work within the timeout.
MAX_TEXTS_PER_EVENT = 100
EXAMPLE_EVENT = '{"texts": ["a text", "another text"]}'

logger = logging.getLogger(__name__)


class BadEventError(ValueError):
    pass


def client_from_environment() -> EmbeddingClient:
    """One client per execution environment: its boto3 client and its knowledge of the endpoint are reused."""
    endpoint_name = os.environ.get("SAGEMAKER_ENDPOINT")
    if not endpoint_name:
        raise RuntimeError("SAGEMAKER_ENDPOINT is not set: set it to the embedding stack's endpoint_name output")
    options: dict[str, Any] = {"region_name": os.environ.get("SAGEMAKER_REGION") or None}
    max_wait = os.environ.get("EMBEDDINGS_MAX_WAIT_S")
    if max_wait:
        try:
            options["max_wait_s"] = float(max_wait)
        except ValueError:
            raise RuntimeError(f"EMBEDDINGS_MAX_WAIT_S {max_wait!r} is not a number of seconds") from None
    # Where the endpoint pools (the stack's `pooling` output); told, the client plans every batch for it.
    pooling = os.environ.get("EMBEDDINGS_POOLING")
    if pooling:
        options["pooling"] = pooling
    return EmbeddingClient(endpoint_name, **options)


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
