"""The HTTP server: SageMaker Runtime's InvokeEndpoint route and the container's own /ping and /invocations.

The stdlib's ThreadingHTTPServer is enough: requests are serialised at the pipeline anyway, and the twin must not
add dependencies to a machine that only wants to run callers. HTTP/1.1 keep-alive matters, because boto3 reuses
connections and a benchmark through the twin should not measure TCP handshakes.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from local_endpoint import codec, runtime_api
from local_endpoint.container import ContainerResponse, HuggingFaceContainer

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

# Bodies above the payload limit are read and dropped so that the client gets the error instead of a reset
# connection (which boto3 reports as a retryable connection error); above this, the connection is cut.
_DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class TwinConfig:
    """What the twin pretends to be: which endpoint names exist, in which account, and how cold it starts."""

    endpoint_names: tuple[str, ...] = (DEFAULT_ENDPOINT_NAME,)
    cold_start_seconds: float = 0.0
    max_payload_bytes: int = runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES
    account_id: str = runtime_api.DEFAULT_ACCOUNT_ID
    region: str = runtime_api.DEFAULT_REGION


class TwinServer(ThreadingHTTPServer):
    """Serves one container under the endpoint names of `config`; the cold start counts from construction."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        container: HuggingFaceContainer,
        config: TwinConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(address, _Handler)
        self.container = container
        self.config = config or TwinConfig()
        self._clock = clock
        self._ready_at = clock() + self.config.cold_start_seconds

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.port}"

    def cold_start_remaining(self) -> float:
        """Seconds until the simulated serverless cold start is over; 0 once warm."""
        return max(0.0, self._ready_at - self._clock())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller dropping its kept-alive connection is routine; anything else is logged with a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("connection from %s closed: %s", client_address, error)
        else:
            logger.exception("error while serving %s", client_address)

    def end_cold_start(self) -> None:
        """Warm up now, so tests can drive a cold start without depending on how fast the machine is."""
        self._ready_at = self._clock()


class _Handler(BaseHTTPRequestHandler):
    server: TwinServer
    protocol_version = "HTTP/1.1"
    server_version = "local-endpoint"
    # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    # --- routing -------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._ping()
        else:
            self._drain_and_send_api_error(runtime_api.unknown_operation("GET", self.path))

    def do_POST(self) -> None:
        parts = self.path.split("?", 1)[0].split("/")
        if self.path == "/invocations":
            self._container_invocation()
        elif len(parts) == 4 and parts[1] == "endpoints" and parts[3] == "invocations" and parts[2]:
            self._invoke_endpoint(unquote(parts[2]))
        else:
            self._drain_and_send_api_error(runtime_api.unknown_operation("POST", self.path))

    # --- the container contract ----------------------------------------------------------------------------

    def _ping(self) -> None:
        """200 once the model is loaded (it is before the socket opens), 503 while the cold start lasts."""
        if self.server.cold_start_remaining() > 0:
            self._send(503, codec.mms_status_body("Unhealthy"), codec.JSON)
        else:
            self._send(200, codec.mms_status_body("Healthy"), codec.JSON)

    def _container_invocation(self) -> None:
        body = self._read_body(_DRAIN_LIMIT_BYTES)
        if body is None:
            self._send(413, codec.mms_error_body(413, "Request body too large", "RequestEntityTooLarge"), codec.JSON)
            return
        if self.server.cold_start_remaining() > 0:
            message = "No worker is available to serve request: model"
            self._send(503, codec.mms_error_body(503, message, "ServiceUnavailableException"), codec.JSON)
            return
        response = self._run_container(body)
        self._send(response.status, response.body, response.content_type)

    def _run_container(self, body: bytes) -> ContainerResponse:
        return self.server.container.invoke(body, self.headers.get("Content-Type"), self.headers.get("Accept"))

    # --- SageMaker Runtime InvokeEndpoint -------------------------------------------------------------------

    def _invoke_endpoint(self, endpoint_name: str) -> None:
        config = self.server.config
        request_id = str(uuid.uuid4())
        body = self._read_body(config.max_payload_bytes)
        if body is None:
            self._send_api_error(runtime_api.oversize_body(request_id), request_id)
            return
        if endpoint_name not in config.endpoint_names:
            self._send_api_error(runtime_api.endpoint_not_found(endpoint_name, config.account_id), request_id)
            return
        remaining = self.server.cold_start_remaining()
        if remaining > 0:
            self._send_api_error(runtime_api.model_not_ready(endpoint_name, remaining), request_id)
            return
        response = self._run_container(body)
        if response.status >= 300:
            region = runtime_api.caller_region(self.headers.get("Authorization"), config.region)
            error = runtime_api.model_error(
                response, endpoint_name=endpoint_name, region=region, account_id=config.account_id
            )
            self._send_api_error(error, request_id)
            return
        if len(response.body) > config.max_payload_bytes:
            logger.warning(
                "response of %d bytes is over the %d-byte serverless payload limit; the deployed endpoint may "
                "refuse it, send fewer texts per request",
                len(response.body),
                config.max_payload_bytes,
            )
        headers = {"x-Amzn-Invoked-Production-Variant": runtime_api.VARIANT_NAME}
        self._send(200, response.body, response.content_type, headers, request_id)

    # --- plumbing ------------------------------------------------------------------------------------------

    def _read_body(self, limit: int) -> bytes | None:
        """The request body, or None when it is over `limit` (then it has been drained, or the link cut)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return None
        if length <= limit:
            return self.rfile.read(length)
        if length > _DRAIN_LIMIT_BYTES:
            self.close_connection = True
            return None
        left = length
        while left > 0:
            chunk = self.rfile.read(min(_CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
        return None

    def _drain_and_send_api_error(self, error: runtime_api.ApiError) -> None:
        self._read_body(_DRAIN_LIMIT_BYTES)
        self._send_api_error(error, str(uuid.uuid4()))

    def _send_api_error(self, error: runtime_api.ApiError, request_id: str) -> None:
        self._send(error.status, error.body(), codec.JSON, error.headers(), request_id)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_in_thread(
    container: HuggingFaceContainer,
    config: TwinConfig | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
) -> Iterator[TwinServer]:
    """A running twin for tests and benchmarks; port 0 picks a free port (see `.port` / `.url`)."""
    server = TwinServer((host, port), container, config)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
