"""Infrastructure: the Pulumi component that deploys the embedding endpoint, and what it is built from."""

from components.endpoint_args import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_MODEL_ID,
    DEFAULT_TASK,
    InstancesVariant,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.serverless_embedding_endpoint import (
    TYPE_TOKEN,
    ImageLookupError,
    ServerlessEmbeddingEndpoint,
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
    "InstancesVariant",
    "InvalidEndpointArgsError",
    "Monitoring",
    "ServerlessEmbeddingEndpoint",
    "ServerlessEmbeddingEndpointArgs",
    "ServerlessVariant",
]
