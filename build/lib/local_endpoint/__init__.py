"""A local twin of the SageMaker embedding endpoint: the same model, API and errors, no AWS account.

Run it with `python -m local_endpoint`; embed it in tests with `serve_in_thread(HuggingFaceContainer(pipeline))`.
Importing this package does not import torch; only loading a model does.
"""

from local_endpoint.config import DEFAULT_ENDPOINT_NAME, TwinConfig
from local_endpoint.container import ContainerResponse, HuggingFaceContainer, InvocationContainer
from local_endpoint.model import DEFAULT_MODEL_ID, DEFAULT_TASK, ModelNotAvailableError, load_pipeline, resolve_model
from local_endpoint.server import TwinServer, serve_in_thread

__all__ = [
    "DEFAULT_ENDPOINT_NAME",
    "DEFAULT_MODEL_ID",
    "DEFAULT_TASK",
    "ContainerResponse",
    "HuggingFaceContainer",
    "InvocationContainer",
    "ModelNotAvailableError",
    "TwinConfig",
    "TwinServer",
    "load_pipeline",
    "resolve_model",
    "serve_in_thread",
]
