"""Runtime client for the all-MiniLM-L6-v2 SageMaker endpoint: correct sentence vectors, batched, cold-start-proof.

Depends on boto3 only (no numpy, no torch), so a Lambda can import it from its runtime or vendor this folder.
"""

from embeddings.batching import EMBEDDING_DIMENSION, MAX_TEXTS_PER_REQUEST, MAX_TOKENS, BatchLimits, plan_batches
from embeddings.client import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_INVOCATION_TIMEOUT_S,
    MAX_CONCURRENCY_ENV_VAR,
    EmbeddingClient,
    make_runtime_client,
)
from embeddings.errors import (
    ConfigurationError,
    EmbeddingError,
    EndpointError,
    EndpointNotReadyError,
    EndpointUnreachableError,
    InvalidSettingError,
    InvalidTextError,
    InvalidVectorError,
    InvocationTimeoutError,
    MissingCredentialsError,
    PermanentEndpointError,
    ResponseShapeError,
    TextEncodingError,
    TextTooLargeError,
    TextTypeError,
    TransientEndpointError,
)
from embeddings.pooling import POOLING_MODES, sentence_vector, sentence_vectors

__all__ = [
    "DEFAULT_ENDPOINT_NAME",
    "DEFAULT_INVOCATION_TIMEOUT_S",
    "EMBEDDING_DIMENSION",
    "MAX_CONCURRENCY_ENV_VAR",
    "MAX_TEXTS_PER_REQUEST",
    "MAX_TOKENS",
    "POOLING_MODES",
    "BatchLimits",
    "ConfigurationError",
    "EmbeddingClient",
    "EmbeddingError",
    "EndpointError",
    "EndpointNotReadyError",
    "EndpointUnreachableError",
    "InvalidSettingError",
    "InvalidTextError",
    "InvalidVectorError",
    "InvocationTimeoutError",
    "MissingCredentialsError",
    "PermanentEndpointError",
    "ResponseShapeError",
    "TextEncodingError",
    "TextTooLargeError",
    "TextTypeError",
    "TransientEndpointError",
    "make_runtime_client",
    "plan_batches",
    "sentence_vector",
    "sentence_vectors",
]
