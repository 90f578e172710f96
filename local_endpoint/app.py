"""The twin's ASGI application: SageMaker Runtime's routes and the container's own /ping and /invocations.

With `TwinConfig.transform_jobs` it also plays SageMaker's transform-job control plane (POST / with
`X-Amz-Target: SageMaker.<Operation>`, local_endpoint/transform_jobs.py), whose jobs call the same container.

A plain ASGI callable rather than a framework: there are six routes, and every answer, including the ones a
framework would write for us (unknown route, wrong method), must be SageMaker's JSON error. HTTP itself
(keep-alive, chunked bodies, connection deadlines, shutdown) is uvicorn's job; see local_endpoint/server.py.

The body deadline lives here rather than in the server because only the route knows the error's shape: a
SageMaker Runtime error for InvokeEndpoint, the model server's JSON for the container's /invocations.

The pipeline call is blocking CPU work, so it runs on a worker thread; the container serialises it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from local_endpoint import codec, runtime_api, transform_jobs
from local_endpoint.config import TwinConfig
from local_endpoint.container import ContainerResponse, InvocationContainer
from local_endpoint.serving_stack import ServingStack

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CONTAINER_BODY_LIMIT_BYTES = 64 * 1024 * 1024
"""What the container route (POST /invocations) accepts; above it the model server's 413."""
CONTROL_PLANE_BODY_LIMIT_BYTES = 1024 * 1024
"""What a SageMaker control-plane request may hold; a CreateTransformJob request is a few kB."""

_RUNTIME_OPERATIONS = {
    "invocations": "InvokeEndpoint",
    "async-invocations": "InvokeEndpointAsync",
    "invocations-response-stream": "InvokeEndpointWithResponseStream",
}


class _ClientDisconnected(Exception):
    """The caller went away before its request body arrived; there is nobody to answer."""


class _BodyTimeout(Exception):
    """The request body was not complete by its deadline, normal or shortened by a shutdown."""

    def __init__(self, during_shutdown: bool) -> None:
        super().__init__()
        self.during_shutdown = during_shutdown


_CLOSE = {"Connection": "close"}  # the rest of a cut-off body is never read, so the connection cannot be reused


