"""Infrastructure: the Pulumi component that deploys the embedding endpoint, and what it is built from."""

from components.artifact_store import ModelArtifactStore
from components.batch_bucket import BatchBucket
from components.constants import DEFAULT_ENDPOINT_NAME, TYPE_TOKEN
from components.container import ImageLookupError
from components.endpoint_args import (
    BatchTransform,
    InstancesVariant,
    Monitoring,
    ProvisionedConcurrencyScaling,
    ScalingSchedule,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.model_artifact import ModelArtifactError
from components.model_files import DEFAULT_MODEL_ID, DEFAULT_MODEL_REVISION, ModelFilesError
from components.monitoring import Metric
from components.outputs import STACK_OUTPUTS
from components.serverless_embedding_endpoint import ServerlessEmbeddingEndpoint
from components.validation import InvalidEndpointArgsError, Problem

__all__ = [
    "DEFAULT_ENDPOINT_NAME",
    "DEFAULT_MODEL_ID",
    "DEFAULT_MODEL_REVISION",
    "STACK_OUTPUTS",
    "TYPE_TOKEN",
    "BatchBucket",
    "BatchTransform",
    "ImageLookupError",
    "InstancesVariant",
    "InvalidEndpointArgsError",
    "Metric",
    "ModelArtifactError",
    "ModelArtifactStore",
    "ModelFilesError",
    "Monitoring",
    "Problem",
    "ProvisionedConcurrencyScaling",
    "ScalingSchedule",
    "ServerlessEmbeddingEndpoint",
    "ServerlessEmbeddingEndpointArgs",
    "ServerlessVariant",
]
