"""The model container's side of an invocation: HuggingFaceHandlerService.handle, minus the model server.

Callers see the container through its quirks: the `inputs`/`parameters` split, the pipeline's own output shape,
and any exception at all becoming HTTP 400 with the exception's text. Those are reproduced from
sagemaker_huggingface_inference_toolkit/handler_service.py (2.6.0) statement by statement, so an answer or an
error message from the twin is the one the deployed container gives for the same transformers version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from local_endpoint import codec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContainerResponse:
    """What the container answers on /invocations."""

    status: int
    body: bytes
    content_type: str


class InvocationContainer(Protocol):
    """What the twin serves: anything that answers the container's POST /invocations.

    HuggingFaceContainer is one; any object with this method will do.
    """

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse: ...


class HuggingFaceContainer:
    """One loaded pipeline, served with the toolkit's default handler.

    Pipelines are not documented as thread-safe (a fast tokenizer raises "Already borrowed" when two threads
    share it), and the container's model server runs one worker per model anyway, so calls are serialised.
    """

    def __init__(self, pipeline: Any, task: str | None = None) -> None:
        self.pipeline = pipeline
        self.task = task or getattr(pipeline, "task", None) or "unknown"
        self._lock = threading.Lock()

    def preprocess(self, input_data: Any, content_type: str | None) -> Any:
        """handler_service.preprocess."""
        if self.task in {"zero-shot-classification", "table-question-answering"} and content_type == codec.CSV:
            raise codec.PredictionError(
                f"content type {content_type} not support with {self.task}, use different content_type", 400
            )
        return codec.decode(input_data, content_type)

    def predict(self, data: Any) -> Any:
        """handler_service.predict, including its tolerance of a body without "inputs" (the dict itself)."""
        inputs = data.pop("inputs", data)
        parameters = data.pop("parameters", None)
        with self._lock:
            if parameters is not None:
                return self.pipeline(inputs, **parameters)
            return self.pipeline(inputs)

    def postprocess(self, prediction: Any, accept: str) -> str | bytes:
        """handler_service.postprocess."""
        return codec.encode(prediction, accept)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        return handle(
            body,
            content_type,
            accept,
            lambda data, data_type, accept_type: self.postprocess(
                self.predict(self.preprocess(data, data_type)), accept_type
            ),
        )


def handle(
    body: bytes,
    content_type: str | None,
    accept: str | None,
    transform: Callable[[Any, str | None, str], str | bytes],
) -> ContainerResponse:
    """handler_service.handle, for the default handler and a user module alike: Accept `*/*` or none means JSON,
    JSON and CSV bodies are decoded to str, any other body arrives as the `bytearray` multi-model-server's worker
    reads it into (mms/protocol/otf_message_handler.py), not `bytes`, and every failure, whatever its kind, becomes
    a 400 carrying str(exception)."""
    try:
        if not accept or accept == codec.ANY:
            accept = codec.JSON
        input_data: Any = bytearray(body)
        if content_type in codec.UTF8_TYPES:
            input_data = body.decode("utf-8")
        response = transform(input_data, content_type, accept)
    except Exception as error:
        # The container logs the traceback to CloudWatch; the twin's log is the closest thing.
        traceback = logger.isEnabledFor(logging.DEBUG)
        logger.warning("container: %s: %s", type(error).__name__, error, exc_info=traceback)
        return ContainerResponse(400, codec.mms_error_body(400, str(error)), codec.JSON)
    payload = response.encode("utf-8") if isinstance(response, str) else bytes(response)
    return ContainerResponse(200, payload, accept)