class _Request:
    """The parts of an ASGI request scope the routes look at."""

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        # Endpoint names are cut from the raw path, so an encoded "/" stays inside the name.
        self.raw_path: str = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        self.headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            self.headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class TwinApp:
    """One container behind SageMaker Runtime's InvokeEndpoint; the cold start counts from construction."""

    def __init__(
        self, container: InvocationContainer, config: TwinConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.container = container
        self.config = config
        self._clock = clock
        self._ready_at = clock() + config.cold_start_seconds
        self._in_flight = 0  # InvokeEndpoint calls being served; only touched on the event loop
        # One thread per admitted invocation plus one for the container route; the container serialises them.
        self._executor = ThreadPoolExecutor(max_workers=config.max_concurrency + 1, thread_name_prefix="twin-model")
        self._model_calls = 0  # running or waiting for the container's lock, on worker threads
        self._model_calls_lock = threading.Lock()
        self._uploads: set[asyncio.Timeout] = set()  # deadlines of bodies being read; only touched on the loop
        self._stopping = False
        self.transform_jobs = (
            transform_jobs.TransformJobs(
                self._invoke_container,
                model_name=config.model_name,
                model_environment=dict(config.model_environment),
                account_id=config.account_id,
                region=config.region,
            )
            if config.transform_jobs
            else None
        )

    def cold_start_remaining(self) -> float:
        """Seconds until the simulated serverless cold start is over; 0 once warm."""
        return max(0.0, self._ready_at - self._clock())

    def end_cold_start(self) -> None:
        """Warm up now, so tests can drive a cold start without depending on how fast the machine is."""
        self._ready_at = self._clock()

    def close(self) -> None:
        """Wait for pipeline calls still running: torch must not be mid-call when the interpreter exits.

        Transform jobs still running are stopped first; their calls under way finish.
        """
        if self.transform_jobs is not None:
            self.transform_jobs.close()
        self._executor.shutdown(wait=True, cancel_futures=True)

    @property
    def model_calls(self) -> int:
        """Container calls on worker threads now, running or queued behind the container's lock."""
        return self._model_calls

    def begin_shutdown(self) -> None:
        """Give bodies still arriving at most `shutdown_grace_seconds` more (call on the event loop).

        Requests whose body is complete are not affected: their model calls finish and are answered.
        """
        self._stopping = True
        cut_off = asyncio.get_running_loop().time() + self.config.shutdown_grace_seconds
        for deadline in self._uploads:
            when = deadline.when()
            if when is None or when > cut_off:
                deadline.reschedule(cut_off)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = _Request(scope)
        try:
            await self._route(request, receive, send)
        except _ClientDisconnected:
            logger.debug("%s %s: the caller disconnected", request.method, request.path)

    async def _route(self, request: _Request, receive: Receive, send: Send) -> None:
        path, method = request.path, request.method
        if path == "/ping":
            if method != "GET":
                return await _send_api_error(send, runtime_api.method_not_allowed(method, path, "GET"))
            return await self._ping(send)
        if path == "/invocations":
            if method != "POST":
                return await _send_api_error(send, runtime_api.method_not_allowed(method, path, "POST"))
            return await self._container_invocation(request, receive, send)
        if path == "/" and request.header("X-Amz-Target") is not None:
            if method != "POST":
                return await _send_api_error(send, runtime_api.method_not_allowed(method, path, "POST"))
            return await self._control_plane(request, receive, send)
        parts = request.raw_path.split("/")
        if len(parts) == 4 and parts[1] == "endpoints" and parts[2] and parts[3] in _RUNTIME_OPERATIONS:
            if method != "POST":
                return await _send_api_error(send, runtime_api.method_not_allowed(method, path, "POST"))
            return await self._runtime_operation(parts[3], unquote(parts[2]), request, receive, send)
        await _send_api_error(send, runtime_api.no_such_operation(method, path))

    # --- the container contract ----------------------------------------------------------------------------

    async def _ping(self, send: Send) -> None:
        """200 once the model is loaded (it is before the socket opens), 503 while the cold start lasts."""
        if self.cold_start_remaining() > 0:
            await _send(send, 503, codec.mms_status_body("Unhealthy"), codec.JSON)
        else:
            await _send(send, 200, codec.mms_status_body("Healthy"), codec.JSON)

    async def _container_invocation(self, request: _Request, receive: Receive, send: Send) -> None:
        try:
            body = await self._read_body(receive, CONTAINER_BODY_LIMIT_BYTES)
        except _BodyTimeout as timeout:
            if timeout.during_shutdown:
                grace = self.config.shutdown_grace_seconds
                message = (
                    f"Model server is shutting down; request body not complete within the {grace:g}s shutdown grace"
                )
                error = codec.mms_error_body(503, message, "ServiceUnavailableException")
                return await _send(send, 503, error, codec.JSON, _CLOSE)
            message = f"Request body not received within {self.config.body_timeout_seconds:g}s"
            return await _send(
                send, 408, codec.mms_error_body(408, message, "RequestTimeoutException"), codec.JSON, _CLOSE
            )
        if body is None:
            error = codec.mms_error_body(413, "Request body too large", "RequestEntityTooLarge")
            return await _send(send, 413, error, codec.JSON)
        if self.cold_start_remaining() > 0:
            message = "No worker is available to serve request: model"
            return await _send(send, 503, codec.mms_error_body(503, message, "ServiceUnavailableException"), codec.JSON)
        response = await self._run_container(request, body)
        await _send(send, response.status, response.body, response.content_type)

    async def _read_body(self, receive: Receive, limit: int) -> bytes | None:
        """_receive_body within the body deadline, which a shutdown may shorten (begin_shutdown)."""
        seconds = self.config.body_timeout_seconds
        if self._stopping:
            seconds = min(seconds, self.config.shutdown_grace_seconds)
        try:
            async with asyncio.timeout(seconds) as deadline:
                self._uploads.add(deadline)
                try:
                    return await _receive_body(receive, limit)
                finally:
                    self._uploads.discard(deadline)
        except TimeoutError:
            raise _BodyTimeout(during_shutdown=self._stopping) from None

    async def _run_container(self, request: _Request, body: bytes) -> ContainerResponse:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._invoke_container, body, request.header("Content-Type"), request.header("Accept")
        )

    def _invoke_container(
        self, body: bytes, content_type: str | None, accept: str | None, timeout: float | None = None
    ) -> ContainerResponse:
        """On a worker thread: the container's call, counted so a forced stop can say what it abandons. `timeout`
        (a transform job's InvocationsTimeoutInSeconds) reaches the serving stack's connection."""
        with self._model_calls_lock:
            self._model_calls += 1
        try:
            if timeout is not None and isinstance(self.container, ServingStack):
                return self.container.invoke(body, content_type, accept, timeout=timeout)
            return self.container.invoke(body, content_type, accept)
        finally:
            with self._model_calls_lock:
                self._model_calls -= 1

    # --- SageMaker's control plane: transform jobs ------------------------------------------------------------

    async def _control_plane(self, request: _Request, receive: Receive, send: Send) -> None:
        """SageMaker's `json` protocol; the work (S3 listing, job records) runs on a worker thread."""
        try:
            body = await self._read_body(receive, CONTROL_PLANE_BODY_LIMIT_BYTES)
        except _BodyTimeout:
            message = f"Request body not received within {self.config.body_timeout_seconds:g}s"
            return await _send_control_plane(send, 408, "RequestTimeoutException", message, _CLOSE)
        target = request.header("X-Amz-Target")
        if body is None:
            message = f"Request body over {CONTROL_PLANE_BODY_LIMIT_BYTES} bytes"
            return await _send_control_plane(send, 413, "SerializationException", message)
        if self.transform_jobs is None:
            message = (
                f"Unknown operation {target!r}: this twin serves SageMaker's transform-job operations only when "
                "started with --transform-jobs"
            )
            return await _send_control_plane(send, 400, "UnknownOperationException", message)
        try:
            answer = await asyncio.to_thread(self.transform_jobs.handle, target, body)
        except Exception as error:  # a bug of the twin's: answer it as AWS answers its own, and log it
            logger.exception("control plane: %s", target)
            message = f"the local twin failed: {type(error).__name__}: {error}"
            return await _send_control_plane(send, 500, "InternalFailure", message)
        headers = {"X-Amzn-ErrorType": answer.code} if answer.code else {}
        await _send(send, answer.status, answer.body, transform_jobs.CONTENT_TYPE, headers)

    # --- SageMaker Runtime ---------------------------------------------------------------------------------

    async def _runtime_operation(
        self, operation: str, endpoint_name: str, request: _Request, receive: Receive, send: Send
    ) -> None:
        config = self.config
        request_id = str(uuid.uuid4())
        if endpoint_name not in config.endpoint_names:  # first, as documented: before the body is even read
            error = runtime_api.endpoint_not_found(endpoint_name, config.account_id)
            return await _send_api_error(send, error, request_id)
        try:
            body = await self._read_body(receive, config.max_payload_bytes)
        except _BodyTimeout as timeout:
            if timeout.during_shutdown:
                error = runtime_api.shutting_down(config.shutdown_grace_seconds)
            else:
                error = runtime_api.request_timeout("body", config.body_timeout_seconds, "body_timeout_seconds")
            return await _send_api_error(send, error, request_id, _CLOSE)
        if body is None:
            return await _send_api_error(send, runtime_api.oversize_body(request_id), request_id)
        if operation == "async-invocations":
            error = runtime_api.async_not_configured(endpoint_name, config.account_id)
            return await _send_api_error(send, error, request_id)
        if operation == "invocations-response-stream":
            error = runtime_api.streaming_not_supported(endpoint_name, config.account_id)
            return await _send_api_error(send, error, request_id)
        remaining = self.cold_start_remaining()
        if remaining > 0:
            return await _send_api_error(send, runtime_api.model_not_ready(endpoint_name, remaining), request_id)
        if self._in_flight >= config.max_concurrency:
            error = runtime_api.throttled(endpoint_name, config.max_concurrency)
            return await _send_api_error(send, error, request_id)
        self._in_flight += 1
        try:
            logger.debug("invocation %s: running the container", request_id)
            response = await self._run_container(request, body)
        finally:
            self._in_flight -= 1
        await self._answer_invocation(send, response, endpoint_name, request, request_id)

    async def _answer_invocation(
        self, send: Send, response: ContainerResponse, endpoint_name: str, request: _Request, request_id: str
    ) -> None:
        config = self.config
        if response.status >= 300:
            region = runtime_api.caller_region(request.header("Authorization"), config.region)
            error = runtime_api.model_error(
                response, endpoint_name=endpoint_name, region=region, account_id=config.account_id
            )
            return await _send_api_error(send, error, request_id)
        if len(response.body) > config.max_payload_bytes:
            logger.warning(
                "response of %d bytes is over the %d-byte serverless payload limit; the deployed endpoint may "
                "refuse it, send fewer texts per request",
                len(response.body),
                config.max_payload_bytes,
            )
        headers = {"x-Amzn-Invoked-Production-Variant": runtime_api.VARIANT_NAME}
        await _send(send, 200, response.body, response.content_type, headers, request_id)


async def _receive_body(receive: Receive, limit: int) -> bytes | None:
    """The request body (chunked or not), or None once it grows over `limit`.

    On None the rest is left unread: uvicorn discards it after the answer, and the connection stays usable (if
    the rest arrives within the body deadline, which the server keeps; see local_endpoint/server.py).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_control_plane(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"__type": code, "message": message}).encode("utf-8")
    await _send(send, status, body, transform_jobs.CONTENT_TYPE, {"X-Amzn-ErrorType": code, **(headers or {})})


async def _send_api_error(
    send: Send, error: runtime_api.ApiError, request_id: str | None = None, headers: dict[str, str] | None = None
) -> None:
    await _send(send, error.status, error.body(), codec.JSON, {**error.headers(), **(headers or {})}, request_id)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> None:
    all_headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "x-amzn-RequestId": request_id or str(uuid.uuid4()),
        **(headers or {}),
    }
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in all_headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
