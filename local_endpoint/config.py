"""What the twin pretends to be (TwinConfig), in a module of its own so the app and the server both import it.

Nothing here imports the app or the server: the package's imports form a DAG (tests/local_endpoint/
test_twin_imports.py checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from local_endpoint import runtime_api

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
DEFAULT_MODEL_NAME = "alex-embedding-model"
"""The model name the transform-job control plane answers to by default (the deployed one is auto-named)."""
SERVER_POOLING_ENVIRONMENT = (("MMS_MAX_RESPONSE_SIZE", "268435456"),)
"""What the program adds to the model's environment with `pooling: server`, the mode `--model-artifact` serves
in-process, and what DescribeModel therefore shows: multi-model-server's response limit, 256 MiB
(components/constants.py MAX_RESPONSE_BYTES; tests/embeddings/test_embeddings_batch_twin.py holds them equal).
The in-process twin runs no model server and has no such limit, but a runner reads the model's environment to warn
of it, and should read what it would read of the deployed model."""

KEEP_ALIVE_TIMEOUT_S = 5.0
"""A connection with no request under way is closed after this long idle, a new one that never sends a byte too
(uvicorn's keep-alive default); callers' pools reconnect."""
HEADER_TIMEOUT_S = 10.0
"""A request's headers must be complete this long after its first byte (uvicorn's issue #157 proposes ~10 s)."""
BODY_TIMEOUT_S = 30.0
"""A request's body must be complete this long after its headers: 4 MB needs about 1 Mbit/s."""
SHUTDOWN_GRACE_S = 3.0
"""On the first SIGTERM/Ctrl-C, requests still receiving their body get this long to finish it."""
MAX_CONNECTIONS = 512
"""Open connections at once; fewer if the process's open-file limit (ulimit -n) would not allow as many."""


@dataclass(frozen=True)
class TwinConfig:
    """What the twin pretends to be: which endpoint names exist, in which account, how cold and how busy."""

    endpoint_names: tuple[str, ...] = (DEFAULT_ENDPOINT_NAME,)
    cold_start_seconds: float = 0.0
    max_payload_bytes: int = runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES
    account_id: str = runtime_api.DEFAULT_ACCOUNT_ID
    region: str = runtime_api.DEFAULT_REGION
    max_concurrency: int = runtime_api.DEFAULT_MAX_CONCURRENCY
    keep_alive_timeout_seconds: float = KEEP_ALIVE_TIMEOUT_S
    header_timeout_seconds: float = HEADER_TIMEOUT_S
    body_timeout_seconds: float = BODY_TIMEOUT_S
    shutdown_grace_seconds: float = SHUTDOWN_GRACE_S
    max_connections: int = MAX_CONNECTIONS
    transform_jobs: bool = False
    """Serve SageMaker's transform-job control plane (local_endpoint/transform_jobs.py) on the same port."""
    model_name: str = DEFAULT_MODEL_NAME
    """The one SageMaker model that transform jobs may name."""
    model_environment: tuple[tuple[str, str], ...] = ()
    """That model's environment as DescribeModel shows it (the serving stack's, when it runs)."""

    def __post_init__(self) -> None:
        problems = []
        if not (math.isfinite(self.cold_start_seconds) and self.cold_start_seconds >= 0):
            problems.append(f"cold_start_seconds must be a finite number >= 0, got {self.cold_start_seconds!r}")
        if not (_is_int(self.max_payload_bytes) and self.max_payload_bytes >= 1):
            problems.append(f"max_payload_bytes must be a whole number >= 1, got {self.max_payload_bytes!r}")
        if not (_is_int(self.max_concurrency) and 1 <= self.max_concurrency <= runtime_api.MAX_CONCURRENCY_LIMIT):
            problems.append(
                f"max_concurrency must be a whole number from 1 to {runtime_api.MAX_CONCURRENCY_LIMIT}, "
                f"got {self.max_concurrency!r}"
            )
        for name in ("keep_alive_timeout_seconds", "header_timeout_seconds", "body_timeout_seconds"):
            value = getattr(self, name)
            if not (_is_number(value) and math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a finite number of seconds > 0, got {value!r}")
        if not (
            _is_number(self.shutdown_grace_seconds)
            and math.isfinite(self.shutdown_grace_seconds)
            and self.shutdown_grace_seconds >= 0
        ):
            problems.append(
                f"shutdown_grace_seconds must be a finite number of seconds >= 0, got {self.shutdown_grace_seconds!r}"
            )
        if not (_is_int(self.max_connections) and self.max_connections >= 1):
            problems.append(f"max_connections must be a whole number >= 1, got {self.max_connections!r}")
        if not self.endpoint_names:
            problems.append("endpoint_names must name at least one endpoint")
        problems += [
            f"endpoint name {name!r} is not a valid SageMaker endpoint name (1-63 letters, digits and inner hyphens)"
            for name in self.endpoint_names
            if not runtime_api.is_endpoint_name(name)
        ]
        if not runtime_api.is_model_name(self.model_name):
            problems.append(
                f"model name {self.model_name!r} is not a valid SageMaker model name (1-63 letters, digits and inner "
                "hyphens)"
            )
        if problems:
            raise ValueError("; ".join(problems))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
