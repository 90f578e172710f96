"""Infrastructure: the Pulumi component that deploys the serverless embedding endpoint."""

from components.serverless_embedding_endpoint import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_MODEL_ID,
    DEFAULT_TASK,
    TYPE_TOKEN,
    ImageLookupError,
    ServerlessEmbeddingEndpoint,
    ServerlessEmbeddingEndpointArgs,
)
from components.validation import InvalidEndpointArgsError

__all__ = [
    "DEFAULT_ENDPOINT_NAME",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MEMORY_SIZE_MB",
    "DEFAULT_MODEL_ID",
    "DEFAULT_TASK",
    "TYPE_TOKEN",
    "ImageLookupError",
    "InvalidEndpointArgsError",
    "ServerlessEmbeddingEndpoint",
    "ServerlessEmbeddingEndpointArgs",
]
